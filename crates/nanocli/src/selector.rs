//! Prometheus series selectors for `--match`: `name`, `name{l="v",…}` or
//! `{l=~"re",…}`, with the operators `=`, `!=`, `=~`, `!~` (parsed by
//! `nanotdb::selector`, shared with the server's `[[remote_write]].match`).

use anyhow::Result;
#[cfg(test)]
use nanotdb::labels::MatchOp;
use nanotdb::labels::Matcher;

/// Parses one selector into label matchers.
pub fn parse(sel: &str) -> Result<Vec<Matcher>> {
    Ok(nanotdb::selector::parse(sel)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        let m = parse(r#"http_total{code=~"5..", method!="GET",path="/a\"b"}"#).unwrap();
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
        assert_eq!(parse("up").unwrap().len(), 1);
        assert_eq!(parse(r#"{job!~"x"}"#).unwrap()[0].op, MatchOp::NotRegex);
        for bad in [
            "",
            "{",
            "up{a}",
            r#"up{a="x}"#,
            r#"up{="x"}"#,
            r#"up{a=~"("}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
