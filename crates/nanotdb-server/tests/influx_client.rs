//! The Python `influxdb-client` (the official InfluxDB 2.x client library)
//! writing through `/api/v2/write` with a token, as its users run it. The
//! test fails when the library is missing (`.ci/run` installs it with pip).

mod common;

use std::ops::ControlFlow;
use std::process::Command;

use common::TestServer;
use nanotdb::Value;
use nanotdb_server::settings::ServerSettings;

const SCRIPT: &str = r#"
import sys
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS

url = sys.argv[1]
with InfluxDBClient(url=url, token="s3cret", org="edge", timeout=10_000) as client:
    assert client.ping(), "ping failed"
    write = client.write_api(write_options=SYNCHRONOUS)
    points = [
        Point("sensor").tag("room", "lab").field("temp", 21.123456789012345)
            .field("count", 25276182528).time(1767225600123, WritePrecision.MS),
        Point("sensor").tag("room", "lab").field("temp", -0.1)
            .field("count", -7).time(1767225601123, WritePrecision.MS),
    ]
    write.write(bucket="plant", record=points)
    write.write(bucket="plant", record="sensor,room=hall temp=1e-300 1767225600000000000")
print("ok")
"#;

fn samples(s: &TestServer, metric: &str) -> Vec<(i64, Value)> {
    let mut out = Vec::new();
    s.engine
        .query_range("plant", metric, i64::MIN, i64::MAX, 1, |x| {
            out.push((x.ts, x.value));
            ControlFlow::Continue(())
        })
        .unwrap();
    out
}

#[test]
fn python_influxdb_client_writes_exact_values() {
    let s = TestServer::with(ServerSettings {
        auth_token: Some("s3cret".into()),
        ..ServerSettings::default()
    });
    let out = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(format!("http://{}", s.addr))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "influxdb-client failed (pip install influxdb-client):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
    let ms = 1_000_000i64;
    assert_eq!(
        samples(&s, "sensor_temp{room=\"lab\"}"),
        [
            (1_767_225_600_123 * ms, Value::F64(21.123456789012345)),
            (1_767_225_601_123 * ms, Value::F64(-0.1))
        ]
    );
    assert_eq!(
        samples(&s, "sensor_count{room=\"lab\"}"),
        [
            (1_767_225_600_123 * ms, Value::I64(25_276_182_528)),
            (1_767_225_601_123 * ms, Value::I64(-7))
        ]
    );
    assert_eq!(
        samples(&s, "sensor_temp{room=\"hall\"}"),
        [(1_767_225_600_000_000_000, Value::F64(1e-300))]
    );
}
