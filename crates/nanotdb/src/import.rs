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
        mut r: impl Read,
        opts: &ImportOptions,
        observer: &mut dyn ImportObserver,
    ) -> Result<ImportReport> {
        // Bulk writes leave data files unsynced: one fsync per file at the
        // end (also after a failure: what was stored stays stored).
        let result = self.import_unsynced(r.by_ref(), opts, observer);
        let synced = self.sync_deferred();
        let report = result?;
        synced?;
        Ok(report)
    }

    fn import_unsynced(
        &self,
        mut r: impl Read,
        opts: &ImportOptions,
        observer: &mut dyn ImportObserver,
    ) -> Result<ImportReport> {
        let mut report = ImportReport::default();
        let mut buf = vec![0u8; CHUNK];
        let mut filled = 0usize;
        // While skipping the rest of an over-long line.
        let mut discarding = false;
        loop {
            if filled == buf.len() {
                // No newline in a full buffer: the line is too long.
                report.total_lines += 1;
                report.rejected += 1;
                let e = too_long(opts.max_line_len);
                observer.rejected(report.total_lines, &e);
                if opts.strict {
                    return Err(import_err(opts, report.total_lines, e));
                }
                discarding = true;
                filled = 0;
            }
            let n = loop {
                match r.read(&mut buf[filled..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Error::io(&opts.source_name, e)),
                }
            };
            report.bytes += n as u64;
            let eof = n == 0;
            filled += n;
            let mut start = 0;
            if discarding {
                match memchr(b'\n', &buf[..filled]) {
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
                match memrchr(b'\n', &buf[start..filled]) {
                    Some(p) => start + p + 1,
                    None => {
                        buf.copy_within(start..filled, 0);
                        filled -= start;
                        continue;
                    }
                }
            };
            self.import_chunk(&buf[start..end], opts, &mut report, observer)?;
            observer.progress(report.bytes, report.total_lines);
            buf.copy_within(end..filled, 0);
            filled -= end;
            if eof {
                break;
            }
        }
        Ok(report)
    }

    fn import_chunk(
        &self,
        chunk: &[u8],
        opts: &ImportOptions,
        report: &mut ImportReport,
        observer: &mut dyn ImportObserver,
    ) -> Result<()> {
        let now = time::now_ns();
        let mut samples: Vec<WriteSample<'_>> = Vec::with_capacity(chunk.len() / 40 + 1);
        let mut line_nos: Vec<u64> = Vec::with_capacity(chunk.len() / 40 + 1);
        // Rejections of this chunk, reported in line order once the chunk
        // is written (parse errors are found before ingest errors).
        let mut rejected: Vec<(u64, Error)> = Vec::new();
        let body = chunk.strip_suffix(b"\n").unwrap_or(chunk);
        if !chunk.is_empty() {
            for raw in body.split(|&b| b == b'\n') {
                report.total_lines += 1;
                let line_no = report.total_lines;
                if raw.len() > opts.max_line_len {
                    rejected.push((line_no, too_long(opts.max_line_len)));
                    if opts.strict {
                        break;
                    }
                    continue;
                }
                let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
                let Ok(text) = std::str::from_utf8(raw) else {
                    rejected.push((line_no, Error::Line(lineproto::LineError::invalid_utf8())));
                    if opts.strict {
                        break;
                    }
                    continue;
                };
                let t = text.trim();
                if t.is_empty() || t.starts_with('#') {
                    report.skipped += 1;
                    continue;
                }
                match lineproto::parse_line(t) {
                    Ok(l) => {
                        samples.push(WriteSample {
                            db: opts.db_override.as_deref().unwrap_or(l.db),
                            metric: l.metric,
                            ts: l.ts.unwrap_or(now),
                            value: l.value,
                        });
                        line_nos.push(line_no);
                    }
                    Err(e) => {
                        rejected.push((line_no, Error::Line(e)));
                        if opts.strict {
                            break;
                        }
                    }
                }
            }
        }
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
        for (idx, e) in wr.rejected {
            if let Some(r) = refused.get_mut(idx) {
                *r = true;
            }
            rejected.push((line_nos.get(idx).copied().unwrap_or(0), e));
        }
        for (s, refused) in samples.iter().zip(&refused) {
            if !refused && !report.databases.contains(s.db) {
                report.databases.insert(s.db.to_string());
            }
        }
        rejected.sort_by_key(|r| r.0);
        report.rejected += rejected.len() as u64;
        for (line, e) in &rejected {
            observer.rejected(*line, e);
        }
        match rejected.into_iter().next() {
            Some((line, e)) if opts.strict => Err(import_err(opts, line, e)),
            _ => Ok(()),
        }
    }
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

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

fn memrchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().rposition(|&b| b == needle)
}
