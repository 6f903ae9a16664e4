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

use crate::database::ViewSink;
use crate::error::Result;
use crate::metricfile::{Run, decimal32_bits};
use crate::query::ReadPlan;
use crate::sample::{MetricId, Value, ValueType};

use super::millis::Millis;
use super::stamps::{MIN_SHARED, Stamps};
use super::{CHUNK, decimal, gone, write_value};

/// Consecutive partitions per job: enough samples per hand-over that the
/// channel costs little next to the formatting (a one-metric export of
/// 10-minute samples has 144 per day partition).
const JOB_VIEWS: usize = 8;
/// Most samples a worker formats per batch. A job of eight day files of
/// 32 series of 10-minute samples (36,864) makes two batches: at 2^14 it
/// made three, and an all-metrics export of two years took ~5 % more CPU;
/// 2^16 (one batch) saved ~1 % more, but a large export then held 17-18
/// MB instead of 13-14 while its client stalled (export_streaming).
const PART: usize = 1 << 15;
/// Batches a worker may have finished ahead of the assembly.
const AHEAD: usize = 2;

/// One series' samples of a batch, as JSON text in one of the batch's
/// series texts (comma-separated, no brackets).
pub(super) struct Fragment {
    /// The series' index in the export's names.
    pub index: usize,
    /// Samples in the fragment (at most [`CHUNK`]).
    pub count: usize,
    /// Which of the batch's texts holds it.
    text: usize,
    /// The values' text.
    values: Range<usize>,
    /// The timestamps' text.
    timestamps: Range<usize>,
}

/// Where the assembly hands each fragment: its values' text, its
/// timestamps' text, and the fragment.
pub(super) type AddFragment<'a> = dyn FnMut(&[u8], &[u8], &Fragment) -> Result<()> + 'a;

/// A worker's formatted batch: its series' texts, handed over as they
/// were written (values, timestamps; no copy into one buffer), and the
/// fragments in them; `job_end`: the last one of its job.
struct Batch {
    texts: Vec<(Vec<u8>, Vec<u8>)>,
    fragments: Vec<Fragment>,
    job_end: bool,
}

/// Reads `plan`'s partitions on `workers` threads (at least one; fewer
/// when there are fewer jobs) and hands every fragment (its values' and
/// timestamps' text), in job order, to `add` on the calling thread; within a batch, fragments come in the
/// order of `plan.wanted`. An error of `add` stops the readers.
pub(super) fn read(
    plan: &ReadPlan,
    from: i64,
    to: i64,
    workers: usize,
    add: &mut AddFragment<'_>,
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
    add: &mut AddFragment<'_>,
) -> Result<()> {
    for job in 0..jobs {
        let inbox = &inboxes[job % inboxes.len()];
        loop {
            let batch = inbox
                .recv()
                .map_err(|_| gone("an export reading thread stopped"))??;
            for f in &batch.fragments {
                let (values, timestamps) = &batch.texts[f.text];
                add(
                    &values[f.values.clone()],
                    &timestamps[f.timestamps.clone()],
                    f,
                )?;
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

/// A worker's batch being formatted: each series' text so far. Samples go
/// straight into their series' text as they are read (no sort: the
/// series come out in `plan.wanted` order, each in read order, as fixed
/// by the batch boundaries alone). The buffers are reused batch to batch.
#[derive(Default)]
struct Scratch {
    /// Slot → index in `texts` in this batch (u32::MAX: not touched yet).
    at: Vec<u32>,
    /// Texts of the series touched in this batch, in touch order.
    texts: Vec<SeriesText>,
    /// Slots touched in this batch, in touch order.
    touched: Vec<u32>,
    /// Samples in the batch.
    samples: usize,
}

/// One series' samples of a batch as text, in pieces of at most CHUNK.
#[derive(Default)]
struct SeriesText {
    values: Vec<u8>,
    timestamps: Vec<u8>,
    /// Finished pieces: (samples, end of their values, end of their
    /// timestamps).
    pieces: Vec<(usize, usize, usize)>,
    /// Samples in the open piece.
    open: usize,
    millis: Millis,
    /// Bytes of values and timestamps in this text's last batch: what a
    /// new batch reserves (the buffers go with the batch they filled).
    hint: (usize, usize),
}

impl SeriesText {
    /// Formats `run`'s samples (values of type `vt`) onto the open piece;
    /// `stamps`: the run's timestamps already written (comma-separated).
    fn append(&mut self, vt: ValueType, run: Run<'_>, stamps: Option<&[u8]>) {
        if self.values.capacity() == 0 {
            self.values.reserve(self.hint.0);
            self.timestamps.reserve(self.hint.1);
        }
        let more = self.open > 0;
        match stamps {
            Some(text) => {
                if more {
                    self.timestamps.push(b',');
                }
                self.timestamps.extend_from_slice(text);
            }
            None => {
                for i in 0..run.len() {
                    if more || i > 0 {
                        self.timestamps.push(b',');
                    }
                    self.millis.write(&mut self.timestamps, run.ts(i));
                }
            }
        }
        let out = &mut self.values;
        let mut first = !more;
        match run {
            Run::Le32(_, v) => {
                for b in v.chunks_exact(4) {
                    comma(out, &mut first);
                    let bits = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    write_value(out, Value::from_bits(vt, u64::from(bits)));
                }
            }
            Run::Bits(_, v) => {
                for &bits in v {
                    comma(out, &mut first);
                    write_value(out, Value::from_bits(vt, bits));
                }
            }
            Run::Pairs(p) => {
                for &(_, bits) in p {
                    comma(out, &mut first);
                    write_value(out, Value::from_bits(vt, bits));
                }
            }
            Run::Decimal32(_, x, k) => {
                for &x in x {
                    comma(out, &mut first);
                    if !(vt == ValueType::Float32 && decimal::write_scaled(out, x, k)) {
                        let bits = u64::from(decimal32_bits(x, k));
                        write_value(out, Value::from_bits(vt, bits));
                    }
                }
            }
        }
        self.open += run.len();
    }

    /// Ends the open piece (if it holds samples).
    fn close(&mut self) {
        if self.open > 0 {
            self.pieces
                .push((self.open, self.values.len(), self.timestamps.len()));
            self.open = 0;
        }
    }
}

/// A comma before every number but the first.
#[inline]
fn comma(out: &mut Vec<u8>, first: &mut bool) {
    if !std::mem::replace(first, false) {
        out.push(b',');
    }
}

/// A worker reading one partition into its batch: a [`ViewSink`].
struct Worker<'r, 'a> {
    reader: &'r Reader<'a>,
    scratch: &'r mut Scratch,
    stamps: &'r mut Stamps,
    tx: &'r SyncSender<Result<Batch>>,
}

impl ViewSink for Worker<'_, '_> {
    fn sample(&mut self, id: MetricId, ts: i64, bits: u64) -> ControlFlow<()> {
        if ts < self.reader.from || ts > self.reader.to {
            return ControlFlow::Continue(());
        }
        self.run(id, Run::Pairs(&[(ts, bits)]))
    }

    /// Formats the run into its series' text, cut where a piece reaches
    /// CHUNK samples and where the batch reaches PART (then sent on).
    fn run(&mut self, id: MetricId, run: Run<'_>) -> ControlFlow<()> {
        let Some(&s) = self.reader.slot.get(usize::from(id)) else {
            return ControlFlow::Continue(());
        };
        if s == u32::MAX {
            return ControlFlow::Continue(());
        }
        let vt = self.reader.plan.wanted[s as usize].1;
        let stamps = match run {
            Run::Le32(ts, _) | Run::Bits(ts, _) | Run::Decimal32(ts, _, _)
                if ts.len() >= MIN_SHARED =>
            {
                Some(self.stamps.text(ts))
            }
            _ => None,
        };
        let mut i = 0;
        while i < run.len() {
            let sc = &mut *self.scratch;
            let room = PART - sc.samples;
            let text = sc.text_of(s);
            let n = (run.len() - i).min(CHUNK - text.open).min(room);
            let st = stamps.as_ref().map(|st| st.range(i, i + n));
            text.append(vt, run.slice(i..i + n), st);
            if text.open == CHUNK {
                text.close();
            }
            sc.samples += n;
            i += n;
            if sc.samples == PART && self.tx.send(Ok(self.reader.batch(sc, false))).is_err() {
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

impl Scratch {
    /// The text of slot `s` in this batch, started when new.
    fn text_of(&mut self, s: u32) -> &mut SeriesText {
        let mut a = self.at[s as usize];
        if a == u32::MAX {
            a = self.touched.len() as u32;
            self.touched.push(s);
            if self.texts.len() <= a as usize {
                self.texts.push(SeriesText::default());
            }
            self.at[s as usize] = a;
        }
        &mut self.texts[a as usize]
    }
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
            at: vec![u32::MAX; self.ids.len()],
            ..Scratch::default()
        };
        let mut stamps = Stamps::default();
        for job in (first..jobs).step_by(step) {
            let start = job * JOB_VIEWS;
            let end = (start + JOB_VIEWS).min(self.plan.views.len());
            for view in &self.plan.views[start..end] {
                let mut worker = Worker {
                    reader: self,
                    scratch: &mut scratch,
                    stamps: &mut stamps,
                    tx,
                };
                let (from, to) = (self.from, self.to);
                let read =
                    self.plan
                        .database
                        .read_view_into(view, Some(&self.ids), from, to, &mut worker);
                match read {
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

    /// Hands over and empties the batch's texts: series in the order of
    /// `plan.wanted`, each's pieces in read order.
    fn batch(&self, scratch: &mut Scratch, job_end: bool) -> Batch {
        let Scratch {
            at,
            texts,
            touched,
            samples,
        } = scratch;
        touched.sort_unstable();
        let mut out = Vec::with_capacity(touched.len());
        let mut fragments = Vec::with_capacity(touched.len());
        for &s in touched.iter() {
            let t = &mut texts[std::mem::replace(&mut at[s as usize], u32::MAX) as usize];
            t.close();
            let index = self.plan.wanted[s as usize].2;
            let (mut v0, mut t0) = (0, 0);
            for &(count, v1, t1) in &t.pieces {
                fragments.push(Fragment {
                    index,
                    count,
                    text: out.len(),
                    values: v0..v1,
                    timestamps: t0..t1,
                });
                (v0, t0) = (v1, t1);
            }
            t.pieces.clear();
            // The largest text of this slot so far: a job's last batch is
            // short, and sizing the next one by it made its texts grow by
            // reallocation (a tenth of an export's CPU time).
            t.hint = (
                t.hint.0.max(t.values.len()),
                t.hint.1.max(t.timestamps.len()),
            );
            out.push((
                std::mem::take(&mut t.values),
                std::mem::take(&mut t.timestamps),
            ));
        }
        touched.clear();
        *samples = 0;
        Batch {
            texts: out,
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
        assert_eq!(widths, [10_000, 10_000, 10_000, 2_160, 540, 10_000, 23]);
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

    /// 40 day partitions of 4-byte series only (what v2 files hold).
    fn narrow_engine() -> (tempfile::TempDir, Engine) {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("engine.toml"), "[stats]\nenabled = false\n").unwrap();
        let e = Engine::open(d.path()).unwrap();
        for day in 0..40i64 {
            let t = T0 + day * DAY;
            let mut batch = Vec::new();
            for k in 0..144i64 {
                let v = ((day * 144 + k) % 2_000) as f32 * 0.25 - 100.0;
                batch.push(s("a", t + k * 600_000_000_000, Value::F32(v)));
            }
            for k in 0..48i64 {
                let v = (day * 48 + k) as i32 - 500;
                batch.push(s("b{x=\"1\"}", t + k * 1_800_000_000_000, Value::I32(v)));
            }
            if day % 2 == 0 {
                batch.push(s("c", t + 60_000_000_000, Value::F32(day as f32 / 3.0)));
            }
            e.write(&batch).unwrap();
        }
        e.flush().unwrap();
        (d, e)
    }

    fn export_text(e: &Engine, names: &[String], workers: usize) -> String {
        let mut out = Vec::new();
        e.export_jsonl_on("x", names, i64::MIN, i64::MAX, false, workers, &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Metric files (v2, v3) are read as runs, raw files one sample at a
    /// time: with fewer samples per job than a batch holds, the bytes are
    /// the same either way, on any number of threads, for every series and
    /// for one; and a damaged metric file is read from its raw files.
    #[test]
    fn raw_files_and_v2_and_v3_metric_files_export_the_same_bytes() {
        let (d, mut e) = narrow_engine();
        let all = names();
        let one = vec!["a".to_string()];
        let raw = (export_text(&e, &all, 1), export_text(&e, &one, 1));
        assert_eq!(raw.0.lines().count(), 3);
        assert_eq!(
            parse(&raw.0).0.values().map(Vec::len).sum::<usize>(),
            40 * 192 + 20
        );
        for version in [
            crate::metricfile::Version::V2,
            crate::metricfile::Version::V3,
        ] {
            let opts = BuildOptions {
                version,
                codec: crate::config::Codec::ZstdFastest,
                raw_action: crate::config::RawIngestAction::Keep,
                verify: false,
            };
            let built = e.build_metric_files("x", None, Some(opts)).unwrap();
            assert!(built.iter().all(|b| b.skipped.is_none()) && built.len() == 40);
            for workers in [1, 3] {
                assert!(
                    export_text(&e, &all, workers) == raw.0,
                    "{version} {workers}"
                );
                assert!(
                    export_text(&e, &one, workers) == raw.1,
                    "{version} {workers}"
                );
            }
            drop(e);
            // A flipped byte in the middle of one file (a frame payload).
            let mut files: Vec<_> = walk(d.path())
                .into_iter()
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("metric-"))
                })
                .collect();
            files.sort();
            assert_eq!(files.len(), 40);
            let mut bytes = std::fs::read(&files[5]).unwrap();
            let at = bytes.len() / 2;
            bytes[at] ^= 0x5a;
            std::fs::write(&files[5], bytes).unwrap();
            e = Engine::open(d.path()).unwrap();
            assert!(export_text(&e, &all, 2) == raw.0, "{version} damaged");
            assert!(export_text(&e, &one, 2) == raw.1, "{version} damaged");
        }
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
        out
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
