#!/usr/bin/env bash
# Steady-state size of a database whose sealed partitions are metric files
# only (issue 17), against VictoriaMetrics on the same samples, same run.
#
#   scripts/bench-v3-size.sh WORKLOAD "GEN-ARGS" [FORMAT] [CODEC]
#   e.g. scripts/bench-v3-size.sh edge "--hours 24"
#        scripts/bench-v3-size.sh history "--hours 17520 --start 2024-01-01"
#
# Needs release builds of nanocli and gen-workload in $TARGET (default
# target/release) and VictoriaMetrics ($VICTORIA_METRICS_BIN, default
# /usr/bin/victoria-metrics; skipped when missing). Prints bytes and bytes
# per sample: the whole database directory after import + build with
# raw_ingest_action=delete, and VictoriaMetrics' data directory after
# /internal/force_flush and /internal/force_merge minus its size when empty.
set -euo pipefail
wl=$1; args=$2; format=${3:-v3}; codec=${4:-zstd_fastest}
T=${TARGET:-target/release}
VM=${VICTORIA_METRICS_BIN:-/usr/bin/victoria-metrics}
work=$(mktemp -d /tmp/v3size.XXXXXX)
trap 'kill "${vmpid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
# shellcheck disable=SC2086
"$T/gen-workload" "$wl" $args --out "$work/in.lp"
n=$(wc -l < "$work/in.lp")
"$T/nanocli" import --root "$work/r" --in "$work/in.lp" > /dev/null
t0=$(date +%s%N)
"$T/nanocli" build metric --root "$work/r" --db "$wl" --format "$format" --codec "$codec" \
  --raw-ingest-action delete > /dev/null
t1=$(date +%s%N)
rm -f "$work/r/$wl/nanotdb.lock"
ours=$(du -sb "$work/r/$wl" | cut -f1)
echo "$wl $args: samples=$n"
echo "nanotdb $format/$codec: dir=$ours bytes $(awk "BEGIN{printf \"%.3f\", $ours/$n}") B/sample, build $(( (t1 - t0) / 1000000 )) ms (whole process)"
if [ ! -x "$VM" ]; then echo "VictoriaMetrics not installed: skipped"; exit 0; fi
port=$((20000 + RANDOM % 20000))
mkdir -p "$work/vm"
"$VM" -storageDataPath="$work/vm" -httpListenAddr="127.0.0.1:$port" -retentionPeriod=100y \
  -loggerLevel=ERROR > "$work/vm.log" 2>&1 &
vmpid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" > /dev/null && break; sleep 0.1; done
empty=$(du -sb "$work/vm" | cut -f1)
# Influx line protocol: <db/metric> value=<v> <ns>; integers keep their i.
awk '{print $1, "value=" $2, $3}' "$work/in.lp" | split -l 200000 - "$work/vmpart."
for f in "$work"/vmpart.*; do
  curl -sf --data-binary @"$f" "http://127.0.0.1:$port/write" > /dev/null
done
curl -sf "http://127.0.0.1:$port/internal/force_flush" > /dev/null
sleep 2
curl -sf "http://127.0.0.1:$port/internal/force_merge" > /dev/null
sleep 5
rows=$(curl -sf "http://127.0.0.1:$port/metrics" | awk '/^vm_rows_inserted_total\{type="influx"\}/{print $2}')
vm=$(( $(du -sb "$work/vm" | cut -f1) - empty ))
echo "victoria-metrics: rows_inserted=$rows dir=$vm bytes $(awk "BEGIN{printf \"%.3f\", $vm/$n}") B/sample"
echo "ratio nanotdb/vm: $(awk "BEGIN{printf \"%.3f\", $ours/$vm}")"
