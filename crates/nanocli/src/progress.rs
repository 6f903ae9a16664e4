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

/// A spinner with a message and the elapsed time, or `None` off a terminal
/// (for work whose size is not known in advance).
pub fn spinner(msg: &'static str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let b = ProgressBar::new_spinner();
    b.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    b.set_message(msg);
    b.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(b)
}

/// Progress over partitions for an export: a bar with rate and ETA.
pub fn partitions_bar() -> Option<ProgressBar> {
    bar(
        0,
        "{bar:40} {pos}/{len} partitions {per_sec} eta {eta} ({elapsed})",
    )
}
