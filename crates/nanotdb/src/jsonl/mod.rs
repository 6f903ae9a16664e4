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

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::export::ExportReport;
use crate::labels::labels_of;
use crate::sample::Value;

mod decimal;
mod digits;
mod millis;
mod parts;
mod stamps;

/// Most samples written on one line.
pub const CHUNK: usize = 10_000;

fn io(e: std::io::Error) -> Error {
    Error::io("<export output>", e)
}

/// `value` as VictoriaMetrics writes it.
#[inline]
fn write_value(out: &mut Vec<u8>, value: Value) {
    match value {
        Value::I32(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
        Value::I64(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
        Value::F32(v) => {
            let plain = (1e-4..1e7).contains(&v.abs());
            if !(plain && decimal::write_short_f32(out, v)) {
                write_float(out, f64::from(v), v.abs() < 1e7, &v, |b| b.format_finite(v));
            }
        }
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
    } else if v == 0.0 {
        // Common in real data (an idle machine's power), and Display's
        // formatting machinery costs more than the digits.
        out.extend_from_slice(if v.is_sign_negative() { b"-0" } else { b"0" });
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

/// Most export reading threads (see `parts`).
const MAX_WORKERS: usize = 4;

impl Engine {
    /// Writes the series `names` of `db` (e.g. what [`Engine::select_series`]
    /// picked), samples with `from <= ts <= to`, as VictoriaMetrics JSON
    /// lines (see the module docs). With `db_label`, each series also
    /// carries a `db` label naming its database. Partitions are read and
    /// formatted on up to one thread per core; the output is the same
    /// whatever their number.
    pub fn export_jsonl(
        &self,
        db: &str,
        names: &[String],
        from: i64,
        to: i64,
        db_label: bool,
        out: impl Write,
    ) -> Result<ExportReport> {
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_WORKERS);
        self.export_jsonl_on(db, names, from, to, db_label, workers, out)
    }

    /// [`Engine::export_jsonl`] with `workers` reading threads.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn export_jsonl_on(
        &self,
        db: &str,
        names: &[String],
        from: i64,
        to: i64,
        db_label: bool,
        workers: usize,
        out: impl Write,
    ) -> Result<ExportReport> {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut lines = Lines {
            w: BufWriter::with_capacity(OUT_CHUNK, out),
            report: ExportReport::default(),
            pending: (0..names.len()).map(|_| Pending::default()).collect(),
            held: 0,
            heads: vec![None; names.len()],
            names,
            db: db_label.then_some(db),
        };
        if let Some(plan) = self.read_plan(db, &refs, from, to)? {
            parts::read(&plan, from, to, workers, &mut |v, t, f| lines.add(v, t, f))?;
        }
        lines.flush_all()?;
        lines.w.flush().map_err(io)?;
        Ok(lines.report)
    }
}

fn gone(what: &str) -> Error {
    io(std::io::Error::other(what.to_string()))
}

/// Most samples an export holds before writing lines.
pub const BUFFERED: usize = 1 << 15;

/// Bytes written to the output at a time (a line's larger parts go
/// straight through).
const OUT_CHUNK: usize = 1 << 18;

/// One series' samples waiting for their line, as JSON text.
#[derive(Default)]
struct Pending {
    values: Vec<u8>,
    timestamps: Vec<u8>,
    count: usize,
}

/// The output side of an export: lines being assembled, their heads, and
/// the report.
struct Lines<'a, W: Write> {
    w: BufWriter<W>,
    report: ExportReport,
    pending: Vec<Pending>,
    /// Samples in `pending`.
    held: usize,
    heads: Vec<Option<Vec<u8>>>,
    names: &'a [String],
    db: Option<&'a str>,
}

impl<W: Write> Lines<'_, W> {
    /// Adds a fragment to its series' line: the line is written first when
    /// the fragment would take it past CHUNK samples, and every series'
    /// line once BUFFERED samples are held — so a long export has several
    /// lines per series, as VictoriaMetrics' own exports do, and memory
    /// stays bounded.
    fn add(&mut self, values: &[u8], timestamps: &[u8], f: &parts::Fragment) -> Result<()> {
        if self.pending[f.index].count + f.count > CHUNK {
            self.write_line(f.index)?;
        }
        let p = &mut self.pending[f.index];
        if p.count > 0 {
            p.values.push(b',');
            p.timestamps.push(b',');
        }
        p.values.extend_from_slice(values);
        p.timestamps.extend_from_slice(timestamps);
        p.count += f.count;
        self.held += f.count;
        if self.held >= BUFFERED {
            self.flush_all()?;
        }
        Ok(())
    }

    /// Writes every series' pending line, in name order, and lets go of
    /// their buffers (an export of many series would otherwise keep one
    /// per series).
    fn flush_all(&mut self) -> Result<()> {
        for i in 0..self.pending.len() {
            self.write_line(i)?;
            self.pending[i] = Pending::default();
        }
        Ok(())
    }

    /// Writes series `i`'s pending samples as one line and empties them.
    fn write_line(&mut self, i: usize) -> Result<()> {
        let p = &mut self.pending[i];
        if p.count == 0 {
            return Ok(());
        }
        let (db, names) = (self.db, self.names);
        let head = self.heads[i].get_or_insert_with(|| head(&names[i], db));
        for piece in [
            head.as_slice(),
            b"\"values\":[",
            &p.values,
            b"],\"timestamps\":[",
            &p.timestamps,
            b"]}\n",
        ] {
            self.w.write_all(piece).map_err(io)?;
            self.report.bytes += piece.len() as u64;
        }
        self.report.lines += 1;
        self.held -= p.count;
        p.count = 0;
        p.values.clear();
        p.timestamps.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `values` as VictoriaMetrics writes them, comma-separated.
    fn write_values(out: &mut Vec<u8>, values: impl Iterator<Item = Value>) {
        for (i, v) in values.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_value(out, v);
        }
    }

    /// Timestamps (ns) as milliseconds, rounded down, comma-separated.
    fn write_timestamps(out: &mut Vec<u8>, ts: impl Iterator<Item = i64>) {
        let mut b = itoa::Buffer::new();
        for (i, t) in ts.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b.format(t.div_euclid(1_000_000)).as_bytes());
        }
    }

    /// One whole line of `samples` (of any types).
    fn line(head: &[u8], samples: &[(i64, Value)], out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(head);
        out.extend_from_slice(b"\"values\":[");
        write_values(out, samples.iter().map(|s| s.1));
        out.extend_from_slice(b"],\"timestamps\":[");
        write_timestamps(out, samples.iter().map(|s| s.0));
        out.extend_from_slice(b"]}\n");
    }

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
                (5, Value::F32(0.0)),
                (6, Value::F32(-0.0)),
                (7, Value::F64(0.0)),
            ],
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"metric\":{\"__name__\":\"up\",\"db\":\"edge\",\"job\":\"a\\\"b\"},\
             \"values\":[0.1,NaN,0.58,25276182528,-Inf,1,1000000000000000000000,0.00000015,-0,+Inf,0,-0,0],\
             \"timestamps\":[1767225600123,1767225601000,1767225602000,1767225603000,-1,0,0,0,0,0,0,0,0]}\n"
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
