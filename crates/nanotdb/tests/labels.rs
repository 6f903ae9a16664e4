//! Series with labels: selected through the label index, also after a
//! restart and for series created after the index was first used.

use nanotdb::labels::{MatchOp, Matcher};
use nanotdb::{Engine, Value, WriteSample};

const T0: i64 = 1_767_225_600_000_000_000;

fn names(engine: &Engine, ms: &[(&str, MatchOp, &str)]) -> Vec<String> {
    let ms: Vec<Matcher> = ms
        .iter()
        .map(|(n, o, v)| Matcher::new(n, *o, v).unwrap())
        .collect();
    engine
        .select_series("d", &ms)
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect()
}

fn write(engine: &Engine, metric: &str) {
    engine
        .write(&[WriteSample {
            db: "d",
            metric,
            ts: T0,
            value: Value::F32(1.0),
        }])
        .unwrap();
}

#[test]
fn series_are_selected_by_label_across_restarts_and_new_series() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    for code in ["200", "404", "500"] {
        for method in ["GET", "POST"] {
            write(
                &engine,
                &format!(r#"http_requests_total{{code="{code}",method="{method}"}}"#),
            );
        }
    }
    write(&engine, "plain.v1.name");
    use MatchOp::*;
    assert_eq!(
        names(
            &engine,
            &[("code", Regex, "[45].."), ("method", Equal, "GET")]
        ),
        [
            r#"http_requests_total{code="404",method="GET"}"#,
            r#"http_requests_total{code="500",method="GET"}"#
        ]
    );
    // A series created after the index was built is found.
    write(&engine, r#"http_requests_total{code="503",method="GET"}"#);
    assert_eq!(names(&engine, &[("code", Equal, "503")]).len(), 1);
    engine.close().unwrap();
    drop(engine);
    let engine = Engine::open(dir.path()).unwrap();
    assert_eq!(
        names(&engine, &[("__name__", Equal, "http_requests_total")]).len(),
        7
    );
    assert_eq!(names(&engine, &[("code", Equal, "")]), ["plain.v1.name"]);
    assert_eq!(
        engine.label_values("d", Some("method")).unwrap(),
        ["GET", "POST"]
    );
    assert_eq!(
        engine.label_values("d", None).unwrap(),
        ["__name__", "code", "method"]
    );
    assert!(matches!(
        Matcher::new("code", Regex, "(["),
        Err(nanotdb::Error::InvalidMatcher(_))
    ));
}
