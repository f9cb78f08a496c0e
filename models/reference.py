#!/usr/bin/python3
"""Runs a seed model with the numpy evaluator (float64): an independent
reference for ONNX Runtime and bnfold on the models generate.py writes.

    /usr/bin/python3 models/reference.py MODEL --input NAME=FILE.npy ... --output-dir DIR

Writes DIR/output_<i>.npy (float32, graph output order).
"""

import argparse
import os
import sys

sys.dont_write_bytecode = True  # keep models/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import onnx  # noqa: E402

import numpy_ops  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy")
    parser.add_argument("--output-dir", required=True)
    args = parser.parse_args()
    feeds = {}
    for spec in args.input:
        name, sep, path = spec.partition("=")
        if not sep or not name:
            parser.error(f"--input expects NAME=FILE.npy, got '{spec}'")
        feeds[name] = np.load(path)
    model = onnx.load(args.model)
    missing = [i.name for i in model.graph.input if i.name not in feeds]
    if missing:
        parser.error(f"no --input for {', '.join(missing)}")
    outputs = numpy_ops.run_graph(model.graph, feeds)
    os.makedirs(args.output_dir, exist_ok=True)
    for i, value in enumerate(outputs):
        np.save(os.path.join(args.output_dir, f"output_{i}.npy"), value.astype(np.float32))


if __name__ == "__main__":
    main()
