//! Seeded byte-level mutations of one file.
//!
//! The generator is a SplitMix64 stream, so a case is reproduced exactly
//! from its seed: no dependency on a random-number crate whose output could
//! change between versions and silently move every case.

use std::fmt;

/// The power-loss simulator's generator (SplitMix64, fixed output), so a
/// seed names the same case everywhere.
pub use nanotdb_testkit::crashsim::Rng;

/// One change to a file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// Flip bit `bit` of the byte at `at`.
    BitFlip { at: usize, bit: u8 },
    /// Replace the bytes from `at` with `bytes`.
    Overwrite { at: usize, bytes: Vec<u8> },
    /// Keep only the first `len` bytes.
    Truncate { len: usize },
    /// Set `len` bytes from `at` to zero.
    Zero { at: usize, len: usize },
    /// Insert a copy of `[from, from + len)` at `at`.
    Duplicate { from: usize, len: usize, at: usize },
    /// Remove `[at, at + len)`.
    Remove { at: usize, len: usize },
}

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mutation::BitFlip { at, bit } => write!(f, "flip bit {bit} of byte {at}"),
            Mutation::Overwrite { at, bytes } => write!(f, "overwrite at {at} with {bytes:02x?}"),
            Mutation::Truncate { len } => write!(f, "truncate to {len} bytes"),
            Mutation::Zero { at, len } => write!(f, "zero {len} bytes at {at}"),
            Mutation::Duplicate { from, len, at } => {
                write!(f, "insert a copy of {len} bytes from {from} at {at}")
            }
            Mutation::Remove { at, len } => write!(f, "remove {len} bytes at {at}"),
        }
    }
}

impl Mutation {
    /// A random mutation of a file of `size` bytes (`size > 0`). With
    /// probability 1/2 the position is taken near one of `hot` (frame, record
    /// or entry starts: where the length fields live), otherwise uniformly.
    pub fn random(rng: &mut Rng, size: usize, hot: &[usize]) -> Mutation {
        let size = size.max(1);
        let pos = |rng: &mut Rng| -> usize {
            if !hot.is_empty() && rng.below(2) == 0 {
                let h = hot[rng.below(hot.len() as u64) as usize];
                (h + rng.below(30) as usize).min(size - 1)
            } else {
                rng.below(size as u64) as usize
            }
        };
        let span = |rng: &mut Rng| -> usize {
            // Mostly short stretches, sometimes a page's worth.
            if rng.below(4) == 0 {
                1 + rng.below(600) as usize
            } else {
                1 + rng.below(24) as usize
            }
        };
        match rng.below(6) {
            0 => Mutation::BitFlip {
                at: pos(rng),
                bit: rng.below(8) as u8,
            },
            1 => {
                let n = 1 + rng.below(8) as usize;
                let bytes = (0..n).map(|_| rng.next_u64() as u8).collect();
                Mutation::Overwrite {
                    at: pos(rng),
                    bytes,
                }
            }
            2 => Mutation::Truncate { len: pos(rng) },
            3 => Mutation::Zero {
                at: pos(rng),
                len: span(rng),
            },
            4 => {
                let from = pos(rng);
                Mutation::Duplicate {
                    from,
                    len: span(rng),
                    at: pos(rng),
                }
            }
            _ => Mutation::Remove {
                at: pos(rng),
                len: span(rng),
            },
        }
    }

    /// The mutated bytes (ranges are clipped to the file).
    pub fn apply(&self, clean: &[u8]) -> Vec<u8> {
        let n = clean.len();
        let mut b = clean.to_vec();
        match self {
            Mutation::BitFlip { at, bit } => {
                if *at < n {
                    b[*at] ^= 1 << bit;
                }
            }
            Mutation::Overwrite { at, bytes } => {
                for (i, x) in bytes.iter().enumerate() {
                    if let Some(slot) = b.get_mut(at + i) {
                        *slot = *x;
                    }
                }
            }
            Mutation::Truncate { len } => b.truncate(*len),
            Mutation::Zero { at, len } => {
                let end = (at + len).min(n);
                if *at < end {
                    b[*at..end].fill(0);
                }
            }
            Mutation::Duplicate { from, len, at } => {
                let end = (from + len).min(n);
                let copy = clean[(*from).min(n)..end].to_vec();
                let at = (*at).min(n);
                b.splice(at..at, copy);
            }
            Mutation::Remove { at, len } => {
                let end = (at + len).min(n);
                if *at < end {
                    b.drain(*at..end);
                }
            }
        }
        b
    }
}

/// Offset of the first byte where `mutated` differs from `clean` (the
/// shorter length when one is a prefix of the other); `None` when equal.
/// Everything before it is intact, whatever the mutation was.
pub fn first_difference(clean: &[u8], mutated: &[u8]) -> Option<usize> {
    let common = clean
        .iter()
        .zip(mutated)
        .take_while(|(a, b)| a == b)
        .count();
    (common < clean.len().max(mutated.len())).then_some(common)
}
