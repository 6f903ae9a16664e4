//! WAL records encoded before the database lock is taken.
//!
//! The records of one write group depend on little of the WAL's state:
//! every group starts with a fresh baseline, so a record's bytes follow
//! from its metric id, its timestamp and value, the timestamps before it
//! in the group, and whether it must carry its metric's name (the first
//! record of a metric since the last checkpoint). A writer can therefore
//! encode its records on its own thread with the ids it expects, while
//! another write holds the lock, and [`super::WalWriter::log_prepared`]
//! only copies them under the lock; a record whose id turns out different
//! or whose metric must be named is encoded again there. The bytes in the
//! file are the same either way.

use super::record::{RecordExt, WalEncoder, WalValue};
use crate::sample::MetricId;

/// The records of one write group, encoded without names and without the
/// mark of the group's end (the writer re-encodes the last record with it).
/// The ids they were encoded with stay with the caller, which hands them
/// to [`super::WalWriter::log_prepared`] beside these.
#[derive(Debug, Default)]
pub(crate) struct PreparedRecords {
    pub(super) bytes: Vec<u8>,
    /// Per sample, the end of its record in `bytes` (a sample without an
    /// expected id has an empty record).
    pub(super) ends: Vec<u32>,
}

impl PreparedRecords {
    /// Encodes the records of `samples` (expected id, timestamp, value)
    /// as one write group would hold them. None when the group would not
    /// fit the offsets (over 4 GiB: never for a request body).
    pub fn encode(
        samples: impl ExactSizeIterator<Item = (Option<MetricId>, i64, WalValue)>,
    ) -> Option<PreparedRecords> {
        let n = samples.len();
        let mut out = PreparedRecords {
            bytes: Vec::with_capacity(n * 24),
            ends: Vec::with_capacity(n),
        };
        let mut enc = WalEncoder::new();
        let open = RecordExt::Checked {
            end: false,
            batch: None,
        };
        for (id, ts, value) in samples {
            match id {
                // Without a name no error is possible; one would only mean
                // this record is encoded again under the lock.
                Some(id) => {
                    if enc
                        .encode_ext(id, ts, value, None, open, &mut out.bytes)
                        .is_err()
                    {
                        return None;
                    }
                }
                None => enc.advance(ts),
            }
            out.ends.push(u32::try_from(out.bytes.len()).ok()?);
        }
        Some(out)
    }

    /// How many samples the records are for.
    pub fn len(&self) -> usize {
        self.ends.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FsyncPolicy;
    use crate::sample::ValueType;
    use crate::stats::DbCounters;
    use crate::wal::WalWriter;
    use proptest::prelude::*;

    const TS: i64 = 1_715_000_000_000_000_000;

    fn name(id: MetricId) -> String {
        format!("metric_{id}")
    }

    /// Even ids are float64 (8-byte records), odd ones int32.
    fn vt(id: MetricId) -> ValueType {
        if id.is_multiple_of(2) {
            ValueType::Float64
        } else {
            ValueType::Int32
        }
    }

    /// One sample of a group: id, step from the previous timestamp (back
    /// in time, past the 24-bit delta, or a few ns), value bits, and what
    /// the preparation guessed for the id (0: right, 1: nothing, 2: wrong).
    fn sample() -> impl Strategy<Value = (MetricId, i64, u64, u8)> {
        (
            1u16..7,
            prop_oneof![0i64..1_000, -50_000i64..0, Just(1 << 24), 0i64..(1 << 26)],
            any::<u64>(),
            0u8..4,
        )
    }

    /// The WAL bytes of: a first write group naming `named_before`, then
    /// `first` logged alone (left pending), then `group` through `log`
    /// (`prepared` false) or `log_prepared`.
    fn wal_bytes(
        named_before: &[MetricId],
        first: Option<MetricId>,
        group: &[(MetricId, i64, u64, u8)],
        prepared: bool,
    ) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.wal");
        let mut w = WalWriter::open(&path, 0).unwrap();
        let mut c = DbCounters::default();
        for &id in named_before {
            w.log(id, TS, 7, &name(id), vt(id)).unwrap();
        }
        w.write_pending(FsyncPolicy::Segment, u64::MAX, &mut c, None)
            .unwrap();
        if let Some(id) = first {
            w.log(id, TS - 5, 9, &name(id), vt(id)).unwrap();
        }
        let mut ts = TS;
        let samples: Vec<(MetricId, i64, u64, String, ValueType)> = group
            .iter()
            .map(|&(id, step, bits, _)| {
                ts += step;
                (id, ts, bits, name(id), vt(id))
            })
            .collect();
        if prepared {
            let guesses: Vec<Option<MetricId>> = samples
                .iter()
                .zip(group)
                .map(|((id, ..), g)| match g.3 {
                    1 => None,
                    2 => Some(id + 1),
                    _ => Some(*id),
                })
                .collect();
            let recs = samples
                .iter()
                .zip(&guesses)
                .map(|((_, ts, bits, _, t), g)| (*g, *ts, WalValue::new(*bits, t.is_wide())));
            let pre = PreparedRecords::encode(recs).unwrap();
            let run = samples
                .iter()
                .map(|(id, ts, bits, n, t)| (*id, *ts, *bits, n.as_str(), *t));
            w.log_prepared(&pre, &guesses, run).unwrap();
        } else {
            for (id, ts, bits, n, t) in &samples {
                w.log(*id, *ts, *bits, n, *t).unwrap();
            }
        }
        w.write_pending(FsyncPolicy::Segment, u64::MAX, &mut c, None)
            .unwrap();
        std::fs::read(&path).unwrap()
    }

    proptest! {
        #[test]
        fn prepared_records_are_the_bytes_log_writes(
            named_before in prop::collection::vec(1u16..7, 0..5),
            first in prop::option::weighted(0.2, 1u16..7),
            group in prop::collection::vec(sample(), 1..48),
        ) {
            let plain = wal_bytes(&named_before, first, &group, false);
            let quick = wal_bytes(&named_before, first, &group, true);
            prop_assert_eq!(quick, plain);
        }
    }

    #[test]
    fn a_failed_write_of_a_prepared_group_leaves_the_wal_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.wal");
        let mut w = WalWriter::open(&path, 0).unwrap();
        let mut c = DbCounters::default();
        w.log(1, TS, 7, "metric_1", ValueType::Int32).unwrap();
        w.write_pending(FsyncPolicy::Segment, u64::MAX, &mut c, None)
            .unwrap();
        let before = std::fs::read(&path).unwrap();
        // Metric 1 is named (copied), metric 2 is not (encoded with its name).
        let group = [(1u16, TS + 10), (2, TS + 20), (1, TS + 30)];
        let log_group = |w: &mut WalWriter| {
            let recs = group
                .iter()
                .map(|&(id, ts)| (Some(id), ts, WalValue::new(5, vt(id).is_wide())));
            let pre = PreparedRecords::encode(recs).unwrap();
            let guesses: Vec<Option<MetricId>> = group.iter().map(|&(id, _)| Some(id)).collect();
            let names: Vec<String> = group.iter().map(|&(id, _)| name(id)).collect();
            let run = group
                .iter()
                .zip(&names)
                .map(|(&(id, ts), n)| (id, ts, 5u64, n.as_str(), vt(id)));
            w.log_prepared(&pre, &guesses, run).unwrap();
        };
        log_group(&mut w);
        w.fail_next_write_after = Some(9);
        assert!(
            w.write_pending(FsyncPolicy::Segment, u64::MAX, &mut c, None)
                .is_err()
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
        // Logged again, the group is written as if the failure never was:
        // metric 2 carries its name again.
        log_group(&mut w);
        w.write_pending(FsyncPolicy::Segment, u64::MAX, &mut c, None)
            .unwrap();
        let twin = dir.path().join("twin.wal");
        let mut t = WalWriter::open(&twin, 0).unwrap();
        t.log(1, TS, 7, "metric_1", ValueType::Int32).unwrap();
        t.write_pending(FsyncPolicy::Segment, u64::MAX, &mut c, None)
            .unwrap();
        for &(id, ts) in &group {
            t.log(id, ts, 5, &name(id), vt(id)).unwrap();
        }
        t.write_pending(FsyncPolicy::Segment, u64::MAX, &mut c, None)
            .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&twin).unwrap());
    }

    #[test]
    fn every_record_copied_when_all_are_named_and_guessed() {
        let group: Vec<_> = (0..10).map(|k| (1 + k % 3, 10, k as u64, 0)).collect();
        let plain = wal_bytes(&[1, 2, 3], None, &group, false);
        let quick = wal_bytes(&[1, 2, 3], None, &group, true);
        assert_eq!(quick, plain);
        // The group's records plus the naming group before it, all decoded.
        let scan = crate::wal::scan_wal(&plain);
        assert_eq!(scan.records.len(), 13);
        assert!(scan.stop.is_none());
    }
}
