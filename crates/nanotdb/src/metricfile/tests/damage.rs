//! Damaged and truncated files: every flipped byte is reported as a typed
//! error at the right offset, nothing panics or allocates from an unchecked
//! length, and the time-frame cache never serves a rewritten file.

use super::*;
use crate::metricfile::v1::{PI_MIN_TS, PI_RESERVED, PI_RESERVED2};
use crate::metricfile::v2::{METRIC_ENTRY_LEN, MI_RESERVED, MI_TIME_OFFSET, TI_ID, TI_RESERVED};
use crate::metricfile::v2::{TI_START_TS, TIME_ENTRY_LEN};

/// A small file of either version with several metrics and two time frames.
fn small_file(dir: &Path, version: Version, name: &str) -> (PathBuf, Vec<u8>) {
    let ts: Vec<i64> = (0..40).map(|i| 1_000_000_000 * i + (i * i) % 7).collect();
    let vals: Vec<u32> = (0..40u32).map(|i| i.wrapping_mul(2_654_435_761)).collect();
    let metrics = [
        ms(1, 1, &ts, &vals),
        ms(2, 2, &ts[5..20], &vals[5..20]),
        ms(3, 1, &[3, 4, 5], &[1, 2, 3]),
    ];
    let path = dir.join(name);
    write_metric_file(&path, version, Codec::ZstdFastest, 1, &metrics, false).unwrap();
    let bytes = fs::read(&path).unwrap();
    (path, bytes)
}

/// Opens and fully reads a file; the first error, if any.
fn open_and_read(path: &Path) -> Result<usize> {
    let mf = MetricFile::open(path)?;
    let mut n = 0;
    mf.read_all(i64::MIN, i64::MAX, |_, _, _| n += 1)?;
    Ok(n)
}

fn flipped(dir: &Path, bytes: &[u8], at: usize, mask: u8, tag: &str) -> PathBuf {
    let mut b = bytes.to_vec();
    b[at] ^= mask;
    // A fresh name per variant: the time-frame cache key is (path, size,
    // mtime, id) and same-size rewrites within one mtime tick would hit it.
    let p = dir.join(format!("{tag}-{at}-{mask}.dat"));
    fs::write(&p, b).unwrap();
    p
}

/// Flips bit 0 at each case's byte and checks the first complaint: its
/// kind, its offset, and that the message names the offset.
fn assert_flips(dir: &Path, b: &[u8], cases: &[(usize, CorruptKind, u64)], tag: &str) {
    for &(at, kind, offset) in cases {
        let p = flipped(dir, b, at, 1, tag);
        let e = open_and_read(&p).unwrap_err();
        assert_eq!(e.corrupt_kind(), Some(kind), "flip at {at}: {e}");
        assert_eq!(e.offset(), Some(offset), "flip at {at}: {e}");
        assert!(e.to_string().contains(&format!("offset {offset}")), "{e}");
    }
}

#[test]
fn v1_flips_in_every_region_are_typed_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let (path, b) = small_file(tmp.path(), Version::V1, "v1.dat");
    assert_eq!(open_and_read(&path).unwrap(), 58);
    let len = b.len();
    let s = MetricFile::open(&path).unwrap().summary();
    let f1 = s.frames[1].offset as usize;
    let pi = len - FOOTER_LEN - 3 * PAGE_INFO_LEN;
    let (f0, ft) = (FILE_HEADER_LEN, len - FOOTER_LEN);
    let cases: Vec<(usize, CorruptKind, u64)> = vec![
        (HDR_MAGIC, CorruptKind::BadMagic, 0),
        (HDR_MIN_TS + 4, CorruptKind::Checksum, 0),
        (f0 + MPG1_START_TS, CorruptKind::Checksum, 64),
        (f0 + MPG1_MAGIC, CorruptKind::BadMagic, 64),
        (f1 + MPG1_PAYLOAD + 3, CorruptKind::Checksum, f1 as u64 + 48),
        (pi + PI_METRIC_ID, CorruptKind::IndexMismatch, 64),
        (
            pi + PAGE_INFO_LEN + PI_FRAME_OFFSET + 7,
            CorruptKind::OutOfBounds,
            s.frames[1].offset ^ (1 << 56),
        ),
        (pi + PI_RESERVED2, CorruptKind::Reserved, pi as u64 + 40),
        (ft + FTR_MAGIC, CorruptKind::BadMagic, len as u64 - 16),
        (ft + FTR_COUNT, CorruptKind::Checksum, len as u64 - 16),
        (ft + FTR_CRC + 3, CorruptKind::Checksum, len as u64 - 16),
    ];
    assert_flips(tmp.path(), &b, &cases, "v1");
    // Exhaustive: every flip fails except in the unchecked PAGE_INFO
    // fields (reserved byte 3, min/max timestamps 12..27).
    for at in 0..len {
        let unchecked = at >= pi && at < len - FOOTER_LEN && {
            let k = (at - pi) % PAGE_INFO_LEN;
            k == PI_RESERVED || (PI_MIN_TS..PI_POINT_COUNT).contains(&k)
        };
        let p = flipped(tmp.path(), &b, at, 0x80, "v1x");
        let r = open_and_read(&p);
        if unchecked {
            assert_eq!(r.unwrap(), 58, "flip at {at}");
        } else {
            assert!(r.is_err(), "flip at {at} not detected");
        }
        fs::remove_file(p).unwrap();
    }
}

#[test]
fn v2_flips_in_every_region_are_typed_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let (path, b) = small_file(tmp.path(), Version::V2, "v2.dat");
    assert_eq!(open_and_read(&path).unwrap(), 58);
    let len = b.len();
    let s = MetricFile::open(&path).unwrap().summary();
    assert_eq!(s.time_frames.len(), 2);
    let t1 = s.time_frames[1].offset as usize;
    let m0 = s.frames[0].offset as usize;
    let ti = len - FOOTER_LEN - 3 * METRIC_ENTRY_LEN - 2 * TIME_ENTRY_LEN;
    let mi = len - FOOTER_LEN - 3 * METRIC_ENTRY_LEN;
    let (t0, ft) = (FILE_HEADER_LEN, len - FOOTER_LEN);
    let cases: Vec<(usize, CorruptKind, u64)> = vec![
        (HDR_MIN_TS + 4, CorruptKind::Checksum, 0),
        (V2_RESERVED_B + 1, CorruptKind::Checksum, 0),
        (t0 + TPG2_START_TS, CorruptKind::Checksum, 64),
        (t0 + TPG2_RESERVED2 + 1, CorruptKind::Reserved, 104),
        (t0 + TPG2_PAYLOAD, CorruptKind::Checksum, 112),
        (t1 + TPG2_TIME_ENCODING, CorruptKind::Checksum, t1 as u64),
        (m0 + MPG2_START_TS, CorruptKind::Checksum, m0 as u64),
        (m0 + MPG2_RESERVED2, CorruptKind::Reserved, m0 as u64 + 30),
        (m0 + MPG2_PAYLOAD + 2, CorruptKind::Checksum, m0 as u64 + 48),
        (ti + TI_START_TS, CorruptKind::IndexMismatch, 64),
        (ti + TI_RESERVED, CorruptKind::Reserved, ti as u64 + 2),
        (ti + TI_ID, CorruptKind::UnknownTimeFrame, m0 as u64),
        (mi + MI_RESERVED, CorruptKind::Reserved, mi as u64 + 3),
        (
            mi + MI_TIME_OFFSET + 1,
            CorruptKind::IndexMismatch,
            m0 as u64,
        ),
        (ft + FTR_MAGIC, CorruptKind::BadMagic, len as u64 - 16),
        (ft + FTR_VERSION, CorruptKind::BadVersion, len as u64 - 12),
        (ft + FTR_RESERVED, CorruptKind::Reserved, len as u64 - 8),
        (ft + FTR_CRC + 3, CorruptKind::Checksum, len as u64 - 16),
    ];
    assert_flips(tmp.path(), &b, &cases, "v2");
    // Exhaustive: in v2 every byte is checked by a CRC or a cross-check.
    for at in 0..len {
        let p = flipped(tmp.path(), &b, at, 0x80, "v2x");
        assert!(open_and_read(&p).is_err(), "flip at {at} not detected");
        fs::remove_file(p).unwrap();
    }
}

#[test]
fn truncations_and_bad_versions() {
    let tmp = tempfile::tempdir().unwrap();
    for v in [Version::V1, Version::V2] {
        let (_, b) = small_file(tmp.path(), v, "t.dat");
        for cut in [0, 10, 79] {
            let p = tmp.path().join(format!("cut-{v}-{cut}"));
            fs::write(&p, &b[..cut]).unwrap();
            let e = MetricFile::open(&p).unwrap_err();
            assert_eq!(e.corrupt_kind(), Some(CorruptKind::TooSmall));
        }
        let mut c = b.clone();
        c[HDR_VERSION] = 4; // 3 is our v3
        let p = tmp.path().join(format!("ver-{v}"));
        fs::write(&p, &c).unwrap();
        let e = MetricFile::open(&p).unwrap_err();
        assert_eq!(
            (e.corrupt_kind(), e.offset()),
            (Some(CorruptKind::BadVersion), Some(4))
        );
    }
    let e = MetricFile::open(&tmp.path().join("missing")).unwrap_err();
    assert!(matches!(e, MetricFileError::Io { .. }));
}

/// A v2 file above RESIDENT_MAX (read through its descriptor): 20,000
/// points of one metric whose values zstd cannot shrink much.
fn large_file(path: &Path) {
    let ts: Vec<i64> = (0..20_000).map(|i| 1_000_000_000 * i).collect();
    let vals: Vec<u32> = (0..20_000u32)
        .map(|i| i.wrapping_mul(2_654_435_761).rotate_left(i % 29))
        .collect();
    write_metric_file(
        path,
        Version::V2,
        Codec::ZstdFastest,
        1,
        &[ms(1, 1, &ts, &vals)],
        false,
    )
    .unwrap();
    assert!(fs::metadata(path).unwrap().len() > crate::metricfile::RESIDENT_MAX);
}

#[test]
fn time_frames_are_kept_by_small_files_and_cached_by_key_for_large_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let key = |path: &Path, mf: &MetricFile, id| cache::CacheKey {
        path: Arc::from(path),
        size: mf.len(),
        mtime: fs::metadata(path).unwrap().modified().ok(),
        id,
    };
    // A small file keeps its own: the process-wide cache is not touched.
    let (path, _) = small_file(tmp.path(), Version::V2, "small.dat");
    let mf = MetricFile::open(&path).unwrap();
    assert!(mf.resident_bytes().is_some());
    mf.read_metric(2, i64::MIN, i64::MAX, &mut |_, _| ControlFlow::Continue(()))
        .unwrap();
    assert!(cache::global_cache().get(&key(&path, &mf, 1)).is_none());
    // A large one goes through the cache.
    let path = tmp.path().join("large.dat");
    large_file(&path);
    let mf = MetricFile::open(&path).unwrap();
    assert!(mf.resident_bytes().is_none());
    assert!(cache::global_cache().get(&key(&path, &mf, 1)).is_none());
    let mut n = 0;
    mf.read_metric(1, i64::MIN, i64::MAX, &mut |_, _| {
        n += 1;
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(n, 20_000);
    let ts = cache::global_cache().get(&key(&path, &mf, 1)).unwrap();
    assert_eq!(ts[..3], [0, 1_000_000_000, 2_000_000_000]);
    // Rewriting the file purges its entries even if size and mtime match.
    large_file(&path);
    assert!(cache::global_cache().get(&key(&path, &mf, 1)).is_none());
}

mod prop {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn originals() -> &'static [(Vec<u8>, Vec<u8>); 1] {
        static O: OnceLock<[(Vec<u8>, Vec<u8>); 1]> = OnceLock::new();
        O.get_or_init(|| {
            let tmp = tempfile::tempdir().unwrap();
            let (_, a) = small_file(tmp.path(), Version::V1, "a");
            let (_, b) = small_file(tmp.path(), Version::V2, "b");
            [(a, b)]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn damaged_files_never_panic_or_overallocate(
            v2 in any::<bool>(),
            flips in proptest::collection::vec((any::<usize>(), 1u8..=255), 0..4),
            cut in proptest::option::of(any::<usize>()),
        ) {
            let (a, b) = &originals()[0];
            let mut bytes = if v2 { b.clone() } else { a.clone() };
            for (at, mask) in flips {
                let i = at % bytes.len();
                bytes[i] ^= mask;
            }
            if let Some(c) = cut {
                bytes.truncate(c % (bytes.len() + 1));
            }
            let tmp = tempfile::tempdir().unwrap();
            let p = tmp.path().join("m.dat");
            fs::write(&p, &bytes).unwrap();
            alloc_probe::reset();
            let _ = open_and_read(&p);
            let peak = alloc_probe::peak();
            prop_assert!(peak > 0, "probe not counting");
            prop_assert!(peak <= 8 * bytes.len() + 64 * 1024, "peak {peak} for {} bytes", bytes.len());
        }
    }
}
