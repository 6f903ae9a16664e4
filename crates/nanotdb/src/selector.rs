//! Prometheus series selectors: `name`, `name{l="v",…}` or `{l=~"re",…}`,
//! with the operators `=`, `!=`, `=~`, `!~` (nanocli's `--match`, the
//! server's `[[remote_write]].match`).

use crate::error::{Error, Result};
use crate::labels::{MatchOp, Matcher, NAME_LABEL};

fn bad(msg: String) -> Error {
    Error::InvalidMatcher(msg)
}

/// Parses one selector into label matchers.
pub fn parse(sel: &str) -> Result<Vec<Matcher>> {
    let sel = sel.trim();
    let (name, rest) = match sel.find('{') {
        Some(i) => (sel[..i].trim(), &sel[i..]),
        None => (sel, ""),
    };
    let mut out = Vec::new();
    if !name.is_empty() {
        out.push(Matcher::new(NAME_LABEL, MatchOp::Equal, name)?);
    }
    if rest.is_empty() {
        if out.is_empty() {
            return Err(bad("empty selector".into()));
        }
        return Ok(out);
    }
    let Some(inner) = rest.strip_prefix('{').and_then(|r| r.strip_suffix('}')) else {
        return Err(bad(format!(
            "selector {sel:?}: expected name{{label=\"value\",…}}"
        )));
    };
    let mut s = inner.trim();
    while !s.is_empty() {
        let op_at = s
            .find(['=', '!'])
            .ok_or_else(|| bad(format!("selector {sel:?}: no operator after {s:?}")))?;
        let label = s[..op_at].trim();
        let after = &s[op_at..];
        let (op, len) = [
            ("=~", MatchOp::Regex),
            ("!~", MatchOp::NotRegex),
            ("!=", MatchOp::NotEqual),
            ("=", MatchOp::Equal),
        ]
        .into_iter()
        .find(|(t, _)| after.starts_with(t))
        .map(|(t, op)| (op, t.len()))
        .ok_or_else(|| bad(format!("selector {sel:?}: bad operator at {after:?}")))?;
        let (value, rest) = quoted(after[len..].trim_start()).ok_or_else(|| {
            bad(format!(
                "selector {sel:?}: label {label:?} needs a \"quoted\" value"
            ))
        })?;
        if label.is_empty() {
            return Err(bad(format!("selector {sel:?}: empty label name")));
        }
        out.push(Matcher::new(label, op, &value)?);
        s = rest.trim_start().trim_start_matches(',').trim_start();
    }
    Ok(out)
}

/// A double-quoted string at the start of `s` (with `\"`, `\\`, `\n`
/// escapes) and what follows it.
fn quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                c => out.push(c),
            },
            '"' => return Some((out, &body[i + 1..])),
            c => out.push(c),
        }
    }
    None
}
