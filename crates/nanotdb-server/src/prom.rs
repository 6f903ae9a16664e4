//! Parser of the Prometheus text exposition format (version 0.0.4) and its
//! mapping to NanoTDB's `db/metric` names.
//!
//! Mapping (documented in the README):
//! * database: the `db` query parameter; without it, the sample's `db` label
//!   (which is then removed from the label set); neither → the line is rejected;
//! * metric: the Prometheus metric name, followed — when the sample has labels
//!   — by the labels sorted by name in Prometheus syntax:
//!   `node_cpu_seconds_total{cpu="0",mode="idle"}`. Label values keep the
//!   exposition escapes (`\\`, `\"`, `\n`); any other whitespace or control
//!   character is written `\u{XXXX}` so the name never contains whitespace;
//! * value: float64 (NaN and ±Inf included); the route stores it as float64,
//!   or as float32 into a metric that already has that type (one written by
//!   v1.4.0 or an earlier version), where finite values beyond the float32
//!   range are rejected;
//! * timestamp: milliseconds since the epoch, converted to nanoseconds; without
//!   one, the time the request was received.
//!
//! `# HELP`, `# TYPE`, other `#` lines and blank lines are skipped.

/// One parsed sample with its 1-based line number.
#[derive(Debug, Clone, PartialEq)]
pub struct PromSample {
    /// Physical line in the body.
    pub line: u64,
    /// Database.
    pub db: String,
    /// Metric name (name plus sorted labels).
    pub metric: String,
    /// Timestamp in ns.
    pub ts: i64,
    /// Value.
    pub value: f64,
}

/// Parses a whole body; returns the samples and every bad line with its reason.
pub fn parse_body(
    body: &str,
    db_param: Option<&str>,
    now_ns: i64,
) -> (Vec<PromSample>, Vec<(u64, String)>) {
    let mut samples = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in body.split('\n').enumerate() {
        let line_no = i as u64 + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line, db_param, now_ns) {
            Ok((db, metric, ts, value)) => samples.push(PromSample {
                line: line_no,
                db,
                metric,
                ts,
                value,
            }),
            Err(e) => errors.push((line_no, e)),
        }
    }
    (samples, errors)
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos > start
    }
    fn name(&mut self, label: bool) -> Result<&'a str, String> {
        let start = self.pos;
        match self.peek() {
            Some(c) if is_name_start(c) && !(label && c == b':') => self.pos += 1,
            _ => {
                return Err(format!(
                    "expected a {} name at column {}",
                    if label { "label" } else { "metric" },
                    start + 1
                ));
            }
        }
        while let Some(c) = self.peek() {
            if is_name_char(c) && !(label && c == b':') {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(&self.s[start..self.pos])
    }
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == b' ' || c == b'\t' {
                break;
            }
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }
    fn label_value(&mut self) -> Result<String, String> {
        if self.peek() != Some(b'"') {
            return Err(format!("expected '\"' at column {}", self.pos + 1));
        }
        self.pos += 1;
        let mut out = String::new();
        let rest = &self.s[self.pos..];
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, '\\')) => out.push('\\'),
                    Some((_, '"')) => out.push('"'),
                    Some((_, other)) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err("unterminated label value".to_string())
    }
}

type Parsed = (String, String, i64, f64);

fn parse_line(line: &str, db_param: Option<&str>, now_ns: i64) -> Result<Parsed, String> {
    let mut c = Cursor { s: line, pos: 0 };
    let name = c.name(false)?;
    let mut spaced = c.skip_ws();
    let mut labels: Vec<(&str, String)> = Vec::new();
    if c.peek() == Some(b'{') {
        c.pos += 1;
        loop {
            c.skip_ws();
            if c.peek() == Some(b'}') {
                c.pos += 1;
                break;
            }
            let ln = c.name(true)?;
            c.skip_ws();
            if c.peek() != Some(b'=') {
                return Err(format!("expected '=' after label {ln:?}"));
            }
            c.pos += 1;
            c.skip_ws();
            let v = c.label_value()?;
            spaced = false;
            if labels.iter().any(|(k, _)| *k == ln) {
                return Err(format!("duplicate label {ln:?}"));
            }
            labels.push((ln, v));
            c.skip_ws();
            match c.peek() {
                Some(b',') => c.pos += 1,
                Some(b'}') => {
                    c.pos += 1;
                    break;
                }
                _ => return Err(format!("expected ',' or '}}' at column {}", c.pos + 1)),
            }
        }
    }
    if c.skip_ws() {
        spaced = true;
    }
    if !spaced {
        return Err("expected whitespace before the value".to_string());
    }
    let value_tok = c.token();
    let value = parse_value(value_tok)?;
    c.skip_ws();
    let ts = if c.peek().is_some() {
        let t = c.token();
        let ms: i64 = t
            .parse()
            .map_err(|_| format!("invalid timestamp {t:?} (integer milliseconds expected)"))?;
        c.skip_ws();
        if c.peek().is_some() {
            return Err("unexpected text after the timestamp".to_string());
        }
        ms.checked_mul(1_000_000)
            .ok_or_else(|| format!("timestamp {t} out of range"))?
    } else {
        now_ns
    };
    let db = match db_param {
        Some(db) => db.to_string(),
        None => match labels.iter().position(|(k, _)| *k == "db") {
            Some(i) => labels.remove(i).1,
            None => {
                return Err("no database: add a db query parameter or a db label".to_string());
            }
        },
    };
    labels.sort_by(|a, b| a.0.cmp(b.0));
    Ok((db, metric_name(name, &labels), ts, value))
}

fn parse_value(tok: &str) -> Result<f64, String> {
    let v: f64 = match tok {
        "NaN" | "nan" => f64::NAN,
        "+Inf" | "Inf" | "+inf" | "inf" => f64::INFINITY,
        "-Inf" | "-inf" => f64::NEG_INFINITY,
        t => t
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("invalid value {t:?}"))?,
    };
    Ok(v)
}

/// `name` or `name{k="v",…}` with the labels as given (already sorted):
/// the canonical series name of `nanotdb_protocols::series`, so this route,
/// remote write and Influx name a series alike.
pub fn metric_name(name: &str, labels: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(name.len() + 16 * labels.len());
    out.push_str(name);
    nanotdb_protocols::series::write_labels(&mut out, labels.iter().map(|(k, v)| (*k, v.as_str())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_exporter_lines() {
        let body = "# HELP node_cpu_seconds_total Seconds.\n# TYPE node_cpu_seconds_total counter\n\
node_cpu_seconds_total{mode=\"idle\",cpu=\"0\"} 12345.67\n\
node_load1 0.5 1767225600000\n\
go_gc_duration_seconds{quantile=\"0.5\"} NaN\n\
x{path=\"/a b\",q=\"say \\\"hi\\\"\\n\"} +Inf\n";
        let (s, e) = parse_body(body, Some("node"), 7);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(s.len(), 4);
        assert_eq!(
            s[0].metric,
            "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}"
        );
        assert_eq!(s[0].line, 3);
        assert_eq!(s[0].ts, 7);
        assert_eq!(s[0].value, 12345.67);
        assert_eq!(s[1].ts, 1_767_225_600_000_000_000);
        assert!(s[2].value.is_nan());
        assert_eq!(
            s[3].metric,
            "x{path=\"/a\\u{0020}b\",q=\"say \\\"hi\\\"\\n\"}".replace("say ", "say\\u{0020}")
        );
        assert_eq!(s[3].value, f64::INFINITY);
    }

    #[test]
    fn db_label_and_errors() {
        let (s, e) = parse_body(
            "up{db=\"edge\",job=\"n\"} 1\nup 1\nbad{ 1\nup 1e999x\nup 1 x\n",
            None,
            0,
        );
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].db, "edge");
        assert_eq!(s[0].metric, "up{job=\"n\"}");
        let lines: Vec<u64> = e.iter().map(|x| x.0).collect();
        assert_eq!(lines, vec![2, 3, 4, 5]);
        assert_eq!(parse_value("1e39"), Ok(1e39));
        assert_eq!(parse_value("-Inf").unwrap(), f64::NEG_INFINITY);
    }
}
