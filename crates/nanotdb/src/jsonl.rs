//! Export in VictoriaMetrics' JSON-lines format, for other tools:
//!
//! ```text
//! {"metric":{"__name__":"up","job":"node"},"values":[1,0.5],"timestamps":[1767225600000,1767225601000]}
//! ```
//!
//! One line per series, or several for a long export (at most [`CHUNK`]
//! samples per line, and every series' line once the export holds
//! [`BUFFERED`] samples, so memory does not grow with the range). Labels come
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
    match value {
        Value::I32(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
        Value::I64(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
        Value::F32(v) => write_float(out, f64::from(v), v.abs() < 1e7, &v, |b| b.format_finite(v)),
        Value::F64(v) => write_float(out, v, v.abs() < 1e15, &v, |b| b.format_finite(v)),
    }
}

/// A float as Go's `'f', -1` formatting (which VictoriaMetrics uses) writes
/// it: the shortest digits that read back to the same value (of its own
/// width), never an exponent: `1`, `0.1`, `1000000000000000000000`;
/// `NaN`, `+Inf`, `-Inf`. `plain_range`: ryu writes this magnitude without
/// an exponent, and its digits are Display's (the common case, formatted
/// several times faster); anything else goes through Display.
fn write_float(
    out: &mut Vec<u8>,
    v: f64,
    plain_range: bool,
    display: &dyn std::fmt::Display,
    ryu: impl FnOnce(&mut ryu::Buffer) -> &str,
) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else if plain_range && v.abs() >= 1e-4 {
        let mut b = ryu::Buffer::new();
        let t = ryu(&mut b);
        out.extend_from_slice(t.strip_suffix(".0").unwrap_or(t).as_bytes());
    } else {
        // Straight into the line buffer: no String per value.
        let _ = write!(out, "{display}");
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
        out: impl Write + Send,
    ) -> Result<ExportReport> {
        // Lines are formatted and written on a second thread while this one
        // reads and decodes: formatting numbers is about as much work as
        // reading them, so on two cores the two overlap.
        // One batch of lines in flight: enough to overlap, little memory.
        let (to_writer, lines) = std::sync::mpsc::sync_channel::<(usize, Vec<(i64, Value)>)>(1);
        let (recycle, spare) = std::sync::mpsc::channel::<Vec<(i64, Value)>>();
        std::thread::scope(|s| {
            let writer = s.spawn(move || -> Result<ExportReport> {
                let mut w = Lines {
                    w: BufWriter::with_capacity(1 << 16, out),
                    report: ExportReport::default(),
                    buf: Vec::with_capacity(1 << 16),
                    heads: vec![None; names.len()],
                    db: db_label.then_some(db),
                };
                for (i, mut samples) in lines {
                    w.line(names, i, &mut samples)?;
                    let _ = recycle.send(samples);
                }
                w.w.flush().map_err(io)?;
                Ok(w.report)
            });
            let read = self.export_read(db, names, from, to, &to_writer, &spare);
            // The writer ends once it has written every line sent.
            drop(to_writer);
            let written = writer
                .join()
                .unwrap_or_else(|_| Err(gone("the export's writing thread panicked")));
            // A read that stopped because the writer failed reports the
            // writer's error (the client went away, say).
            match (read, written) {
                (Ok(()), w) => w,
                (Err(_), Err(w)) => Err(w),
                (Err(r), Ok(_)) => Err(r),
            }
        })
    }

    /// The reading half of [`Engine::export_jsonl`]: one pass over the
    /// partitions for all series (each frame decoded once), holding at most
    /// BUFFERED samples; a series' samples go to the writer when it has
    /// CHUNK of them, or every series' when the buffer is full — so a long
    /// export has several lines per series, as VictoriaMetrics' own exports
    /// do, and memory stays bounded.
    fn export_read(
        &self,
        db: &str,
        names: &[String],
        from: i64,
        to: i64,
        to_writer: &std::sync::mpsc::SyncSender<(usize, Vec<(i64, Value)>)>,
        spare: &std::sync::mpsc::Receiver<Vec<(i64, Value)>>,
    ) -> Result<()> {
        let mut pending: Vec<Vec<(i64, Value)>> = vec![Vec::new(); names.len()];
        let mut held = 0usize;
        let mut writer_gone = false;
        let send = |i: usize, pending: &mut Vec<(i64, Value)>| -> bool {
            if pending.is_empty() {
                return true;
            }
            let fresh = spare.try_recv().unwrap_or_default();
            to_writer
                .send((i, std::mem::replace(pending, fresh)))
                .is_ok()
        };
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        self.query_range_many_indexed(db, &refs, from, to, 1, |i, x| {
            pending[i].push((x.ts, x.value));
            held += 1;
            let sent = if pending[i].len() == CHUNK {
                held -= CHUNK;
                send(i, &mut pending[i])
            } else if held >= BUFFERED {
                held = 0;
                (0..pending.len()).all(|j| send(j, &mut pending[j]))
            } else {
                true
            };
            if sent {
                ControlFlow::Continue(())
            } else {
                writer_gone = true;
                ControlFlow::Break(())
            }
        })?;
        if writer_gone || !(0..pending.len()).all(|j| send(j, &mut pending[j])) {
            return Err(gone("the export's writing thread stopped"));
        }
        Ok(())
    }
}

fn gone(what: &str) -> Error {
    io(std::io::Error::other(what.to_string()))
}

/// Most samples an export holds before writing lines.
pub const BUFFERED: usize = 1 << 15;

/// The output side of an export: lines, their heads, and the report.
struct Lines<'a, W: Write> {
    w: BufWriter<W>,
    report: ExportReport,
    buf: Vec<u8>,
    heads: Vec<Option<Vec<u8>>>,
    db: Option<&'a str>,
}

impl<W: Write> Lines<'_, W> {
    /// Writes series `i`'s pending samples as one line and empties them.
    fn line(&mut self, names: &[String], i: usize, samples: &mut Vec<(i64, Value)>) -> Result<()> {
        if samples.is_empty() {
            return Ok(());
        }
        let db = self.db;
        let head = self.heads[i].get_or_insert_with(|| head(&names[i], db));
        line(head, samples, &mut self.buf);
        self.report.lines += 1;
        self.report.bytes += self.buf.len() as u64;
        samples.clear();
        if samples.capacity() > CHUNK {
            samples.shrink_to(CHUNK);
        }
        self.w.write_all(&self.buf).map_err(io)
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

    /// An export holding more than BUFFERED samples writes several lines per
    /// series: together they hold each series' samples once, in time order.
    #[test]
    fn a_long_export_splits_series_into_lines_in_time_order() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("engine.toml"), "[stats]\nenabled = false\n").unwrap();
        let e = Engine::open(d.path()).unwrap();
        const T0: i64 = 1_767_225_600_000_000_000;
        // 40 series of 2,000 samples: none reaches CHUNK, all together
        // pass BUFFERED.
        let per = 2_000i64;
        let names: Vec<String> = (0..40).map(|m| format!("m{m:02}")).collect();
        assert!(per as usize * names.len() > BUFFERED && (per as usize) < CHUNK);
        for chunk in 0..per / 1000 {
            let names = &names;
            let batch: Vec<crate::WriteSample<'_>> = (chunk * 1000..(chunk + 1) * 1000)
                .flat_map(|k| {
                    names
                        .iter()
                        .enumerate()
                        .map(move |(m, n)| crate::WriteSample {
                            db: "x",
                            metric: n,
                            ts: T0 + k * 1_000_000_000,
                            value: Value::I32((k * 10) as i32 + m as i32),
                        })
                })
                .collect();
            e.write(&batch).unwrap();
        }
        let mut out = Vec::new();
        let report = e
            .export_jsonl("x", &names, i64::MIN, i64::MAX, false, &mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut per_series: std::collections::BTreeMap<String, Vec<(i64, i64)>> =
            Default::default();
        for l in text.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let name = v["metric"]["__name__"].as_str().unwrap().to_string();
            let vals = v["values"].as_array().unwrap();
            let ts = v["timestamps"].as_array().unwrap();
            assert!(vals.len() <= CHUNK);
            per_series.entry(name).or_default().extend(
                ts.iter()
                    .zip(vals)
                    .map(|(t, v)| (t.as_i64().unwrap(), v.as_i64().unwrap())),
            );
        }
        assert!(report.lines > names.len() as u64, "{} lines", report.lines);
        for (m, n) in names.iter().enumerate() {
            let want: Vec<(i64, i64)> = (0..per)
                .map(|k| ((T0 + k * 1_000_000_000) / 1_000_000, k * 10 + m as i64))
                .collect();
            assert!(per_series[n] == want, "series {n}");
        }
    }

    /// What the fast path must keep of Display: plain notation, as many
    /// digits (both shortest), the same value when read back. (At an exact
    /// tie between two shortest digit strings ryu rounds half to even, as
    /// Go does, and Display half up: e.g. -139284.82055664062 vs …063.)
    fn same_as_display(
        written: Vec<u8>,
        display: String,
        back: impl Fn(&str) -> bool,
    ) -> Result<(), String> {
        let w = String::from_utf8(written).map_err(|e| e.to_string())?;
        if w == display {
            return Ok(());
        }
        if w.len() != display.len() || w.contains(['e', 'E']) || !back(&w) {
            return Err(format!("{w} vs Display {display}"));
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn floats_are_written_as_display_writes_them(bits64 in proptest::num::u64::ANY, bits32 in proptest::num::u32::ANY) {
            for v in [f64::from_bits(bits64), f64::from(f32::from_bits(bits32)) * 1e3, (bits64 % 100_000) as f64 / 100.0] {
                let mut out = Vec::new();
                write_value(&mut out, Value::F64(v));
                if v.is_finite() {
                    let r = same_as_display(out, format!("{v}"), |w| w.parse::<f64>().is_ok_and(|b| b.to_bits() == v.to_bits()));
                    proptest::prop_assert!(r.is_ok(), "{:?}", r);
                }
            }
            for v in [f32::from_bits(bits32), (bits32 % 100_000) as f32 / 10.0] {
                let mut out = Vec::new();
                write_value(&mut out, Value::F32(v));
                if v.is_finite() {
                    let r = same_as_display(out, format!("{v}"), |w| w.parse::<f32>().is_ok_and(|b| b.to_bits() == v.to_bits()));
                    proptest::prop_assert!(r.is_ok(), "{:?}", r);
                }
            }
        }
    }
}
