//! Tests of the record codec and the reader.

use super::*;
use crate::sample::ValueType;
use proptest::prelude::*;

const TS: i64 = 1_715_000_000_000_000_000;

/// docs/FORMATS.md §4.2's example records.
const EXAMPLE: [u8; 35] = [
    0x17, 0x01, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x80, 0xcb, 0xdd, 0x69, 0xe7, 0xcc, 0x17, 0x03,
    0x63, 0x70, 0x75, 0x01, 0x2a, 0x00, 0x00, 0x00, 0x0a, 0x01, 0x00, 0xe8, 0x03, 0x00, 0x00, 0x2b,
    0x00, 0x00, 0x00,
];

#[test]
fn spec_example_encodes_and_decodes() {
    let mut e = WalEncoder::new();
    let mut out = Vec::new();
    e.encode(1, TS, 42, Some(("cpu", 1)), &mut out).unwrap();
    e.encode(1, TS + 1000, 43, None, &mut out).unwrap();
    assert_eq!(out, EXAMPLE);
    let s = scan_wal(&out);
    assert_eq!(s.good_len, 35);
    assert!(s.stop.is_none());
    assert_eq!(
        s.records,
        vec![
            (
                0,
                WalRecord {
                    metric_id: 1,
                    ts: TS,
                    value: WalValue::Narrow(42),
                    new_metric: Some(NewMetric {
                        name: "cpu".into(),
                        value_type: 1
                    })
                }
            ),
            (
                24,
                WalRecord {
                    metric_id: 1,
                    ts: TS + 1000,
                    value: WalValue::Narrow(43),
                    new_metric: None
                }
            ),
        ]
    );
}

#[test]
fn baseline_rules() {
    let mut e = WalEncoder::new();
    let mut out = Vec::new();
    e.encode(1, 100, 0, None, &mut out).unwrap();
    assert_eq!(out.len(), 19, "first record carries a baseline");
    out.clear();
    e.encode(1, 100 + MAX_DELTA, 0, None, &mut out).unwrap();
    assert_eq!(out.len(), 11, "delta 2^24-1 fits");
    out.clear();
    e.encode(1, 100 + MAX_DELTA + 1, 0, None, &mut out).unwrap();
    assert_eq!(out.len(), 19, "delta 2^24 needs a new baseline");
    out.clear();
    e.encode(1, 50, 0, None, &mut out).unwrap();
    assert_eq!(out.len(), 19, "time going backwards needs a new baseline");
    out.clear();
    e.encode(1, 51, 0, None, &mut out).unwrap();
    assert_eq!(
        out.len(),
        11,
        "delta from the last baseline, not the last record"
    );
    e.reset();
    out.clear();
    e.encode(1, 52, 0, None, &mut out).unwrap();
    assert_eq!(out.len(), 19);
}

#[test]
fn name_limits() {
    let mut e = WalEncoder::new();
    let mut out = Vec::new();
    e.encode(1, 1, 0, Some((&"n".repeat(255), 2)), &mut out)
        .unwrap();
    let s = scan_wal(&out);
    assert_eq!(s.records[0].1.new_metric.as_ref().unwrap().name.len(), 255);
    // A v1.4.0 record cannot carry more (a one-byte length)...
    assert_eq!(
        e.encode(1, 1, 0, Some((&"n".repeat(256), 2)), &mut out),
        Err(WalError::NameTooLong { len: 256 })
    );
    // ...a checked one up to 4096 bytes (flag L), and no more.
    let checked = RecordExt::Checked {
        end: true,
        batch: None,
    };
    let name = |n| Some(("n".repeat(n), 2u8));
    let narrow = WalValue::Narrow(0);
    for n in [256, 4096] {
        let nm = name(n);
        let nm = nm.as_ref().map(|(s, t)| (s.as_str(), *t));
        e.encode_ext(1, 1, narrow, nm, checked, &mut out).unwrap();
    }
    let nm = name(4097);
    let nm = nm.as_ref().map(|(s, t)| (s.as_str(), *t));
    assert_eq!(
        e.encode_ext(1, 1, narrow, nm, checked, &mut out),
        Err(WalError::NameTooLong { len: 4097 })
    );
    assert_eq!(
        e.encode(1, 1, 0, Some(("", 2)), &mut out),
        Err(WalError::EmptyName)
    );
}

#[test]
fn every_truncation_keeps_the_records_before_it() {
    let mut e = WalEncoder::new();
    let mut out = Vec::new();
    let mut ends = Vec::new();
    for i in 0..20 {
        e.encode(
            i % 3 + 1,
            TS + i64::from(i) * 7_000_000,
            u32::from(i),
            (i < 3).then_some(("m", 2)),
            &mut out,
        )
        .unwrap();
        ends.push(out.len());
    }
    for cut in 0..out.len() {
        let s = scan_wal(&out[..cut]);
        let complete = ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(s.records.len(), complete, "cut {cut}");
        assert_eq!(
            s.good_len as usize,
            if complete == 0 { 0 } else { ends[complete - 1] }
        );
        assert_eq!(s.stop.is_some(), cut != s.good_len as usize);
        if let Some(st) = s.stop {
            assert_eq!(st.offset, s.good_len);
            assert!(matches!(
                st.reason,
                WalStopReason::TruncatedPayload { .. } | WalStopReason::InvalidLengthVarint
            ));
        }
    }
}

#[test]
fn decode_errors_stop_and_missing_baseline_is_skipped() {
    // A record without B first: skipped. Then a valid one.
    let mut out = vec![0x0a, 1, 0, 5, 0, 0, 0, 9, 9, 9, 9];
    WalEncoder::new().encode(2, 7, 1, None, &mut out).unwrap();
    let s = scan_wal(&out);
    assert_eq!(s.skipped_missing_baseline, 1);
    assert_eq!(s.records.len(), 1);
    assert_eq!(s.records[0].1.ts, 7);
    // Bad type byte in an N record stops the scan.
    let mut bad = Vec::new();
    WalEncoder::new()
        .encode(1, 1, 0, Some(("x", 5)), &mut bad)
        .unwrap();
    let s = scan_wal(&bad);
    assert!(s.records.is_empty());
    assert_eq!(
        s.stop.unwrap().reason,
        WalStopReason::Decode("invalid value type 5".into())
    );
    // An 8-byte type (3, 4) needs its 8 value bytes (flag W).
    let mut bad = Vec::new();
    WalEncoder::new()
        .encode(1, 1, 0, Some(("x", 3)), &mut bad)
        .unwrap();
    assert_eq!(
        scan_wal(&bad).stop.unwrap().reason,
        WalStopReason::Decode("value type 3 with flags 0xc0".into())
    );
    // Short payload.
    let s = scan_wal(&[0x02, 1, 2]);
    assert!(matches!(s.stop.unwrap().reason, WalStopReason::Decode(_)));
    // Garbage length.
    let s = scan_wal(&[0xff; 12]);
    assert_eq!(s.stop.unwrap().reason, WalStopReason::InvalidLengthVarint);
    let s = scan_wal(&[0xff, 0xff, 0x7f]);
    assert!(matches!(
        s.stop.unwrap().reason,
        WalStopReason::TruncatedPayload {
            declared: 2_097_151,
            available: 0
        }
    ));
}

/// v1.4.0's reader ignores bytes after the value, but its writer never
/// writes any: they mean a damaged length or flags byte.
#[test]
fn extra_payload_bytes_are_damage() {
    let mut out = Vec::new();
    WalEncoder::new().encode(1, 5, 9, None, &mut out).unwrap();
    out[0] += 2;
    out.extend_from_slice(&[0xee, 0xee]);
    let s = scan_wal(&out);
    assert_eq!(s.records.len(), 0);
    assert_eq!(
        s.stop.unwrap().reason,
        WalStopReason::Decode("2 bytes after the value of a record without checksum".into())
    );
}

/// The WAL the original wrote in the `wal-replay` fixture decodes fully,
/// and re-encoding its records reproduces it byte for byte.
#[test]
fn reference_wal_decodes_and_re_encodes_identically() {
    let path = crate::testutil::fixtures().join("wal-replay/root/live/live.wal");
    let bytes = std::fs::read(&path).expect("wal-replay fixture");
    let s = scan_wal(&bytes);
    assert!(s.stop.is_none());
    assert_eq!(s.skipped_missing_baseline, 0);
    assert_eq!(s.records.len(), 6429);
    let mut e = WalEncoder::new();
    let mut out = Vec::new();
    for (_, r) in &s.records {
        let nm = r
            .new_metric
            .as_ref()
            .map(|n| (n.name.as_str(), n.value_type));
        e.encode(r.metric_id, r.ts, r.value.bits() as u32, nm, &mut out)
            .unwrap();
    }
    assert_eq!(out, bytes);
}

/// docs/FORMATS.md §4.15: a name over 255 bytes gets flag L (`0x10`) and a
/// two-byte length; a name of 255 bytes or less keeps the one-byte length
/// (the same bytes as without this extension).
#[test]
fn long_name_records_byte_for_byte() {
    let checked = RecordExt::Checked {
        end: true,
        batch: None,
    };
    let long = format!("m{{l=\"{}\"}}", "v".repeat(295)); // 302 bytes
    let mut e = WalEncoder::new();
    let mut out = Vec::new();
    e.encode_ext(
        7,
        TS,
        WalValue::Wide(0x4000_0000_0000_0000),
        Some((&long, 3)),
        checked,
        &mut out,
    )
    .unwrap();
    // Payload: 6 fixed + 8 baseline + 2 length + 302 name + 1 type + 8 value + 4 CRC = 331.
    assert_eq!(&out[..2], &[0xcb, 0x02], "uvarint 331");
    let p = &out[2..];
    assert_eq!(p.len(), 331);
    assert_eq!(
        &p[..6],
        &[7, 0, 0, 0, 0, 0x80 | 0x40 | 0x10 | 0x08 | 0x02 | 0x01]
    );
    assert_eq!(&p[6..14], &TS.to_le_bytes());
    assert_eq!(&p[14..16], &302u16.to_le_bytes());
    assert_eq!(&p[16..318], long.as_bytes());
    assert_eq!(p[318], 3);
    assert_eq!(&p[319..327], &0x4000_0000_0000_0000u64.to_le_bytes());
    assert_eq!(&p[327..], &crc32fast::hash(&p[..327]).to_le_bytes());
    let s = scan_wal(&out);
    assert!(s.stop.is_none() && s.damage.is_empty());
    let nm = s.records[0].1.new_metric.as_ref().unwrap();
    assert_eq!((nm.name.as_str(), nm.value_type), (long.as_str(), 3));

    // 255 bytes: no L, one length byte.
    let short = "s".repeat(255);
    let mut e = WalEncoder::new();
    let mut out = Vec::new();
    e.encode_ext(
        7,
        TS,
        WalValue::Narrow(1),
        Some((&short, 2)),
        checked,
        &mut out,
    )
    .unwrap();
    let p = &out[2..];
    assert_eq!(p[5] & 0x10, 0);
    assert_eq!(p[14], 255);
    assert_eq!(
        scan_wal(&out).records[0]
            .1
            .new_metric
            .as_ref()
            .unwrap()
            .name,
        short
    );
}

/// A damaged long-name record costs only itself: the reader finds the next
/// intact record after it, and a long-name record after damage is found too.
#[test]
fn damage_around_long_name_records() {
    let checked = RecordExt::Checked {
        end: true,
        batch: None,
    };
    let long: Vec<String> = (0..3)
        .map(|i| format!("m{i}{}", "x".repeat(4000)))
        .collect();
    let mut e = WalEncoder::new();
    let mut out = Vec::new();
    let mut starts = Vec::new();
    for (i, n) in long.iter().enumerate() {
        starts.push(out.len());
        e.reset();
        e.encode_ext(
            i as u16 + 1,
            TS + i as i64,
            WalValue::Narrow(i as u32),
            Some((n, 2)),
            checked,
            &mut out,
        )
        .unwrap();
    }
    // A flipped byte inside the first record's name.
    out[starts[0] + 100] ^= 0x20;
    let s = scan_wal(&out);
    assert_eq!(s.damage.len(), 1, "{:?}", s.damage);
    let names: Vec<&str> = s
        .records
        .iter()
        .map(|(_, r)| r.new_metric.as_ref().unwrap().name.as_str())
        .collect();
    assert_eq!(names, [long[1].as_str(), long[2].as_str()]);
    // Flag L without N, or a long length of 255 or less, does not decode.
    for (flags, len) in [
        (0x80 | 0x10 | 0x03, 300u16),
        (0x80 | 0x40 | 0x10 | 0x03, 255),
    ] {
        let mut p = vec![1, 0, 0, 0, 0, flags];
        p.extend_from_slice(&TS.to_le_bytes());
        if flags & 0x40 != 0 {
            p.extend_from_slice(&len.to_le_bytes());
            p.extend(std::iter::repeat_n(b'n', usize::from(len)));
            p.push(2);
        }
        p.extend_from_slice(&[0; 4]);
        let crc = crc32fast::hash(&p);
        p.extend_from_slice(&crc.to_le_bytes());
        let mut rec = Vec::new();
        crate::varint::encode(p.len() as u64, &mut rec);
        rec.extend_from_slice(&p);
        let s = scan_wal(&rec);
        assert!(s.records.is_empty(), "flags {flags:#x} len {len}");
    }
}

proptest! {
    #[test]
    fn round_trip_checked_names_up_to_4096(names in proptest::collection::vec(1usize..=4096, 1..12)) {
        let mut e = WalEncoder::new();
        let mut out = Vec::new();
        let names: Vec<String> = names.iter().map(|&n| "q".repeat(n)).collect();
        for (i, n) in names.iter().enumerate() {
            let ext = RecordExt::Checked { end: i + 1 == names.len(), batch: None };
            e.encode_ext(i as u16 + 1, TS + i as i64, WalValue::Narrow(i as u32), Some((n, 2)), ext, &mut out).unwrap();
        }
        let s = scan_wal(&out);
        prop_assert!(s.stop.is_none());
        prop_assert_eq!(s.records.len(), names.len());
        for ((_, r), n) in s.records.iter().zip(&names) {
            prop_assert_eq!(&r.new_metric.as_ref().unwrap().name, n);
        }
    }

    #[test]
    fn round_trip(recs in proptest::collection::vec(
        (1u16..=u16::MAX, any::<i64>(), any::<u32>(), proptest::option::of("[a-z./_]{1,255}")), 0..200)) {
        let mut e = WalEncoder::new();
        let mut out = Vec::new();
        for (id, ts, v, name) in &recs {
            e.encode(*id, *ts, *v, name.as_deref().map(|n| (n, 2)), &mut out).unwrap();
        }
        let s = scan_wal(&out);
        prop_assert!(s.stop.is_none());
        prop_assert_eq!(s.good_len, out.len() as u64);
        prop_assert_eq!(s.records.len(), recs.len());
        for ((_, r), (id, ts, v, name)) in s.records.iter().zip(&recs) {
            prop_assert_eq!(r.metric_id, *id);
            prop_assert_eq!(r.ts, *ts);
            prop_assert_eq!(r.value, WalValue::Narrow(*v));
            prop_assert_eq!(r.new_metric.as_ref().map(|n| n.name.clone()), name.clone());
        }
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let s = scan_wal(&bytes);
        prop_assert!(s.good_len <= bytes.len() as u64);
    }
}

/// A write cut short by a full disk is cut off the file again, and the
/// records written once there is room decode with the baseline and the
/// metric name they need (the failed records carried both).
#[test]
fn a_failed_write_leaves_the_wal_as_it_was() {
    use crate::config::FsyncPolicy;
    use crate::stats::DbCounters;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.wal");
    let mut w = WalWriter::open(&path, 0).unwrap();
    let mut c = DbCounters::default();
    let write = |w: &mut WalWriter, c: &mut DbCounters| {
        w.write_pending(FsyncPolicy::Always, u64::MAX, c, None)
    };
    w.log(1, TS, 10, "a", ValueType::Float32).unwrap();
    write(&mut w, &mut c).unwrap();
    let good = std::fs::metadata(&path).unwrap().len();
    // A new metric and a jump past the delta range: a name and a new baseline.
    let later = TS + 100_000_000_000;
    w.log(2, later, 20, "b", ValueType::Int32).unwrap();
    w.fail_next_write_after = Some(5);
    let err = write(&mut w, &mut c).unwrap_err();
    assert!(matches!(err, crate::Error::Io { .. }), "{err}");
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        good,
        "partial record cut off"
    );
    assert_eq!(w.len_with_pending(), good);
    // Room again.
    w.log(2, later + 1, 30, "b", ValueType::Int32).unwrap();
    w.log(1, TS + 1, 40, "a", ValueType::Float32).unwrap();
    write(&mut w, &mut c).unwrap();
    let scan = scan_wal(&std::fs::read(&path).unwrap());
    assert_eq!(scan.stop, None);
    assert_eq!(scan.skipped_missing_baseline, 0);
    let got: Vec<(u16, i64, u32, Option<String>)> = scan
        .records
        .iter()
        .map(|(_, r)| {
            (
                r.metric_id,
                r.ts,
                r.value.bits() as u32,
                r.new_metric.as_ref().map(|n| n.name.clone()),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, TS, 10, Some("a".to_string())),
            (2, later + 1, 30, Some("b".to_string())),
            (1, TS + 1, 40, None),
        ]
    );
}

/// What v1.4.0's reader makes of a record (docs/FORMATS.md §4.4): flag bits
/// 0–5 and bytes after the value are ignored. Returns (id, ts, value) per
/// record, stopping where it would stop.
fn v1_4_0_read(bytes: &[u8]) -> Vec<(u16, i64, u32)> {
    let mut out = Vec::new();
    let mut baseline: Option<i64> = None;
    let mut off = 0;
    while let Some((len, vlen)) = crate::varint::decode(&bytes[off..]) {
        let p = &bytes[off + vlen..off + vlen + len as usize];
        let id = u16::from_le_bytes([p[0], p[1]]);
        let flags = p[5];
        let mut at = 6;
        let ts = if flags & 0x80 != 0 {
            let t = i64::from_le_bytes(p[6..14].try_into().unwrap());
            at += 8;
            baseline = Some(t);
            t
        } else {
            baseline.unwrap() + i64::from(u32::from_le_bytes([p[2], p[3], p[4], 0]))
        };
        if flags & 0x40 != 0 {
            at += 2 + usize::from(p[at]);
        }
        out.push((
            id,
            ts,
            u32::from_le_bytes(p[at..at + 4].try_into().unwrap()),
        ));
        off += vlen + len as usize;
        if off >= bytes.len() {
            break;
        }
    }
    out
}

/// `n` samples of 3 metrics in write groups of `group` records, with
/// baselines now and then (gaps past the delta range) and names on first
/// records; returns the bytes, the samples and each record's offset.
fn checked_wal(n: usize, group: usize, batch: Option<u64>) -> (Vec<u8>, Vec<(u16, i64, u32)>) {
    let mut e = WalEncoder::new();
    let mut out = Vec::new();
    let mut samples = Vec::new();
    let mut ts = TS;
    for i in 0..n {
        let id = (i % 3) as u16 + 1;
        ts += if i % 4 == 0 { 50_000_000 } else { 1_000 };
        let name = format!("m{id}");
        let nm = (i < 3).then_some((name.as_str(), 2));
        let end = (i + 1) % group == 0 || i + 1 == n;
        let ext = RecordExt::Checked {
            end,
            batch: batch.filter(|_| end),
        };
        let v = (i as u32).wrapping_mul(2_654_435_761);
        e.encode_ext(id, ts, WalValue::Narrow(v), nm, ext, &mut out)
            .unwrap();
        samples.push((id, ts, v));
    }
    (out, samples)
}

fn triples(s: &WalScan) -> Vec<(u16, i64, u32)> {
    s.records
        .iter()
        .map(|(_, r)| (r.metric_id, r.ts, r.value.bits() as u32))
        .collect()
}

/// Our records carry a checksum and group flags in bits v1.4.0 ignores:
/// both readers get the same samples.
#[test]
fn checked_records_round_trip_and_read_the_same_in_v1_4_0() {
    for batch in [None, Some(0x0123_4567_89ab_cdef)] {
        let (bytes, samples) = checked_wal(50, 7, batch);
        let s = scan_wal(&bytes);
        assert_eq!(s.stop, None);
        assert!(s.damage.is_empty());
        assert_eq!(s.good_len, bytes.len() as u64);
        assert_eq!(s.has_batch_ids, batch.is_some());
        assert_eq!(triples(&s), samples);
        assert_eq!(v1_4_0_read(&bytes), samples);
        assert_eq!(s.records[0].1.new_metric.as_ref().unwrap().name, "m1");
    }
}

/// A write cut at any byte keeps exactly the groups that ended before the
/// cut, and the length to keep is where the cut group began.
#[test]
fn a_group_cut_anywhere_is_kept_whole_or_not_at_all() {
    let (bytes, samples) = checked_wal(20, 4, None);
    let full = scan_wal(&bytes);
    // Offsets where each group of 4 ends.
    let ends: Vec<u64> = full
        .records
        .iter()
        .skip(1)
        .map(|(o, _)| *o)
        .chain([bytes.len() as u64])
        .collect();
    for cut in 0..bytes.len() {
        let s = scan_wal(&bytes[..cut]);
        let groups = ends
            .iter()
            .enumerate()
            .filter(|(i, e)| (i + 1) % 4 == 0 && **e <= cut as u64)
            .count();
        assert_eq!(triples(&s), samples[..groups * 4], "cut at {cut}");
        let keep = if groups == 0 { 0 } else { ends[groups * 4 - 1] };
        assert_eq!(s.good_len, keep, "cut at {cut}");
    }
}

/// A group whose batch id the commit log does not name is dropped.
#[test]
fn an_uncommitted_batch_is_dropped() {
    let (mut bytes, samples) = checked_wal(6, 6, None);
    let (more, _) = checked_wal(4, 4, Some(77));
    bytes.extend_from_slice(&more);
    let s = scan_wal_with(&bytes, &|id| id != 77);
    assert_eq!(triples(&s), samples);
    assert_eq!(s.discarded_uncommitted, 4);
    assert!(s.has_batch_ids);
    assert_eq!(s.good_len, bytes.len() as u64);
    let s = scan_wal_with(&bytes, &|id| id == 77);
    assert_eq!(s.records.len(), 10);
}

/// Every flipped bit of a WAL written by us loses only records near it
/// and never yields a wrong sample: each record returned is one that was
/// written, at its own offset, and every record before the damaged one and
/// after the next record carrying a baseline is returned.
#[test]
fn a_flipped_bit_loses_only_the_records_near_it_and_never_lies() {
    let (bytes, samples) = checked_wal(60, 1, None);
    let clean = scan_wal(&bytes);
    let offsets: Vec<u64> = clean.records.iter().map(|(o, _)| *o).collect();
    let has_baseline: Vec<bool> = (0..samples.len())
        .map(|i| i == 0 || samples[i].1 - samples[i - 1].1 > 1_000 || i % 4 == 0)
        .collect();
    for at in 0..bytes.len() {
        for bit in [0u8, 3, 7] {
            let mut bad = bytes.clone();
            bad[at] ^= 1 << bit;
            let s = scan_wal(&bad);
            for (off, r) in &s.records {
                let i = offsets
                    .binary_search(off)
                    .expect("a record at a written offset");
                assert_eq!(
                    (r.metric_id, r.ts, r.value.bits() as u32),
                    samples[i],
                    "flip {at}.{bit} changed record {i}"
                );
            }
            let hit = offsets.partition_point(|&o| o <= at as u64) - 1;
            let resume = (hit + 1..samples.len())
                .find(|&i| has_baseline[i])
                .unwrap_or(samples.len());
            let got: Vec<u64> = s.records.iter().map(|(o, _)| *o).collect();
            for i in (0..hit).chain(resume..samples.len()) {
                assert!(
                    got.contains(&offsets[i]),
                    "flip {at}.{bit} (record {hit}) lost record {i}"
                );
            }
        }
    }
}

/// A record of ours whose checksum flag was cleared is damage, not a
/// v1.4.0 record with surplus bytes.
#[test]
fn a_cleared_checksum_flag_is_damage() {
    let (mut bytes, samples) = checked_wal(3, 1, None);
    let second = scan_wal(&bytes).records[1].0 as usize;
    bytes[second + 1 + 5] &= !0x01;
    let s = scan_wal(&bytes);
    assert_eq!(s.damage.len(), 1);
    assert_eq!(s.damage[0].offset, second as u64);
    // The third record is relative to a baseline that cannot be trusted.
    assert_eq!(triples(&s), [samples[0]]);
    assert_eq!(s.skipped_missing_baseline, 1);
}

#[test]
fn wide_records_layout_and_rules() {
    let checked = RecordExt::Checked {
        end: true,
        batch: None,
    };
    let mut e = WalEncoder::new();
    let mut out = Vec::new();
    let v = 0x0123_4567_89ab_cdef_u64;
    e.encode_ext(1, TS, WalValue::Wide(v), Some(("w", 4)), checked, &mut out)
        .unwrap();
    // 2 + 3 + 1 + 8 (B) + 1 + 1 + 1 (N) + 4 + 4 (W) + 4 (C) = 29.
    assert_eq!(out[0], 29);
    assert_eq!(out[6], 0x80 | 0x40 | 0x08 | 0x02 | 0x01);
    assert_eq!(&out[18..26], &v.to_le_bytes());
    let s = scan_wal(&out);
    assert_eq!(s.stop, None);
    assert_eq!(s.records[0].1.value, WalValue::Wide(v));
    assert_eq!(s.records[0].1.new_metric.as_ref().unwrap().value_type, 4);
    // v1.4.0's record format has no room for 8 bytes.
    assert_eq!(
        WalEncoder::new().encode_ext(
            1,
            TS,
            WalValue::Wide(v),
            None,
            RecordExt::Legacy,
            &mut Vec::new()
        ),
        Err(WalError::WideWithoutChecksum)
    );
    // A narrow type with flag W, and W without its 4 bytes, are damage.
    let mut bad = Vec::new();
    WalEncoder::new()
        .encode_ext(1, TS, WalValue::Wide(v), Some(("w", 2)), checked, &mut bad)
        .unwrap();
    assert!(matches!(
        scan_wal(&bad).stop.unwrap().reason,
        WalStopReason::Decode(_)
    ));
}

proptest! {
    #[test]
    fn wide_and_narrow_records_round_trip(recs in proptest::collection::vec(
        (1u16..=u16::MAX, any::<i64>(), any::<u64>(), any::<bool>(), any::<bool>()), 1..200)) {
        let mut e = WalEncoder::new();
        let mut out = Vec::new();
        let n = recs.len();
        for (k, (id, ts, bits, wide, named)) in recs.iter().enumerate() {
            let value = WalValue::new(*bits, *wide);
            let nm = named.then_some(("m", if *wide { 3 } else { 2 }));
            let ext = RecordExt::Checked { end: k + 1 == n, batch: None };
            e.encode_ext(*id, *ts, value, nm, ext, &mut out).unwrap();
        }
        let s = scan_wal(&out);
        prop_assert!(s.stop.is_none());
        prop_assert_eq!(s.records.len(), n);
        for ((_, r), (id, ts, bits, wide, _)) in s.records.iter().zip(&recs) {
            prop_assert_eq!((r.metric_id, r.ts), (*id, *ts));
            prop_assert_eq!(r.value, WalValue::new(*bits, *wide));
        }
    }
}

/// A stretch of intact groups copied over a damaged spot is replayed once.
#[test]
fn groups_copied_over_damage_are_replayed_once() {
    let (bytes, samples) = checked_wal(12, 3, None);
    let clean = scan_wal(&bytes);
    let offs: Vec<usize> = clean.records.iter().map(|(o, _)| *o as usize).collect();
    // Copy groups 2 and 3 (records 3..9) into the middle of record 1.
    let copy = bytes[offs[3]..offs[9]].to_vec();
    let mut bad = bytes[..offs[1] + 3].to_vec();
    bad.extend_from_slice(&copy);
    bad.extend_from_slice(&bytes[offs[1] + 3..]);
    let s = scan_wal(&bad);
    // Before and after the copy.
    assert_eq!(s.damage.len(), 2);
    let mut got = triples(&s);
    got.sort();
    // Lost: record 1 (damaged), 2 and 3 (relative to a baseline that cannot
    // be trusted after a damaged stretch); the copy stands in for the rest
    // of groups 2 and 3, whose originals are dropped.
    let mut want: Vec<_> = samples
        .iter()
        .enumerate()
        .filter(|(i, _)| ![1, 2, 3].contains(i))
        .map(|(_, s)| *s)
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(s.discarded_duplicates, 5);
}

/// In a file holding batches spanning databases, a group cut by damage is
/// not replayed in part: it may be such a batch, whose commit can no longer
/// be checked.
#[test]
fn a_group_cut_by_damage_is_dropped_when_the_file_holds_batches() {
    let (mut bytes, samples) = checked_wal(4, 4, None);
    let (tail, tail_samples) = checked_wal(3, 3, Some(9));
    let offs: Vec<usize> = scan_wal(&bytes)
        .records
        .iter()
        .map(|(o, _)| *o as usize)
        .collect();
    // Damage record 2 of the first group (records 0..4): 0 and 1 are intact.
    bytes[offs[2] + 4] ^= 0x40;
    let mut with_batch = bytes.clone();
    with_batch.extend_from_slice(&tail);
    let s = scan_wal(&with_batch);
    assert!(s.has_batch_ids);
    assert_eq!(triples(&s), tail_samples);
    assert_eq!(s.discarded_uncommitted, 2);
    // Without batches in the file, the intact records are kept.
    let s = scan_wal(&bytes);
    assert_eq!(triples(&s), samples[..2]);
}
