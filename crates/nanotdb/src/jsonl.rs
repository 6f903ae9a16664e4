//! Export in VictoriaMetrics' JSON-lines format, for other tools:
//!
//! ```text
//! {"metric":{"__name__":"up","job":"node"},"values":[1,0.5],"timestamps":[1767225600000,1767225601000]}
//! ```
//!
//! One line per series, or several for a long one (at most [`CHUNK`]
//! samples per line, so memory does not grow with the range). Labels come
//! from the canonical series name (`crate::labels`); timestamps are
//! milliseconds (rounded down), as VictoriaMetrics writes them; values are
//! JSON numbers, and — as VictoriaMetrics writes them — `NaN`, `+Inf` and
//! `-Inf` unquoted (which its importer reads back).

use std::io::{BufWriter, Write};
use std::ops::ControlFlow;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::export::ExportReport;
use crate::labels::labels_of;
use crate::sample::Value;

/// Most samples written on one line.
pub const CHUNK: usize = 10_000;

fn io(e: std::io::Error) -> Error {
    Error::io("<export output>", e)
}

/// `value` as VictoriaMetrics writes it.
fn write_value(out: &mut Vec<u8>, value: Value) {
    let float = |out: &mut Vec<u8>, v: f64, text: String| {
        if v.is_nan() {
            out.extend_from_slice(b"NaN");
        } else if v.is_infinite() {
            out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
        } else {
            out.extend_from_slice(text.as_bytes());
        }
    };
    match value {
        Value::I32(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
        Value::I64(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
        // Display prints the shortest digits that read back to the same
        // value, without an exponent, as Go's `'f', -1` formatting (which
        // VictoriaMetrics uses) does: `1`, `0.1`, `1000000000000000000000`.
        Value::F32(v) => float(out, f64::from(v), format!("{v}")),
        Value::F64(v) => float(out, v, format!("{v}")),
    }
}

/// The `{"metric":{…},` head of every line of a series.
fn head(name: &str, db_label: Option<&str>) -> Vec<u8> {
    let mut labels = labels_of(name);
    if let Some(db) = db_label {
        // In sorted place among the labels (after `__name__`), as
        // VictoriaMetrics orders a series' labels.
        let at = labels
            .iter()
            .skip(1)
            .position(|(k, _)| k.as_str() > "db")
            .map_or(labels.len(), |i| i + 1);
        labels.insert(at, ("db".to_string(), db.to_string()));
    }
    let mut out = b"{\"metric\":{".to_vec();
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Strings cannot fail to serialize.
        out.extend_from_slice(serde_json::to_string(k).unwrap_or_default().as_bytes());
        out.push(b':');
        out.extend_from_slice(serde_json::to_string(v).unwrap_or_default().as_bytes());
    }
    out.extend_from_slice(b"},");
    out
}

/// One line: the head, then the samples' values and timestamps.
fn line(head: &[u8], samples: &[(i64, Value)], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(head);
    out.extend_from_slice(b"\"values\":[");
    for (i, (_, v)) in samples.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_value(out, *v);
    }
    out.extend_from_slice(b"],\"timestamps\":[");
    for (i, (ts, _)) in samples.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(
            itoa::Buffer::new()
                .format(ts.div_euclid(1_000_000))
                .as_bytes(),
        );
    }
    out.extend_from_slice(b"]}\n");
}

impl Engine {
    /// Writes the series `names` of `db` (e.g. what [`Engine::select_series`]
    /// picked), samples with `from <= ts <= to`, as VictoriaMetrics JSON
    /// lines (see the module docs). With `db_label`, each series also
    /// carries a `db` label naming its database.
    pub fn export_jsonl(
        &self,
        db: &str,
        names: &[String],
        from: i64,
        to: i64,
        db_label: bool,
        out: impl Write,
    ) -> Result<ExportReport> {
        let mut w = BufWriter::with_capacity(1 << 16, out);
        let mut report = ExportReport::default();
        let mut buf = Vec::with_capacity(1 << 16);
        let mut samples: Vec<(i64, Value)> = Vec::with_capacity(CHUNK);
        for name in names {
            let head = head(name, db_label.then_some(db));
            let mut failure = None;
            let mut flush = |samples: &mut Vec<(i64, Value)>, report: &mut ExportReport| {
                line(&head, samples, &mut buf);
                report.lines += 1;
                report.bytes += buf.len() as u64;
                samples.clear();
                w.write_all(&buf).map_err(io)
            };
            self.query_range(db, name, from, to, 1, |x| {
                samples.push((x.ts, x.value));
                if samples.len() == CHUNK
                    && let Err(e) = flush(&mut samples, &mut report)
                {
                    failure = Some(e);
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            })?;
            if let Some(e) = failure {
                return Err(e);
            }
            if !samples.is_empty() {
                flush(&mut samples, &mut report)?;
            }
        }
        w.flush().map_err(io)?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_as_victoriametrics_writes_them() {
        let mut out = Vec::new();
        assert_eq!(
            head(r#"up{a="1",z="2"}"#, Some("e")),
            br#"{"metric":{"__name__":"up","a":"1","db":"e","z":"2"},"#
        );
        let h = head(r#"up{job="a\"b"}"#, Some("edge"));
        line(
            &h,
            &[
                (1_767_225_600_123_456_789, Value::F64(0.1)),
                (1_767_225_601_000_000_000, Value::F64(f64::NAN)),
                (1_767_225_602_000_000_000, Value::F32(0.58)),
                (1_767_225_603_000_000_000, Value::I64(25_276_182_528)),
                (-1, Value::F64(f64::NEG_INFINITY)),
                (0, Value::F64(1.0)),
                (1, Value::F64(1e21)),
                (2, Value::F64(1.5e-7)),
                (3, Value::F64(-0.0)),
                (4, Value::F32(f32::INFINITY)),
            ],
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"metric\":{\"__name__\":\"up\",\"db\":\"edge\",\"job\":\"a\\\"b\"},\
             \"values\":[0.1,NaN,0.58,25276182528,-Inf,1,1000000000000000000000,0.00000015,-0,+Inf],\
             \"timestamps\":[1767225600123,1767225601000,1767225602000,1767225603000,-1,0,0,0,0,0]}\n"
        );
    }
}
