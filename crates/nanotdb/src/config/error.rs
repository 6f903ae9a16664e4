//! Configuration errors and warnings.

use super::*;

/// Failure to read, parse or validate a configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// TOML syntax or type error; `message` carries line/column.
    #[error("parse {}: {message}", path.display())]
    Parse {
        /// File being parsed.
        path: PathBuf,
        /// toml's message prefixed with `line L, column C`.
        message: String,
    },
    /// A value that parsed but is not acceptable; `key` is the full dotted key.
    #[error("invalid {}: {key}: {reason}", path.display())]
    Invalid {
        /// File holding the value.
        path: PathBuf,
        /// Full dotted key, e.g. `wal.fsync_policy` or `rollups.jobs[1].interval`.
        key: String,
        /// Why it was rejected.
        reason: String,
    },
    /// `engine.toml` exists but holds nothing: most likely a write that was
    /// cut short. Starting on defaults would silently drop settings such as
    /// `auth_token`, so the file is refused instead.
    #[error("{} is empty (a cut-short write?): restore it, or delete it to get the default template", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// Reading or writing a file failed (`AlreadyExists` when refusing to overwrite).
    #[error("{}: {source}", path.display())]
    Io {
        /// File involved.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
}

/// What a [`ConfigWarning`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigWarningKind {
    /// A key or table the loader does not know (probably a typo); it was ignored.
    UnknownKey,
    /// A value was out of the supported range and was replaced by `used`.
    Capped {
        /// Value in the file.
        given: i64,
        /// Value the engine will use.
        used: i64,
    },
}

/// A non-fatal problem in a configuration file; callers should log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// File holding the key.
    pub path: PathBuf,
    /// Full dotted key.
    pub key: String,
    /// What is wrong.
    pub kind: ConfigWarningKind,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ConfigWarningKind::UnknownKey => {
                write!(f, "unknown key {:?} in {}", self.key, self.path.display())
            }
            ConfigWarningKind::Capped { given, used } => write!(
                f,
                "{} = {given} in {} is out of range; using {used}",
                self.key,
                self.path.display()
            ),
        }
    }
}

pub(crate) fn invalid(
    path: &Path,
    key: impl Into<String>,
    reason: impl Into<String>,
) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_path_buf(),
        key: key.into(),
        reason: reason.into(),
    }
}

pub(crate) fn io_err(path: &Path, source: io::Error) -> ConfigError {
    ConfigError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn parse_err(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let message = match e.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            format!("line {line}, column {col}: {}", e.message())
        }
        None => e.message().to_string(),
    };
    ConfigError::Parse {
        path: path.to_path_buf(),
        message,
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}
