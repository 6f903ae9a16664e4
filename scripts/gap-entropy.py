#!/usr/bin/env python3
"""Lower bound of the timestamp cost of a line-protocol file (issue 17).

Per series, the gaps between consecutive timestamps are taken as
exponential with the series' own mean (the maximum-likelihood fit); an
exponential gap quantised to a resolution r costs log2(e * mean / r) bits
(mean >> r). Prints that bound in bytes per sample at 1 ns (what we store)
and at 1 ms (what VictoriaMetrics keeps), and the empirical entropy of the
gaps at 1 ms for comparison (biased low: a series of a few hundred gaps
sees most ms values once, so its histogram looks more certain than the
distribution is).

    scripts/gap-entropy.py in.lp
"""
import collections
import math
import sys

last = {}
gaps = collections.defaultdict(list)
n = 0
with open(sys.argv[1]) as f:
    for line in f:
        name, _, ts = line.split(" ")
        ts = int(ts)
        n += 1
        if name in last:
            gaps[name].append(ts - last[name])
        last[name] = ts

for res, label in ((1, "1 ns"), (10**6, "1 ms")):
    bits = 0.0
    for g in gaps.values():
        mean = sum(g) / len(g)
        bits += len(g) * math.log2(math.e * mean / res)
    print(f"exponential bound at {label}: {bits / 8 / n:.3f} B/sample ({bits / n:.1f} bits)")

# Empirical: entropy of the ms-rounded gaps within each series.
bits = 0.0
for g in gaps.values():
    c = collections.Counter(x // 10**6 for x in g)
    k = len(g)
    bits += -sum(v * math.log2(v / k) for v in c.values())
print(f"empirical entropy of ms gaps: {bits / 8 / n:.3f} B/sample")
print(f"samples={n} series={len(last)}")
