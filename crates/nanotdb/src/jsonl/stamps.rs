//! Timestamp texts shared by the series of a metric file.
//!
//! The metrics of a scrape share their timestamps: a v3 file stores one
//! time column for all of them, a v2 file the same column in every frame.
//! An export of every series wrote the same millisecond numbers once per
//! series (a tenth of its CPU time); a worker now keeps the text of the
//! last few long timestamp runs it formatted and copies it for every
//! further series with the same timestamps. The bytes are those
//! [`Millis`] writes, so the output is unchanged.

use super::millis::Millis;

/// Runs shorter than this are formatted directly: comparing and copying
/// would cost about what it saves.
pub(super) const MIN_SHARED: usize = 16;
/// Distinct timestamp runs kept (an edge day's 86 metrics come from six
/// different scrape schedules).
const KEPT: usize = 4;

/// One formatted run: its timestamps and their text, each number followed
/// by a comma.
#[derive(Default)]
struct Entry {
    ts: Vec<i64>,
    text: Vec<u8>,
    /// `starts[i]`: where number `i` begins in `text`; one more entry, the
    /// text's length.
    starts: Vec<u32>,
}

/// A worker's last [`KEPT`] formatted timestamp runs.
#[derive(Default)]
pub(super) struct Stamps {
    entries: Vec<Entry>,
    /// The entry replaced next.
    next: usize,
}

/// The text of a run's timestamps, to be cut by sample ranges.
pub(super) struct StampText<'a> {
    entry: &'a Entry,
}

impl StampText<'_> {
    /// The comma-separated numbers of samples `from..to` of the run
    /// (`from < to`).
    #[inline]
    pub(super) fn range(&self, from: usize, to: usize) -> &[u8] {
        let e = self.entry;
        &e.text[e.starts[from] as usize..e.starts[to] as usize - 1]
    }
}

impl Stamps {
    /// The text of `ts` (at least [`MIN_SHARED`] timestamps, in ns),
    /// formatted now unless one of the kept runs holds the same numbers.
    pub(super) fn text(&mut self, ts: &[i64]) -> StampText<'_> {
        let hit = self.entries.iter().position(|e| e.ts == ts);
        let i = match hit {
            Some(i) => i,
            None => {
                let i = if self.entries.len() < KEPT {
                    self.entries.push(Entry::default());
                    self.entries.len() - 1
                } else {
                    let i = self.next;
                    self.next = (i + 1) % KEPT;
                    i
                };
                fill(&mut self.entries[i], ts);
                i
            }
        };
        StampText {
            entry: &self.entries[i],
        }
    }
}

fn fill(e: &mut Entry, ts: &[i64]) {
    e.ts.clear();
    e.ts.extend_from_slice(ts);
    e.text.clear();
    e.starts.clear();
    let mut millis = Millis::default();
    for &t in ts {
        e.starts.push(e.text.len() as u32);
        millis.write(&mut e.text, t);
        e.text.push(b',');
    }
    e.starts.push(e.text.len() as u32);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(ts: &[i64]) -> Vec<u8> {
        let mut m = Millis::default();
        let mut out = Vec::new();
        for (i, &t) in ts.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            m.write(&mut out, t);
        }
        out
    }

    #[test]
    fn ranges_are_the_directly_written_numbers() {
        let ts: Vec<i64> = (0..40)
            .map(|i| 1_704_067_200_000_000_000 + i * 600_000_000_123 - 7)
            .collect();
        let mut s = Stamps::default();
        let t = s.text(&ts);
        for (a, b) in [(0, 40), (0, 1), (39, 40), (5, 17)] {
            assert_eq!(t.range(a, b), &direct(&ts[a..b])[..], "{a}..{b}");
        }
    }

    #[test]
    fn keeps_the_last_runs_and_tells_them_apart() {
        let runs: Vec<Vec<i64>> = (0..6i64)
            .map(|k| (0..20).map(|i| (k * 1000 + i) * 1_000_000_000).collect())
            .collect();
        let mut s = Stamps::default();
        for round in 0..3 {
            for r in &runs {
                assert_eq!(s.text(r).range(0, 20), &direct(r)[..], "round {round}");
            }
        }
        // Same length and ends, one number between them different.
        let mut odd = runs[0].clone();
        odd[10] += 1_000_000;
        assert_eq!(s.text(&odd).range(0, 20), &direct(&odd)[..]);
        assert_eq!(s.text(&runs[0]).range(0, 20), &direct(&runs[0])[..]);
    }
}
