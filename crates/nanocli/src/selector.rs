//! Prometheus series selectors for `--match`: `name`, `name{l="v",…}` or
//! `{l=~"re",…}`, with the operators `=`, `!=`, `=~`, `!~` (parsed by the
//! engine's [`nanotdb::selector`], as the server's export route does).

use anyhow::Result;
use nanotdb::labels::Matcher;

/// Parses one selector into label matchers.
pub fn parse(sel: &str) -> Result<Vec<Matcher>> {
    Ok(nanotdb::selector::parse_selector(sel)?)
}
