#!/usr/bin/env bash
# Offline import against VictoriaMetrics' /write (issue 18): `nanocli import`
# of a workload into a fresh root, as a whole process, against POSTing the
# same samples as Influx line protocol to a running VictoriaMetrics, in the
# same run, alternating, RUNS times each; prints every time and the medians.
#
#   scripts/bench-import.sh [WORKLOAD] ["GEN-ARGS"] [RUNS]
#   e.g. scripts/bench-import.sh edge "--hours 24" 7
#
# Needs release builds of nanocli and gen-workload in $TARGET (default
# target/release) and VictoriaMetrics ($VICTORIA_METRICS_BIN, default
# /usr/bin/victoria-metrics). VictoriaMetrics' time is from the first byte
# of the POST to its 204 answer (it acknowledges once the rows are in its
# in-memory buffers; it fsyncs nothing first); each run writes new series
# (a new metric prefix), as a first import does. The whole input goes in
# one POST, streamed by curl; our import reads the same file from disk.
# After each POST, untimed, a force_flush and 3 s for its background work
# to settle before the next import.
set -euo pipefail
wl=${1:-edge}; args=${2:---hours 24}; runs=${3:-7}
T=${TARGET:-target/release}
VM=${VICTORIA_METRICS_BIN:-/usr/bin/victoria-metrics}
[ -x "$VM" ] || { echo "VictoriaMetrics not found at $VM" >&2; exit 1; }
work=$(mktemp -d /tmp/bench-import.XXXXXX)
trap 'kill "${vmpid:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
# shellcheck disable=SC2086
"$T/gen-workload" "$wl" $args --out "$work/in.lp"
n=$(wc -l < "$work/in.lp")
for i in $(seq "$runs"); do
  awk -v p="r$i." '{print p $1, "value=" $2, $3}' "$work/in.lp" > "$work/vm$i.lp"
done
port=$((20000 + RANDOM % 20000))
mkdir -p "$work/vm"
"$VM" -storageDataPath="$work/vm" -httpListenAddr="127.0.0.1:$port" -retentionPeriod=100y \
  -loggerLevel=ERROR > "$work/vm.log" 2>&1 &
vmpid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" > /dev/null && break; sleep 0.1; done
ms() { echo $(( ($2 - $1) / 1000000 )); }
ours=(); theirs=()
for i in $(seq "$runs"); do
  rm -rf "$work/r"
  sync
  t0=$(date +%s%N)
  "$T/nanocli" import --root "$work/r" --in "$work/in.lp" > /dev/null
  t1=$(date +%s%N)
  curl -sf -H 'Expect:' --data-binary @"$work/vm$i.lp" "http://127.0.0.1:$port/write" > /dev/null
  t2=$(date +%s%N)
  ours+=("$(ms "$t0" "$t1")"); theirs+=("$(ms "$t1" "$t2")")
  # Untimed: VictoriaMetrics flushes and merges in the background after its
  # answer; let that settle so it does not run during the next import.
  curl -sf "http://127.0.0.1:$port/internal/force_flush" > /dev/null
  sleep 3
  echo "run $i: nanocli import $(ms "$t0" "$t1") ms, victoria-metrics /write $(ms "$t1" "$t2") ms"
done
rows=$(curl -sf "http://127.0.0.1:$port/metrics" | awk '/^vm_rows_inserted_total\{type="influx"\}/{print $2}')
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
mo=$(median "${ours[@]}"); mt=$(median "${theirs[@]}")
echo "$wl $args: $n samples; victoria-metrics rows inserted: $rows (expected $((n * runs)))"
echo "medians: nanocli import $mo ms, victoria-metrics /write $mt ms; speed ratio (vm time / ours) $(awk "BEGIN{printf \"%.2f\", $mt/$mo}")"
