"""Paths the bench/ tests share; importing it also puts bench/ on sys.path
(without writing __pycache__ there)."""

import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ORT_DIR = os.environ.get("BNFOLD_ORT_DIR", os.path.join(ROOT, ".cache", "ort"))
MODELS_DIR = os.environ.get("BNFOLD_MODELS_DIR", os.path.join(ROOT, "models"))
RUN_JS = os.path.join(ROOT, "scripts", "ort", "run.js")

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "tests", "test_util"))


def ort_installed():
    return os.path.isdir(os.path.join(ORT_DIR, "node_modules", "onnxruntime-node"))


ORT_MISSING = f"onnxruntime-node is not installed in {ORT_DIR}"
