#!/usr/bin/env python3
"""Writes data.om: the differential tests' data set as OpenMetrics text.

Deterministic (seeded), so re-running it reproduces the committed file.
Two hours at 15 s from T0: counters with resets, gauges, a histogram with
`le` buckets, a series with a gap and an early end, and one with NaN/Inf.
"""
import random

T0 = 1700000000
STEP = 15
N = 480  # two hours
rng = random.Random(14)
series = []  # (name, labels dict, [(ts_seconds, value)])


def ts(i, jitter_ms=0):
    return T0 + i * STEP + jitter_ms / 1000.0


def labels_str(d):
    return ",".join(f'{k}="{v}"' for k, v in sorted(d.items()))


# Counters with resets.
for job in ("api", "web"):
    for inst in ("i1", "i2"):
        for code in ("200", "500"):
            v = float(rng.randint(0, 1000))
            resets = set(rng.sample(range(40, N - 40), rng.randint(0, 2)))
            pts = []
            for i in range(N):
                if i in resets:
                    v = 0.0
                v += rng.randint(0, 20 if code == "200" else 3)
                j = (i * 37) % 1000 if inst == "i2" else 0
                pts.append((ts(i, j), v))
            series.append(("http_requests_total",
                           {"job": job, "instance": inst, "code": code}, pts))

# Gauges: random walks with three decimals.
for host in ("h1", "h2", "h3", "h4"):
    for dc in ("east", "west"):
        v = rng.uniform(15, 30)
        pts = []
        for i in range(N):
            v += rng.uniform(-0.5, 0.5)
            pts.append((ts(i), round(v, 3)))
        series.append(("node_temp_celsius", {"host": host, "dc": dc}, pts))

# A histogram per job.
bounds = ["0.05", "0.1", "0.25", "0.5", "1", "+Inf"]
for job in ("api", "web"):
    counts = [0] * len(bounds)
    total = 0.0
    pts = {b: [] for b in bounds}
    sums, cnts = [], []
    for i in range(N):
        for _ in range(rng.randint(0, 8)):
            obs = rng.expovariate(4.0 if job == "api" else 2.0)
            total += obs
            for k, b in enumerate(bounds):
                if b == "+Inf" or obs <= float(b):
                    counts[k] += 1
        for k, b in enumerate(bounds):
            pts[b].append((ts(i), float(counts[k])))
        sums.append((ts(i), round(total, 6)))
        cnts.append((ts(i), float(counts[-1])))
    for b in bounds:
        series.append(("request_duration_seconds_bucket", {"job": job, "le": b}, pts[b]))
    series.append(("request_duration_seconds_sum", {"job": job}, sums))
    series.append(("request_duration_seconds_count", {"job": job}, cnts))

# A gauge with a gap (1h..1h30) that ends 10 minutes early.
pts = []
for i in range(N):
    t = i * STEP
    if 3600 <= t < 5400 or t >= 6600:
        continue
    pts.append((ts(i), round(50 + 10 * rng.random(), 2)))
series.append(("gappy_gauge", {"id": "g1"}, pts))

# Up-like 0/1 gauges.
for inst in ("i1", "i2"):
    v, pts = 1.0, []
    for i in range(N):
        if rng.random() < 0.03:
            v = 1.0 - v
        pts.append((ts(i), v))
    series.append(("up", {"job": "api", "instance": inst}, pts))

# Negative and special values.
pts = []
for i in range(N):
    if i % 97 == 50:
        val = float("nan")
    elif i % 131 == 70:
        val = float("inf")
    else:
        val = round(-100 + 5 * rng.random(), 2)
    pts.append((ts(i), val))
series.append(("special_values", {"kind": "mixed"}, pts))


def fmt(v):
    if v != v:
        return "NaN"
    if v == float("inf"):
        return "+Inf"
    return repr(v)


with open("data.om", "w") as f:
    for name, labels, pts in series:
        ls = labels_str(labels)
        for t, v in pts:
            tstr = f"{t:.3f}".rstrip("0").rstrip(".")
            f.write(f"{name}{{{ls}}} {fmt(v)} {tstr}\n")
    f.write("# EOF\n")
