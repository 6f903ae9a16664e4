//! Bulk import of inputs larger than one read chunk (1 MiB): the input is
//! read and parsed a chunk ahead of the writes on a second thread, so line
//! numbers, lines cut by a chunk boundary, over-long lines, invalid UTF-8
//! and `--strict` must come out exactly as from one pass over the input.

use std::ops::ControlFlow;

use nanotdb::{Engine, ImportOptions, Value};

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z

/// Line `i` of the big input: ~35 bytes, so 1 MiB chunks end mid-line.
fn line(i: u64) -> String {
    format!("big/m{} {}i {}\n", i % 7, i, T0 + i as i64 * 1_000_000_000)
}

fn values(engine: &Engine, metric: &str) -> Vec<(i64, Value)> {
    let mut v = Vec::new();
    engine
        .query_range("big", metric, i64::MIN, i64::MAX, 1, |s| {
            v.push((s.ts, s.value));
            ControlFlow::Continue(())
        })
        .unwrap();
    v
}

/// 60,000 lines (~2 MiB: three chunks) with, at known line
/// numbers, a line longer than the limit, a line of invalid UTF-8, a bad
/// value, a comment and a blank line.
fn input() -> (Vec<u8>, Vec<u64>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    let mut n = 0u64;
    for i in 0..60_000u64 {
        n += 1;
        match i {
            25_000 => {
                // Longer than MAX_IMPORT_LINE (64 KiB) but inside a chunk.
                out.extend_from_slice(b"big/m0 ");
                out.extend(std::iter::repeat_n(b'9', 70_000));
                out.extend_from_slice(b" 1\n");
                bad.push(n);
            }
            41_000 => {
                out.extend_from_slice(b"big/m\xff\xfe 1 1\n");
                bad.push(n);
            }
            52_000 => {
                out.extend_from_slice(b"big/m1 oops 1\n");
                bad.push(n);
            }
            53_000 => out.extend_from_slice(b"# comment\n"),
            53_001 => out.extend_from_slice(b"\n"),
            _ => out.extend_from_slice(line(i).as_bytes()),
        }
    }
    (out, bad)
}

#[test]
fn a_multi_chunk_import_numbers_every_line_and_stores_every_good_one() {
    let root = tempfile::tempdir().unwrap();
    let engine = Engine::open(root.path()).unwrap();
    let (text, bad) = input();
    assert!(text.len() > 2 << 20, "{}", text.len());
    let mut rejects: Vec<(u64, String)> = Vec::new();
    let r = engine
        .import_reader(&text[..], &ImportOptions::default(), &mut rejects)
        .unwrap();
    assert_eq!(
        (r.total_lines, r.imported, r.skipped, r.rejected),
        (60_000, 60_000 - 5, 2, 3)
    );
    assert_eq!(r.bytes, text.len() as u64);
    let lines: Vec<u64> = rejects.iter().map(|r| r.0).collect();
    assert_eq!(lines, bad);
    assert!(rejects[0].1.contains("longer"), "{rejects:?}");
    assert!(rejects[1].1.contains("UTF-8"), "{rejects:?}");
    assert!(rejects[2].1.contains("oops"), "{rejects:?}");
    // Every good line stored once, in order, whatever chunk it fell in.
    for m in 0..7u64 {
        let want: Vec<(i64, Value)> = (0..60_000u64)
            .filter(|i| i % 7 == m && ![25_000, 41_000, 52_000, 53_000, 53_001].contains(i))
            .map(|i| (T0 + i as i64 * 1_000_000_000, Value::I32(i as i32)))
            .collect();
        assert_eq!(values(&engine, &format!("m{m}")), want, "m{m}");
    }
}

#[test]
fn a_strict_multi_chunk_import_stops_at_the_first_bad_line() {
    let root = tempfile::tempdir().unwrap();
    let engine = Engine::open(root.path()).unwrap();
    let (text, _) = input();
    let strict = ImportOptions {
        strict: true,
        ..ImportOptions::default()
    };
    let e = engine
        .import_reader(&text[..], &strict, &mut ())
        .unwrap_err();
    assert!(e.to_string().contains("line 25001"), "{e}");
    // The lines before it are stored, nothing after it.
    let stored: usize = (0..7)
        .map(|m| values(&engine, &format!("m{m}")).len())
        .sum();
    assert_eq!(stored, 25_000);
}
