#!/usr/bin/python3
"""Measures bnfold on the PyTorch exports (models/torch_export.py) and prints a table.

    /usr/bin/python3 models/torch_fold_table.py [--bnfold build/bnfold] [--models-dir DIR]
        [--ort-dir DIR] [NAME.VARIANT ...]

For each file: BatchNormalization nodes before and after (`bnfold inspect
--json`: a BN counts as left when it has no "folds_into"), the result of
`bnfold verify --batch 2 --seeds 1 --json`, and ONNX Runtime (scripts/ort/run.js)
on the original and on the file `bnfold optimize` writes, fed the same N(0, 1)
input of batch 2: max |optimized - original| / max |original| (normwise), and
for float16 outputs the same difference in float16 ulps of the output scale.
A missing file or ONNX Runtime is reported in its row, not fatal.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = ("resnet50", "mobilenet_v2", "densenet121", "shufflenet_v2_x1_0", "mnist_bn")
VARIANTS = ("", "ir9", "ir10", "constsub", "fp16")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def float16_ulp(x):
    x = abs(x)
    if x < 2.0 ** -14:
        return 2.0 ** -24
    return 2.0 ** (np.floor(np.log2(x)) - 10)


def ort_outputs(model, input_file, out_dir, ort_dir):
    env = dict(os.environ, BNFOLD_ORT_DIR=ort_dir, NODE_PATH=os.path.join(ort_dir, "node_modules"))
    r = run(["node", os.path.join(ROOT, "scripts", "ort", "run.js"), model,
             "--input", f"input={input_file}", "--output-dir", out_dir, "--threads", "2"], env=env)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "ORT failed")
    return [np.load(os.path.join(out_dir, f)) for f in sorted(os.listdir(out_dir))
            if f.startswith("output_")]


def measure(bnfold, path, ort_dir, work):
    row = {"file": os.path.basename(path)}
    if not os.path.exists(path):
        row["error"] = "missing"
        return row
    info = json.loads(run([bnfold, "inspect", "--json", path], check=True).stdout)
    bns = info["batchnorm"]
    row["before"] = len(bns)
    row["after"] = sum(1 for b in bns if not b.get("folds_into"))
    v = run([bnfold, "verify", path, "--batch", "2", "--seeds", "1", "--json"])
    verify = json.loads(v.stdout) if v.stdout.strip().startswith("{") else {}
    row["verify"] = "pass" if verify.get("pass") else f"FAIL ({v.stderr.strip()[:80]})"
    outs = verify.get("outputs", [])
    if outs and outs[0].get("tolerance") == "float16_ulps":
        row["verify"] += f", {outs[0]['max_ulps_err']:.2g} ulps"
    elif outs:
        row["verify"] += f", {outs[0]['max_rel_err']:.2g}"
    optimized = os.path.join(work, "optimized.onnx")
    run([bnfold, "optimize", path, optimized], check=True)
    dtype = np.float16 if ".fp16." in path else np.float32
    channels = 1 if "mnist" in path else 3
    size = 28 if "mnist" in path else 224
    x = np.random.default_rng(11).standard_normal((2, channels, size, size)).astype(dtype)
    input_file = os.path.join(work, "input.npy")
    np.save(input_file, x)
    try:
        want = ort_outputs(path, input_file, tempfile.mkdtemp(dir=work), ort_dir)
        got = ort_outputs(optimized, input_file, tempfile.mkdtemp(dir=work), ort_dir)
    except (RuntimeError, OSError) as e:
        row["ort"] = f"ORT: {e}"
        return row
    a, b = got[0].astype(np.float64), want[0].astype(np.float64)
    scale = np.abs(b).max()
    diff = np.abs(a - b).max()
    row["ort"] = f"{diff / scale:.2g}"
    if dtype == np.float16:
        row["ort"] += f" ({diff / float16_ulp(scale):.2g} ulps)"
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="NAME or NAME.VARIANT (default: all)")
    parser.add_argument("--bnfold", default=os.path.join(ROOT, "build", "bnfold"))
    parser.add_argument("--models-dir", default=os.environ.get(
        "BNFOLD_TORCH_MODELS_DIR", os.path.join(ROOT, ".cache", "torch_models")))
    parser.add_argument("--ort-dir", default=os.environ.get(
        "BNFOLD_ORT_DIR", os.path.join(ROOT, ".cache", "ort")))
    args = parser.parse_args()
    names = args.files or [m + (f".{v}" if v else "") for m in MODELS for v in VARIANTS]
    print("| file | BN before | BN left | `bnfold verify` | ORT optimized vs original (normwise) |")
    print("|---|---:|---:|---|---|")
    for name in names:
        with tempfile.TemporaryDirectory() as work:
            row = measure(args.bnfold, os.path.join(args.models_dir, name + ".onnx"),
                          args.ort_dir, work)
        print(f"| {row['file']} | {row.get('before', '-')} | {row.get('after', '-')} | "
              f"{row.get('verify', row.get('error', '-'))} | {row.get('ort', '-')} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
