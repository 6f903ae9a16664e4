//! A damaged WAL record never takes a database offline: replay keeps the
//! records before it, the rest of the file is kept aside, and the data
//! files stay readable (issue 19, item 5 in part).

mod common;

use std::fs;
use std::ops::ControlFlow;

use common::*;
use nanotdb::Engine;

/// Counts every sample of every metric of `db`.
fn count_all(engine: &Engine, db: &str) -> usize {
    let mut n = 0;
    for m in engine.metrics(db).unwrap() {
        engine
            .query_range(db, &m.name, i64::MIN, i64::MAX, 1, |_| {
                n += 1;
                ControlFlow::Continue(())
            })
            .unwrap();
    }
    n
}

#[test]
fn a_record_with_an_unknown_metric_id_stops_replay_there() {
    for read_only in [true, false] {
        let root = copy_tree(&fixture("wal-replay/root"));
        let wal = root.path().join("live/live.wal");
        let bytes = fs::read(&wal).unwrap();
        let scan = nanotdb::wal::scan_wal(&bytes);
        let k = scan.records.len() / 2;
        let (offset, rec) = &scan.records[k];
        assert!(rec.new_metric.is_none(), "pick a record that names nothing");
        // Its id (after the one-byte length) flips to one nothing names.
        let mut damaged = bytes.clone();
        let at = *offset as usize + 1;
        damaged[at..at + 2].copy_from_slice(&0xfffeu16.to_le_bytes());
        fs::write(&wal, &damaged).unwrap();
        let engine = if read_only {
            Engine::open_read_only(root.path()).unwrap()
        } else {
            Engine::open(root.path()).unwrap()
        };
        assert_eq!(count_all(&engine, "live"), k, "read_only={read_only}");
        if !read_only {
            assert_eq!(
                fs::metadata(&wal).unwrap().len(),
                *offset,
                "cut at the record"
            );
            let kept = root.path().join(format!("live/live.wal.torn-at-{offset}"));
            assert_eq!(fs::read(&kept).unwrap(), &damaged[*offset as usize..]);
            engine.close().unwrap();
            let engine = Engine::open(root.path()).unwrap();
            assert_eq!(count_all(&engine, "live"), k, "after a clean close");
        }
    }
}
