//! Validation of database and metric names.
//!
//! v1.4.0 validated nothing, so a database called `..` escaped the data root and
//! a metric name over 255 bytes corrupted the WAL. Our rules (documented in the
//! README):
//! * database: 1–64 bytes of `[A-Za-z0-9_.-]`, not starting with `.` or `-`
//!   (so never `.`, `..` or a hidden directory);
//! * metric: 1–4096 bytes of UTF-8 with no whitespace and no control
//!   characters. Names up to 255 bytes keep v1.4.0's WAL records (a one-byte
//!   length); longer ones (a series with a long label set) use this
//!   implementation's long-name record (docs/FORMATS.md §4.15).

use crate::error::Error;

/// Longest accepted database name, in bytes.
pub const MAX_DB_NAME_LEN: usize = 64;
/// Longest accepted metric name (a series' canonical name with its labels),
/// in bytes: 4 KiB, the size Prometheus agents' label sets stay within.
pub const MAX_METRIC_NAME_LEN: usize = 4096;

/// Checks a database name; see the module docs for the rules.
pub fn validate_db_name(name: &str) -> Result<(), Error> {
    let reason = if name.is_empty() {
        Some("database cannot be empty")
    } else if name.len() > MAX_DB_NAME_LEN {
        Some("longer than 64 bytes")
    } else if name.starts_with('.') || name.starts_with('-') {
        Some("must not start with '.' or '-'")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
    {
        Some("only ASCII letters, digits, '_', '.' and '-' are allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidDatabaseName {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Checks a metric name; see the module docs for the rules.
pub fn validate_metric_name(name: &str) -> Result<(), Error> {
    let reason = if name.is_empty() {
        Some("metric cannot be empty")
    } else if name.len() > MAX_METRIC_NAME_LEN {
        Some("longer than 4096 bytes")
    } else if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("must not contain whitespace or control characters")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidMetricName {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names() {
        for ok in [
            "edge",
            "edge_1h",
            "a.b-c",
            "A9",
            "internal",
            &"x".repeat(64),
        ] {
            assert!(validate_db_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "-x",
            "a/b",
            "a\\b",
            "a b",
            "é",
            "a\0",
            &"x".repeat(65),
        ] {
            assert!(
                matches!(
                    validate_db_name(bad),
                    Err(Error::InvalidDatabaseName { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn metric_names() {
        for ok in [
            "cpu",
            "a/b/",
            "temp.probe03",
            "é",
            &"m".repeat(255),
            &"m".repeat(256),
            &"m".repeat(4096),
        ] {
            assert!(validate_metric_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a\tb", "a\u{7}", &"m".repeat(4097)] {
            assert!(
                matches!(
                    validate_metric_name(bad),
                    Err(Error::InvalidMetricName { .. })
                ),
                "{bad:?}"
            );
        }
    }
}
