#!/usr/bin/python3
"""Where bnfold and ONNX Runtime spend a model's time, layer by layer.

    /usr/bin/python3 bench/profile_compare.py MODEL [--batch N] [--threads T]
        [--iters K] [--bnfold PATH] [--json PATH]

MODEL is a seed model's name (models/MODEL.onnx). Runs `bnfold bench
--profile` and scripts/ort/run.js --profile (ORT's own profiler) on the same
seeded input as bench/side_by_side.py, one process after the other, and
prints each runtime's time per operator, then the two runs layer by layer.

Layers are matched by the output they write: each bnfold step (its nodes,
fused followers included) is paired with the ORT nodes run since the last
match up to the first whose output has the step's batch and spatial dims
and its channels (ORT's NCHWc layouts pad channels to a multiple of 8 or
16), taking at least one ORT node per Conv in the step, so a bnfold step
that fuses a 1x1 Conv with its depthwise Conv meets both of ORT's. Reorders and what ORT runs unmatched are listed
as such. Times are medians over the timed runs of each process; ORT's run
time includes its profiler, so compare layers, not totals.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)

import side_by_side  # noqa: E402  (inputs, paths, setup)


def run_json(cmd):
    """The JSON line `cmd` prints last (side_by_side.run_child); exits on failure."""
    try:
        return side_by_side.run_child(cmd)[0]
    except RuntimeError as e:
        sys.exit(f"profile_compare: {e}")


def same_output(bnfold_shape, ort_shape):
    """ORT pads channels in its NCHWc layouts; everything else must agree."""
    if len(bnfold_shape) != len(ort_shape) or not bnfold_shape:
        return False
    if len(bnfold_shape) < 3:
        return list(bnfold_shape) == list(ort_shape)
    if bnfold_shape[0] != ort_shape[0] or list(bnfold_shape[2:]) != list(ort_shape[2:]):
        return False
    return 0 <= ort_shape[1] - bnfold_shape[1] < 16


def match_layers(bnfold_steps, ort_steps, lookahead=4):
    """[(bnfold step or None, [ORT steps])] in run order."""
    rows, next_ort = [], 0
    for step in bnfold_steps:
        if step["label"].startswith("Reorder("):
            rows.append((step, []))
            continue
        # ORT runs each Conv a bnfold step holds as a node of its own (an
        # activation or Add it fuses too), so a step with two Convs takes two.
        convs = step["label"].count("Conv '")
        first = next_ort + max(1, convs) - 1
        found = None
        for j in range(first, min(len(ort_steps), first + lookahead)):
            if same_output(step["output_shape"], ort_steps[j]["output_shape"]):
                found = j
                break
        if found is None:
            rows.append((step, []))
            continue
        rows.append((step, ort_steps[next_ort:found + 1]))
        next_ort = found + 1
    rest = ort_steps[next_ort:]
    if rest:
        rows.append((None, rest))
    return rows


def by_op(steps, key):
    totals = {}
    for s in steps:
        totals[key(s)] = totals.get(key(s), 0.0) + s["median_ms"]
    return sorted(totals.items(), key=lambda kv: -kv[1])


def shape_text(shape):
    return "x".join(str(d) for d in shape) or "scalar"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="seed model name, e.g. mobilenetv2")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--bnfold", default=os.path.join(side_by_side.ROOT, "build", "bnfold"))
    parser.add_argument("--json", metavar="PATH", help="write both profiles and the matching")
    args = parser.parse_args()
    if args.batch < 1 or args.threads < 1 or args.iters < 1 or args.warmup < 0:
        parser.error("--batch, --threads and --iters must be at least 1, --warmup at least 0")

    side_by_side.ensure_setup([args.model], args.bnfold)
    facts = side_by_side.model_facts(args.model)
    feed = f"{facts['input']}={side_by_side.input_file(args.model, facts, args.batch)}"
    model = side_by_side.model_path(args.model)
    common = ["--threads", str(args.threads), "--iters", str(args.iters),
              "--warmup", str(args.warmup), "--input", feed]
    ours = run_json([args.bnfold, "bench", model, "--batch", str(args.batch), "--profile",
                     "--json", *common])
    theirs = run_json(["node", side_by_side.RUN_JS, model, "--profile", *common])
    ours_steps, theirs_steps = ours["profile"]["steps"], theirs["profile"]["steps"]

    print(f"{args.model} batch {args.batch}, {args.threads} thread(s), {args.iters} timed runs")
    print(f"  bnfold: run median {ours['median_ms']:.4g} ms, steps sum "
          f"{sum(s['median_ms'] for s in ours_steps):.4g} ms ({len(ours_steps)} steps)")
    print(f"  ORT:    run median {theirs['median_ms']:.4g} ms with its profiler, nodes sum "
          f"{sum(s['median_ms'] for s in theirs_steps):.4g} ms ({len(theirs_steps)} nodes)")
    print("\nper operator (ms): bnfold by the op a step is anchored on | ORT by node op type")
    left = by_op(ours_steps, lambda s: s["label"].split(" ", 1)[0].split("(", 1)[0])
    right = by_op(theirs_steps, lambda s: s["op"])
    for i in range(max(len(left), len(right))):
        a = f"{left[i][0]:<20} {left[i][1]:8.4f}" if i < len(left) else " " * 29
        b = f"{right[i][0]:<20} {right[i][1]:8.4f}" if i < len(right) else ""
        print(f"  {a} | {b}")

    print("\nlayer by layer: bnfold ms, ORT ms, ratio, output, bnfold step [ORT nodes]")
    rows = match_layers(ours_steps, theirs_steps)
    for step, matched in rows:
        ort_ms = sum(s["median_ms"] for s in matched)
        if step is None:
            print(f"  {'':>8} {ort_ms:8.4f} {'':>6}  ORT only: "
                  + ", ".join(s["label"] for s in matched))
            continue
        ratio = f"{step['median_ms'] / ort_ms:6.2f}" if ort_ms > 0 else " " * 6
        ort_text = f"  [{len(matched)} ORT node(s)]" if matched else "  [no ORT node]"
        print(f"  {step['median_ms']:8.4f} {ort_ms:8.4f} {ratio}  "
              f"{shape_text(step['output_shape'])} {step['label'][:110]}{ort_text}")

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"bnfold": ours, "ort": theirs, "layers": [
                {"bnfold": step, "ort": matched} for step, matched in rows]}, f, indent=1)


if __name__ == "__main__":
    main()
