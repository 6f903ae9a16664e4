//! `nanocli export --format jsonl [--match SELECTOR]`: series with their
//! labels in VictoriaMetrics' JSON-lines format, exact values.

use assert_cmd::Command;
use nanotdb::{Engine, Value, WriteSample};

const T0: i64 = 1_767_225_600_000_000_000;

fn nanocli() -> Command {
    Command::cargo_bin("nanocli").unwrap()
}

#[test]
fn jsonl_export_selects_series_by_label_and_keeps_values_exact() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = Engine::open(dir.path()).unwrap();
        fn w(metric: &str, ts: i64, value: Value) -> WriteSample<'_> {
            WriteSample {
                db: "d",
                metric,
                ts,
                value,
            }
        }
        let samples = [
            w(r#"http_total{code="200"}"#, T0, Value::F64(0.1)),
            w(r#"http_total{code="500"}"#, T0, Value::I64(25_276_182_528)),
            w(r#"http_total{code="500"}"#, T0 + 1_500_000, Value::I64(-3)),
            w("plain.v1", T0, Value::I32(7)),
        ];
        assert!(engine.write(&samples).unwrap().rejected.is_empty());
        engine.close().unwrap();
    }
    let root = dir.path().to_str().unwrap();
    let out = nanocli()
        .args(["export", "--root", root, "--db", "d", "--format", "jsonl"])
        .args(["--match", r#"http_total{code=~"5.."}"#])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"metric\":{\"__name__\":\"http_total\",\"code\":\"500\"},\"values\":[25276182528,-3],\"timestamps\":[1767225600000,1767225600001]}\n"
    );
    // Without --match: every series, by name.
    let out = nanocli()
        .args(["export", "--root", root, "--db", "d", "--format", "jsonl"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].contains("\"code\":\"200\"},\"values\":[0.1]"),
        "{text}"
    );
    assert!(lines[2].starts_with("{\"metric\":{\"__name__\":\"plain.v1\"},\"values\":[7]"));
    // Selectors are checked before anything is read.
    let out = nanocli()
        .args(["export", "--root", root, "--db", "d", "--format", "jsonl"])
        .args(["--match", "up{a}"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--match"));
}
