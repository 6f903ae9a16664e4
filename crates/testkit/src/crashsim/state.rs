//! Crash states: which recorded operations a power loss keeps (the rules
//! are in the module documentation of [`super`]).

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use super::Rng;
use super::fsmodel::Fs;
use super::record::{OpKind, Recording, apply};

/// How the operations that no sync covered are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only what syncs made durable.
    SyncedOnly,
    /// Everything issued before a random point at or after the last
    /// operation a sync made durable; the last write may be torn.
    InOrder,
    /// Namespace operations: a random prefix. Data operations: each kept
    /// with probability `percent`/100; kept writes may be torn.
    Reorder {
        /// The chance of keeping each unsynced data operation.
        percent: u8,
    },
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::SyncedOnly => write!(f, "synced-only"),
            Mode::InOrder => write!(f, "in-order"),
            Mode::Reorder { percent } => write!(f, "reorder({percent}%)"),
        }
    }
}

/// What one operation became in a crash state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Durable by the rules (a later sync covered it).
    Required,
    /// Not covered by a sync, kept by chance.
    Kept,
    /// Only the first this many bytes of the write were kept.
    Torn(usize),
    /// Lost.
    Dropped,
}

/// One state a power loss after the first `cut` operations could leave.
#[derive(Debug, Clone)]
pub struct CrashState {
    /// Operations issued before the power went.
    pub cut: usize,
    /// The seed the random choices came from.
    pub seed: u64,
    /// How unsynced operations were chosen.
    pub mode: Mode,
    /// The fate of each of the first `cut` operations.
    pub fates: Vec<Fate>,
    /// The resulting tree.
    pub fs: Fs,
}

impl Recording {
    /// Which of the first `cut` operations a sync before `cut` made durable.
    pub fn required(&self, cut: usize) -> Vec<bool> {
        let ops = &self.ops[..cut];
        let mut required = vec![false; cut];
        let mut synced_inos = HashSet::new();
        let mut synced_dirs: HashSet<&Path> = HashSet::new();
        let mut all = false;
        let mut ns_upto = None;
        for (i, op) in ops.iter().enumerate().rev() {
            match &op.kind {
                OpKind::Sync { ino } => {
                    synced_inos.insert(*ino);
                }
                OpKind::DirSync { path } => {
                    synced_dirs.insert(path);
                }
                OpKind::SyncAll => all = true,
                k => {
                    if let Some(ino) = k.data_ino() {
                        required[i] = all || synced_inos.contains(&ino);
                    } else if ns_upto.is_none()
                        && k.is_namespace()
                        && (all || k.dirs().iter().any(|d| synced_dirs.contains(d)))
                    {
                        ns_upto = Some(i);
                    }
                }
            }
        }
        // The journal commits in order: everything before a durable
        // namespace operation is durable too.
        if let Some(upto) = ns_upto {
            for (i, op) in ops.iter().enumerate().take(upto + 1) {
                required[i] |= op.kind.is_namespace();
            }
        }
        required
    }

    /// One crash state after the first `cut` operations, from `seed`.
    pub fn crash_state(&self, cut: usize, seed: u64) -> CrashState {
        let mut rng = Rng::new(seed);
        let required = self.required(cut);
        let mode = match rng.below(10) {
            0 | 1 => Mode::SyncedOnly,
            2..=4 => Mode::InOrder,
            _ => Mode::Reorder {
                percent: [25, 50, 75][rng.below(3) as usize],
            },
        };
        let mut fates: Vec<Fate> = required
            .iter()
            .map(|&r| if r { Fate::Required } else { Fate::Dropped })
            .collect();
        match mode {
            Mode::SyncedOnly => {}
            Mode::InOrder => {
                let first = required.iter().rposition(|&r| r).map_or(0, |i| i + 1);
                let q = first + rng.below((cut - first + 1) as u64) as usize;
                for f in fates[..q].iter_mut().filter(|f| **f == Fate::Dropped) {
                    *f = Fate::Kept;
                }
                if q > first && rng.chance(1, 3) {
                    fates[q - 1] = self.maybe_tear(q - 1, &mut rng);
                }
            }
            Mode::Reorder { percent } => self.reorder(&mut fates, percent, &mut rng),
        }
        let mut fs_ = self.initial.clone();
        for (i, fate) in fates.iter().enumerate() {
            let kind = &self.ops[i].kind;
            let res = match (fate, kind) {
                (Fate::Dropped, _) => Ok(()),
                (Fate::Torn(n), OpKind::Write { ino, off, data }) => {
                    fs_.write(*ino, *off, &data[..*n]);
                    Ok(())
                }
                _ => apply(&mut fs_, kind),
            };
            res.unwrap_or_else(|e| panic!("crash state (cut {cut}, seed {seed:#x}): op #{i}: {e}"));
        }
        CrashState {
            cut,
            seed,
            mode,
            fates,
            fs: fs_,
        }
    }

    /// [`Mode::Reorder`]: a random longer prefix of the namespace
    /// operations, and each other data operation kept at random.
    fn reorder(&self, fates: &mut [Fate], percent: u8, rng: &mut Rng) {
        let ns: Vec<usize> = (0..fates.len())
            .filter(|&i| self.ops[i].kind.is_namespace() && fates[i] == Fate::Dropped)
            .collect();
        let extra = rng.below(ns.len() as u64 + 1) as usize;
        for &i in &ns[..extra] {
            fates[i] = Fate::Kept;
        }
        let mut truncate_lost = HashSet::new();
        for (i, fate) in fates.iter_mut().enumerate() {
            let Some(ino) = self.ops[i].kind.data_ino() else {
                continue;
            };
            if *fate == Fate::Required {
                continue;
            }
            if truncate_lost.contains(&ino) || !rng.chance(percent as u64, 100) {
                if matches!(self.ops[i].kind, OpKind::Truncate { .. }) {
                    truncate_lost.insert(ino);
                }
                continue;
            }
            *fate = if rng.chance(1, 8) {
                self.maybe_tear(i, rng)
            } else {
                Fate::Kept
            };
        }
    }

    /// A write cut at a random 512-byte boundary inside it, if it spans one.
    fn maybe_tear(&self, i: usize, rng: &mut Rng) -> Fate {
        let OpKind::Write { off, data, .. } = &self.ops[i].kind else {
            return Fate::Kept;
        };
        let first = off / 512 + 1;
        let last = (off + data.len() as u64 - 1) / 512;
        if data.is_empty() || first > last {
            return Fate::Kept;
        }
        let b = (first + rng.below(last - first + 1)) * 512;
        Fate::Torn((b - off) as usize)
    }
}

impl CrashState {
    /// The operations from `from` to the cut with their fate, one per line,
    /// for failure messages.
    pub fn annotate(&self, rec: &Recording, from: usize) -> String {
        (from.min(self.cut)..self.cut)
            .map(|i| {
                let fate = match self.fates[i] {
                    Fate::Required => "synced ".to_string(),
                    Fate::Kept => "kept   ".to_string(),
                    Fate::Torn(n) => format!("torn@{n:<2}"),
                    Fate::Dropped => "LOST   ".to_string(),
                };
                format!("#{i:<6} {fate} {}", rec.ops[i])
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Recording {
    /// The tree with every one of the first `cut` operations applied (what
    /// the program saw at that point), to compare crash states with.
    pub fn state_after(&self, cut: usize) -> Fs {
        let mut fs_ = self.initial.clone();
        for op in &self.ops[..cut] {
            apply(&mut fs_, &op.kind).expect("the recording replays");
        }
        fs_
    }
}
