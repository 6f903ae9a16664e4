//! The dashboard document (`dashboard.json`): its shape, normalisation and
//! validation (docs/BEHAVIOUR.md §2.10). Pure data work, no HTTP and no files,
//! so the rules can be tested one by one.
//!
//! Error messages start with the path of the offending field
//! (`widgets.<id>.series.<n>.window: …`): the editor shows each message next
//! to the field whose path it starts with.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Deserializer, Serialize};

/// The dashboard document. Unknown fields are dropped when parsed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Title shown above the tabs.
    #[serde(default, deserialize_with = "nullable")]
    pub title: String,
    /// Database used by series that name none.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub default_db: String,
    /// The tabs, in order.
    #[serde(default, deserialize_with = "nullable")]
    pub groups: Vec<Group>,
    /// Widgets by id (a group refers to them by id).
    #[serde(default, deserialize_with = "nullable")]
    pub widgets: BTreeMap<String, Widget>,
}

/// One tab of widgets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Unique id.
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    /// Tab label (the id when empty).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub label: String,
    /// Widget ids in display order.
    #[serde(default, deserialize_with = "nullable")]
    pub widgets: Vec<String>,
}

/// A number card or a chart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Widget {
    /// `number`, `numbers`, `line_chart` or `aggregate_band`.
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: String,
    /// Heading of the widget.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub title: String,
    /// Own refresh period in seconds (0 = the page's).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub refresh_sec: i64,
    /// Whether the widget follows auto-refresh (absent = yes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_refresh: Option<bool>,
    /// How far back a chart looks (dashboard duration).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub lookback: String,
    /// Bucket width of a chart (dashboard duration).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub interval: String,
    /// Empty or `aggregate_band` (a line chart drawn as a min/avg/max band).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub presentation: String,
    /// The series shown.
    #[serde(default, deserialize_with = "nullable")]
    pub series: Vec<Series>,
}

/// One series of a widget; every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // the keys are the document's, described in docs/BEHAVIOUR.md §2.10
pub struct Series {
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub label: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub role: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub db: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub database: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub query: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub metric: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub measurement: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub field: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub aggregate: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub window: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<Transform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Thresholds>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<f64>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimals: Option<i64>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub format: String,
}

/// Display transform of a series' values (`value * factor + offset`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // document keys, docs/BEHAVIOUR.md §2.10
pub struct Transform {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<f64>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimals: Option<i64>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub format: String,
}

/// Colouring of a number card.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// `above` (higher is worse) or `below`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub direction: String,
    /// Warning level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<f64>,
    /// Critical level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical: Option<f64>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// JSON `null` reads as the default (as v1.4.0's decoder leaves it).
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The embedded default document (`--init` writes it; GET serves it when
/// the configured file does not exist).
pub const DEFAULT_DASHBOARD: &str = include_str!("default_dashboard.json");

/// Title of the embedded default document and default of `[web].title`.
pub const DEFAULT_TITLE: &str = "NanoTDB Dashboard";

/// The default document with `title` put in when it differs from the
/// default title, as pretty JSON.
pub fn default_document(title: &str) -> String {
    if title == DEFAULT_TITLE {
        return DEFAULT_DASHBOARD.to_string();
    }
    match serde_json::from_str::<serde_json::Value>(DEFAULT_DASHBOARD) {
        Ok(mut v) => {
            v["title"] = serde_json::Value::String(title.to_string());
            pretty(&v)
        }
        Err(_) => DEFAULT_DASHBOARD.to_string(),
    }
}

/// Pretty JSON with a 2-space indent and a trailing newline (the saved form).
pub fn pretty<T: Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

/// Whether `w` is drawn as a min/avg/max band.
pub fn is_band(w: &Widget) -> bool {
    w.kind == "aggregate_band" || (w.kind == "line_chart" && w.presentation == "aggregate_band")
}

fn is_chart(w: &Widget) -> bool {
    w.kind == "line_chart" || w.kind == "aggregate_band"
}

/// The window a series is queried with: bands, and line-chart series with an
/// aggregate, use the widget's interval when it is set.
pub fn effective_window(w: &Widget, s: &Series) -> String {
    let by_interval = is_band(w) || (w.kind == "line_chart" && !s.aggregate.trim().is_empty());
    if by_interval && !w.interval.trim().is_empty() {
        w.interval.trim().to_string()
    } else {
        s.window.trim().to_string()
    }
}

/// Fills missing lists and replaces each series' window by its effective
/// window.
pub fn normalise(mut d: Dashboard) -> Dashboard {
    for w in d.widgets.values_mut() {
        let windows: Vec<String> = w.series.iter().map(|s| effective_window(w, s)).collect();
        for (s, win) in w.series.iter_mut().zip(windows) {
            s.window = win;
        }
    }
    d
}

/// A dashboard duration: digits and one unit of `s m h d w` (either case).
pub fn is_dashboard_duration(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2
        && b[..b.len() - 1].iter().all(u8::is_ascii_digit)
        && matches!(
            b[b.len() - 1].to_ascii_lowercase(),
            b's' | b'm' | b'h' | b'd' | b'w'
        )
}

/// The role of a band series: explicit `role`, else from a `min`/`max`/`avg`
/// aggregate.
fn band_role(s: &Series) -> Option<String> {
    let r = s.role.trim().to_ascii_lowercase();
    if !r.is_empty() {
        return Some(r);
    }
    let a = s.aggregate.trim().to_ascii_lowercase();
    matches!(a.as_str(), "min" | "max" | "avg").then_some(a)
}

/// The label a chart shows for series `i` (1-based in `Series <n>`); in a
/// band the role may come from the aggregate.
pub fn effective_label(s: &Series, i: usize, band: bool) -> String {
    let role = if band {
        band_role(s).unwrap_or_default()
    } else {
        s.role.trim().to_ascii_lowercase()
    };
    let role_name = match role.as_str() {
        "min" => "Min",
        "max" => "Max",
        "avg" => "Avg",
        _ => "",
    };
    [s.label.trim(), role_name, s.query.trim(), s.metric.trim()]
        .into_iter()
        .find(|v| !v.is_empty())
        .map(str::to_string)
        .or_else(|| {
            (!s.measurement.trim().is_empty() && !s.field.trim().is_empty())
                .then(|| format!("{}.{}", s.measurement.trim(), s.field.trim()))
        })
        .unwrap_or_else(|| format!("Series {}", i + 1))
}

/// Validates a normalised document against the aggregate names `aggregates`;
/// every violation is returned.
pub fn validate(d: &Dashboard, aggregates: &[String]) -> Vec<String> {
    let mut errs = Vec::new();
    if d.title.trim().is_empty() {
        errs.push("title: must not be empty".to_string());
    }
    if d.groups.is_empty() {
        errs.push("groups: at least one group is required".to_string());
    }
    let mut seen = HashSet::new();
    for (gi, g) in d.groups.iter().enumerate() {
        let p = format!("groups.{gi}");
        if g.id.trim().is_empty() {
            errs.push(format!("{p}.id: must not be empty"));
        } else if !seen.insert(g.id.trim().to_string()) {
            errs.push(format!("{p}.id: duplicate group id {:?}", g.id));
        }
        for w in &g.widgets {
            if !d.widgets.contains_key(w) {
                errs.push(format!("{p}.widgets: unknown widget {w:?}"));
            }
        }
    }
    for (id, w) in &d.widgets {
        validate_widget(d, id, w, aggregates, &mut errs);
    }
    errs
}

fn validate_widget(d: &Dashboard, id: &str, w: &Widget, aggs: &[String], errs: &mut Vec<String>) {
    let p = format!("widgets.{id}");
    if id.trim().is_empty() {
        errs.push("widgets: widget id must not be empty".to_string());
    }
    match w.kind.as_str() {
        "number" | "numbers" | "line_chart" | "aggregate_band" => {}
        other => errs.push(format!(
            "{p}.type: unknown widget type {other:?} (number, numbers, line_chart, aggregate_band)"
        )),
    }
    if w.series.is_empty() {
        errs.push(format!("{p}.series: at least one series is required"));
    }
    if w.refresh_sec < 0 {
        errs.push(format!("{p}.refresh_sec: must be >= 0"));
    }
    if is_chart(w) {
        if !w.presentation.is_empty() && w.presentation != "aggregate_band" {
            errs.push(format!(
                "{p}.presentation: must be empty or \"aggregate_band\", got {:?}",
                w.presentation
            ));
        }
        for (key, v) in [("lookback", &w.lookback), ("interval", &w.interval)] {
            if v.trim().is_empty() {
                errs.push(format!("{p}.{key}: required for charts"));
            } else if !is_dashboard_duration(v.trim()) {
                errs.push(format!(
                    "{p}.{key}: invalid duration {v:?} (e.g. 30s, 15m, 1h, 7d)"
                ));
            }
        }
    }
    let band = is_band(w);
    let shortcut = band
        && w.series.len() == 1
        && w.series[0].aggregate.trim().is_empty()
        && w.series[0].role.trim().is_empty();
    for (i, s) in w.series.iter().enumerate() {
        validate_series(&format!("{p}.series.{i}"), w, s, shortcut, aggs, errs);
    }
    if is_chart(w) {
        let mut labels = HashSet::new();
        for (i, s) in w.series.iter().enumerate() {
            let l = effective_label(s, i, is_band(w));
            if !labels.insert(l.clone()) {
                errs.push(format!(
                    "{p}.series.{i}.label: duplicate series label {l:?}"
                ));
            }
        }
    }
    if band {
        validate_band(d, &p, w, shortcut, errs);
    }
}

fn validate_series(
    p: &str,
    w: &Widget,
    s: &Series,
    shortcut: bool,
    aggs: &[String],
    errs: &mut Vec<String>,
) {
    let has_source = !s.query.trim().is_empty()
        || !s.metric.trim().is_empty()
        || (!s.measurement.trim().is_empty() && !s.field.trim().is_empty());
    if !has_source {
        errs.push(format!(
            "{p}.metric: a series needs query, metric, or measurement and field"
        ));
    }
    let agg = s.aggregate.trim();
    let win = effective_window(w, s);
    if !shortcut && agg.is_empty() != win.is_empty() {
        let key = if agg.is_empty() {
            "aggregate"
        } else {
            "window"
        };
        errs.push(format!(
            "{p}.{key}: aggregate and window must be both set or both empty"
        ));
    }
    if !agg.is_empty() && !aggs.iter().any(|a| a == agg) {
        errs.push(format!(
            "{p}.aggregate: unknown aggregate {agg:?} (supported: {})",
            aggs.join(",")
        ));
    }
    if !win.is_empty() && !is_dashboard_duration(&win) {
        errs.push(format!(
            "{p}.window: invalid duration {win:?} (e.g. 30s, 15m, 1h, 7d)"
        ));
    }
    if let Some(t) = &s.thresholds
        && (t.warning.is_some() || t.critical.is_some())
        && !matches!(t.direction.as_str(), "above" | "below")
    {
        errs.push(format!(
            "{p}.thresholds.direction: must be \"above\" or \"below\" when warning or critical is set"
        ));
    }
}

fn validate_band(d: &Dashboard, p: &str, w: &Widget, shortcut: bool, errs: &mut Vec<String>) {
    if shortcut {
        if w.interval.trim().is_empty() {
            errs.push(format!(
                "{p}.interval: a band from one plain series needs the widget interval"
            ));
        }
        return;
    }
    let mut roles = HashSet::new();
    for (i, s) in w.series.iter().enumerate() {
        match band_role(s) {
            None => errs.push(format!(
                "{p}.series.{i}.role: band series need a role (min, max or avg)"
            )),
            Some(r) if !matches!(r.as_str(), "min" | "max" | "avg") => errs.push(format!(
                "{p}.series.{i}.role: unknown role {r:?} (min, max or avg)"
            )),
            Some(r) => {
                if !roles.insert(r.clone()) {
                    errs.push(format!("{p}.series.{i}.role: duplicate role {r:?}"));
                }
            }
        }
    }
    for r in ["min", "avg", "max"] {
        if !roles.contains(r) {
            errs.push(format!("{p}.series: band needs a {r} series"));
        }
    }
    let key = |s: &Series| {
        let db = [s.db.trim(), s.database.trim(), d.default_db.trim()]
            .into_iter()
            .find(|v| !v.is_empty())
            .unwrap_or("")
            .to_string();
        (db, s.query.trim().to_string(), effective_window(w, s))
    };
    if let Some(first) = w.series.first().map(key)
        && w.series.iter().any(|s| key(s) != first)
    {
        errs.push(format!(
            "{p}.series: band series must share the same database, query and window"
        ));
    }
}

/// Parses, normalises and validates a request body.
pub fn check(body: &[u8], aggregates: &[String]) -> Result<Dashboard, Vec<String>> {
    let d: Dashboard =
        serde_json::from_slice(body).map_err(|e| vec![format!("invalid dashboard JSON: {e}")])?;
    let d = normalise(d);
    let errs = validate(&d, aggregates);
    if errs.is_empty() { Ok(d) } else { Err(errs) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for ok in ["15m", "7d", "1W", "30s", "0h"] {
            assert!(is_dashboard_duration(ok), "{ok}");
        }
        for bad in ["", "m", "1h30m", "1.5h", "10", "5ms", "-1h", "1y", " 1h"] {
            assert!(!is_dashboard_duration(bad), "{bad}");
        }
    }

    #[test]
    fn default_document_is_valid() {
        let aggs: Vec<String> = nanotdb::aggregate::default_aggregators().names();
        let d = check(DEFAULT_DASHBOARD.as_bytes(), &aggs).expect("valid default");
        assert_eq!(d.title, DEFAULT_TITLE);
        let t: Dashboard = serde_json::from_str(&default_document("Edge box")).expect("json");
        assert_eq!(t.title, "Edge box");
    }

    #[test]
    fn effective_windows() {
        let w = Widget {
            kind: "line_chart".into(),
            interval: "1m".into(),
            series: vec![
                Series {
                    aggregate: "avg".into(),
                    window: "5m".into(),
                    ..Series::default()
                },
                Series {
                    window: "5m".into(),
                    ..Series::default()
                },
            ],
            ..Widget::default()
        };
        assert_eq!(effective_window(&w, &w.series[0]), "1m");
        assert_eq!(effective_window(&w, &w.series[1]), "5m");
    }
}
