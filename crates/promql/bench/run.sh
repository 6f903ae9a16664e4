#!/usr/bin/env bash
# PromQL benchmark against real Prometheus (BENCHMARKS.md, "PromQL"): builds
# the release server, starts it and prometheus on loopback over the same
# generated day, and runs bench.py. Needs prometheus, promtool, python3.
#   crates/promql/bench/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
cargo build --release -p nanotdb-server --manifest-path "$repo/Cargo.toml"
work=$(mktemp -d)
npid= ppid=
cleanup() {
  for p in $npid $ppid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_url() { for _ in $(seq 600); do curl -sf "$1" >/dev/null && return; sleep 0.1; done; echo "$1 not up" >&2; exit 1; }
np=$(port)
mkdir -p "$work/root"
"$target/release/nanotdb" --config "$work/root/engine.toml" --init
"$target/release/nanotdb" --config "$work/root/engine.toml" --listen "127.0.0.1:$np" >"$work/nanotdb.log" 2>&1 &
npid=$!
wait_url "http://127.0.0.1:$np/health"
echo "generating and importing (6.9 M samples)..."
python3 "$here/bench.py" --gen "$work" "http://127.0.0.1:$np"
# The server that ingested the day, queried once per query: its RSS counts
# what the import left behind. The timed runs below use a restarted server
# over the same files, which holds only what queries need.
python3 "$here/bench.py" --once "http://127.0.0.1:$np" "$npid"
kill "$npid"; wait "$npid" 2>/dev/null || true
"$target/release/nanotdb" --config "$work/root/engine.toml" --listen "127.0.0.1:$np" >>"$work/nanotdb.log" 2>&1 &
npid=$!
wait_url "http://127.0.0.1:$np/health"
promtool tsdb create-blocks-from openmetrics "$work/data.om" "$work/prom" >/dev/null
rm "$work/data.om"
printf 'scrape_configs: []\n' >"$work/prometheus.yml"
pp=$(port)
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom" \
  --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$pp" --log.level=warn \
  >"$work/prometheus.log" 2>&1 &
ppid=$!
wait_url "http://127.0.0.1:$pp/-/ready"
prometheus --version 2>&1 | head -1
python3 "$here/bench.py" "$work" "http://127.0.0.1:$np" "$npid" "http://127.0.0.1:$pp" "$ppid"
