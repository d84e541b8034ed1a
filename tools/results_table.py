#!/usr/bin/env python3
"""Markdown tables for bench/RESULTS.md from one device run.

Usage: results_table.py FULL_JSON ANCHOR_CSV
  FULL_JSON   q8conv-bench --json output (GPU rows, optionally CPU rows and the roofline)
  ANCHOR_CSV  ../shared/tools/anchor_torch.py output for the same shapes, from the same run
Prints the per-shape table (libq8conv variants against torch._int_mm, _int_mm + requantization,
cuDNN fp16), the MobileNetV2 weighted totals, and the network and dispatch floor measured in the
same run. A row's gpu_us is the bench's headline: the chained time per run (per_run_us beside it).
"""
import csv
import json
import sys


def main():
    bench = json.load(open(sys.argv[1]))
    anchor = {}
    with open(sys.argv[2]) as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            anchor[row["name"]] = row
    rows = bench["rows"]
    # The network's layers are the shapes of bench/shapes/mobilenet_v2_224.csv, with their counts.
    here = __file__.rsplit("/", 2)[0]
    with open(here + "/bench/shapes/mobilenet_v2_224.csv") as f:
        mobilenet = {line.split(",")[0] for line in f if line.strip() and not line.startswith("#")}
    shapes = []
    for r in rows:
        if r["shape"] not in shapes:
            shapes.append(r["shape"])

    def get(shape, variant):
        for r in rows:
            if r["shape"] == shape and r["variant"] == variant:
                return r
        return None

    roof = bench.get("roofline", {})
    print("| layer | N,H,W,IC,OC | dot us | dot per-run us | legacy us | fallback us | dot GOPS | dot GB/s | % dot ceiling "
          "| % copy ceiling | _int_mm us | _int_mm+rq us | cuDNN fp16 us | dot vs _int_mm+rq | exact |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    totals = {"dot": 0.0, "legacy": 0.0, "fallback": 0.0, "int_mm": 0.0, "int_mm_rq": 0.0, "fp16": 0.0}
    layers = 0
    for s in shapes:
        d = get(s, "tile_n4=1 dot")
        l = get(s, "tile_n4=2 legacy")
        fb = get(s, "tile_n4=1 fallback")
        a = anchor.get(s)
        if not d:
            continue
        shape = f"{d['n']},{d['h']},{d['w']},{d['ic']},{d['oc']}"
        mm = float(a["int_mm_us"]) if a else float("nan")
        rq = float(a["int_mm_rq_us"]) if a else float("nan")
        fp = float(a["fp16_conv_us"]) if a else float("nan")
        exact = all(r is None or r.get("exact") is not False for r in (d, l, fb))
        ratio = rq / d["gpu_us"]
        pct_dot = d.get("pct_dot")
        pct_copy = d.get("pct_copy")
        fmt = lambda v, f="%.1f": "-" if v is None else f % v
        print(f"| {s} | {shape} | {d['gpu_us']:.2f} | {fmt(d.get('per_run_us'), '%.2f')} | {fmt(l and l['gpu_us'], '%.2f')} | {fmt(fb and fb['gpu_us'], '%.2f')} "
              f"| {d['gops']:.0f} | {d['gbps']:.0f} | {fmt(pct_dot)} | {fmt(pct_copy)} | {mm:.2f} | {rq:.2f} | {fp:.2f} "
              f"| {ratio:.2f}x {'faster' if ratio > 1 else 'slower'} | {'yes' if exact else 'NO'} |")
        if s in mobilenet:
            c = d["count"]
            layers += c
            totals["dot"] += c * d["gpu_us"]
            totals["legacy"] += c * (l["gpu_us"] if l else 0)
            totals["fallback"] += c * (fb["gpu_us"] if fb else 0)
            totals["int_mm"] += c * mm
            totals["int_mm_rq"] += c * rq
            totals["fp16"] += c * fp
    print()
    print(f"MobileNetV2 224x224 batch 1, all {layers} pointwise layers (each distinct shape times its count):")
    print()
    print("| libq8conv dot | legacy (TILE_N4=2) | fallback | torch._int_mm | _int_mm + requant | cuDNN fp16 |")
    print("|---|---|---|---|---|---|")
    print(f"| {totals['dot']:.1f} us | {totals['legacy']:.1f} us | {totals['fallback']:.1f} us | {totals['int_mm']:.1f} us "
          f"| {totals['int_mm_rq']:.1f} us | {totals['fp16']:.1f} us |")
    network = bench.get("network")
    if network:
        print()
        print(f"Measured as one command buffer ({network['name']}, {network['layers']} layers, order: "
              f"{network['order']}, {network['passes']} passes per batch, median of {network['batches']} batches):")
        print()
        print("| variant | network us | sum of chained layers us | dispatch floor share | sets | exact |")
        print("|---|---|---|---|---|---|")
        for v in network["variants"]:
            fmt = lambda x, f: "-" if x is None else f % x
            print(f"| {v['variant']} | {v['network_us']:.1f} | {fmt(v['sum_chained_us'], '%.1f')} "
                  f"| {fmt(v['floor_share'] and 100 * v['floor_share'], '%.0f%%')} | {v['sets']} "
                  f"| {'yes' if v['exact'] else 'NO' if v['exact'] is False else '-'} |")
    floor = bench.get("floor")
    if floor and floor.get("us") is not None:
        print()
        print(f"Dispatch floor (same run): {floor['us']:.2f} us per empty dispatch + barrier, "
              f"{floor['nobarrier_us']:.2f} us without the barrier ({floor['chained']} chained, median of "
              f"{floor['batches']} batches).")
    if roof:
        print()
        print(f"Measured ceilings: {roof}")


if __name__ == "__main__":
    main()
