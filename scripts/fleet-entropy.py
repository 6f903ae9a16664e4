#!/usr/bin/env python3
"""Lower bound of the value cost of the `fleet` workload (issue 17).

Each fleet series is a small Markov process (gen_workload.py, class
Series). Given the process' hidden state, the next stored value has a known
distribution; the mean of -log2 P(value | state) over a long simulated run
is the conditional entropy H(X_t | S_t-1), which no coder of the stored
values can beat on average (H(X_t | X_<t) >= H(X_t | X_<t, S_t-1) =
H(X_t | S_t-1)). The probabilities are exact interval masses of the
rounding of each value (CDF differences), not density approximations.

Prints the bound per kind and for the whole workload (its 20 kinds are
equally many series) in bytes per sample, next to 0.75 x a VictoriaMetrics
figure given on the command line (default: 1.149 B/sample, measured on
`fleet --hours 1`). Timestamps (one shared 1 s grid) cost ~0 and are left
out, so the bound is for values only.

    scripts/fleet-entropy.py [VM_BYTES_PER_SAMPLE] [STEPS]
"""
import math
import random
import sys

VM = float(sys.argv[1]) if len(sys.argv) > 1 else 1.149
STEPS = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
rng = random.Random(7)


def phi(z):
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def bits(p):
    return -math.log2(max(p, 1e-300))


def normal_mass(lo, hi, mu, sd):
    return phi((hi - mu) / sd) - phi((lo - mu) / sd)


def pct(mean, n):
    v, total = float(mean), 0.0
    for _ in range(n):
        a = 0.8 * v + 0.2 * mean
        burst = 40.0 if rng.random() < 0.01 else 0.0
        v = max(0.0, min(100.0, a + rng.gauss(0, 2) + burst))
        x = round(v, 2)
        p = 0.0
        for b, pb in ((0.0, 0.99), (40.0, 0.01)):
            lo, hi = x - 0.005, x + 0.005
            # Clamping puts the tails' mass on 0 and 100.
            lo = -math.inf if x <= 0.0 else lo
            hi = math.inf if x >= 100.0 else hi
            p += pb * normal_mass(lo, hi, a + b, 2.0)
        total += bits(p)
    return total / n


def load(mean, n):
    v, total = float(mean), 0.0
    for _ in range(n):
        base = v * 0.95
        v = max(0.0, base + rng.expovariate(1 / mean) * 0.05)
        x = round(v, 2)
        # v - base = 0.05 E, E ~ Exp(mean): P(lo <= 0.05 E < hi).
        cdf = lambda d: 0.0 if d <= 0 else 1 - math.exp(-d / 0.05 / mean)
        total += bits(cdf(x + 0.005 - base) - cdf(x - 0.005 - base))
    return total / n


def gauge_int(n):
    # Steps in units of `step`, clamps never reached within an hour.
    small = {-1: 0.2, 0: 0.6, 1: 0.2}
    total = 0.0
    for _ in range(n):
        k = rng.choice((-1, 0, 0, 0, 1))
        if rng.random() < 0.002:
            k += rng.randint(-50, 50)
        p = 0.998 * small.get(k, 0.0)
        p += 0.002 * sum(pj / 101 for j, pj in small.items() if -50 <= k - j <= 50)
        total += bits(p)
    return total / n


def counter(rate, n):
    q = math.exp(-1 / rate)
    total = 0.0
    for _ in range(n):
        k = max(0, int(rng.expovariate(1 / rate)))
        total += bits(q ** k * (1 - q))
    return total / n


def latency(median, n):
    mu, total = math.log(median), 0.0
    for _ in range(n):
        x = rng.lognormvariate(mu, 0.3)
        if rng.random() < 0.005:
            x *= 20
        x = round(x, 3)
        lo, hi = max(x - 0.0005, 1e-12), x + 0.0005
        p = 0.995 * normal_mass(math.log(lo), math.log(hi), mu, 0.3)
        p += 0.005 * normal_mass(math.log(lo / 20), math.log(hi / 20), mu, 0.3)
        total += bits(p)
    return total / n


def temp(base, swing, n):
    v, total = float(base), 0.0
    for i in range(n):
        b = base + swing * math.sin(2 * math.pi * (i % 86400) / 86400)
        mu = v + (b - v) * 0.02
        v = mu + rng.gauss(0, 0.03)
        x = round(v * 16) / 16
        total += bits(normal_mass(x - 1 / 32, x + 1 / 32, mu, 0.03))
    return total / n


kinds = [
    ("cpu.user", pct(20, STEPS)), ("cpu.system", pct(6, STEPS)), ("cpu.iowait", pct(2, STEPS)),
    ("load.1m", load(1.5, STEPS)), ("mem.used_kb", gauge_int(STEPS)), ("mem.cached_kb", gauge_int(STEPS)),
    ("disk.read_kb", counter(400, STEPS)), ("disk.write_kb", counter(900, STEPS)),
    ("net.rx_kb", counter(1200, STEPS)), ("net.tx_kb", counter(800, STEPS)),
    ("http.requests", counter(150, STEPS)), ("http.errors", counter(0.3, STEPS)),
    ("http.latency_p50_ms", latency(12, STEPS)), ("http.latency_p99_ms", latency(90, STEPS)),
    ("gc.pause_ms", latency(1.5, STEPS)), ("threads", gauge_int(STEPS)), ("fds", gauge_int(STEPS)),
    ("temp.cpu", temp(55, 6, STEPS)), ("temp.inlet", temp(24, 2, STEPS)), ("uptime_s", 0.0),
]
for name, b in kinds:
    print(f"{name:22s} {b:6.2f} bits  {b / 8:.3f} B/sample")
bound = sum(b for _, b in kinds) / len(kinds) / 8
print(f"values, lower bound: {bound:.3f} B/sample")
print(f"0.75 x VictoriaMetrics ({VM} B/sample): {0.75 * VM:.3f} B/sample")
print("target reachable" if bound < 0.75 * VM else "target below the bound: impossible for exact values")
