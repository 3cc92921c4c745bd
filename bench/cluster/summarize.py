#!/usr/bin/env python3
"""Medians of the fan-out and outage rounds in bench/cluster/results (run.sh writes them):
one table row per offered load, YouMeYou's cluster and Socket.IO's side by side, with every
round's figures and the ratio of the medians.

Usage: python3 bench/cluster/summarize.py [fanout|outage] [results file …]
(default: both tables, from results/fanout.json and results/outage.json)."""
import json
import os
import statistics
import sys

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


FILES = []


def rows(name):
    out = []
    for path in FILES or [os.path.join(HERE, name)]:
        if not os.path.exists(path):
            continue
        with open(path) as f:
            out += [json.loads(line) for line in f if line.startswith("{")]
    return out


def ms(us):
    return us / 1000.0


def fmt_ms(v):
    return f"{v:,.0f} ms" if v >= 100 else f"{v:.1f} ms"


def fanout():
    by = {}
    for r in rows("fanout.json"):
        by.setdefault((r["rate"], r["target"]), []).append(r)
    rates = sorted({k[0] for k in by}, key=lambda r: (r == 0, r))
    print("| offered (events/s) | YouMeYou ×3 delivered/s | p50 | p99 | Socket.IO ×3 delivered/s | p50 | p99 | delivered ratio | complete |")
    print("|---|---|---|---|---|---|---|---|---|")
    for rate in rates:
        cells = []
        med = {}
        complete = []
        for target in ("Rust", "Socketio"):
            rs = by.get((rate, target), [])
            if not rs:
                cells += ["—", "—", "—"]
                continue
            d = statistics.median(r["delivered_per_sec"] for r in rs)
            p50 = statistics.median(ms(r["latency_p50_us"]) for r in rs)
            p99 = statistics.median(ms(r["latency_p99_us"]) for r in rs)
            med[target] = d
            rounds = ", ".join(f"{r['delivered_per_sec']:,.0f}" for r in rs)
            p99s = ", ".join(fmt_ms(ms(r["latency_p99_us"])) for r in rs)
            cells += [f"{d:,.0f} ({rounds})", fmt_ms(p50), f"{fmt_ms(p99)} ({p99s})"]
            ok = all(r["delivered"] == r["expected"] and r["gaps"] == 0 and r["duplicates"] == 0 for r in rs)
            complete.append(f"{target}: {'yes' if ok else 'NO'}")
        ratio = f"{med['Rust'] / med['Socketio']:.2f}×" if len(med) == 2 else "—"
        label = "flat out" if rate == 0 else f"{rate:,} ({rate * 20:,} deliveries/s)"
        print(f"| {label} | " + " | ".join(cells) + f" | {ratio} | {'; '.join(complete)} |")


def outage():
    by = {}
    for r in rows("outage.json"):
        by.setdefault(r["label"], []).append(r)
    if not by:
        return
    print()
    print("| Redis | rounds | delivered/s | p50 (all / relayed) | p99 (all / relayed) | max | gaps, duplicates, missing |")
    print("|---|---|---|---|---|---|---|")
    for label, rs in by.items():
        d = statistics.median(r["delivered_per_sec"] for r in rs)
        p50 = statistics.median(ms(r["latency_p50_us"]) for r in rs)
        p50r = statistics.median(ms(r["relayed_p50_us"]) for r in rs)
        p99 = statistics.median(ms(r["latency_p99_us"]) for r in rs)
        p99r = statistics.median(ms(r["relayed_p99_us"]) for r in rs)
        mx = max(ms(r["latency_max_us"]) for r in rs)
        bad = sum(r["gaps"] for r in rs), sum(r["duplicates"] for r in rs), sum(r["expected"] - r["delivered"] for r in rs)
        print(f"| {label} | {len(rs)} | {d:,.0f} | {fmt_ms(p50)} / {fmt_ms(p50r)} | {fmt_ms(p99)} / {fmt_ms(p99r)} | {fmt_ms(mx)} | {bad[0]}, {bad[1]}, {bad[2]} |")


if __name__ == "__main__":
    which = [a for a in sys.argv[1:] if a in ("fanout", "outage")] or ["fanout", "outage"]
    FILES += [a for a in sys.argv[1:] if a not in ("fanout", "outage")]
    if "fanout" in which:
        fanout()
    if "outage" in which:
        outage()
