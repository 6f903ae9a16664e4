//! Runs (`MetricFile::read_runs`) hold exactly the samples of the
//! per-sample reads, in the same order, for every layout.

use super::*;

/// (id, ts, bits) of every run, in order, and the number of runs.
fn flatten(mf: &MetricFile, id: Option<u16>, from: i64, to: i64) -> (Vec<(u16, i64, u64)>, usize) {
    let (mut out, mut runs) = (Vec::new(), 0);
    let flow = mf
        .read_runs(id, from, to, &mut |id, run| {
            assert!(!run.is_empty());
            runs += 1;
            out.extend((0..run.len()).map(|i| {
                let (ts, v) = run.get(i);
                (id, ts, v)
            }));
            ControlFlow::Continue(())
        })
        .unwrap();
    assert!(flow.is_continue());
    (out, runs)
}

#[test]
fn runs_hold_what_the_per_sample_reads_stream() {
    let input = edge_input();
    let tmp = tempfile::tempdir().unwrap();
    let (t0, t1) = (input[0].ts[0], *input[0].ts.last().unwrap());
    let mid = (t0 + t1) / 2;
    for version in [Version::V1, Version::V2, Version::V3] {
        let path = tmp.path().join(format!("metric-{version}.dat"));
        write_metric_file(&path, version, Codec::ZstdFastest, 1, &input, false).unwrap();
        let mf = MetricFile::open(&path).unwrap();
        let frames = mf.summary().frames.len();
        for (from, to) in [(i64::MIN, i64::MAX), (mid - 600_000_000_000, mid), (t1, t1)] {
            let mut all = Vec::new();
            mf.read_all(from, to, |id, ts, v| all.push((id, ts, v)))
                .unwrap();
            let (runs, n) = flatten(&mf, None, from, to);
            assert!(runs == all, "{version} [{from}, {to}]");
            assert!(!all.is_empty(), "{version} [{from}, {to}]");
            if from == i64::MIN {
                // One run per frame (segment) when nothing is cut off.
                assert_eq!(n, frames, "{version}");
            }
            let id = input[3].id;
            let mut one = Vec::new();
            mf.read_metric(id, from, to, &mut |ts, v| {
                one.push((id, ts, v));
                ControlFlow::Continue(())
            })
            .unwrap();
            assert!(
                flatten(&mf, Some(id), from, to).0 == one,
                "{version} metric {id}"
            );
        }
        // A stop in the middle is a stop.
        let mut seen = 0;
        let flow = mf
            .read_runs(None, i64::MIN, i64::MAX, &mut |_, _| {
                seen += 1;
                ControlFlow::Break(())
            })
            .unwrap();
        assert!(flow.is_break() && seen == 1);
    }
}
