//! Bulk import of line protocol from any reader (docs/FORMATS.md §11.4).
//!
//! The input is read in large chunks and cut at line boundaries; each chunk
//! is parsed without per-line allocation and written as one batch per
//! database run (one lock, one WAL write). Unlike v1.4.0, a bad line does not
//! stop the import: it is reported with its number and reason and the import
//! goes on, unless [`ImportOptions::strict`] asks to stop at the first one.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::engine::{Engine, WriteOptions, WriteSample};
use crate::error::{Error, IoContext, Result};
use crate::lineproto;
use crate::time;

/// Longest line accepted by file imports (as in the reference).
pub const MAX_IMPORT_LINE: usize = 64 * 1024;

const CHUNK: usize = 1 << 20;

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Stop at the first rejected line (lines before it stay imported).
    pub strict: bool,
    /// Store every line in this database instead of the one it names.
    pub db_override: Option<String>,
    /// Longest accepted line in bytes.
    pub max_line_len: usize,
    /// Name of the input used in error messages.
    pub source_name: String,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            strict: false,
            db_override: None,
            max_line_len: MAX_IMPORT_LINE,
            source_name: "input".to_string(),
        }
    }
}

/// Summary of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Every line of the input.
    pub total_lines: u64,
    /// Lines stored.
    pub imported: u64,
    /// Blank and `#` comment lines.
    pub skipped: u64,
    /// Lines rejected.
    pub rejected: u64,
    /// Lines whose sample was already stored (identical metric, timestamp
    /// and value): acknowledged, not stored again.
    pub duplicates: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Databases that received data, sorted.
    pub databases: BTreeSet<String>,
}

/// Receives progress and rejected lines while an import runs.
pub trait ImportObserver {
    /// A line was rejected.
    fn rejected(&mut self, _line: u64, _error: &Error) {}
    /// Called after each chunk with the bytes read so far.
    fn progress(&mut self, _bytes: u64, _lines: u64) {}
}

impl ImportObserver for () {}

/// Collects every rejection (convenient in tests and small imports).
impl ImportObserver for Vec<(u64, String)> {
    fn rejected(&mut self, line: u64, error: &Error) {
        self.push((line, error.to_string()));
    }
}

impl Engine {
    /// Imports line protocol from a file.
    pub fn import_file(
        &self,
        path: impl AsRef<Path>,
        opts: &ImportOptions,
        observer: &mut dyn ImportObserver,
    ) -> Result<ImportReport> {
        let path = path.as_ref();
        let f = File::open(path).at(path)?;
        let mut opts = opts.clone();
        if opts.source_name == "input" {
            opts.source_name = path.display().to_string();
        }
        self.import_reader(f, &opts, observer)
    }

    /// Imports line protocol from a reader of any size, in constant memory.
    pub fn import_reader(
        &self,
        mut r: impl Read + Send,
        opts: &ImportOptions,
        observer: &mut dyn ImportObserver,
    ) -> Result<ImportReport> {
        // Bulk writes leave data files unsynced: one fsync per file at the
        // end (also after a failure: what was stored stays stored).
        let result = self.import_unsynced(&mut r, opts, observer);
        let synced = self.sync_deferred();
        let report = result?;
        synced?;
        Ok(report)
    }

    /// Reading and parsing run on a second thread, a chunk ahead of the
    /// writes: parsing is about half of an import's CPU time, so on two
    /// cores the two halves overlap instead of adding up.
    fn import_unsynced(
        &self,
        r: &mut (impl Read + Send),
        opts: &ImportOptions,
        observer: &mut dyn ImportObserver,
    ) -> Result<ImportReport> {
        // One chunk parsed ahead: the read buffer, the chunk being parsed,
        // the one waiting and the one being written — about 4 MiB.
        let (to_writer, parsed) = std::sync::mpsc::sync_channel::<Result<Parsed>>(1);
        let (recycle, spare) = std::sync::mpsc::channel::<String>();
        std::thread::scope(|s| {
            s.spawn(move || read_and_parse(r, opts, &to_writer, &spare));
            let mut report = ImportReport::default();
            for chunk in parsed {
                let chunk = chunk?;
                let stop = chunk.stop;
                let text = self.write_parsed(chunk, opts, &mut report, observer)?;
                observer.progress(report.bytes, report.total_lines);
                if stop {
                    break;
                }
                let _ = recycle.send(text);
            }
            // Leaving drops `parsed`: a reader still going stops at its next send.
            Ok(report)
        })
    }

    /// Writes one parsed chunk and accounts for its lines; gives its text
    /// buffer back for the next chunk.
    fn write_parsed(
        &self,
        chunk: Parsed,
        opts: &ImportOptions,
        report: &mut ImportReport,
        observer: &mut dyn ImportObserver,
    ) -> Result<String> {
        report.total_lines = chunk.lines;
        report.skipped += chunk.skipped;
        report.bytes = chunk.bytes;
        let text = chunk.text.as_str();
        let samples: Vec<WriteSample<'_>> = chunk
            .samples
            .iter()
            .map(|sp| WriteSample {
                db: opts
                    .db_override
                    .as_deref()
                    .unwrap_or_else(|| text.get(sp.db.clone()).unwrap_or_default()),
                metric: text.get(sp.metric.clone()).unwrap_or_default(),
                ts: sp.ts,
                value: sp.value,
            })
            .collect();
        let wr = self.write_with(
            &samples,
            WriteOptions {
                stop_at_first_error: opts.strict,
                bulk: true,
                ..WriteOptions::default()
            },
        )?;
        report.imported += wr.accepted;
        report.duplicates += wr.duplicates;
        let mut refused = vec![false; samples.len()];
        let mut rejected: Vec<(u64, Error)> = Vec::new();
        for (idx, e) in wr.rejected {
            if let Some(r) = refused.get_mut(idx) {
                *r = true;
            }
            rejected.push((chunk.samples.get(idx).map_or(0, |sp| sp.line), e));
        }
        for (s, refused) in samples.iter().zip(&refused) {
            if !refused && !report.databases.contains(s.db) {
                report.databases.insert(s.db.to_string());
            }
        }
        drop(samples);
        // Parse errors are found before ingest errors; report in line order.
        let mut all = chunk.rejected;
        all.extend(rejected);
        all.sort_by_key(|r| r.0);
        report.rejected += all.len() as u64;
        for (line, e) in &all {
            observer.rejected(*line, e);
        }
        match all.into_iter().next() {
            Some((line, e)) if opts.strict => Err(import_err(opts, line, e)),
            _ => Ok(chunk.text),
        }
    }
}

/// A chunk of whole lines, parsed: the samples point into `text`.
struct Parsed {
    text: String,
    samples: Vec<Span>,
    /// Lines rejected by the parser or for their length, with numbers.
    rejected: Vec<(u64, Error)>,
    /// Lines read so far, this chunk's included.
    lines: u64,
    /// Blank and comment lines of this chunk.
    skipped: u64,
    /// Bytes read so far.
    bytes: u64,
    /// A strict import stops after this chunk (it ends at a bad line).
    stop: bool,
}

/// One parsed line: database and metric as byte ranges of the chunk.
struct Span {
    db: std::ops::Range<usize>,
    metric: std::ops::Range<usize>,
    ts: i64,
    value: crate::Value,
    line: u64,
}

/// The reading thread: cuts the input into chunks of whole lines, parses
/// them and sends them on, until the input ends, a strict import meets a
/// bad line, or the writer stops listening.
fn read_and_parse(
    r: &mut impl Read,
    opts: &ImportOptions,
    out: &std::sync::mpsc::SyncSender<Result<Parsed>>,
    spare: &std::sync::mpsc::Receiver<String>,
) {
    let mut buf = vec![0u8; CHUNK];
    let mut filled = 0usize;
    let mut lines = 0u64;
    let mut bytes = 0u64;
    // While skipping the rest of an over-long line.
    let mut discarding = false;
    // Over-long lines met since the last chunk sent.
    let mut pending: Vec<(u64, Error)> = Vec::new();
    loop {
        if filled == buf.len() {
            // No newline in a full buffer: the line is too long.
            lines += 1;
            pending.push((lines, too_long(opts.max_line_len)));
            discarding = true;
            filled = 0;
            if opts.strict {
                let text = String::new();
                let _ = out.send(Ok(empty_chunk(
                    text,
                    std::mem::take(&mut pending),
                    lines,
                    bytes,
                    true,
                )));
                return;
            }
        }
        let n = loop {
            match r.read(&mut buf[filled..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = out.send(Err(Error::io(&opts.source_name, e)));
                    return;
                }
            }
        };
        bytes += n as u64;
        let eof = n == 0;
        filled += n;
        let mut start = 0;
        if discarding {
            match memchr::memchr(b'\n', &buf[..filled]) {
                Some(p) => {
                    start = p + 1;
                    discarding = false;
                }
                None => {
                    filled = 0;
                    if eof {
                        break;
                    }
                    continue;
                }
            }
        }
        let end = if eof {
            filled
        } else {
            match memchr::memrchr(b'\n', &buf[start..filled]) {
                Some(p) => start + p + 1,
                None => {
                    buf.copy_within(start..filled, 0);
                    filled -= start;
                    continue;
                }
            }
        };
        let text = spare.try_recv().unwrap_or_default();
        let mut chunk = parse_chunk(&buf[start..end], text, opts, &mut lines);
        chunk.rejected.splice(0..0, pending.drain(..));
        chunk.bytes = bytes;
        let stop = chunk.stop;
        if out.send(Ok(chunk)).is_err() || stop {
            return;
        }
        buf.copy_within(end..filled, 0);
        filled -= end;
        if eof {
            break;
        }
    }
    if !pending.is_empty() {
        let _ = out.send(Ok(empty_chunk(String::new(), pending, lines, bytes, false)));
    }
}

fn empty_chunk(
    text: String,
    rejected: Vec<(u64, Error)>,
    lines: u64,
    bytes: u64,
    stop: bool,
) -> Parsed {
    Parsed {
        text,
        samples: Vec::new(),
        rejected,
        lines,
        skipped: 0,
        bytes,
        stop,
    }
}

/// Parses the whole lines of `chunk` into `text` (a spare buffer) and
/// spans over it; `lines` counts the input's lines.
fn parse_chunk(chunk: &[u8], mut text: String, opts: &ImportOptions, lines: &mut u64) -> Parsed {
    let now = time::now_ns();
    let first_line = *lines + 1;
    text.clear();
    let mut rejected: Vec<(u64, Error)> = Vec::new();
    // One UTF-8 check for the whole chunk; a chunk with invalid bytes is
    // copied line by line, an invalid line replaced by an empty one (it is
    // rejected here, and the numbering stays right).
    match std::str::from_utf8(chunk) {
        Ok(t) => text.push_str(t),
        Err(_) => {
            let body = chunk.strip_suffix(b"\n").unwrap_or(chunk);
            for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
                match std::str::from_utf8(raw) {
                    Ok(t) => text.push_str(t),
                    Err(_) => rejected.push((
                        first_line + i as u64,
                        Error::Line(lineproto::LineError::invalid_utf8()),
                    )),
                }
                text.push('\n');
            }
        }
    }
    let mut out = Parsed {
        samples: Vec::with_capacity(text.len() / 40 + 1),
        rejected,
        lines: 0,
        skipped: 0,
        bytes: 0,
        stop: false,
        text: String::new(),
    };
    let base = text.as_ptr() as usize;
    // The parser returns slices of its line, hence of `text`; were one not,
    // its range would be out of bounds and read back as empty (rejected).
    let range = |part: &str| {
        let from = (part.as_ptr() as usize).wrapping_sub(base);
        from..from.saturating_add(part.len())
    };
    let body = text.strip_suffix('\n').unwrap_or(&text);
    // One ASCII check for the chunk: its lines skip the per-line one.
    let ascii = body.is_ascii();
    if !text.is_empty() {
        let mut start = 0;
        let ends = memchr::memchr_iter(b'\n', body.as_bytes()).chain(std::iter::once(body.len()));
        for end in ends {
            // Cut at an ASCII newline: always a char boundary.
            let raw = body.get(start..end).unwrap_or_default();
            start = end + 1;
            *lines += 1;
            let line_no = *lines;
            if out.rejected.iter().any(|r| r.0 == line_no) {
                if opts.strict {
                    out.stop = true;
                    break;
                }
                continue;
            }
            if raw.len() > opts.max_line_len {
                out.rejected.push((line_no, too_long(opts.max_line_len)));
                if opts.strict {
                    out.stop = true;
                    break;
                }
                continue;
            }
            let t = raw.strip_suffix('\r').unwrap_or(raw);
            let t = if ascii {
                lineproto::trim_ascii_ws(t)
            } else {
                t.trim()
            };
            if t.is_empty() || t.starts_with('#') {
                out.skipped += 1;
                continue;
            }
            let parsed = if ascii {
                lineproto::parse_ascii_line(t, None)
            } else {
                lineproto::parse_line(t)
            };
            match parsed {
                Ok(l) => out.samples.push(Span {
                    db: range(l.db),
                    metric: range(l.metric),
                    ts: l.ts.unwrap_or(now),
                    value: l.value,
                    line: line_no,
                }),
                Err(e) => {
                    out.rejected.push((line_no, Error::Line(e)));
                    if opts.strict {
                        out.stop = true;
                        break;
                    }
                }
            }
        }
    }
    out.lines = *lines;
    out.text = text;
    out
}

fn too_long(max: usize) -> Error {
    Error::Line(lineproto::LineError::too_long(max))
}

fn import_err(opts: &ImportOptions, line: u64, e: Error) -> Error {
    Error::ImportLine {
        source_name: opts.source_name.clone(),
        line,
        error: Box::new(e),
    }
}
