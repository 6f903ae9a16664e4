//! Progress bars on a terminal (never when stderr is a pipe or a file).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `len` units, or `None` when stderr is not a terminal.
/// `template` is an indicatif template (`{bar}`, `{pos}`, `{len}`, `{eta}`…).
pub fn bar(len: u64, template: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Some(b)
}

/// A spinner counting bytes with their rate, or `None` off a terminal.
pub fn bytes_spinner(msg: &'static str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let b = ProgressBar::new_spinner();
    b.set_style(
        ProgressStyle::with_template("{spinner} {msg} {bytes} ({binary_bytes_per_sec}, {elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    b.set_message(msg);
    b.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(b)
}

/// A writer that advances a progress bar by the bytes written through it.
pub struct Counting<W> {
    /// The wrapped writer.
    pub inner: W,
    /// The bar, if any.
    pub bar: Option<ProgressBar>,
}

impl<W: std::io::Write> std::io::Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(b) = &self.bar {
            b.inc(n as u64);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
