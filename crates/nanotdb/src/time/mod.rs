//! Timestamps, Go-compatible durations and partition keys (docs/FORMATS.md §6.1, docs/FORMATS.md §7.1, docs/FORMATS.md §11.3, docs/FORMATS.md §11.6).
//!
//! Everything here is UTC and works on `i64` nanoseconds since the Unix epoch. Calendar math is
//! hand-written (Howard Hinnant's civil-from-days algorithms) because timestamp formatting sits on
//! the export hot path and partition keys on the ingest hot path.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Nanoseconds per second.
const NS_PER_SEC: i64 = 1_000_000_000;
/// Seconds per day.
const SECS_PER_DAY: i64 = 86_400;
/// Nanoseconds per day.
const NS_PER_DAY: i64 = SECS_PER_DAY * NS_PER_SEC;

/// Errors from parsing timestamps, durations and partition modes.
///
/// Duration messages copy Go's `time.ParseDuration` wording so config errors read like the
/// reference's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TimeError {
    /// Not a raw integer nor one of the accepted human UTC forms.
    #[error("invalid timestamp {}", GoQuoted(.0))]
    InvalidTimestamp(String),
    /// Syntactically valid, but the instant does not fit in i64 nanoseconds.
    #[error("timestamp out of range {}", GoQuoted(.0))]
    TimestampOutOfRange(String),
    /// Malformed duration, or one that overflows i64 nanoseconds.
    #[error("time: invalid duration {}", GoQuoted(.0))]
    InvalidDuration(String),
    /// A number without a unit (only the bare `0` may omit it).
    #[error("time: missing unit in duration {}", GoQuoted(.0))]
    MissingUnit(String),
    /// A unit that is not in the accepted set.
    #[error("time: unknown unit {} in duration {}", GoQuoted(.unit), GoQuoted(.input))]
    UnknownUnit {
        /// The unrecognised unit text.
        unit: String,
        /// The whole duration string.
        input: String,
    },
    /// Not one of `day`, `month`, `year`, `forever`.
    #[error("invalid partition mode {}", GoQuoted(.0))]
    InvalidPartitionMode(String),
}

/// Displays a string the way Go's `%q` does, so error texts match the reference's.
///
/// Printability of non-ASCII characters approximates Go's `unicode.IsPrint` (controls,
/// whitespace other than ' ' and the common format characters are escaped).
pub(crate) struct GoQuoted<'a>(pub(crate) &'a str);

impl fmt::Display for GoQuoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\x07' => f.write_str("\\a")?,
                '\x08' => f.write_str("\\b")?,
                '\x0c' => f.write_str("\\f")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                '\x0b' => f.write_str("\\v")?,
                ' '..='~' => f.write_char(c)?,
                c if (c as u32) < 0x80 => write!(f, "\\x{:02x}", c as u32)?,
                c if is_go_printable(c) => f.write_char(c)?,
                c if (c as u32) < 0x10000 => write!(f, "\\u{:04x}", c as u32)?,
                c => write!(f, "\\U{:08x}", c as u32)?,
            }
        }
        f.write_char('"')
    }
}

/// Approximation of Go's `unicode.IsPrint` for non-ASCII characters.
fn is_go_printable(c: char) -> bool {
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c,
            '\u{AD}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'))
}

mod civil;
mod duration;
mod format;
mod parse;
mod partition;

use civil::*;
pub use duration::*;
pub use format::*;
pub use parse::*;
pub use partition::*;

#[cfg(test)]
mod tests;
