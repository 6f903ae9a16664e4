#!/usr/bin/env python3
"""PromQL benchmark: this server against real Prometheus on the same data.

1,000 counter series `http_requests_total{job,instance}` (10 jobs x 100
instances) and 200 histogram bucket series
`http_request_duration_seconds_bucket{job,instance,le}` (10 jobs x 2
instances x 10 bounds), 24 h at 15 s (6.9 M samples). Prometheus reads them
from blocks made by `promtool tsdb create-blocks-from openmetrics`; the
server gets them through `/api/v1/import/prometheus` (float64). Each query is
a range query over the day at a 1 m step, run once to warm up and then
REPEAT times alternately against both; the median wall time (HTTP included)
and each process's RSS (VmRSS and peak VmHWM) after the runs are printed.

Usage: bench.py WORKDIR NANOTDB_URL NANOTDB_PID PROM_URL PROM_PID  (run.sh
starts both servers), bench.py --gen WORKDIR NANOTDB_URL (data only), or
bench.py --once NANOTDB_URL NANOTDB_PID (each query once, then the RSS).
"""
import json
import os
import random
import statistics
import sys
import time
import urllib.parse
import urllib.request

T0 = 1700000000
STEP = 15
N = 24 * 3600 // STEP
JOBS = [f"job{j}" for j in range(10)]
BOUNDS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]
QUERIES = [
    "sum by (job) (rate(http_requests_total[5m]))",
    "histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket[5m])))",
]
REPEAT = 5


def series():
    rng = random.Random(6)
    for job in JOBS:
        for i in range(100):
            yield f'http_requests_total{{instance="inst{i}",job="{job}"}}', "counter", rng.randint(1, 20)
    for job in JOBS:
        for i in range(2):
            for le in BOUNDS:
                yield (f'http_request_duration_seconds_bucket{{instance="inst{i}",job="{job}",le="{le}"}}',
                       "bucket", BOUNDS.index(le) + 1)


def post(url, body):
    req = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(req, timeout=600) as r:
        r.read()


def generate(work, nanotdb_url):
    """Writes work/data.om and imports the same samples into the server."""
    om = open(f"{work}/data.om", "w")
    chunk, size = [], 0
    for name, kind, k in series():
        v = 0.0
        for i in range(N):
            v += k * ((i * 7919) % 5)
            t = T0 + i * STEP
            om.write(f"{name} {v:.1f} {t}\n")
            chunk.append(f"{name} {v:.1f} {t * 1000}\n")
            size += len(chunk[-1])
        if size > 8 << 20:
            post(f"{nanotdb_url}/api/v1/import/prometheus?db=bench", "".join(chunk).encode())
            chunk, size = [], 0
    if chunk:
        post(f"{nanotdb_url}/api/v1/import/prometheus?db=bench", "".join(chunk).encode())
    om.write("# EOF\n")
    om.close()


def rss(pid):
    out = {}
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(("VmRSS", "VmHWM")):
            k, v = line.split(":")
            out[k] = int(v.split()[0]) // 1024
    return out


def run(url, q):
    params = urllib.parse.urlencode({"query": q, "start": T0, "end": T0 + 86400, "step": 60})
    t = time.perf_counter()
    with urllib.request.urlopen(f"{url}/api/v1/query_range?{params}", timeout=600) as r:
        body = json.load(r)
    dt = time.perf_counter() - t
    assert body["status"] == "success", body
    return dt, body["data"]["result"]


def compare(a, b):
    key = lambda s: json.dumps({k: v for k, v in s["metric"].items() if k != "db"}, sort_keys=True)
    a, b = {key(s): s["values"] for s in a}, {key(s): s["values"] for s in b}
    assert a.keys() == b.keys(), (sorted(a)[:3], sorted(b)[:3])
    worst = 0.0
    for k in a:
        assert len(a[k]) == len(b[k]), k
        for (ta, va), (tb, vb) in zip(a[k], b[k]):
            assert ta == tb
            x, y = float(va), float(vb)
            if x != y:
                worst = max(worst, abs(x - y) / max(abs(x), abs(y)))
    return worst


def main():
    if sys.argv[1] == "--gen":
        generate(sys.argv[2], sys.argv[3])
        return
    if sys.argv[1] == "--once":
        for q in QUERIES:
            run(sys.argv[2], q)
        print(f"RSS MiB of the server that ingested the day, after one run of each query: "
              f"nanotdb {rss(sys.argv[3])}")
        return
    print("load average before: %.2f %.2f %.2f" % os.getloadavg())
    _, work, nurl, npid, purl, ppid = sys.argv
    for q in QUERIES:
        n_res, p_res = run(nurl, q)[1], run(purl, q)[1]
        worst = compare(n_res, p_res)
        nt, pt = [], []
        for _ in range(REPEAT):
            nt.append(run(nurl, q)[0])
            pt.append(run(purl, q)[0])
        n, p = statistics.median(nt), statistics.median(pt)
        print(f"{q}\n  nanotdb {n * 1000:.1f} ms, prometheus {p * 1000:.1f} ms, ratio {n / p:.2f}; "
              f"{len(n_res)} series; worst relative difference {worst:.1e}")
    print(f"RSS MiB after the runs (nanotdb restarted after the import): "
          f"nanotdb {rss(npid)}, prometheus {rss(ppid)}")
    print("load average after: %.2f %.2f %.2f" % os.getloadavg())


main()
