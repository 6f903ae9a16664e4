//! The values a query answers with.

use crate::labels::Labels;

/// One series of a matrix: labels and `(ms, value)` points in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    /// The series' labels.
    pub labels: Labels,
    /// Points, ascending by time.
    pub points: Vec<(i64, f64)>,
}

/// The answer to a query, in Prometheus' four result types.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryValue {
    /// `resultType: scalar` at a time (ms).
    Scalar(i64, f64),
    /// `resultType: string` at a time (ms).
    String(i64, String),
    /// `resultType: vector`: one value per series at a time (ms), in the order
    /// the query produced them (meaningful after `sort`, `topk`, …).
    Vector(i64, Vec<(Labels, f64)>),
    /// `resultType: matrix`.
    Matrix(Vec<RangeSeries>),
}

impl QueryValue {
    /// Prometheus' name of the type.
    pub fn result_type(&self) -> &'static str {
        match self {
            QueryValue::Scalar(..) => "scalar",
            QueryValue::String(..) => "string",
            QueryValue::Vector(..) => "vector",
            QueryValue::Matrix(_) => "matrix",
        }
    }
}

/// A value as Prometheus writes it in JSON: `NaN`, `+Inf`, `-Inf`, otherwise
/// the shortest decimal that reads back to the same float, never with an
/// exponent (Go's `strconv.FormatFloat(v, 'f', -1, 64)`; Rust's `Display`
/// for `f64` has the same contract).
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::format_value;

    #[test]
    fn formats_like_go() {
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(2.0), "2");
        assert_eq!(format_value(0.1), "0.1");
        assert_eq!(format_value(1e21), "1000000000000000000000");
        assert_eq!(format_value(1.5e-7), "0.00000015");
    }
}
