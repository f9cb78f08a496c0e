"""A script written for onnxruntime (ort_notebook.py) runs unchanged against
bnfold on every model in models/, and gives ONNX Runtime's outputs within
1e-4 of each output's scale."""

import ast
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ORT_DIR, ort_available, require, run_ort, scale_error, seed_model

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "ort_notebook.py")

# onnxruntime's Python API names the script may use: module level, and on the
# objects it returns (InferenceSession, SessionOptions, NodeArg, ModelMetadata).
ORT_MODULE = {"InferenceSession", "SessionOptions", "GraphOptimizationLevel",
              "get_available_providers", "RunOptions", "ExecutionMode", "get_device"}
ORT_OBJECTS = {"intra_op_num_threads", "inter_op_num_threads", "graph_optimization_level",
               "ORT_ENABLE_ALL", "ORT_DISABLE_ALL", "ORT_ENABLE_BASIC", "ORT_ENABLE_EXTENDED",
               "get_providers", "get_modelmeta", "producer_name", "graph_name", "get_inputs",
               "get_outputs", "name", "type", "shape", "run", "end_profiling"}
ORT_OBJECT_VARIABLES = {"options", "session", "meta", "node_arg", "o"}

# The seed models' batch sizes and input distributions, as the model tests feed them.
sys.path.insert(0, os.path.join(HERE, "..", "models"))
from ort_vs_numpy_test import CASES, seeded_inputs  # noqa: E402


def test_script_uses_only_onnxruntime_names():
    tree = ast.parse(open(SCRIPT).read())
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import)]
    assert [a.name for n in imports for a in n.names if a.asname == "ort"] == ["bnfold"]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "ort":
                assert node.attr in ORT_MODULE, node.attr
            elif node.value.id in ORT_OBJECT_VARIABLES:
                assert node.attr in ORT_OBJECTS, (node.value.id, node.attr)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            if isinstance(node.value.value, ast.Name) and node.value.value.id == "ort":
                assert node.attr in ORT_OBJECTS, node.attr


@pytest.mark.parametrize("name", sorted(CASES))
def test_script_matches_onnx_runtime(name, tmp_path):
    require(ort_available(), "onnxruntime-node is not installed in " + ORT_DIR)
    import onnx
    path = seed_model(name)
    batch, distribution = CASES[name]
    model = onnx.load(path, load_external_data=False)
    feeds = seeded_inputs(model, batch, distribution, seed=2024)
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    outputs.mkdir()
    for input_name, value in feeds.items():
        np.save(inputs / (input_name.replace("/", "_") + ".npy"), value)
    done = subprocess.run([sys.executable, SCRIPT, path, str(inputs), str(outputs)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    ort_dir = tmp_path / "ort"
    ort_dir.mkdir()
    expected = run_ort(path, feeds, str(ort_dir))
    assert len(expected) == len(model.graph.output)
    for output, reference in zip(model.graph.output, expected):
        mine = np.load(outputs / (output.name.replace("/", "_").replace(":", "_") + ".npy"))
        assert mine.shape == reference.shape, output.name
        assert scale_error(mine, reference) <= 1e-4, (output.name, scale_error(mine, reference))
