#!/usr/bin/env bash
# Server CPU time and RSS of history exports (issue 18), for A/B runs of two
# server builds on a shared machine: CPU time moves much less with the load
# than wall time. Starts the given `nanotdb` on a prepared root, sends 100
# one-metric exports and then ROUNDS all-metrics exports over the two years
# (curl, one at a time), and prints the server's RSS after each part and its
# CPU time (user + system, /proc/<pid>/stat) per all-metrics export.
#
#   scripts/export-cpu.sh NANOTDB_BIN ROOT [ROUNDS]
#
# ROOT: a root made by `export_profile prepare ROOT <history.lp> raw|v2|v3`
# (crates/nanotdb/examples/export_profile.rs), which holds database
# `history` of `gen-workload history --hours 17520 --start 2024-01-01`.
set -euo pipefail
bin=$1; root=$2; rounds=${3:-10}
port=$((20000 + RANDOM % 10000))
"$bin" --config "$root/engine.toml" --listen "127.0.0.1:$port" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break
  sleep 0.1
done
range="start=2024-01-01T00:00:00Z&end=2026-01-01T00:00:00Z"
one="http://127.0.0.1:$port/api/v1/export?db=history&match[]=wt1.power_kw&$range"
all="http://127.0.0.1:$port/api/v1/export?db=history&$range"
rss() { awk '/VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$pid/status"; }
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
for _ in $(seq 100); do curl -s -o /dev/null "$one"; done
echo "RSS after 100 one-metric exports: $(rss)"
curl -s -o /dev/null "$all"
t0=$(ticks)
for _ in $(seq "$rounds"); do curl -s -o /dev/null "$all"; done
t1=$(ticks)
echo "all metrics: CPU $(( (t1 - t0) * 10 / rounds )) ms per export, RSS after $rounds: $(rss)"
