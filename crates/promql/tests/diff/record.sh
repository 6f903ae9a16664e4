#!/usr/bin/env bash
# Records real Prometheus' answers to queries.txt over data.om into
# expected.json (or the file given as $1). Needs `prometheus` and `promtool`
# (Debian package `prometheus`) and python3. Run from anywhere:
#   crates/promql/tests/diff/record.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/expected.json}
for p in prometheus promtool python3; do
  command -v "$p" >/dev/null || { echo "record.sh: $p not found" >&2; exit 1; }
done
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
promtool tsdb create-blocks-from openmetrics "$here/data.om" "$work/data" >/dev/null
printf 'scrape_configs: []\n' >"$work/prometheus.yml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" \
  --log.level=warn >"$work/prometheus.log" 2>&1 &
pid=$!
python3 "$here/record.py" "http://127.0.0.1:$port" "$here/queries.txt" "$out" \
  || { cat "$work/prometheus.log" >&2; exit 1; }
