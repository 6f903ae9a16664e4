//! Differential check of `GET /api/v1/export` against a real
//! VictoriaMetrics (Debian's `victoria-metrics`, started by the test on
//! loopback; the test fails without it): the same Prometheus text is
//! written to both, and both exports must hold the same lines.

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;
use nanotdb_testkit::{free_addr, wait_listening};

/// Kills a child when dropped (a failing assertion must not leave it behind).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const T0_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// Node_exporter-like series with values VictoriaMetrics stores exactly. It
/// keeps a block's values as decimals with a shared exponent and about 15
/// digits, so some values come back changed there and exact here: a series
/// mixing 1e21 and 1 loses the 1, `-0.0000016499999999999999` comes back as
/// `-0.00000165`, `-0` as `0`.
fn exposition() -> String {
    let mut out = String::new();
    for i in 0..30i64 {
        let t = T0_MS + i * 15_000;
        out.push_str(&format!(
            "node_cpu_seconds_total{{mode=\"idle\",cpu=\"0\",instance=\"h:9100\"}} {} {t}\n",
            1234.5 + i as f64 * 0.25
        ));
        out.push_str(&format!(
            "node_memory_MemAvailable_bytes{{instance=\"h:9100\"}} {} {t}\n",
            25_276_182_528i64 + i * 4096
        ));
        out.push_str(&format!(
            "node_load1{{instance=\"h:9100\",job=\"node\"}} {} {t}\n",
            [0.1, 0.25, 1.0, 3.75][i as usize % 4]
        ));
        out.push_str(&format!(
            "up_small{{a=\"x y\",b=\"q\\\"uote\"}} {} {t}\n",
            i % 2
        ));
        out.push_str(&format!(
            "neg{{z=\"1\"}} {} {t}\n",
            -((i + 1) as f64) * 0.0625
        ));
    }
    out.push_str(&format!(
        "inf{{s=\"p\"}} +Inf {T0_MS}\ninf{{s=\"p\"}} -Inf {}\n",
        T0_MS + 1
    ));
    out
}

/// The export's lines as (labels, the rest of the line), sorted:
/// VictoriaMetrics orders series by its internal ids and a series' labels
/// in an order of its own, so labels are compared as sets; values and
/// timestamps are compared as text.
fn lines_of(body: &str) -> Vec<(BTreeMap<String, String>, String)> {
    let mut v: Vec<_> = body
        .lines()
        .map(|line| {
            let at = line
                .find("},\"values\":")
                .unwrap_or_else(|| panic!("{line}"));
            // The head alone: values may be +Inf, which JSON parsers refuse.
            let head = format!("{}}}", &line[..at + 1]);
            let v: serde_json::Value =
                serde_json::from_str(&head).unwrap_or_else(|e| panic!("{e}: {line}"));
            let labels: BTreeMap<String, String> = v["metric"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            (labels, line[at + 2..].to_string())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn export_matches_victoriametrics_for_the_same_samples() {
    let dir = tempfile::tempdir().unwrap();
    let vm_addr = free_addr();
    let child = Command::new("victoria-metrics")
        .arg(format!(
            "-storageDataPath={}",
            dir.path().join("vm").display()
        ))
        .arg(format!("-httpListenAddr={vm_addr}"))
        .arg("-retentionPeriod=100y")
        .arg("-search.disableCache")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start victoria-metrics ({e}): install Debian's victoria-metrics")
        });
    let _vm = Reaped(child);
    wait_listening(vm_addr, "victoria-metrics");
    let ours = TestServer::start();

    let body = exposition();
    let r = common::request(
        vm_addr,
        "POST",
        "/api/v1/import/prometheus",
        &[],
        body.as_bytes(),
    );
    assert_eq!(r.status, 204, "victoria-metrics: {}", r.text());
    let r = ours.post("/api/v1/import/prometheus?db=node", body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());

    let all = "match[]=%7B__name__%3D~%22.%2B%22%7D";
    // VictoriaMetrics makes samples searchable a moment after import: wait
    // until its export holds every sample.
    let count = |text: &str| text.matches(',').count() + 2 * text.lines().count();
    let want = count(&ours.get(&format!("/api/v1/export?db=node&{all}")).text());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let _ = common::request(vm_addr, "GET", "/internal/force_flush", &[], b"");
        let r = common::request(vm_addr, "GET", &format!("/api/v1/export?{all}"), &[], b"");
        assert_eq!(r.status, 200, "victoria-metrics: {}", r.text());
        if count(&r.text()) >= want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "victoria-metrics has {}",
            r.text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for (q, lines) in [
        (all.to_string(), 6),
        (format!("{all}&start=1767225660&end=1767225720"), 5),
        (
            format!("{all}&start=2026-01-01T00:01:00.5Z&end=2026-01-01T00:05:00Z"),
            5,
        ),
        (
            "match[]=node_load1&match[]=%7Bb%3D%22q%5C%22uote%22%7D&start=1767225600".to_string(),
            2,
        ),
        (
            "match[]=%7Bmode%3D~%22id.*%22%7D&start=1767225600".to_string(),
            1,
        ),
    ] {
        let r = common::request(vm_addr, "GET", &format!("/api/v1/export?{q}"), &[], b"");
        assert_eq!(r.status, 200, "victoria-metrics {q}: {}", r.text());
        let vm = lines_of(&r.text());
        let r = ours.get(&format!("/api/v1/export?db=node&{q}"));
        assert_eq!(r.status, 200, "{q}: {}", r.text());
        let mine = lines_of(&r.text());
        assert_eq!(mine.len(), lines, "{q}: {mine:#?}");
        assert_eq!(mine, vm, "{q}");
    }
}
