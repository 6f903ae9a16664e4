#!/bin/bash
# An A/B of two builds of the server under the steady fleet feed: per round,
# run.sh off and on with build A, then with build B (so both builds see the
# same machine load), `perf stat` task-clock of the server per run.
#
# usage: ab.sh <build A> <build B> <rounds> [seconds, default 20]
# Prints one line per run and, at the end, the means and the overheads
# (on over off, per build). Copy the two release binaries aside first.
# WORKLOAD=edge (see run.sh) is passed through.
set -u
A=$1; B=$2; rounds=$3; secs=${4:-20}
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
for r in $(seq 1 "$rounds"); do
  for build in A B; do
    bin=$A; [ $build = B ] && bin=$B
    for mode in off on; do
      ms=$(NANOTDB_BIN=$bin "$here/run.sh" $mode "$secs" stat | awk '/task-clock/ {gsub(",","",$1); print $1}')
      load=$(cut -d' ' -f1 /proc/loadavg)
      echo "round $r build $build $mode task-clock ${ms} ms load $load" | tee -a "$out"
    done
  done
done
awk '{ k=$4" "$5; s[k]+=$7; n[k]++ }
     END { for (b in s) m[b]=s[b]/n[b];
           for (x in m) printf "mean %s %.1f ms over %d runs\n", x, m[x], n[x];
           for (b in s) { split(b, p, " "); if (p[2]=="on") printf "build %s overhead %+.1f %%\n", p[1], (m[p[1]" on"]/m[p[1]" off"]-1)*100 } }' "$out" | sort
rm -f "$out"
