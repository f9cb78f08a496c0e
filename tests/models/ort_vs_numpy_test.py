#!/usr/bin/python3
"""Checks the reference the model tests trust: ONNX Runtime, driven by
scripts/ort/run.js, against the float64 numpy evaluator of models/numpy_ops.py
on every seed model. This validates the generated graphs' semantics, the
Node script's .npy reading and writing, and the error criterion
(max |ort - numpy| / max |numpy| <= 1e-4 per output; see model_vs_ort_test.cc).

Exit codes: 0 pass, 1 mismatch or ONNX Runtime not installed, 77 skipped (not
installed, and BNFOLD_ALLOW_SKIP=1: tests/test_util/dependency.py).
"""

import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.dont_write_bytecode = True  # keep models/ free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "models"))
sys.path.insert(0, os.path.join(ROOT, "tests", "test_util"))

import numpy as np  # noqa: E402
import onnx  # noqa: E402

import numpy_ops  # noqa: E402
from dependency import require_program  # noqa: E402

TOLERANCE = 1e-4
ORT_DIR = os.environ.get("BNFOLD_ORT_DIR", os.path.join(ROOT, ".cache", "ort"))
MODELS_DIR = os.environ.get("BNFOLD_MODELS_DIR", os.path.join(ROOT, "models"))

# name: (batch, input distribution the BN statistics were calibrated on)
CASES = {
    "resnet50": (1, "normal"),
    "mobilenetv2": (2, "normal"),
    "keras_cnn": (4, "uniform01"),
    "mlp": (8, "uniform01"),
    "mlp_untrained_stats": (8, "uniform01"),
    "fcn": (1, "uniform01"),
}


def seeded_inputs(model, batch, distribution, seed):
    rng = np.random.default_rng(seed)
    feeds = {}
    for value in model.graph.input:
        dims = [d.dim_value if d.HasField("dim_value") else batch
                for d in value.type.tensor_type.shape.dim]
        data = rng.standard_normal(dims) if distribution == "normal" else rng.uniform(0, 1, dims)
        feeds[value.name] = data.astype(np.float32)
    return feeds


def run_ort(path, feeds, num_outputs, work):
    args = ["node", os.path.join(ROOT, "scripts", "ort", "run.js"), path,
            "--output-dir", os.path.join(work, "ort"), "--threads", "2"]
    for i, (name, data) in enumerate(feeds.items()):
        file = os.path.join(work, f"input_{i}.npy")
        np.save(file, data)
        args += ["--input", f"{name}={file}"]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, BNFOLD_ORT_DIR=ORT_DIR))
    return [np.load(os.path.join(work, "ort", f"output_{i}.npy"))
            for i in range(num_outputs)]


def main():
    require_program(os.path.exists(os.path.join(ORT_DIR, "node_modules", "onnxruntime-node")),
                    f"onnxruntime-node is not installed in {ORT_DIR}")
    failures = 0
    for seed, (name, (batch, distribution)) in enumerate(CASES.items()):
        path = os.path.join(MODELS_DIR, f"{name}.onnx")
        model = onnx.load(path)
        feeds = seeded_inputs(model, batch, distribution, seed)
        expected = numpy_ops.run_graph(model.graph, feeds)
        with tempfile.TemporaryDirectory() as work:
            got = run_ort(path, feeds, len(model.graph.output), work)
        for i, (g, e) in enumerate(zip(got, expected)):
            if g.shape != e.shape:
                print(f"FAIL {name} output {i}: shape {list(g.shape)} vs {list(e.shape)}")
                failures += 1
                continue
            scale = np.abs(e).max()
            err = np.abs(g - e).max() / scale
            ok = bool(np.isfinite(g).all()) and scale > 0 and err <= TOLERANCE
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {name} output {i} {list(g.shape)}: "
                  f"max|ort-numpy|/max|numpy| = {err:.2e} (max|numpy| {scale:.3g})", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
