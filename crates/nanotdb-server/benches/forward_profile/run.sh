#!/bin/bash
# Precise CPU of a release nanotdb under the steady fleet feed (1,000 series
# at 1 s, feed.py) with or without a [[remote_write]] target (a local
# VictoriaMetrics), for profiling the forwarding overhead: `perf stat`
# task-clock (ns-precise, unlike the 10 ms ticks of /proc/<pid>/stat), or a
# `perf record` with DWARF call graphs, or strace -c.
#
# usage: run.sh <on|off> <seconds> <stat|threads|perf|flat|strace|none> [idle]
#   threads: perf stat task-clock and context switches per thread (which
#   threads a target makes busier: the sender's own, or the server's)
#   flat: perf record without call graphs (self time per symbol; cheap, so
#   two runs can be compared symbol by symbol with `perf report -n`)
#   idle: no writes (the cost of a target while nothing arrives)
# WORKLOAD=edge: 86 series every 10 s instead of the fleet (feed.py).
# MAX_AGE (default 2s) sets [manifest_defaults.page].max_age (the shipped
# template says 60s: a page, hence a batch, a minute at the edge rate).
# BATCH_DEADLINE (default 1s) sets the target's batch_deadline; NANOTDB_BIN another
# build of the server (an A/B of two builds).
# Build first: cargo build --release -p nanotdb-server --bin nanotdb
set -u
mode=$1; secs=$2; tracer=$3; idle=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
BIN=${NANOTDB_BIN:-${CARGO_TARGET_DIR:-$here/../../../../target}/release/nanotdb}
D=$(mktemp -d); mkdir -p "$D/root" "$D/vm"
VMPORT=18$((RANDOM%900+100)); PORT=19$((RANDOM%900+100))
victoria-metrics -storageDataPath="$D/vm" -httpListenAddr=127.0.0.1:$VMPORT -loggerLevel=ERROR >/dev/null 2>&1 &
VMPID=$!
printf '[stats]\nenabled = false\n[manifest_defaults.page]\nmax_age = "%s"\n' "${MAX_AGE:-2s}" > "$D/root/engine.toml"
if [ "$mode" = on ]; then
  printf '[[remote_write]]\nname = "steady"\nurl = "http://127.0.0.1:%s/api/v1/write"\nbatch_deadline = "%s"\n' $VMPORT "${BATCH_DEADLINE:-1s}" >> "$D/root/engine.toml"
fi
RUST_LOG=warn "$BIN" --config "$D/root/engine.toml" --listen 127.0.0.1:$PORT >/dev/null 2>&1 &
PID=$!
sleep 1.5
if [ "$idle" = idle ]; then sleep $((secs+2)) & else python3 "$here/feed.py" 127.0.0.1:$PORT $((secs+2)) "${WORKLOAD:-fleet}" & fi
FEED=$!
sleep 1
read -r u0 s0 < <(awk '{print $14, $15}' /proc/$PID/stat)
case $tracer in
  stat) perf stat -e task-clock,context-switches -p $PID -o "$D/stat.txt" -- sleep "$secs" >/dev/null 2>&1
        grep -E "task-clock|context" "$D/stat.txt" ;;
  threads) perf stat --per-thread -e task-clock,context-switches -p $PID -o "$D/stat.txt" -- sleep "$secs" >/dev/null 2>&1
        grep -E "task-clock|context" "$D/stat.txt" | awk '$2 > 0 || $3 > 0' ;;
  perf) perf record -F 20000 --call-graph dwarf,16384 -o "$D/perf.data" -p $PID -- sleep "$secs" >/dev/null 2>&1
        echo "perf data: $D/perf.data" ;;
  flat) perf record -F 20000 -o "$D/perf.data" -p $PID -- sleep "$secs" >/dev/null 2>&1
        echo "perf data: $D/perf.data" ;;
  strace) timeout -s INT "$secs" strace -c -f -p $PID -o "$D/strace.txt"; head -30 "$D/strace.txt" ;;
  *) sleep "$secs" ;;
esac
read -r u1 s1 < <(awk '{print $14, $15}' /proc/$PID/stat)
echo "$mode: user $((u1-u0)) sys $((s1-s0)) ticks over $secs s"
[ "$mode" = on ] && curl -s "http://127.0.0.1:$VMPORT/metrics" | grep -E '^vm_http_requests_total\{path="/api/v1/write"|^vm_rows_inserted_total\{type="promremotewrite"' 
wait $FEED
kill -TERM $PID; wait $PID
kill $VMPID; wait $VMPID 2>/dev/null
case $tracer in perf|flat) ;; *) rm -rf "$D" ;; esac
