#!/usr/bin/env python3
"""Asks a running Prometheus every query of queries.txt at the instants and
over the range below, and writes the answers as JSON (one query per line)."""
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

T0 = 1700000000
INSTANTS = [T0 + 1234.567, T0 + 3900, T0 + 7300]
RANGE = {"start": T0 + 317, "end": T0 + 7517, "step": 421}


def get(base, path, params):
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        body = json.load(e)
    if body.get("status") == "success":
        return {"status": "success", "data": body["data"]}
    return {"status": "error", "errorType": body.get("errorType"), "error": body.get("error")}


def main():
    base, queries_path, out = sys.argv[1:4]
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as r:
                if r.status == 200:
                    break
        except Exception:
            pass
        time.sleep(0.1)
    else:
        sys.exit("prometheus did not become ready")
    queries = [q.strip() for q in open(queries_path) if q.strip() and not q.startswith("#")]
    lines = []
    for q in queries:
        inst = [get(base, "/api/v1/query", {"query": q, "time": t}) for t in INSTANTS]
        rng = get(base, "/api/v1/query_range", dict(RANGE, query=q))
        lines.append(json.dumps({"query": q, "instant": inst, "range": rng}, sort_keys=True))
    with open(out, "w") as f:
        f.write('{"instants": %s, "range": %s, "queries": [\n' % (json.dumps(INSTANTS), json.dumps(RANGE, sort_keys=True)))
        f.write(",\n".join(lines))
        f.write("\n]}\n")
    print(f"recorded {len(queries)} queries into {out}")


main()
