#!/usr/bin/python3
"""Compile cost against graph size (issue 15): bnfold and ONNX Runtime on the
same chains and DAGs of N cheap ops on a float[1,8] tensor.

  bench/scale_table.py [--sizes 1000,10000,100000,200000] [--kinds relu,add,wide]
                       [--repeat R] [--bnfold build/bnfold] [--no-ort]

Each row is one process that loads, compiles and runs the model once, timed
from outside (wall seconds and CPU seconds, user + sys: the medians of R
runs): `bnfold run` and
scripts/ort/run.js (Node's start-up included, as a user would see it; its own
load_ms + first_run_ms is printed too). Both use one thread, so the shared
machine's other work disturbs them less. The graphs come from
scripts/gen_chain.py (relu: a Relu chain, add: x + c_i chain with N constants,
wide: N/2 Relu branches off x summed by a tree of Add). The per-node column is
bnfold's CPU seconds / N in microseconds: flat when the cost is linear. On a
loaded machine compare the CPU columns; wall times are only meaningful on a
quiet one.

The machine's load (`uptime`) is printed with the table: on a busy machine the
times are inflated, so re-run on a quiet one before quoting them.
Needs ONNX Runtime (BNFOLD_ORT_DIR or .cache/ort, scripts/ort/install.sh).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd):
    """(wall s, CPU s = user + sys of the child, stdout) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"scale_table: {' '.join(cmd)} failed:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, done.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,200000")
    parser.add_argument("--kinds", default="relu,add,wide")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--bnfold", default=os.path.join(ROOT, "build", "bnfold"))
    parser.add_argument("--no-ort", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = args.kinds.split(",")
    run_js = os.path.join(ROOT, "scripts", "ort", "run.js")

    print(f"load before: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print("| graph | N | bnfold wall s | bnfold CPU s | ORT wall s | ORT CPU s | "
          "ORT load+run ms | bnfold/ORT wall | bnfold/ORT CPU | bnfold CPU µs/node |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        x = os.path.join(tmp, "x.npy")
        np.save(x, np.linspace(-1, 1, 8, dtype=np.float32).reshape(1, 8))
        for kind in kinds:
            for n in sizes:
                model = os.path.join(tmp, f"{kind}{n}.onnx")
                subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_chain.py"),
                                kind, str(n), model], check=True)
                runs = [timed([args.bnfold, "run", model, "--input", f"x={x}", "--threads", "1",
                               "--output-dir", os.path.join(tmp, "out_bnfold")])
                        for _ in range(args.repeat)]
                ours = statistics.median(r[0] for r in runs)
                ours_cpu = statistics.median(r[1] for r in runs)
                ort_s = ort_cpu = ort_ms = float("nan")
                if not args.no_ort:
                    runs = [timed(["node", run_js, model, "--input", f"x={x}", "--threads", "1",
                                   "--output-dir", os.path.join(tmp, "out_ort")])
                            for _ in range(args.repeat)]
                    ort_s = statistics.median(r[0] for r in runs)
                    ort_cpu = statistics.median(r[1] for r in runs)
                    reports = [json.loads(r[2].strip().splitlines()[-1]) for r in runs]
                    ort_ms = statistics.median(r["load_ms"] + r["first_run_ms"] for r in reports)
                print(f"| {kind} | {n} | {ours:.2f} | {ours_cpu:.2f} | {ort_s:.2f} | {ort_cpu:.2f} | "
                      f"{ort_ms:.0f} | {ours / ort_s:.2f} | {ours_cpu / ort_cpu:.2f} | "
                      f"{ours_cpu / n * 1e6:.1f} |", flush=True)
                os.remove(model)
    print(f"load after: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
