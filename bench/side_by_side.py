#!/usr/bin/python3
"""bnfold versus ONNX Runtime on the seed models, interleaved (issue 4).

    /usr/bin/python3 bench/side_by_side.py [--rounds R] [--iters K] [--quick]
        [--models a,b] [--json PATH] [--markdown PATH] [--bnfold PATH]

Every measurement is its own process, bnfold through `bnfold bench --json`,
ONNX Runtime 1.30 (graphOptimizationLevel 'all', intraOpNumThreads = bnfold's
threads, interOpNumThreads 1) through scripts/ort/run.js, on the same .npy
inputs. A round measures every row once, bnfold and ONNX Runtime back to back
(bnfold first in even rounds, ORT first in odd ones), so slow phases of a
shared machine hit both. Per row: times (the median over rounds of each
process's median), the ratio (the median over rounds of the bnfold/ORT ratio
within a round) against its target, effective GFLOP/s (2 x MACs per sample x batch / time,
MACs from models/graph_builder.count_macs), load and first-run times, and the
peak RSS of each process (ru_maxrss from wait4, the same measure for both).

ONNX Runtime is called through its Node binding, which adds a per-call cost a
C++ caller does not pay. Every ORT measurement also times a one-op Identity
model in the same process (run.js --overhead-model), interleaved in blocks
with the model, so the figure sees the same machine state; the ratio uses
each sample's ORT median minus its own Identity median (the separate Identity
process of the round, then the median over rounds, only when a sample lacks
it). A separate process cannot stand in: its figure swung 8-13 us between
runs, as large as a whole MLP b1 run. This is conservative for bnfold (the
Identity run also contains ORT's own fixed per-run cost); the raw ratio is
reported too. The separate Identity rows remain: they give bnfold's per-call
figure and both processes' baseline RSS.

Also interleaved: bnfold with its passes (BatchNormalization folded) against
`--no-optimize` on ResNet-50 and MobileNetV2.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "models"))

import numpy as np  # noqa: E402

import machine  # noqa: E402
import report  # noqa: E402

# model: (batches, threads, target bnfold/ORT time ratio).
TABLE = {
    "resnet50": ((1, 8), (1, 2), 0.95),
    "mobilenetv2": ((1, 8), (1, 2), 0.80),
    "keras_cnn": ((1, 32), (1,), 0.70),
    "mlp": ((1, 256), (1,), 0.70),
    "fcn": ((1,), (1, 2), 0.70),
}
# model: (batches, threads); target: folded at least this much faster.
FOLD_TABLE = {
    "resnet50": ((1, 8), (1,)),
    "mobilenetv2": ((1, 8), (1,)),
}
FOLD_TARGET = 1.2
# What the BatchNormalization statistics were calibrated on (models/README.md);
# the inputs follow it so no layer sees unusual (e.g. denormal) values.
DISTRIBUTION = {"resnet50": "normal", "mobilenetv2": "normal"}

CACHE = os.path.join(ROOT, ".cache", "bench")
RUN_JS = os.path.join(ROOT, "scripts", "ort", "run.js")
IDENTITY = "identity"  # the overhead model's name in rows and JSON
TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def log(message):
    print(message, file=sys.stderr, flush=True)


# ---- setup: everything the runs need, installed or generated when missing.

def ensure_setup(models, bnfold):
    subprocess.run([os.path.join(ROOT, "scripts", "ort", "install.sh")], check=True)
    if not os.path.exists(os.path.join(ROOT, ".cache", "ort", "node_modules", "onnxruntime-node")):
        sys.exit("side_by_side: ONNX Runtime could not be installed (needs node and npm)")
    missing = [m for m in models if not os.path.exists(model_path(m))]
    if missing:
        log(f"side_by_side: generating {', '.join(missing)}")
        subprocess.run([os.path.join(ROOT, "scripts", "models.sh"), *missing], check=True)
    if not os.access(bnfold, os.X_OK):
        sys.exit(f"side_by_side: {bnfold} not found; build it (scripts/bench.sh does) or pass --bnfold")
    os.makedirs(os.path.join(CACHE, "inputs"), exist_ok=True)


def model_path(name):
    if name == IDENTITY:
        return os.path.join(CACHE, "identity.onnx")
    return os.path.join(ROOT, "models", f"{name}.onnx")


def identity_model():
    """One Identity op on a float[1, 16]: what remains of a run is the cost
    of calling the runtime."""
    import onnx
    from onnx import TensorProto, helper
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"], name="identity")], "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="bnfold bench/side_by_side.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def write_identity_model():
    import onnx
    tmp = f"{model_path(IDENTITY)}.tmp{os.getpid()}"
    onnx.save(identity_model(), tmp)
    os.replace(tmp, model_path(IDENTITY))


def model_facts(name):
    """Graph input (name, shape with None for symbolic dims) and MACs/sample."""
    import onnx
    import graph_builder  # models/: the generator's own MAC count
    model = onnx.load(model_path(name))
    initializers = {i.name for i in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in initializers]
    if len(inputs) != 1 or inputs[0].type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
        raise ValueError(f"{name}: expected one float graph input")
    dims = [d.dim_value if d.HasField("dim_value") else None
            for d in inputs[0].type.tensor_type.shape.dim]
    macs = graph_builder.count_macs(model) if name != IDENTITY else 0
    return {"input": inputs[0].name, "dims": dims, "macs_per_sample": macs}


def input_file(name, facts, batch):
    """The .npy both runtimes read; seeded, so every run feeds the same data."""
    path = os.path.join(CACHE, "inputs", f"{name}_b{batch}.npy")
    if not os.path.exists(path):
        shape = [batch if d is None else d for d in facts["dims"]]
        rng = np.random.default_rng(1234)
        if DISTRIBUTION.get(name) == "normal":
            data = rng.standard_normal(shape)
        else:
            data = rng.uniform(0.0, 1.0, shape)
        np.save(path, data.astype(np.float32))
    return path


# ---- one measurement = one child process.

def run_child(cmd):
    """Runs `cmd`; returns (its last stdout line as JSON, its peak RSS in MiB
    as GNU time's wait4 sees it, or None without /usr/bin/time). Raises
    RuntimeError with its stderr when it fails.

    wait4 straight from this script would be wrong: Linux keeps ru_maxrss
    across exec, so a child forked from this (numpy + onnx) process starts
    with our RSS. GNU time forks from its own small image."""
    with tempfile.NamedTemporaryFile("r") as rss:
        timed = [TIME, "-f", "%M", "-o", rss.name, *cmd] if TIME else cmd
        done = subprocess.run(timed, capture_output=True, text=True)
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: "
                               f"{done.stderr.strip()[-600:]}")
        kb = rss.read().strip().splitlines()
        return json.loads(lines[-1]), (int(kb[-1]) / 1024.0 if TIME and kb else None)


def measure(bnfold, runtime, row, iters, warmup, optimize=True):
    model, facts, batch, threads = row["model"], row["facts"], row["batch"], row["threads"]
    feed = f"{facts['input']}={input_file(model, facts, batch)}"
    if runtime == "bnfold":
        cmd = [bnfold, "bench", model_path(model), "--batch", str(batch), "--threads",
               str(threads), "--iters", str(iters), "--warmup", str(warmup), "--input", feed,
               "--json"] + ([] if optimize else ["--no-optimize"])
    else:
        cmd = ["node", RUN_JS, model_path(model), "--input", feed, "--threads", str(threads),
               "--warmup", str(warmup), "--iters", str(iters),
               "--overhead-model", model_path(IDENTITY)]
    result, time_rss_mb = run_child(cmd)
    first_run_ms = result["compile_ms"] if runtime == "bnfold" else result["first_run_ms"]
    return {
        "median_ms": result["median_ms"], "p90_ms": result["p90_ms"], "min_ms": result["min_ms"],
        "load_ms": result["load_ms"],
        "first_run_ms": first_run_ms,
        "ready_ms": result["load_ms"] + first_run_ms,
        # VmHWM, read by the process itself (the same measure on both sides).
        "rss_mb": result["peak_rss_mb"] if runtime == "bnfold" else result["max_rss_mb"],
        "time_rss_mb": time_rss_mb,
        "iters": iters, "warmup": warmup,
        "ort_version": result.get("ort_version"),
        # ORT only: the Identity model's median in this process, interleaved.
        "call_ms": result.get("overhead_median_ms"),
    }


def odd(n):
    return n if n % 2 else n + 1


def choose_iters(bnfold, row, args):
    """Timed runs for a row: --iters when given, else as many as fit
    --budget-ms at the speed a short bnfold probe shows. Both runtimes then
    use the same count."""
    if args.iters:
        iters = args.iters
    else:
        probe = measure(bnfold, "bnfold", row, iters=3, warmup=1)
        estimate = max(probe["median_ms"], 1e-3)
        iters = int(min(args.max_iters, max(args.min_iters, args.budget_ms / estimate)))
    iters = odd(iters)  # nearest-rank and midpoint medians then agree
    return iters, max(2, min(iters // 5, 100))


# ---- the plan.

def make_rows(models, quick):
    rows, fold_rows, identity_rows = [], [], []
    threads_used = set()
    for name in models:
        batches, threads, target = TABLE[name]
        if quick:
            batches = batches[:1]
        for b in batches:
            for t in threads:
                rows.append({"model": name, "batch": b, "threads": t, "target": target})
                threads_used.add(t)
        if name in FOLD_TABLE:
            batches, threads = FOLD_TABLE[name]
            for b in batches[:1] if quick else batches:
                for t in threads:
                    fold_rows.append({"model": name, "batch": b, "threads": t, "target": FOLD_TARGET})
    for t in sorted(threads_used):
        identity_rows.append({"model": IDENTITY, "batch": 1, "threads": t})
    return rows, fold_rows, identity_rows


def run_rounds(bnfold, args, rows, fold_rows, identity_rows):
    """Each round: the Identity overhead rows, the table (bnfold, ORT), the
    fold rows (folded, unfolded). Every sample is kept per round."""
    def record(row, key, sample):
        sample["round"] = r
        row.setdefault(key, []).append(sample)

    for r in range(args.rounds):
        log(f"side_by_side: round {r + 1}/{args.rounds}")
        # Odd rounds swap who goes first (A B, then B A): a machine getting
        # busier within a pair then does not always penalise the same side.
        order = (lambda pair: pair) if r % 2 == 0 else (lambda pair: pair[::-1])
        for row in identity_rows + rows:
            for runtime in order(("bnfold", "ort")):
                try_record(row, runtime, lambda rt=runtime: measure(
                    bnfold, rt, row, row["iters"], row["warmup"]), record)
        for row in fold_rows:
            for key, optimize in order((("folded", True), ("unfolded", False))):
                try_record(row, key, lambda o=optimize: measure(
                    bnfold, "bnfold", row, row["iters"], row["warmup"], optimize=o), record)


def try_record(row, key, run, record):
    label = f"{row['model']} b{row['batch']} t{row['threads']} {key}"
    try:
        sample = run()
    except (RuntimeError, ValueError, KeyError) as e:
        log(f"  {label}: FAILED {e}")
        row.setdefault("errors", []).append(f"{key}: {e}")
        return
    call = f", call {sample['call_ms'] * 1000:.3g} us" if sample.get("call_ms") else ""
    log(f"  {label}: median {sample['median_ms']:.4g} ms ({sample['iters']} runs{call})")
    record(row, key, sample)


def write_markdown(path, summary, env):
    if not path:
        return
    md = report.markdown(summary, env)
    if path == "-":
        print(md)
    else:
        with open(path, "w") as f:
            f.write(md)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--iters", type=int, default=0,
                        help="timed runs per measurement (default: fit --budget-ms)")
    parser.add_argument("--budget-ms", type=float, default=1500.0,
                        help="timed run time per measurement when --iters is not given")
    parser.add_argument("--min-iters", type=int, default=7)
    parser.add_argument("--max-iters", type=int, default=5001)
    parser.add_argument("--quick", action="store_true",
                        help="1 round, batch 1 only, short budget: checks the tooling, not a result")
    parser.add_argument("--models", default=",".join(TABLE),
                        help=f"comma-separated subset of {','.join(TABLE)}")
    parser.add_argument("--no-fold", action="store_true", help="skip folded vs unfolded")
    parser.add_argument("--json", metavar="PATH", help="write every sample and summary as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="write the README tables ('-' = stdout)")
    parser.add_argument("--bnfold", default=os.path.join(ROOT, "build", "bnfold"))
    parser.add_argument("--from-json", metavar="PATH",
                        help="measure nothing: print (and --markdown) the tables of a saved --json")
    args = parser.parse_args()
    if args.from_json:
        with open(args.from_json) as f:
            summary, env = report.from_json(json.load(f))
        print(report.text(summary, env))
        write_markdown(args.markdown, summary, env)
        return 0
    models = [m for m in args.models.split(",") if m]
    unknown = [m for m in models if m not in TABLE]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(TABLE)}")
    if args.quick:
        args.rounds, args.budget_ms, args.min_iters = 1, 200.0, 3
    if args.rounds < 1 or args.iters < 0:
        parser.error("--rounds must be at least 1 and --iters non-negative")

    ensure_setup(models, args.bnfold)
    write_identity_model()
    facts = {m: model_facts(m) for m in models + [IDENTITY]}
    rows, fold_rows, identity_rows = make_rows(models, args.quick)
    if args.no_fold:
        fold_rows = []
    for row in identity_rows + rows + fold_rows:
        row["facts"] = facts[row["model"]]
    env = machine.describe(ROOT, args.bnfold, model_path(models[0]))

    start = time.time()
    for row in identity_rows:
        row["iters"], row["warmup"] = (args.iters or (201 if args.quick else 2001)), 100
    for row in rows + fold_rows:
        try:
            row["iters"], row["warmup"] = choose_iters(args.bnfold, row, args)
        except RuntimeError as e:
            row["iters"], row["warmup"] = args.min_iters, 1
            row.setdefault("errors", []).append(f"probe: {e}")
    run_rounds(args.bnfold, args, rows, fold_rows, identity_rows)
    env["load_average_end"] = machine.load_average()
    env["minutes"] = round((time.time() - start) / 60.0, 1)
    env["rounds"] = args.rounds
    env["ort_version"] = next((s["ort_version"] for r in identity_rows + rows
                               for s in r.get("ort", []) if s.get("ort_version")), "?")

    summary = report.summarize(rows, fold_rows, identity_rows)
    print(report.text(summary, env))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": env, **summary}, f, indent=1, default=float)
    write_markdown(args.markdown, summary, env)
    return 1 if any(r.get("errors") for r in identity_rows + rows + fold_rows) else 0


if __name__ == "__main__":
    sys.exit(main())
