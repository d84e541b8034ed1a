#!/usr/bin/env python3
"""Markdown tables for bench/RESULTS.md from one device run.

Usage: results_table.py FULL_JSON ANCHOR_CSV
  FULL_JSON   q8conv-bench --json output (GPU rows, optionally CPU rows, the roofline, the floor, the network)
  ANCHOR_CSV  ../shared/tools/anchor_torch.py output for the same shapes, from the same run
Prints the per-shape table of chained GPU times (AUTO, the cooperative-matrix kernel and the
block kernels, against torch._int_mm, _int_mm + requantization and cuDNN fp16), the per-run
figures beside them, each shape's own floor (a copy of its bytes) and AUTO against it, the
MobileNetV2 weighted totals, the network measured as one command buffer (and over the sum of its
layers' floors), the stage ablations and forced tiles of a tuning build, the dispatch floors,
the ceilings, and the host wall times.
"""
import csv
import json
import math
import sys

VARIANTS = ["auto", "coopmat", "tile_n4=1 dot", "tile_n4=1 dot_mixed", "tile_n4=2 legacy", "tile_n4=1 fallback"]


def fmt(v, f="%.2f"):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f % v


def main():
    bench = json.load(open(sys.argv[1]))
    anchor = {}
    with open(sys.argv[2]) as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            anchor[row["name"]] = row
    rows = bench["rows"]
    here = __file__.rsplit("/", 2)[0]
    with open(here + "/bench/shapes/mobilenet_v2_224.csv") as f:
        mobilenet = {line.split(",")[0] for line in f if line.strip() and not line.startswith("#")}
    shapes = []
    for r in rows:
        if r["shape"] not in shapes:
            shapes.append(r["shape"])
    by = {(r["shape"], r["variant"]): r for r in rows if not r.get("cpu")}
    ablations = [r for r in rows if r.get("ablate")]
    tiles = [r for r in rows if r.get("tile_forced")]
    roof = bench.get("roofline", {})
    cm_tops = roof.get("coopmat_tops")

    print("Chained GPU time per run, us (median of batches of runs recorded back to back with the barrier "
          "between dependent layers); per-run figures beside; peers from the same call.")
    print()
    print("| layer | N,H,W,IC,OC | auto | coopmat | dot | dot_mixed | legacy | fallback | auto per-run | auto TOPS | "
          "auto % matrix ceiling | auto % copy | layer floor | auto / floor | auto - floor | _int_mm | _int_mm+rq | "
          "cuDNN fp16 | auto vs _int_mm | exact |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    totals = {v: 0.0 for v in VARIANTS}
    totals.update({"int_mm": 0.0, "int_mm_rq": 0.0, "fp16": 0.0})
    layers = 0
    for s in shapes:
        rs = {v: by.get((s, v)) for v in VARIANTS}
        a = rs["auto"] or rs["tile_n4=1 dot"]
        if not a:
            continue
        p = anchor.get(s)
        mm = float(p["int_mm_us"]) if p else float("nan")
        rq = float(p["int_mm_rq_us"]) if p else float("nan")
        fp = float(p["fp16_conv_us"]) if p else float("nan")
        exact = all(r is None or r.get("exact") is not False for r in rs.values())
        t = {v: (rs[v]["chained_us"] if rs[v] else None) for v in VARIANTS}
        auto = t["auto"]
        pct_cm = 100.0 * a["gops"] * 1e-3 / cm_tops if cm_tops else None
        ratio = mm / auto if auto else float("nan")
        shape = f"{a['n']},{a['h']},{a['w']},{a['ic']},{a['oc']}"
        print(f"| {s} | {shape} | {fmt(t['auto'])} | {fmt(t['coopmat'])} | {fmt(t['tile_n4=1 dot'])} "
              f"| {fmt(t['tile_n4=1 dot_mixed'])} "
              f"| {fmt(t['tile_n4=2 legacy'])} | {fmt(t['tile_n4=1 fallback'])} | {fmt(a.get('per_run_us'))} "
              f"| {a['gops'] * 1e-3:.1f} | {fmt(pct_cm, '%.1f')} | {fmt(a.get('pct_copy'), '%.1f')} "
              f"| {fmt(a.get('floor_layer_us'))} | {fmt(a.get('layer_floor_ratio'), '%.2fx')} "
              f"| {fmt(a.get('over_layer_floor_us'))} | {mm:.2f} | {rq:.2f} "
              f"| {fp:.2f} | {ratio:.2f}x {'faster' if ratio > 1 else 'slower'} | {'yes' if exact else 'NO'} |")
        if s in mobilenet:
            c = a["count"]
            layers += c
            for v in VARIANTS:
                totals[v] += c * (t[v] or float("nan"))
            totals["int_mm"] += c * mm
            totals["int_mm_rq"] += c * rq
            totals["fp16"] += c * fp
    print()
    print(f"MobileNetV2 224x224 batch 1, all {layers} pointwise layers (each distinct shape's chained time times its count):")
    print()
    print("| auto | coopmat | dot | dot_mixed | legacy | fallback | torch._int_mm | _int_mm + requant | cuDNN fp16 |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("| " + " | ".join(f"{totals[v]:.1f} us" for v in VARIANTS + ["int_mm", "int_mm_rq", "fp16"]) + " |")
    network = bench.get("network")
    if network:
        print()
        print(f"Measured as one command buffer ({network['name']}, {network['layers']} layers, order: "
              f"{network['order']}, {network['passes']} passes per batch, median of {network['batches']} batches):")
        print()
        print(f"Sum of the layers' own floors (each layer's copy of its bytes x its count, same run): "
              f"{fmt(network.get('floor_layers_sum_us'), '%.1f')} us.")
        print()
        print("| variant | network us | sum of chained layers us | network / sum of layer floors | dispatch floor share "
              "| sets | exact |")
        print("|---|---|---|---|---|---|---|")
        for v in network["variants"]:
            print(f"| {v['variant']} | {v['network_us']:.1f} | {fmt(v['sum_chained_us'], '%.1f')} "
                  f"| {fmt(v.get('over_layer_floors'), '%.2fx')} "
                  f"| {fmt(v['floor_share'] and 100 * v['floor_share'], '%.0f%%')} | {v['sets']} "
                  f"| {'yes' if v['exact'] else 'NO' if v['exact'] is False else '-'} |")
    if ablations:
        print()
        print("Stage ablations (tuning build; chained us, same run; outputs not checked):")
        print()
        print("| layer | variant | left out | ablated us | real us | saved us | layer floor us |")
        print("|---|---|---|---|---|---|---|")
        for r in ablations:
            print(f"| {r['shape']} | {r['variant']} | {r['ablate_left_out']} | {r['chained_us']:.2f} "
                  f"| {fmt(r.get('real_chained_us'))} | {fmt(r.get('ablate_saved_us'))} | {fmt(r.get('floor_layer_us'))} |")
    if tiles:
        print()
        print("Forced cooperative-matrix tiles (tuning build; chained us, same run, each checked):")
        print()
        print("| layer | N,H,W,IC,OC | tile | chained us | TOPS | exact |")
        print("|---|---|---|---|---|---|")
        for r in tiles:
            print(f"| {r['shape']} | {r['n']},{r['h']},{r['w']},{r['ic']},{r['oc']} | {r['variant']} "
                  f"| {r['chained_us']:.2f} | {r['gops'] * 1e-3:.1f} "
                  f"| {'yes' if r['exact'] else 'NO' if r['exact'] is False else '-'} |")
    floor = bench.get("floor")
    if floor and floor.get("us") is not None:
        print()
        print(f"Dispatch floor (same run): {floor['us']:.2f} us per empty dispatch + barrier, "
              f"{floor['nobarrier_us']:.2f} us without the barrier; a {floor.get('copy_bytes', 0) // 1024} KiB copy "
              f"+ barrier {fmt(floor.get('copy_us'))} us ({floor['chained']} chained, median of {floor['batches']} batches).")
    if roof:
        print()
        print(f"Measured ceilings (same run): packed int8 dot {fmt(roof.get('dot_tops'), '%.1f')} TOPS, int8 "
              f"cooperative matrices {fmt(roof.get('coopmat_tops'), '%.0f')} TOPS, copy {fmt(roof.get('copy_gbps'), '%.0f')} "
              f"GB/s (shader; vkCmdCopyBuffer {fmt(roof.get('copy_cmd_gbps'), '%.0f')}).")
    host = [r for r in rows if not r.get("cpu") and r.get("host_run_us") is not None and r["shape"] in mobilenet
            and r["variant"] == "auto"]
    if host:
        print()
        print("Host wall time of q8conv_pw_run repeated on the same op and tensors (AUTO), us:")
        print()
        print("| layer | GPU chained | blocking wait | polling wait |")
        print("|---|---|---|---|")
        for r in host:
            print(f"| {r['shape']} | {r['chained_us']:.2f} | {fmt(r['host_run_us'], '%.1f')} | {fmt(r['host_run_poll_us'], '%.1f')} |")
    if bench.get("network_layers"):
        print()
        print(f"The network as one q8conv_sequence ({bench['network_layers']} layers, {bench['network_kernel']}): "
              f"{fmt(bench.get('network_host_us'), '%.1f')} us blocking, {fmt(bench.get('network_host_poll_us'), '%.1f')} us "
              f"polling, host wall time per q8conv_sequence_run; last layer exact: {bench.get('network_host_exact')}.")


if __name__ == "__main__":
    main()
