//! Tests of the metric-file reader and writer: reference fixtures, byte
//! layouts, damage detection and the time-frame cache.

use super::header::*;
use super::le::{le_i64, le_u16, le_u32, le_u64};
use super::v1::{PAGE_INFO_LEN, PI_FRAME_OFFSET, PI_METRIC_ID, PI_POINT_COUNT};
use super::v1::{PI_PAYLOAD_LEN, PI_UNCOMPRESSED_LEN, PI_VALUE_TYPE};
use super::*;
use crate::config::Codec;
use crate::datafile;
use crate::frame::DecodedFrame;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::testutil::fixtures;

type Series = BTreeMap<u16, Vec<(i64, u64)>>;

/// Samples of a raw data file grouped per metric id (file order, then a
/// stable sort by timestamp), as the reference build does.
fn load_raw(path: &Path) -> Series {
    let scan = datafile::scan_file(path, true).unwrap();
    assert!(scan.damage.is_none(), "{path:?}: {:?}", scan.damage);
    let file = File::open(path).unwrap();
    let mut block = Vec::new();
    let mut dec = DecodedFrame::default();
    let mut out = Series::new();
    for fi in &scan.frames {
        datafile::read_frame(&file, fi, &mut block, &mut dec)
            .unwrap()
            .unwrap();
        for i in 0..dec.len() {
            out.entry(dec.id(i))
                .or_default()
                .push((dec.ts(i), u64::from(dec.val(i) as u32)));
        }
    }
    for v in out.values_mut() {
        v.sort_by_key(|s| s.0);
    }
    out
}

fn read_series(mf: &MetricFile) -> Series {
    let mut out = Series::new();
    mf.read_all(i64::MIN, i64::MAX, |id, ts, v| {
        out.entry(id).or_default().push((ts, v))
    })
    .unwrap();
    out
}

/// (id, type) pairs of a catalog.json, without a JSON dependency: every
/// entry is `"id": N,` followed by `"type": T`.
fn catalog_types(dir: &Path) -> BTreeMap<u16, u8> {
    let text = fs::read_to_string(dir.join("catalog.json")).unwrap();
    let num_after = |s: &str, key: &str| -> Vec<u64> {
        s.split(key)
            .skip(1)
            .map(|rest| {
                let d: String = rest
                    .trim_start_matches([':', ' '])
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                d.parse().unwrap()
            })
            .collect()
    };
    let ids = num_after(&text, "\"id\"");
    let types = num_after(&text, "\"type\"");
    assert_eq!(ids.len(), types.len());
    ids.into_iter()
        .zip(types)
        .map(|(i, t)| (i as u16, t as u8))
        .collect()
}

fn raw_file(dir: &Path) -> PathBuf {
    let d = dir.join("data-2026-01-01.dat");
    if d.exists() {
        d
    } else {
        dir.join("raw-2026-01-01.dat")
    }
}

/// Codec ids found in every frame header of a file.
fn frame_codecs(path: &Path, s: &FileSummary) -> Vec<u16> {
    let bytes = fs::read(path).unwrap();
    // The codec id sits at the same offset in every frame kind.
    let at = |off: u64| {
        let c = off as usize + MPG1_CODEC;
        u16::from_le_bytes([bytes[c], bytes[c + 1]])
    };
    let mut ids: Vec<u16> = s.frames.iter().map(|f| at(f.offset)).collect();
    ids.extend(s.time_frames.iter().map(|t| at(t.offset)));
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[test]
fn reference_fixtures_match_raw_files() {
    let cases: [(&str, Version, u16, u64); 7] = [
        ("codecs/root/edge_s2", Version::V2, 1, 189_026),
        ("codecs/root/edge_s2b", Version::V2, 2, 182_273),
        ("codecs/root/edge_zd", Version::V2, 4, 148_288),
        ("codecs/root/edge_v1", Version::V1, 3, 662_134),
        ("codecs/root/edge_v1s2", Version::V1, 1, 690_461),
        ("codecs/root/edge_renamed", Version::V2, 3, 169_465),
        ("edge-2h/root/edge", Version::V2, 3, 169_465),
    ];
    for (dir, version, codec, size) in cases {
        let dir = fixtures().join(dir);
        let path = dir.join("metric-2026-01-01.dat");
        let mf = MetricFile::open(&path).unwrap();
        assert_eq!(mf.version(), version, "{dir:?}");
        assert_eq!(mf.len(), size, "{dir:?}");
        let s = mf.summary();
        assert_eq!(frame_codecs(&path, &s), vec![codec], "{dir:?}");
        let raw = load_raw(&raw_file(&dir));
        let got = read_series(&mf);
        assert_eq!(got.len(), raw.len(), "{dir:?}");
        assert_eq!(mf.metrics(), raw.keys().copied().collect::<Vec<_>>());
        for (id, want) in &raw {
            let have = &got[id];
            assert_eq!(have.len(), want.len(), "{dir:?} metric {id}");
            assert!(have == want, "{dir:?} metric {id}: samples differ");
        }
        let points: usize = raw.values().map(Vec::len).sum();
        assert_eq!(points, 61_920);
        assert_eq!(s.points(), 61_920);
        assert_eq!(s.distinct_metrics(), raw.len());
        let types = catalog_types(&dir);
        for id in mf.metrics() {
            assert_eq!(mf.value_type(id), types.get(&id).copied(), "metric {id}");
        }
        // Per-metric reads agree with the full read, also for a sub-range.
        let (&id, want) = raw.iter().next().unwrap();
        let (lo, hi) = (want[10].0, want[want.len() - 10].0);
        let mut have = Vec::new();
        mf.read_metric(id, lo, hi, &mut |ts, v| {
            have.push((ts, v));
            ControlFlow::Continue(())
        })
        .unwrap();
        let expect: Vec<_> = want
            .iter()
            .copied()
            .filter(|s| s.0 >= lo && s.0 <= hi)
            .collect();
        assert_eq!(have, expect);
        // Early stop.
        let mut n = 0;
        mf.read_metric(id, i64::MIN, i64::MAX, &mut |_, _| {
            n += 1;
            if n == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        assert_eq!(n, 3);
    }
}

/// The edge-2h samples as writer input (value types from the catalog).
fn edge_input() -> Vec<MetricSamples> {
    let dir = fixtures().join("edge-2h/root/edge");
    let types = catalog_types(&dir);
    load_raw(&dir.join("data-2026-01-01.dat"))
        .into_iter()
        .map(|(id, v)| MetricSamples {
            id,
            value_type: types[&id],
            ts: v.iter().map(|s| s.0).collect(),
            vals: v.iter().map(|s| s.1).collect(),
        })
        .collect()
}

#[test]
fn writer_round_trip_and_sizes_vs_reference() {
    let input = edge_input();
    let want: Series = input
        .iter()
        .map(|m| {
            (
                m.id,
                m.ts.iter().copied().zip(m.vals.iter().copied()).collect(),
            )
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let refs: [(Version, Codec, Option<&str>); 8] = [
        (Version::V2, Codec::S2, Some("codecs/root/edge_s2")),
        (Version::V2, Codec::S2Better, Some("codecs/root/edge_s2b")),
        (Version::V2, Codec::ZstdFastest, Some("edge-2h/root/edge")),
        (Version::V2, Codec::ZstdDefault, Some("codecs/root/edge_zd")),
        (Version::V1, Codec::S2, Some("codecs/root/edge_v1s2")),
        (Version::V1, Codec::S2Better, None),
        (Version::V1, Codec::ZstdFastest, Some("codecs/root/edge_v1")),
        (Version::V1, Codec::ZstdDefault, None),
    ];
    let mut failures = Vec::new();
    for (version, codec, reference) in refs {
        let path = tmp
            .path()
            .join(format!("metric-{}-{}.dat", version, codec.name()));
        // Reversed input order: the writer must order frames by id itself.
        let mut rev = input.clone();
        rev.reverse();
        let sum = write_metric_file(&path, version, codec, 1, &rev, false).unwrap();
        assert!(!tmp.path().join(format!("{}.tmp", path.display())).exists());
        assert_eq!(sum.bytes, fs::metadata(&path).unwrap().len());
        assert_eq!(sum.points, 61_920);
        assert_eq!(sum.metric_frames as usize, input.len());
        let mf = MetricFile::open(&path).unwrap();
        assert_eq!(mf.version(), version);
        let s = mf.summary();
        assert_eq!(frame_codecs(&path, &s), vec![u16::from(codec.id())]);
        let ids: Vec<u16> = s.frames.iter().map(|f| f.metric_id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "frames in id order");
        assert!(read_series(&mf) == want, "{version} {}", codec.name());
        if let Some(r) = reference {
            let rpath = fixtures().join(r).join("metric-2026-01-01.dat");
            let rsize = fs::metadata(&rpath).unwrap().len();
            let rs = MetricFile::open(&rpath).unwrap().summary();
            assert_eq!(s.time_frames.len(), rs.time_frames.len(), "{r}");
            let diff = (sum.bytes as f64 - rsize as f64) / rsize as f64 * 100.0;
            println!(
                "{version}/{:<13} ours={:>7} reference={:>7} diff={:+.2}%",
                codec.name(),
                sum.bytes,
                rsize,
                diff
            );
            // zstd: no larger than the reference's (#17: the best settings
            // v1.4.0 decodes); S2 block output is the reference's own
            // encoder ported, within 3 %.
            let (lo, hi) = match codec {
                Codec::ZstdFastest | Codec::ZstdDefault => (-100.0, 0.0),
                Codec::S2 | Codec::S2Better => (-3.0, 3.0),
            };
            if diff < lo || diff > hi {
                failures.push(format!("{version}/{}: {diff:+.2}%", codec.name()));
            }
        } else {
            println!(
                "{version}/{:<13} ours={:>7} (no reference)",
                codec.name(),
                sum.bytes
            );
        }
    }
    assert!(failures.is_empty(), "size outside its bound: {failures:?}");
}

fn ms(id: u16, vt: u8, ts: &[i64], vals: &[u32]) -> MetricSamples {
    MetricSamples {
        id,
        value_type: vt,
        ts: ts.to_vec(),
        vals: vals.iter().map(|&v| u64::from(v)).collect(),
    }
}

#[test]
fn v2_planning_reference_example() {
    let ts = [100, 200, 300, 400];
    let metrics = [
        ms(12, 1, &[300, 400], &[7, 8]),
        ms(10, 1, &ts, &[1, 2, 3, 4]),
        ms(
            11,
            2,
            &ts,
            &[0x3f80_0000, 0x4000_0000, 0x4040_0000, 0x4080_0000],
        ),
    ];
    let lists: Vec<&[i64]> = vec![&ts, &ts, &[300, 400]];
    let (frames, placements) = v2::plan_time_frames(&lists).unwrap();
    assert_eq!(frames, vec![0]);
    let p = |time_frame_id, time_offset| v2::Placement {
        time_frame_id,
        time_offset,
    };
    assert_eq!(placements, vec![p(1, 0), p(1, 0), p(1, 2)]);

    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("metric-2026-01-01.dat");
    let sum = write_metric_file(&path, Version::V2, Codec::ZstdFastest, 1, &metrics, true).unwrap();
    assert_eq!((sum.time_frames, sum.metric_frames), (1, 3));
    assert_eq!((sum.min_ts, sum.max_ts), (100, 400));
    let bytes = fs::read(&path).unwrap();
    let h: [u8; FILE_HEADER_LEN] = bytes[..FILE_HEADER_LEN].try_into().unwrap();
    assert_eq!(&h[HDR_MAGIC..HDR_MAGIC + 4], b"NTMF");
    assert_eq!(le_u16(&h, HDR_VERSION), 2);
    assert_eq!(le_u32(&h, HDR_FLAGS), 1);
    assert_eq!(h[HDR_PARTITION_KIND], 1);
    assert_eq!((le_i64(&h, HDR_MIN_TS), le_i64(&h, HDR_MAX_TS)), (100, 400));
    assert_eq!(
        (
            le_u32(&h, V2_TIME_FRAME_COUNT),
            le_u32(&h, V2_METRIC_FRAME_COUNT)
        ),
        (1, 3)
    );
    let (t_off, m_off) = (
        le_u64(&h, V2_TIME_INDEX_OFFSET),
        le_u64(&h, V2_METRIC_INDEX_OFFSET),
    );
    assert_eq!(m_off, t_off + 40);
    assert_eq!(m_off + 3 * 44 + 16, bytes.len() as u64);
    let t0 = FILE_HEADER_LEN + TPG2_MAGIC;
    assert_eq!(&bytes[t0..t0 + 4], b"TPG2");
    let ft = bytes.len() - FOOTER_LEN + FTR_MAGIC;
    assert_eq!(&bytes[ft..ft + 4], b"NTFT");

    let mf = MetricFile::open(&path).unwrap();
    let s = mf.summary();
    assert_eq!(s.time_frames.len(), 1);
    let t = s.time_frames[0];
    assert_eq!(
        (t.id, t.offset, t.point_count, t.decoded_len),
        (1, 64, 4, 32)
    );
    assert_eq!((t.start_ts, t.end_ts), (100, 400));
    let got: Vec<_> = s
        .frames
        .iter()
        .map(|f| {
            (
                f.metric_id,
                f.value_type,
                f.time_frame_id,
                f.time_offset,
                f.point_count,
                f.decoded_len,
                f.start_ts,
                f.end_ts,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (10, 1, Some(1), Some(0), 4, 16, 100, 400),
            (11, 2, Some(1), Some(0), 4, 16, 100, 400),
            (12, 1, Some(1), Some(2), 2, 8, 300, 400),
        ]
    );
    let mut out = Vec::new();
    mf.read_metric(12, i64::MIN, i64::MAX, &mut |ts, v| {
        out.push((ts, v));
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(out, vec![(300, 7), (400, 8)]);
    let mut out = Vec::new();
    mf.read_metric(11, 150, 300, &mut |ts, v| {
        out.push((ts, v));
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(out, vec![(200, 0x4000_0000), (300, 0x4040_0000)]);
}

#[test]
fn planning_picks_first_frame_and_lowest_offset() {
    let a: &[i64] = &[1, 2, 2, 2, 3, 5];
    let b: &[i64] = &[2, 2, 3];
    let c: &[i64] = &[7, 8, 9, 10, 11, 12, 13];
    let d: &[i64] = &[2, 3];
    let e: &[i64] = &[4];
    let (frames, pl) = v2::plan_time_frames(&[a, b, c, d, e]).unwrap();
    // Visit order: c (7), a (6), b (3), d (2), e (1) → c gets id 1, a id 2.
    assert_eq!(frames, vec![2, 0, 4]);
    let got: Vec<(u16, u32)> = pl
        .iter()
        .map(|p| (p.time_frame_id, p.time_offset))
        .collect();
    assert_eq!(got, vec![(2, 0), (2, 2), (1, 0), (2, 3), (3, 0)]);
}

#[test]
fn writer_rejects_bad_input_and_leaves_no_tmp() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("metric-x.dat");
    let cases = [
        vec![ms(0, 1, &[1], &[1])],
        vec![ms(1, 3, &[1], &[1])],
        vec![ms(1, 1, &[], &[])],
        vec![ms(1, 1, &[1, 2], &[1])],
        vec![ms(1, 1, &[2, 1], &[1, 1])],
        vec![ms(1, 1, &[1], &[1]), ms(1, 2, &[1], &[1])],
    ];
    for c in cases {
        for v in [Version::V1, Version::V2] {
            let e = write_metric_file(&path, v, Codec::S2, 1, &c, false).unwrap_err();
            assert!(matches!(e, MetricFileError::InvalidInput { .. }), "{e}");
        }
    }
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    // A missing directory: I/O error, nothing left behind.
    let bad = tmp.path().join("nope/metric.dat");
    let e = write_metric_file(
        &bad,
        Version::V2,
        Codec::S2,
        1,
        &[ms(1, 1, &[1], &[1])],
        false,
    )
    .unwrap_err();
    assert!(matches!(e, MetricFileError::Io { .. }));
    // Empty input is a valid (empty) file for both versions.
    for v in [Version::V1, Version::V2] {
        let s = write_metric_file(&path, v, Codec::S2, 4, &[], false).unwrap();
        assert_eq!(s.bytes, 80);
        let mf = MetricFile::open(&path).unwrap();
        assert_eq!(mf.version(), v);
        assert!(mf.metrics().is_empty());
        assert_eq!(mf.summary().partition_kind, 4);
    }
}

#[test]
fn v1_layout_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("m.dat");
    let metrics = [ms(9, 2, &[5, 6], &[1, 2]), ms(3, 1, &[-4], &[7])];
    let s = write_metric_file(&path, Version::V1, Codec::S2, 2, &metrics, false).unwrap();
    assert_eq!((s.min_ts, s.max_ts, s.metric_frames), (-4, 6, 2));
    let b = fs::read(&path).unwrap();
    let h = FileHeader::from_bytes(b[..FILE_HEADER_LEN].try_into().unwrap());
    let hb = h.as_bytes();
    assert_eq!(
        (h.version(), h.header_len(), h.flags(), h.partition_kind()),
        (1, 64, 1, 2)
    );
    assert_eq!((h.min_ts(), h.max_ts()), (-4, 6));
    assert_eq!((h.v1_metric_count(), h.v1_page_count()), (2, 2));
    assert_eq!(le_u32(hb, HDR_CRC), crc32fast::hash(&hb[..HDR_CRC]));
    // First frame is metric 3 at offset 64, a literal-only S2 block of 12 bytes.
    let f0 = FILE_HEADER_LEN;
    let f = b[f0..f0 + FRAME_HEADER_LEN].try_into().unwrap();
    let f = FrameHeader::from_bytes(FrameKind::Mpg1, f);
    assert_eq!(&f.as_bytes()[MPG1_MAGIC..MPG1_MAGIC + 4], b"MPG1");
    assert_eq!(
        (f.header_len(), f.codec_id(), f.id(), f.type_code()),
        (48, 1, 3, 1)
    );
    assert_eq!((f.start_ts(), f.end_ts()), (-4, -4));
    assert_eq!(
        (f.point_count(), f.payload_len(), f.decoded_len()),
        (1, 14, 12)
    );
    let p0 = f0 + MPG1_PAYLOAD;
    assert_eq!(&b[p0..p0 + 2], &[12, 11 << 2]);
    let ft = Footer::from_bytes(b[b.len() - FOOTER_LEN..].try_into().unwrap());
    assert_eq!(
        (
            &ft.as_bytes()[FTR_MAGIC..FTR_MAGIC + 4],
            ft.version(),
            ft.count()
        ),
        (&b"NTFT"[..], 1, 2)
    );
    let pi0 = b.len() - FOOTER_LEN - 2 * PAGE_INFO_LEN;
    let pi: [u8; PAGE_INFO_LEN] = b[pi0..pi0 + PAGE_INFO_LEN].try_into().unwrap();
    assert_eq!(
        (
            le_u16(&pi, PI_METRIC_ID),
            pi[PI_VALUE_TYPE],
            le_u64(&pi, PI_FRAME_OFFSET)
        ),
        (3, 1, 64)
    );
    assert_eq!(
        (
            le_u32(&pi, PI_POINT_COUNT),
            le_u32(&pi, PI_UNCOMPRESSED_LEN),
            le_u32(&pi, PI_PAYLOAD_LEN)
        ),
        (1, 12, 14)
    );
}

// A counting global allocator needs `unsafe impl GlobalAlloc`.
#[allow(unsafe_code)]
pub(crate) mod alloc_probe;
mod damage;
mod runs;
mod v3;

/// Timing of a full-day query (8,640 points) with a warm time-frame
/// cache. Run with `cargo test --release -- --ignored full_day`.
#[test]
#[ignore]
fn full_day_query_timing() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("metric-day.dat");
    let day0 = 1_767_225_600_000_000_000i64;
    let ts: Vec<i64> = (0..8640).map(|i| day0 + i * 10_000_000_000).collect();
    let metrics: Vec<MetricSamples> = (1..=50u16)
        .map(|id| MetricSamples {
            id,
            value_type: 2,
            ts: ts.clone(),
            vals: (0..8640u32)
                .map(|i| u64::from((20.0f32 + (i % 97) as f32 / 10.0).to_bits()))
                .collect(),
        })
        .collect();
    write_metric_file(&path, Version::V2, Codec::ZstdFastest, 1, &metrics, false).unwrap();
    let mf = MetricFile::open(&path).unwrap();
    let mut n = 0u64;
    let mut run = || {
        mf.read_metric(17, i64::MIN, i64::MAX, &mut |_, _| {
            n += 1;
            ControlFlow::Continue(())
        })
        .unwrap()
    };
    run();
    let t = std::time::Instant::now();
    for _ in 0..100 {
        run();
    }
    let per = t.elapsed() / 100;
    println!("full-day query: {per:?} per call");
    assert_eq!(n, 8640 * 101);
}
