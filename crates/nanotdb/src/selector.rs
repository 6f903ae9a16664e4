//! Prometheus series selectors (`name`, `name{l="v",…}`, `{l=~"re",…}`, with
//! the operators `=`, `!=`, `=~`, `!~`), parsed into label matchers for
//! [`crate::Engine::select_series`]. Shared by `nanocli export --match` and
//! the server's `/api/v1/export?match[]=`, so both read a selector alike.

use crate::error::{Error, Result};
use crate::labels::{MatchOp, Matcher, NAME_LABEL};

fn bad(msg: String) -> Error {
    Error::InvalidMatcher(msg)
}

/// Parses one selector into label matchers (at least one).
pub fn parse_selector(sel: &str) -> Result<Vec<Matcher>> {
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
            return Err(bad("empty selector".to_string()));
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
    if out.is_empty() {
        return Err(bad(format!("selector {sel:?}: no matcher")));
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_without_panicking(s in ".{0,80}") {
            if let Ok(m) = parse_selector(&s) {
                prop_assert!(!m.is_empty());
            }
        }

        #[test]
        fn selector_like_text_never_panics(s in r#"[a-z_{}="~!,\\ .*()]{0,40}"#) {
            let _ = parse_selector(&s);
        }
    }

    #[test]
    fn selectors() {
        let m = parse_selector(r#"http_total{code=~"5..", method!="GET",path="/a\"b"}"#).unwrap();
        let got: Vec<(String, MatchOp, String)> = m
            .iter()
            .map(|m| (m.name.clone(), m.op, m.value.clone()))
            .collect();
        assert_eq!(
            got,
            [
                ("__name__".into(), MatchOp::Equal, "http_total".into()),
                ("code".into(), MatchOp::Regex, "5..".into()),
                ("method".into(), MatchOp::NotEqual, "GET".into()),
                ("path".into(), MatchOp::Equal, "/a\"b".into()),
            ]
        );
        assert_eq!(parse_selector("up").unwrap().len(), 1);
        assert_eq!(
            parse_selector(r#"{job!~"x"}"#).unwrap()[0].op,
            MatchOp::NotRegex
        );
        for bad in [
            "",
            "{",
            "{}",
            "up{a}",
            r#"up{a="x}"#,
            r#"up{="x"}"#,
            r#"up{a=~"("}"#,
        ] {
            assert!(parse_selector(bad).is_err(), "{bad:?}");
        }
    }
}
