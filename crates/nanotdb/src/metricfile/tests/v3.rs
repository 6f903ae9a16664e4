//! Metric file v3: layout, exact round trips of every type, damage.

use super::alloc_probe;
use crate::config::Codec;
use crate::metricfile::header::*;
use crate::metricfile::v3::{self, column};
use crate::metricfile::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::fs;
use std::ops::ControlFlow;
use std::path::Path;

type Got = BTreeMap<u16, Vec<(i64, u64)>>;

fn write(path: &Path, metrics: &[MetricSamples]) -> WriteSummary {
    write_metric_file(path, Version::V3, Codec::ZstdFastest, 1, metrics, false).unwrap()
}

fn read_all(path: &Path) -> Got {
    let mf = MetricFile::open(path).unwrap();
    assert_eq!(mf.version(), Version::V3);
    let mut got = Got::new();
    mf.read_all(i64::MIN, i64::MAX, |id, t, v| {
        got.entry(id).or_default().push((t, v))
    })
    .unwrap();
    got
}

fn want(metrics: &[MetricSamples]) -> Got {
    metrics
        .iter()
        .map(|m| {
            (
                m.id,
                m.ts.iter().copied().zip(m.vals.iter().copied()).collect(),
            )
        })
        .collect()
}

fn ms(id: u16, vt: u8, ts: &[i64], vals: &[u64]) -> MetricSamples {
    MetricSamples {
        id,
        value_type: vt,
        ts: ts.to_vec(),
        vals: vals.to_vec(),
    }
}

#[test]
fn v3_layout_shares_and_packs() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("m.dat");
    let f = |x: f32| u64::from(x.to_bits());
    let metrics = [
        ms(12, 1, &[300, 400], &[7, 8]),
        ms(10, 1, &[100, 200, 300, 400], &[1, 2, 3, 4]),
        ms(
            11,
            2,
            &[100, 200, 300, 400],
            &[f(0.5), f(-0.0), f(1.25), f(2.0)],
        ),
    ];
    let s = write(&p, &metrics);
    assert_eq!((s.time_frames, s.metric_frames, s.points), (3, 3, 10));
    assert_eq!((s.min_ts, s.max_ts), (100, 400));
    let b = fs::read(&p).unwrap();
    assert_eq!(s.bytes, b.len() as u64);
    assert_eq!(&b[0..4], b"NTMF");
    assert_eq!(
        u16::from_le_bytes([b[4], b[5]]),
        3,
        "v1.4.0 rejects any version but 1 and 2"
    );
    let n = b.len();
    assert_eq!(&b[n - 16..n - 12], b"NTFT");
    assert_eq!(u32::from_le_bytes(b[n - 12..n - 8].try_into().unwrap()), 3);
    let h = FileHeader::from_bytes(b[..64].try_into().unwrap());
    // Packed index (footer word 1): one zstd frame from the block index
    // offset to the metric index offset, which is where the footer starts.
    assert_eq!(
        u32::from_le_bytes(b[n - 8..n - 4].try_into().unwrap()),
        v3::index::LAYOUT_PACKED
    );
    let (pi, pe) = (
        h.v2_time_index_offset() as usize,
        h.v2_metric_index_offset() as usize,
    );
    assert_eq!(pe, n - 16);
    assert_eq!(h.v2_reserved(), crc32fast::hash(&b[pi..pe]));
    let (bt, mt) = v3::index::unpack(
        &b[pi..pe],
        (3, v3::BLOCK_ENTRY_LEN),
        (3, v3::METRIC_ENTRY_LEN),
    )
    .unwrap();
    // Blocks: one time block (both vectors packed: 4 + 2 timestamps), the
    // int32 block (metric 10, then 12), the float32 block.
    let blk = |i: usize| {
        let e = &bt[i * v3::BLOCK_ENTRY_LEN..];
        (u32::from_le_bytes(e[12..16].try_into().unwrap()), e[16])
    };
    assert_eq!([blk(0), blk(1), blk(2)], [(6, 4), (6, 1), (4, 2)]);
    // Metric entries in id order: (id, count, time block, time start,
    // value block, value start).
    let ent = |i: usize| {
        let e = &mt[i * v3::METRIC_ENTRY_LEN..];
        let u = |o: usize| u32::from_le_bytes(e[o..o + 4].try_into().unwrap());
        (
            u16::from_le_bytes([e[0], e[1]]),
            u(4),
            u(24),
            u(28),
            u(32),
            u(36),
        )
    };
    assert_eq!(
        [ent(0), ent(1), ent(2)],
        [
            (10, 4, 0, 0, 1, 0),
            (11, 4, 0, 0, 2, 0),
            (12, 2, 0, 4, 1, 4)
        ]
    );
    // inspect: the time block spans its segments.
    let sum = MetricFile::open(&p).unwrap().summary();
    let tf: Vec<_> = sum
        .time_frames
        .iter()
        .map(|t| (t.id, t.point_count, t.start_ts, t.end_ts))
        .collect();
    assert_eq!(tf, [(0, 6, 100, 400)]);
    assert_eq!(read_all(&p), want(&metrics));
    // The plain layout (footer word 0: tables as they are, the first v3
    // files) still reads: the same file with its index unpacked.
    let mut plain = b[..pi].to_vec();
    plain.extend_from_slice(&bt);
    plain.extend_from_slice(&mt);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&bt);
    crc.update(&mt);
    let h0 = FileHeader::new_v3(
        h.partition_kind(),
        (h.min_ts(), h.max_ts()),
        (3, 3),
        (pi as u64, (pi + bt.len()) as u64),
        crc.finalize(),
    );
    plain[..64].copy_from_slice(h0.as_bytes());
    plain.extend_from_slice(Footer::new(3, v3::index::LAYOUT_PLAIN).as_bytes());
    let q = tmp.path().join("plain.dat");
    fs::write(&q, &plain).unwrap();
    assert_eq!(read_all(&q), want(&metrics));
    // Any other footer word is refused.
    let mut other = b.clone();
    other[n - 8] = 2;
    let ft = Footer::new(3, 2);
    other[n - 16..].copy_from_slice(ft.as_bytes());
    fs::write(&q, &other).unwrap();
    assert!(MetricFile::open(&q).is_err());
    assert_eq!(read_all(&p), want(&metrics));
}

#[test]
fn v3_long_metric_is_segmented_and_range_reads_are_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("m.dat");
    let n = v3::SEGMENT_POINTS as i64 * 2 + 1000;
    let ts: Vec<i64> = (0..n).map(|i| 1_000 + i * 10 + i % 3).collect();
    let vals: Vec<u64> = (0..n).map(|i| (i * 7 % 1000) as u64).collect();
    let s = write(&p, &[ms(5, 4, &ts, &vals)]);
    assert_eq!(s.metric_frames, 3);
    let mf = MetricFile::open(&p).unwrap();
    let (lo, hi) = (ts[70_000], ts[70_010]);
    let mut got = Vec::new();
    mf.read_metric(5, lo, hi, &mut |t, v| {
        got.push((t, v));
        ControlFlow::Continue(())
    })
    .unwrap();
    let exp: Vec<(i64, u64)> = (70_000..=70_010).map(|i| (ts[i], vals[i])).collect();
    assert_eq!(got, exp);
}

#[test]
fn v3_decimal_floats_use_the_decimal_encoding() {
    let vals: Vec<u64> = (0..5000)
        .map(|i| {
            // As line protocol parses it: decimal text rounded to f32.
            let x = (i * 37) % 2000 + 300;
            let v: f32 = format!("{}.{:02}", x / 100, x % 100).parse().unwrap();
            u64::from(v.to_bits())
        })
        .collect();
    let (enc, payload) = column::encode(column::DT_F32, &vals, 8);
    assert_eq!(enc, column::ENC_PCO_DECIMAL32, "integers fit i32");
    assert_eq!(payload[0], 2, "two decimals");
    let mut back = Vec::new();
    column::decode(column::DT_F32, enc, &payload, vals.len(), &mut back).unwrap();
    assert_eq!(back, vals);
    // Integers beyond i32 keep the i64 form.
    let wide: Vec<u64> = (0..3000)
        .map(|i| (1e8 + f64::from(i) * 0.25 + 0.5).to_bits())
        .collect();
    let (enc64, p64) = column::encode(column::DT_F64, &wide, 8);
    assert_eq!((enc64, p64[0]), (column::ENC_PCO_DECIMAL, 2));
    let mut back64 = Vec::new();
    column::decode(column::DT_F64, enc64, &p64, wide.len(), &mut back64).unwrap();
    assert_eq!(back64, wide);
    // A declared count the payload cannot hold is refused before decoding.
    assert!(!column::plausible(column::DT_F32, enc, 1, 2000));
    assert!(column::decode(column::DT_F32, enc, &payload[..1], 5000, &mut back).is_err());
}

/// `decode_values` keeps a float32 decimal block's integers and scale
/// when they are all f32-exact (the export writes those decimals as they
/// are), and their values are `decode`'s bits; otherwise it gives the bits.
#[test]
fn v3_decimal_blocks_decode_to_integers_with_the_same_values() {
    let decimals = |offset: i64| -> Vec<u64> {
        (0..3000i64)
            .map(|i| {
                let x = offset + (i * 37) % 2000;
                let v: f32 = format!("{}.{:02}", x / 100, x % 100).parse().unwrap();
                u64::from(v.to_bits())
            })
            .collect()
    };
    // Integers up to 2,000,300 (f32-exact), then from 20,000,000 on (i32,
    // beyond 2^24).
    for (offset, exact) in [(300, true), (20_000_000, false)] {
        let vals = decimals(offset);
        let (enc, payload) = column::encode(column::DT_F32, &vals, 8);
        assert_eq!(enc, column::ENC_PCO_DECIMAL32, "offset {offset}");
        let mut bits = Vec::new();
        column::decode(column::DT_F32, enc, &payload, vals.len(), &mut bits).unwrap();
        assert_eq!(bits, vals);
        let mut got = column::Values::default();
        column::decode_values(column::DT_F32, enc, &payload, vals.len(), &mut got).unwrap();
        if exact {
            assert_eq!((got.scale, got.bits.len()), (Some(2), 0));
            let back: Vec<u64> = got
                .ints
                .iter()
                .map(|&x| u64::from(decimal32_bits(x, 2)))
                .collect();
            assert_eq!(back, vals);
        } else {
            assert_eq!((got.scale, got.ints.len()), (None, 0));
            assert_eq!(got.bits, vals);
        }
    }
}

#[test]
fn v3_jittered_timestamps_use_the_stride_encoding() {
    // 10 s scrapes with up to 20 ms of jitter: the grid step found is the
    // round 10 s, not the median interval.
    let mut x = 7u64;
    let ts: Vec<u64> = (0..8640u64)
        .map(|k| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            1_767_225_600_000_000_000 + k * 10_000_000_000 + (x >> 40) % 20_000_000
        })
        .collect();
    let (enc, payload) = column::encode(column::DT_I64, &ts, 8);
    assert_eq!(enc, column::ENC_PCO_STRIDE);
    assert_eq!(&payload[..8], &10_000_000_000i64.to_le_bytes());
    let back = column::decode_times(enc, &payload, ts.len()).unwrap();
    assert!(back.iter().zip(&ts).all(|(a, b)| *a as u64 == *b));
    // Wrapping arithmetic: extremes survive.
    let ext = [i64::MIN as u64, i64::MAX as u64, 0, 1, i64::MIN as u64];
    let (enc, payload) = column::encode(column::DT_I64, &ext, 8);
    let mut out = Vec::new();
    column::decode(column::DT_I64, enc, &payload, ext.len(), &mut out).unwrap();
    assert_eq!(out, ext);
}

#[test]
fn v3_decimal_f32_division_matches_the_definition_densely() {
    // Every integer near zero (where most sensor decimals are) and a
    // sweep to the f32-exact limit, for every digit count.
    let near = -200_000i32..=200_000;
    let sweep = (-(1i32 << 24)..=1 << 24).step_by(7919);
    let edges = [
        (1i32 << 24) - 1,
        1 << 24,
        -(1 << 24),
        (1 << 24) + 1,
        -(1 << 24) - 1,
    ];
    let xs: Vec<i32> = near.chain(sweep).chain(edges).collect();
    for k in 0..=column::MAX_DECIMALS {
        for &x in &xs {
            assert_eq!(
                column::decimal_bits_fast(column::DT_F32, x, k),
                column::decimal_bits_reference(column::DT_F32, i64::from(x), k),
                "x {x} k {k}"
            );
        }
    }
}

/// Values of a type with every awkward bit pattern: NaNs with payloads,
/// ±Inf, ±0, denormals, extremes, decimals.
fn value(vt: u8) -> BoxedStrategy<u64> {
    match vt {
        1 => prop_oneof![any::<i32>(), -100i32..100, Just(i32::MIN), Just(i32::MAX)]
            .prop_map(|v| u64::from(v as u32))
            .boxed(),
        2 => prop_oneof![
            any::<u32>(),
            Just(0x7fc0_0001u32),
            Just(0xffa0_0000),
            Just(f32::INFINITY.to_bits()),
            Just(f32::NEG_INFINITY.to_bits()),
            Just(0x8000_0000),
            1u32..0x0080_0000,
            (-5000i32..5000).prop_map(|x| (x as f32 / 100.0).to_bits()),
        ]
        .prop_map(u64::from)
        .boxed(),
        3 => prop_oneof![
            any::<u64>(),
            Just(0x7ff8_0000_0000_0001u64),
            Just(0xfff4_0000_0000_0000),
            Just(f64::INFINITY.to_bits()),
            Just(f64::NEG_INFINITY.to_bits()),
            Just(0x8000_0000_0000_0000),
            1u64..0x0010_0000_0000_0000,
            (-5000i64..5000).prop_map(|x| (x as f64 / 1000.0).to_bits()),
        ]
        .boxed(),
        _ => prop_oneof![any::<i64>(), -100i64..100, Just(i64::MIN), Just(i64::MAX)]
            .prop_map(|v| v as u64)
            .boxed(),
    }
}

/// One metric: type, sorted timestamps with equal runs and long gaps.
fn metric() -> impl Strategy<Value = (u8, Vec<i64>, Vec<u64>)> {
    (1u8..=4, 1usize..300, any::<i64>(), any::<bool>()).prop_flat_map(|(vt, n, start, same)| {
        let steps = prop::collection::vec(
            prop_oneof![Just(0i64), 1i64..20, Just(10_000_000_000), 1i64..1 << 40],
            n,
        );
        let vals = prop_oneof![
            prop::collection::vec(value(vt), n),
            value(vt).prop_map(move |v| vec![v; n]),
        ];
        (Just(vt), steps, vals, Just(start), Just(same)).prop_map(
            |(vt, steps, vals, start, same)| {
                let start = if same {
                    1_767_225_600_000_000_000
                } else {
                    start >> 2
                };
                let mut t = start;
                let ts = steps
                    .iter()
                    .map(|&d| {
                        t = t.saturating_add(if same { 10_000_000_000 } else { d });
                        t
                    })
                    .collect();
                (vt, ts, vals)
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn v3_round_trips_every_type_bit_exactly(
        ms_in in prop::collection::vec(metric(), 1..8),
        range in (any::<i64>(), any::<i64>()),
    ) {
        let metrics: Vec<MetricSamples> = ms_in
            .into_iter()
            .enumerate()
            .map(|(i, (vt, ts, vals))| MetricSamples { id: i as u16 + 1, value_type: vt, ts, vals })
            .collect();
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("m.dat");
        write(&p, &metrics);
        prop_assert_eq!(read_all(&p), want(&metrics));
        let (lo, hi) = (range.0.min(range.1), range.0.max(range.1));
        let mf = MetricFile::open(&p).unwrap();
        for m in &metrics {
            let mut got = Vec::new();
            mf.read_metric(m.id, lo, hi, &mut |t, v| { got.push((t, v)); ControlFlow::Continue(()) }).unwrap();
            let exp: Vec<(i64, u64)> = m.ts.iter().copied().zip(m.vals.iter().copied())
                .filter(|(t, _)| *t >= lo && *t <= hi).collect();
            prop_assert_eq!(got, exp);
            prop_assert_eq!(mf.value_type(m.id), Some(m.value_type));
        }
    }

    /// The decoder's f32 division for decimal float32 blocks gives the
    /// bits of the format's definition (f64 quotient rounded to f32).
    #[test]
    fn v3_decimal_fast_paths_are_bit_exact(
        x in prop_oneof![-(1i32 << 24)..=1 << 24, -100_000i32..100_000, any::<i32>()],
        k in 0u8..=column::MAX_DECIMALS,
    ) {
        for dtype in [column::DT_F32, column::DT_F64] {
            prop_assert_eq!(
                column::decimal_bits_fast(dtype, x, k),
                column::decimal_bits_reference(dtype, i64::from(x), k),
                "x {} k {} type {}", x, k, dtype
            );
        }
    }

    #[test]
    fn v3_damaged_files_never_panic_or_overallocate(
        flips in prop::collection::vec((any::<usize>(), 1u8..=255), 0..4),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("m.dat");
        let ts: Vec<i64> = (0..3000).map(|i| 1_000_000 + i * 10_000 + i % 7).collect();
        let f: Vec<u64> = (0..3000).map(|i| u64::from(((i % 50) as f32 / 10.0).to_bits())).collect();
        let n: Vec<u64> = (0..3000).map(|i| (i * i % 977) as u64).collect();
        write(&p, &[ms(1, 2, &ts, &f), ms(2, 1, &ts, &n), ms(3, 3, &ts[..10], &n[..10])]);
        let mut bytes = fs::read(&p).unwrap();
        for (at, mask) in flips {
            let i = at % bytes.len();
            bytes[i] ^= mask;
        }
        if let Some(c) = cut {
            bytes.truncate(c % (bytes.len() + 1));
        }
        let q = tmp.path().join("d.dat");
        fs::write(&q, &bytes).unwrap();
        alloc_probe::reset();
        if let Ok(mf) = MetricFile::open(&q) {
            let _ = mf.read_all(i64::MIN, i64::MAX, |_, _, _| {});
        }
        let peak = alloc_probe::peak();
        prop_assert!(peak <= column::MAX_POINTS_PER_BYTE as usize * 16 * bytes.len() + 256 * 1024,
            "peak {} for {} bytes", peak, bytes.len());
    }
}
