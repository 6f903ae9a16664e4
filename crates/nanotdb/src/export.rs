//! Export of a database as line protocol (docs/FORMATS.md §11.6, with our fixes).
//!
//! Differences from v1.4.0, chosen so that export → import round-trips:
//! int32 values carry the `i` suffix, every source of a partition is
//! exported (renamed `raw-` file, `data-` file, open page), and negative
//! timestamps print a floored fraction that parses back to the same value.
//! Output streams one frame at a time: memory does not grow with the data.

use std::fs;
use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::Path;

use crate::engine::Engine;
use crate::error::{Error, IoContext, Result};
use crate::lineproto;
use crate::sample::{Value, ValueType};

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Lines (samples) written.
    pub lines: u64,
    /// Bytes written.
    pub bytes: u64,
}

impl Engine {
    /// Writes every sample of `db` to `out`, one line each.
    pub fn export_to_writer(&self, db: &str, out: impl Write) -> Result<ExportReport> {
        self.export_range_to_writer(db, i64::MIN, i64::MAX, out)
    }

    /// Writes the samples of `db` with `from <= ts <= to`.
    pub fn export_range_to_writer(
        &self,
        db: &str,
        from: i64,
        to: i64,
        out: impl Write,
    ) -> Result<ExportReport> {
        self.export_with_progress(db, from, to, out, &mut |_, _| {})
    }

    /// Like [`Engine::export_range_to_writer`], calling `progress(done,
    /// total)` in partitions after each partition (for progress bars).
    pub fn export_with_progress(
        &self,
        db: &str,
        from: i64,
        to: i64,
        out: impl Write,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<ExportReport> {
        let database = self.existing_db(db)?;
        let (names, views) = {
            let st = database.lock();
            let mut names: Vec<Option<(String, ValueType)>> = Vec::new();
            for m in st.catalog.metrics_sorted() {
                let i = usize::from(m.id);
                if names.len() <= i {
                    names.resize(i + 1, None);
                }
                names[i] = Some((m.name, m.value_type));
            }
            (
                names,
                database.snapshot(&st, None, from, to, self.prefer_metric_files()),
            )
        };
        let mut w = BufWriter::with_capacity(1 << 16, out);
        let mut line = Vec::with_capacity(128);
        let mut report = ExportReport::default();
        let mut failure: Option<Error> = None;
        let mut write_one =
            |id: u16, ts: i64, bits: u64, report: &mut ExportReport| -> Result<()> {
                let Some(Some((name, vt))) = names.get(usize::from(id)) else {
                    return Err(Error::UnknownMetricId {
                        db: db.to_string(),
                        id,
                    });
                };
                line.clear();
                lineproto::write_line(&mut line, db, name, Value::from_bits(*vt, bits), ts);
                w.write_all(&line)
                    .map_err(|e| Error::io("<export output>", e))?;
                report.lines += 1;
                report.bytes += line.len() as u64;
                Ok(())
            };
        let total = views.len() as u64;
        for (done, view) in views.iter().enumerate() {
            progress(done as u64, total);
            let _flow =
                database.read_view(view, None, from, to, &mut |id, ts, bits| match write_one(
                    id,
                    ts,
                    bits,
                    &mut report,
                ) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(e) => {
                        failure = Some(e);
                        ControlFlow::Break(())
                    }
                })?;
            if let Some(e) = failure.take() {
                return Err(e);
            }
        }
        progress(total, total);
        w.flush().map_err(|e| Error::io("<export output>", e))?;
        Ok(report)
    }

    /// Exports `db` into a file (created or truncated; parent directories
    /// created).
    pub fn export_file(&self, db: &str, path: impl AsRef<Path>) -> Result<ExportReport> {
        let path = path.as_ref();
        // Check the database first so a typo does not leave an empty file.
        self.existing_db(db)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).at(parent)?;
        }
        let f = fs::File::create(path).at(path)?;
        let report = self.export_to_writer(db, &f).map_err(|e| match e {
            Error::Io { source, path: p } if p.as_os_str() == "<export output>" => {
                Error::io(path, source)
            }
            other => other,
        })?;
        f.sync_all().at(path)?;
        Ok(report)
    }
}
