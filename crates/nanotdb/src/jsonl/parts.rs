//! The reading side of a JSON-lines export, on several threads.
//!
//! The snapshot's partitions are cut into jobs of [`JOB_VIEWS`] consecutive
//! partitions, dealt round-robin to the workers (job k to worker k mod n).
//! A worker reads its job's partitions and formats their samples as JSON
//! text — each series' values and timestamps, at most [`PART`] samples per
//! batch — and sends the batches through its own bounded channel. The
//! calling thread takes the batches back in job order and joins their
//! fragments into lines. Reading and number formatting, nearly all of an
//! export's work, so run on every core, and the output depends on the data
//! only: batch boundaries are fixed by the jobs, never by the number of
//! workers or their timing. Memory stays bounded: a worker is at most
//! [`AHEAD`] batches ahead of the assembly.

use std::ops::{ControlFlow, Range};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::error::Result;
use crate::query::ReadPlan;
use crate::sample::{MetricId, Value};

use super::{CHUNK, gone, write_timestamps, write_values};

/// Consecutive partitions per job: enough samples per hand-over that the
/// channel costs little next to the formatting (a one-metric export of
/// 10-minute samples has 144 per day partition).
const JOB_VIEWS: usize = 8;
/// Most samples a worker formats per batch.
const PART: usize = 1 << 14;
/// Batches a worker may have finished ahead of the assembly.
const AHEAD: usize = 2;

/// One series' samples of a batch, as JSON text in the batch's buffer
/// (comma-separated, no brackets).
pub(super) struct Fragment {
    /// The series' index in the export's names.
    pub index: usize,
    /// Samples in the fragment (at most [`CHUNK`]).
    pub count: usize,
    /// The values' text.
    pub values: Range<usize>,
    /// The timestamps' text.
    pub timestamps: Range<usize>,
}

/// A worker's formatted batch; `job_end`: the last one of its job.
struct Batch {
    text: Vec<u8>,
    fragments: Vec<Fragment>,
    job_end: bool,
}

/// Reads `plan`'s partitions on `workers` threads (at least one; fewer
/// when there are fewer jobs) and hands every fragment, in job order, to
/// `add` on the calling thread; within a batch, fragments come in the
/// order of `plan.wanted`. An error of `add` stops the readers.
pub(super) fn read(
    plan: &ReadPlan,
    from: i64,
    to: i64,
    workers: usize,
    add: &mut dyn FnMut(&[u8], &Fragment) -> Result<()>,
) -> Result<()> {
    let jobs = plan.views.len().div_ceil(JOB_VIEWS);
    let workers = workers.clamp(1, jobs.max(1));
    let reader = Reader::new(plan, from, to);
    std::thread::scope(|s| {
        let mut inboxes: Vec<Receiver<Result<Batch>>> = Vec::with_capacity(workers);
        let mut threads = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx) = sync_channel(AHEAD);
            inboxes.push(rx);
            let reader = &reader;
            threads.push(s.spawn(move || reader.run(w, workers, jobs, &tx)));
        }
        let assembled = assemble(&inboxes, jobs, add);
        // Readers still running find their channel closed and stop.
        drop(inboxes);
        // Joined here, a reader's panic is not raised again by the scope:
        // the assembly already reported the reader gone.
        for t in threads {
            let _ = t.join();
        }
        assembled
    })
}

/// Takes every job's batches from its worker's inbox, in job order.
fn assemble(
    inboxes: &[Receiver<Result<Batch>>],
    jobs: usize,
    add: &mut dyn FnMut(&[u8], &Fragment) -> Result<()>,
) -> Result<()> {
    for job in 0..jobs {
        let inbox = &inboxes[job % inboxes.len()];
        loop {
            let batch = inbox
                .recv()
                .map_err(|_| gone("an export reading thread stopped"))??;
            for f in &batch.fragments {
                add(&batch.text, f)?;
            }
            if batch.job_end {
                break;
            }
        }
    }
    Ok(())
}

/// What every worker shares: the plan and a flat table from metric id to
/// position in `plan.wanted` (hashing per sample would cost more).
struct Reader<'a> {
    plan: &'a ReadPlan,
    ids: Vec<MetricId>,
    slot: Vec<u32>,
    from: i64,
    to: i64,
}

/// A worker's reusable buffers: the batch's samples as (slot, ts, bits),
/// and a counting sort's counts and output.
#[derive(Default)]
struct Scratch {
    samples: Vec<(u32, i64, u64)>,
    counts: Vec<usize>,
    touched: Vec<u32>,
    sorted: Vec<(i64, u64)>,
}

impl<'a> Reader<'a> {
    fn new(plan: &'a ReadPlan, from: i64, to: i64) -> Reader<'a> {
        let ids: Vec<MetricId> = plan.wanted.iter().map(|w| w.0).collect();
        let max_id = ids.iter().copied().max().unwrap_or(0);
        let mut slot = vec![u32::MAX; usize::from(max_id) + 1];
        for (i, &id) in ids.iter().enumerate() {
            slot[usize::from(id)] = i as u32;
        }
        Reader {
            plan,
            ids,
            slot,
            from,
            to,
        }
    }

    /// Worker `first` of `step`: jobs first, first + step, …; stops at the
    /// first error (sent on) or when the assembly hangs up.
    fn run(&self, first: usize, step: usize, jobs: usize, tx: &SyncSender<Result<Batch>>) {
        let mut scratch = Scratch {
            counts: vec![0; self.ids.len()],
            ..Scratch::default()
        };
        for job in (first..jobs).step_by(step) {
            let start = job * JOB_VIEWS;
            let end = (start + JOB_VIEWS).min(self.plan.views.len());
            for view in &self.plan.views[start..end] {
                match self.read_view(view, &mut scratch, tx) {
                    Ok(ControlFlow::Continue(())) => {}
                    Ok(ControlFlow::Break(())) => return,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
            if tx.send(Ok(self.batch(&mut scratch, true))).is_err() {
                return;
            }
        }
    }

    /// Reads one partition into the batch, sending each full batch; breaks
    /// when the assembly hung up.
    fn read_view(
        &self,
        view: &crate::database::PartitionView,
        scratch: &mut Scratch,
        tx: &SyncSender<Result<Batch>>,
    ) -> Result<ControlFlow<()>> {
        let (from, to) = (self.from, self.to);
        self.plan
            .database
            .read_view(view, Some(&self.ids), from, to, &mut |id, ts, bits| {
                let Some(&s) = self.slot.get(usize::from(id)) else {
                    return ControlFlow::Continue(());
                };
                if s == u32::MAX || ts < from || ts > to {
                    return ControlFlow::Continue(());
                }
                scratch.samples.push((s, ts, bits));
                if scratch.samples.len() == PART && tx.send(Ok(self.batch(scratch, false))).is_err()
                {
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            })
    }

    /// Formats and empties the batch's samples: grouped by series in the
    /// order of `plan.wanted` (a counting sort: each series keeps its time
    /// order), at most CHUNK samples per fragment.
    fn batch(&self, scratch: &mut Scratch, job_end: bool) -> Batch {
        let Scratch {
            samples,
            counts,
            touched,
            sorted,
        } = scratch;
        touched.clear();
        for &(s, _, _) in samples.iter() {
            let c = &mut counts[s as usize];
            if *c == 0 {
                touched.push(s);
            }
            *c += 1;
        }
        touched.sort_unstable();
        // counts become each series' next position in `sorted`.
        let mut starts = Vec::with_capacity(touched.len());
        let mut pos = 0;
        for &s in touched.iter() {
            let c = std::mem::replace(&mut counts[s as usize], pos);
            starts.push(pos);
            pos += c;
        }
        sorted.clear();
        sorted.resize(samples.len(), (0, 0));
        for &(s, ts, bits) in samples.iter() {
            let p = &mut counts[s as usize];
            sorted[*p] = (ts, bits);
            *p += 1;
        }
        // A value takes ~8 bytes, a millisecond timestamp 14.
        let mut text = Vec::with_capacity(samples.len() * 24);
        let mut fragments = Vec::with_capacity(touched.len());
        for (&s, &start) in touched.iter().zip(&starts) {
            let end = std::mem::replace(&mut counts[s as usize], 0);
            let (_, vt, index) = self.plan.wanted[s as usize];
            for piece in sorted[start..end].chunks(CHUNK) {
                let v0 = text.len();
                write_values(
                    &mut text,
                    piece.iter().map(|&(_, b)| Value::from_bits(vt, b)),
                );
                let t0 = text.len();
                write_timestamps(&mut text, piece.iter().map(|&(ts, _)| ts));
                fragments.push(Fragment {
                    index,
                    count: piece.len(),
                    values: v0..t0,
                    timestamps: t0..text.len(),
                });
            }
        }
        samples.clear();
        Batch {
            text,
            fragments,
            job_end,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::engine::Engine;
    use crate::sample::Value;
    use crate::{BuildOptions, WriteSample};

    const T0: i64 = 1_767_225_600_000_000_000;
    const DAY: i64 = 86_400_000_000_000;
    const NAMES: [&str; 4] = ["a", "b{x=\"1\"}", "big", "c"];

    fn s(metric: &str, ts: i64, value: Value) -> WriteSample<'_> {
        WriteSample {
            db: "x",
            metric,
            ts,
            value,
        }
    }

    /// 45 day partitions (6 jobs): a float64 series every 30 minutes, an
    /// int32 every 2 hours, a float32 on even days only, and on day 3 one
    /// series with more samples than a batch (or a line) holds; day 20's
    /// samples of `a` written out of order.
    fn fill(e: &Engine) {
        for d in 0..45i64 {
            let day = T0 + d * DAY;
            let mut batch = Vec::new();
            for j in 0..48 {
                // Day 20: each pair swapped (within the out-of-order window).
                let k = if d == 20 { j ^ 1 } else { j };
                let v = (d * 48 + k) as f64 / 7.0;
                batch.push(s("a", day + k * 1_800_000_000_000, Value::F64(v)));
            }
            for k in 0..12 {
                let v = (d * 12 + k) as i32 - 100;
                batch.push(s("b{x=\"1\"}", day + k * 7_200_000_000_000, Value::I32(v)));
            }
            if d % 2 == 0 {
                batch.push(s("c", day + 60_000_000_000, Value::F32(d as f32 * 0.1)));
            }
            if d == 3 {
                for k in 0..40_000i64 {
                    batch.push(s("big", day + k * 2_000_000_000, Value::I64(k * 1_000_003)));
                }
            }
            e.write(&batch).unwrap();
        }
    }

    fn engine() -> (tempfile::TempDir, Engine) {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("engine.toml"), "[stats]\nenabled = false\n").unwrap();
        let e = Engine::open(d.path()).unwrap();
        fill(&e);
        (d, e)
    }

    /// Each series' (line head, then (ms, value) as text).
    type Series = BTreeMap<String, Vec<(String, String)>>;

    fn names() -> Vec<String> {
        NAMES.iter().map(|n| n.to_string()).collect()
    }

    /// Each series' (ms, value text) in the export's lines, and the number
    /// of samples on each line.
    fn parse(text: &str) -> (Series, Vec<usize>) {
        let mut out = Series::new();
        let mut widths = Vec::new();
        for l in text.lines() {
            let head = &l[..l.find("\"values\":[").unwrap()];
            let (_, rest) = l.split_once("\"values\":[").unwrap();
            let (vals, rest) = rest.split_once("],\"timestamps\":[").unwrap();
            let ts = rest.strip_suffix("]}").unwrap();
            let (vals, ts): (Vec<&str>, Vec<&str>) =
                (vals.split(',').collect(), ts.split(',').collect());
            assert_eq!(vals.len(), ts.len(), "{l}");
            widths.push(vals.len());
            let e = out.entry(head.to_string()).or_default();
            e.extend(
                ts.iter()
                    .zip(&vals)
                    .map(|(t, v)| (t.to_string(), v.to_string())),
            );
        }
        (out, widths)
    }

    /// What `query_range` reads, in the export's text.
    fn expected(e: &Engine) -> Series {
        let mut out = BTreeMap::new();
        for n in NAMES {
            let mut v = Vec::new();
            e.query_range("x", n, i64::MIN, i64::MAX, 1, |x| {
                let mut val = Vec::new();
                super::super::write_value(&mut val, x.value);
                v.push((
                    (x.ts / 1_000_000).to_string(),
                    String::from_utf8(val).unwrap(),
                ));
                std::ops::ControlFlow::Continue(())
            })
            .unwrap();
            let head = String::from_utf8(super::super::head(n, None)).unwrap();
            out.insert(head, v);
        }
        out
    }

    /// The same bytes whatever the number of reading threads, holding
    /// exactly what `query_range` reads, in lines of at most CHUNK samples.
    fn same_output_on_any_number_of_threads(e: &Engine) {
        let names = names();
        let export = |workers: usize| {
            let mut out = Vec::new();
            let report = e
                .export_jsonl_on("x", &names, i64::MIN, i64::MAX, false, workers, &mut out)
                .unwrap();
            assert_eq!(report.bytes, out.len() as u64);
            (String::from_utf8(out).unwrap(), report)
        };
        let (one, report) = export(1);
        for workers in [2, 3, 4, 7] {
            let (many, r) = export(workers);
            assert!(many == one, "{workers} threads: output differs");
            assert_eq!(r, report);
        }
        let (series, widths) = parse(&one);
        assert_eq!(series, expected(e));
        assert_eq!(
            series.values().map(Vec::len).sum::<usize>(),
            45 * 60 + 23 + 40_000
        );
        assert_eq!(report.lines, one.lines().count() as u64);
        // `big`'s 40,000 samples of day 3 come in batches of PART (after the
        // first days' few): its lines are cut before a fragment would take
        // them past CHUNK; the others' lines are written at the end, in
        // name order.
        assert_eq!(
            widths,
            [10_000, 6_142, 10_000, 6_384, 2_160, 540, 7_474, 23]
        );
    }

    #[test]
    fn raw_files_and_open_pages_export_alike_on_any_number_of_threads() {
        let (_d, e) = engine();
        same_output_on_any_number_of_threads(&e);
    }

    #[test]
    fn metric_files_export_alike_on_any_number_of_threads() {
        let (_d, e) = engine();
        e.flush().unwrap();
        let opts = BuildOptions {
            version: crate::metricfile::Version::V3,
            codec: crate::config::Codec::ZstdFastest,
            raw_action: crate::config::RawIngestAction::Keep,
            verify: false,
        };
        let built = e.build_metric_files("x", None, Some(opts)).unwrap();
        assert!(built.len() > 30, "{} metric files", built.len());
        same_output_on_any_number_of_threads(&e);
    }

    /// A client that goes away mid-export ends it with the output's error:
    /// the reading threads stop instead of waiting forever.
    #[test]
    fn an_output_error_stops_every_reading_thread() {
        struct Fails(usize);
        impl std::io::Write for Fails {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                if self.0 < b.len() {
                    return Err(std::io::ErrorKind::BrokenPipe.into());
                }
                self.0 -= b.len();
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (_d, e) = engine();
        let err = e
            .export_jsonl_on("x", &names(), i64::MIN, i64::MAX, false, 3, Fails(300_000))
            .unwrap_err();
        assert!(err.to_string().contains("broken pipe"), "{err}");
    }
}
