//! Judging the operations on a damaged copy against the same operations on
//! the clean root.

use std::collections::HashMap;

use super::expect::Expect;
use super::pipeline::{Multiset, Op, Step};
use super::run::tail;

/// How a case ended, from the best to the worst acceptable outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// Every operation returned exactly the clean result.
    Identical,
    /// Some samples are missing, with a warning naming the file.
    Warned,
    /// Some operation failed with an error naming the file.
    Refused,
    /// The damage is invisible by the file's format (see [`Expect`]); only
    /// crashes and the intact prefix were checked.
    Undetectable,
}

/// The result of one case: its verdict and every problem found.
#[derive(Debug, Default)]
pub struct Judgement {
    pub verdict: Option<Verdict>,
    pub problems: Vec<String>,
}

/// The clean results, by (step, database).
pub type Baseline = HashMap<(Step, String), Multiset>;

/// Whether `stderr` names the damaged file (and, for binary formats, an
/// offset in it).
fn names_file(stderr: &str, file: &str, binary: bool) -> bool {
    stderr.lines().any(|l| {
        l.contains(file)
            && (!binary
                || l.contains("offset")
                || l.contains("torn-at")
                || l.contains("damaged-at"))
    })
}

/// Checks `ops` (one case) against `base`; `file` is the damaged file's
/// name.
pub fn judge(ops: &[Op], base: &Baseline, e: &Expect, file: &str, binary: bool) -> Judgement {
    let mut j = Judgement::default();
    let mut verdict = Verdict::Identical;
    let rw_stderr: String = ops
        .iter()
        .filter(|o| o.step == Step::ReadWrite)
        .map(|o| o.outcome.stderr.clone())
        .next()
        .unwrap_or_default();
    for op in ops {
        let what = format!("{:?} {}", op.step, op.db);
        if let Some(c) = op.outcome.crash() {
            j.problems.push(format!("{what}: CRASH {c}"));
            continue;
        }
        let clean = &base[&(op.step, op.db.clone())];
        let stderr = &op.outcome.stderr;
        if !op.outcome.ok() {
            verdict = verdict.max(Verdict::Refused);
            if !names_file(stderr, file, binary) {
                j.problems.push(format!(
                    "{what}: UNCLEAR ERROR (does not name {file}{}): {}",
                    if binary { " and an offset" } else { "" },
                    tail(stderr)
                ));
            }
        }
        // Content: what was printed (also before a failure) must be clean
        // samples, each at most as often as in the clean result.
        if e.undetectable.is_none() {
            let mut wrong = Vec::new();
            let mut dup = Vec::new();
            for (l, n) in &op.lines {
                match clean.get(l) {
                    None => wrong.push(l.clone()),
                    Some(c) if n > c => dup.push(format!("{l} ({n}x, clean {c}x)")),
                    _ => {}
                }
            }
            if !wrong.is_empty() {
                wrong.sort();
                j.problems.push(format!(
                    "{what}: {} WRONG SAMPLES, e.g. {:?}",
                    wrong.len(),
                    &wrong[..wrong.len().min(3)]
                ));
            }
            if !dup.is_empty() && e.silent_ok.is_none() {
                dup.sort();
                j.problems.push(format!(
                    "{what}: {} DUPLICATED SAMPLES, e.g. {:?}",
                    dup.len(),
                    &dup[..dup.len().min(3)]
                ));
            }
        }
        let missing: Vec<(&String, u32)> = clean
            .iter()
            .filter_map(|(l, c)| {
                let have = op.lines.get(l).copied().unwrap_or(0);
                (have < *c).then(|| (l, c - have))
            })
            .collect();
        if missing.is_empty() {
            continue;
        }
        if op.outcome.ok() {
            verdict = verdict.max(Verdict::Warned);
        }
        // Warnings count from this operation, or (for what is left on disk)
        // from the read-write open that repaired the files.
        let warned = names_file(stderr, file, binary)
            || (op.step == Step::After && names_file(&rw_stderr, file, binary));
        if op.outcome.ok() && !warned && e.undetectable.is_none() && e.silent_ok.is_none() {
            j.problems.push(format!(
                "{what}: SILENT LOSS of {} clean samples (no warning naming {file}{}), e.g. {:?}; stderr: {}",
                missing.len(),
                if binary { " with an offset" } else { "" },
                missing.iter().take(2).collect::<Vec<_>>(),
                tail(stderr)
            ));
        }
        // The intact part: everything not at risk must be there. Query
        // output has another format: its loss is judged by the rules above.
        if op.step != Step::Query {
            let lost: Vec<&String> = missing
                .iter()
                .filter(|(l, n)| e.at_risk.get(*l).copied().unwrap_or(0) < *n)
                .map(|(l, _)| *l)
                .collect();
            if !lost.is_empty() {
                j.problems.push(format!(
                    "{what}: {} INTACT SAMPLES NOT RETURNED (before the damage), e.g. {:?}{}",
                    lost.len(),
                    &lost[..lost.len().min(2)],
                    if op.outcome.ok() {
                        String::new()
                    } else {
                        format!("; failed with: {}", tail(stderr))
                    }
                ));
            }
        }
    }
    nothing_lost_at_close(ops, &mut j);
    if e.undetectable.is_some() {
        verdict = Verdict::Undetectable;
    }
    j.verdict = Some(verdict);
    j
}

/// What a read-write open returned must still be there once it closed.
fn nothing_lost_at_close(ops: &[Op], j: &mut Judgement) {
    for rw in ops
        .iter()
        .filter(|o| o.step == Step::ReadWrite && o.outcome.ok())
    {
        let Some(after) = ops
            .iter()
            .find(|o| o.step == Step::After && o.db == rw.db && o.outcome.ok())
        else {
            continue;
        };
        let lost = rw
            .lines
            .iter()
            .filter(|(l, n)| after.lines.get(*l).copied().unwrap_or(0) < **n)
            .count();
        if lost > 0 {
            j.problems.push(format!(
                "After {}: {lost} samples the read-write open returned are gone after it closed",
                rw.db
            ));
        }
    }
}
