#!/usr/bin/env python3
"""Generates scenarios/traces/dc10k-week.csv: a week of cluster requests for scenarios/dc-10k.yaml.

Deterministic (its own xorshift64* generator and arithmetic, no library randomness), so the same
seed writes the same file everywhere. What it models:
- diurnal arrivals: a rate that peaks in the afternoon and dips at night, growing through the week
  (demand rises, so forecasts have a trend to find);
- heavy-tailed sizes: most requests are 1-2 nodes, fewer 4-8 (one leaf), some 16-64 (one pod, spread
  over power), and a handful of 96-128-node jobs;
- durations that grow with size (notebooks for an hour or two, big training runs for days);
- some requests ask for GPUs of any kind ("gpus=16"), CPU tenants ask for the cpu class.

Usage: scripts/gen-trace.py [--seed N] [--days D] [--out FILE]
"""
import argparse
import math

MASK = (1 << 64) - 1


class Rng:
    def __init__(self, seed):
        self.state = (seed * 0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D) & MASK or 1

    def next(self):
        x = self.state
        x ^= (x >> 12)
        x ^= (x << 25) & MASK
        x ^= (x >> 27)
        self.state = x
        return (x * 0x2545F4914F6CDD1D) & MASK

    def unit(self):  # [0, 1)
        return (self.next() >> 11) / float(1 << 53)

    def pick(self, weighted):
        total = sum(w for _, w in weighted)
        u = self.unit() * total
        for item, w in weighted:
            u -= w
            if u < 0:
                return item
        return weighted[-1][0]


def rate(t_hours, days):
    """Arrivals per hour at time t: diurnal, peaking at 15:00, growing 60% over the period."""
    hour = t_hours % 24
    diurnal = 1.0 + 0.7 * math.cos(2 * math.pi * (hour - 15) / 24)
    growth = 1.0 + 0.6 * t_hours / (24 * days)
    return 14.0 * diurnal * growth


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--out", default="scenarios/traces/dc10k-week.csv")
    args = ap.parse_args()
    rng = Rng(args.seed)
    horizon = 24.0 * args.days
    peak = 14.0 * 1.7 * 1.6
    t = 0.0
    rows = []
    gpu_tenants = [("research-lab", 3), ("gpu-tenant-1", 2), ("gpu-tenant-2", 2),
                   ("gpu-tenant-3", 2), ("gpu-tenant-4", 2)]
    # (size class, weight): heavy tail.
    sizes = [("tiny", 46), ("small", 22), ("leaf", 18), ("pod", 9), ("gpus", 4), ("huge", 1)]
    while True:
        # Thinning: candidate arrivals at the peak rate, kept with probability rate/peak.
        t += -math.log(1.0 - rng.unit()) / peak
        if t >= horizon:
            break
        if rng.unit() >= rate(t, args.days) / peak:
            continue
        n = len(rows) + 1
        kind = rng.pick(sizes)
        cpu = rng.unit() < 0.08 and kind in ("tiny", "small", "leaf")
        tenant = (rng.pick([("cpu-tenant-1", 1), ("cpu-tenant-2", 1)]) if cpu
                  else rng.pick(gpu_tenants))
        cls = "cpu" if cpu else rng.pick([("h100x8", 5), ("a100x8", 3), ("l40sx4", 2)])
        nodes, gpus, locality, spread, select = "", "", "", "", ""
        if kind == "tiny":
            nodes = "1"
            duration = 0.5 + 3.5 * rng.unit() ** 2
        elif kind == "small":
            nodes = str(rng.pick([(2, 3), (3, 1), (4, 1)]))
            duration = 1 + 11 * rng.unit() ** 2
            locality = "rack:preferred"
        elif kind == "leaf":
            nodes = str(rng.pick([(4, 2), (6, 1), (8, 3)]))
            duration = 4 + 28 * rng.unit() ** 2
            locality = "leaf:required"
            if not cpu and rng.unit() < 0.3:
                spread = "powerDomain:0.5"
        elif kind == "pod":
            nodes = str(rng.pick([(16, 4), (24, 2), (32, 2), (64, 1)]))
            duration = 12 + 60 * rng.unit() ** 2
            locality = "pod:required"
            spread = "powerDomain:0.5"
            cls = rng.pick([("h100x8", 3), ("a100x8", 2)])
        elif kind == "gpus":
            gpus = str(rng.pick([(16, 3), (32, 2), (64, 1)]))
            duration = 2 + 10 * rng.unit()
            cls = ""
            locality = "pod:preferred"
        else:  # huge
            nodes = str(rng.pick([(96, 1), (128, 1)]))
            duration = 24 + 72 * rng.unit()
            locality = "pod:required"
            spread = "powerDomain:0.5"
            cls = "h100x8"
            tenant = "research-lab"
        if cls == "cpu":
            select = "memoryGiB>=1024"
        name = "%s-%05d" % (kind, n)
        rows.append("%.3f,%s,%s,%s,%s,%.2f,%s,%s,%s,%s," %
                    (t, name, tenant, nodes, gpus, duration, cls, select, locality, spread))
    with open(args.out, "w") as f:
        f.write("# dc10k-week.csv: %d requests over %d days for scenarios/dc-10k.yaml, written by\n"
                % (len(rows), args.days))
        f.write("# scripts/gen-trace.py --seed %d (diurnal arrivals growing through the week,\n"
                % args.seed)
        f.write("# heavy-tailed sizes, a few 96-128-node jobs). Times and durations in hours.\n")
        f.write("time,name,tenant,nodes,gpus,duration,class,select,locality,spread,compliance\n")
        for r in rows:
            f.write(r + "\n")
    print("wrote %s: %d requests" % (args.out, len(rows)))


if __name__ == "__main__":
    main()
