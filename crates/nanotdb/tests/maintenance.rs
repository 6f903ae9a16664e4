//! Offline maintenance: recover and recompact on real fixture files.

mod common;

use std::fs;

use common::*;
use nanotdb::{Engine, EngineOptions};

#[test]
fn recover_of_torn_tail_returns_exactly_the_intact_frames() {
    let root = copy_tree(&fixture("torn-tail/root"));
    let src = root.path().join("edge/data-2026-01-01.dat");
    let before = fs::read(&src).unwrap();
    // Read-only engine: the torn tail is not cut, recover reads it as is.
    let engine = Engine::open_with(
        root.path(),
        EngineOptions {
            read_only: true,
            config: None,
        },
    )
    .unwrap();
    let out = root.path().join("recovered/data-2026-01-01.dat");
    let r = engine
        .recover_data_file("edge", "2026-01-01", &out)
        .unwrap();
    assert_eq!((r.recovered_frames, r.recovered_records), (6, 54_432));
    assert_eq!(r.first_accepted_offset, Some(0));
    assert_eq!(r.last_accepted_offset, Some(146_261));
    assert_eq!(r.output_bytes, 175_332);
    assert_eq!(fs::read(&src).unwrap(), before, "source untouched");
    assert_eq!(fs::read(&out).unwrap(), &before[..175_332]);
    assert!(
        engine
            .recover_data_file("edge", "2026-01-01", &src)
            .is_err(),
        "output must differ"
    );
    assert!(
        engine
            .recover_data_file("edge", "2026-01", &out)
            .unwrap_err()
            .to_string()
            .contains("does not match")
    );
}

#[test]
fn recompact_keeps_every_sample() {
    let root = copy_tree(&fixture("edge-2h/root"));
    fs::remove_file(root.path().join("edge/metric-2026-01-01.dat")).unwrap();
    let expected = fixture("edge-2h/expected-edge.lp");
    let engine = Engine::open(root.path()).unwrap();
    let r = engine.recompact_data_file("edge", "2026-01-01").unwrap();
    assert_eq!((r.old_records, r.new_records), (61_920, 61_920));
    assert_eq!(r.old_frames, 7);
    // the byte limit closes a page at 9,072 records (14 bytes each): 7 frames again.
    assert_eq!(r.new_frames, 7);
    let out = root.path().join("after.lp");
    engine.export_file("edge", &out).unwrap();
    lpcompare(&expected, &out, &[]);
    engine.add_line("edge/x 1 2026-01-01 23:00:00").unwrap();
    let e = engine
        .recompact_data_file("edge", "2026-01-01")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "data file partition is currently open: edge/2026-01-01"
    );
}
