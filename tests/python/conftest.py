"""Shared pieces of the Python-module tests (run by ctest: tests/CMakeLists.txt
sets PYTHONPATH to the build tree's python/ and BNFOLD_BINARY to the CLI)."""

import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS_DIR = os.environ.get("BNFOLD_MODELS_DIR", os.path.join(ROOT, "models"))
BNFOLD_BINARY = os.environ.get("BNFOLD_BINARY", os.path.join(ROOT, "build", "bnfold"))
ORT_DIR = os.environ.get("BNFOLD_ORT_DIR", os.path.join(ROOT, ".cache", "ort"))

sys.path.insert(0, os.path.join(ROOT, "tests", "test_util"))
from pytest_dependency import pytest_sessionfinish, require  # noqa: E402,F401


def seed_model(name):
    """Path of models/<name>.onnx; skips when the models were not generated."""
    path = os.path.join(MODELS_DIR, name + ".onnx")
    require(os.path.exists(path), f"{path} is missing: scripts/models.sh writes it")
    return path


def make_model(nodes, inputs, outputs, initializers=(), opset=17, ir_version=8, **fields):
    """A ModelProto from onnx.helper pieces; `fields` set ModelProto fields."""
    graph = helper.make_graph(nodes, fields.pop("graph_name", "g"), inputs, outputs,
                              initializer=list(initializers),
                              doc_string=fields.pop("graph_doc", ""))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], **fields)
    model.ir_version = ir_version
    onnx.checker.check_model(model)
    return model


def tensor_info(name, elem_type, shape):
    return helper.make_tensor_value_info(name, elem_type, shape)


def run_cli(*args):
    """`bnfold ARGS...` -> (exit code, stdout, stderr)."""
    done = subprocess.run([BNFOLD_BINARY, *args], capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout, done.stderr


def ort_available():
    return (shutil.which("node") is not None and
            os.path.exists(os.path.join(ORT_DIR, "node_modules", "onnxruntime-node", "package.json")))


def run_ort(model, feeds, workdir):
    """ONNX Runtime (scripts/ort/run.js) on `feeds`: its outputs in graph order."""
    args = ["node", os.path.join(ROOT, "scripts", "ort", "run.js"), model, "--output-dir", workdir]
    for name, value in feeds.items():
        path = os.path.join(workdir, "ort_in_" + name.replace("/", "_").replace(":", "_") + ".npy")
        np.save(path, value)
        args += ["--input", f"{name}={path}"]
    env = dict(os.environ, BNFOLD_ORT_DIR=ORT_DIR)
    subprocess.run(args, check=True, capture_output=True, env=env, timeout=600)
    outputs = []
    i = 0
    while os.path.exists(os.path.join(workdir, f"output_{i}.npy")):
        outputs.append(np.load(os.path.join(workdir, f"output_{i}.npy")))
        i += 1
    return outputs


def scale_error(actual, expected):
    """max |actual - expected| / max |expected| (the models' criterion)."""
    expected = np.asarray(expected, dtype=np.float64)
    scale = float(np.max(np.abs(expected))) or 1.0
    return float(np.max(np.abs(np.asarray(actual, dtype=np.float64) - expected))) / scale


FLOAT = TensorProto.FLOAT
