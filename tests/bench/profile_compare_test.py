#!/usr/bin/python3
"""bench/profile_compare.py pairs bnfold steps with ONNX Runtime nodes by the
output they write (hand-made profiles: a step fusing two Convs takes two ORT
nodes even when both write the same shape, ORT's padded NCHWc channels match,
reorders and leftovers stand alone); scripts/ort/run.js --profile reports
each node's median over exactly the timed runs.

Exit codes: 0 pass, 1 failure. Without ONNX Runtime the run.js test fails, or
is skipped with BNFOLD_ALLOW_SKIP=1 (tests/test_util/dependency.py).
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # keep tests/ and bench/ free of __pycache__
from bench_paths import MODELS_DIR, ORT_DIR, ORT_MISSING, RUN_JS, ort_installed  # noqa: E402
from dependency import require, unittest_main  # noqa: E402

import numpy as np  # noqa: E402

import profile_compare  # noqa: E402

ITERS = 9


def ours(label, shape, ms):
    return {"label": label, "output_shape": shape, "median_ms": ms}


def theirs(name, shape, ms, op="Conv"):
    return {"label": f"{op} '{name}'", "op": op, "output_shape": shape, "median_ms": ms}


class MatchLayersTest(unittest.TestCase):
    def test_fused_depthwise_takes_both_nodes_of_the_same_shape(self):
        steps = [
            ours("Conv 'expand' + Clip 'r1' + Conv 'dw' + Clip 'r2'", [1, 144, 56, 56], 0.2),
            ours("Conv 'project' + Add 'add'", [1, 24, 56, 56], 0.1),
        ]
        nodes = [theirs("expand", [1, 144, 56, 56], 0.15), theirs("dw", [1, 144, 56, 56], 0.1),
                 theirs("project", [1, 32, 56, 56], 0.12)]  # 24 channels padded to 32
        rows = profile_compare.match_layers(steps, nodes)
        self.assertEqual([[n["label"] for n in matched] for _, matched in rows],
                         [["Conv 'expand'", "Conv 'dw'"], ["Conv 'project'"]])

    def test_reorders_unmatched_steps_and_leftover_nodes(self):
        steps = [
            ours("Reorder(x) for Conv 'c'", [1, 16, 8, 8], 0.01),
            ours("Conv 'c' + Relu 'r'", [1, 16, 8, 8], 0.2),
            ours("Softmax 's'", [1, 10], 0.01),  # ORT has no node writing [1, 10] next
        ]
        nodes = [theirs("c", [1, 16, 8, 8], 0.3), theirs("pool", [1, 16, 1, 1], 0.01, "MaxPool")]
        rows = profile_compare.match_layers(steps, nodes)
        self.assertEqual(len(rows), 4)
        self.assertEqual(rows[0][1], [])  # the reorder
        self.assertEqual([n["label"] for n in rows[1][1]], ["Conv 'c'"])
        self.assertEqual(rows[2][1], [])
        self.assertIsNone(rows[3][0])  # what ORT ran after the last match
        self.assertEqual([n["label"] for n in rows[3][1]], ["MaxPool 'pool'"])

    def test_same_output(self):
        self.assertTrue(profile_compare.same_output([1, 24, 56, 56], [1, 32, 56, 56]))
        self.assertFalse(profile_compare.same_output([1, 24, 56, 56], [1, 48, 56, 56]))
        self.assertFalse(profile_compare.same_output([1, 24, 56, 56], [1, 24, 28, 28]))
        self.assertFalse(profile_compare.same_output([2, 24, 7, 7], [1, 24, 7, 7]))
        self.assertTrue(profile_compare.same_output([1, 1000], [1, 1000]))
        self.assertFalse(profile_compare.same_output([1, 1000], [1, 1008]))


class OrtProfileTest(unittest.TestCase):
    def test_mlp_nodes_over_the_timed_runs(self):
        require(self, ort_installed(), ORT_MISSING)
        with tempfile.TemporaryDirectory() as work:
            feed = os.path.join(work, "x.npy")
            np.save(feed, np.random.default_rng(7).uniform(0, 1, (1, 784)).astype(np.float32))
            done = subprocess.run(
                ["node", RUN_JS, os.path.join(MODELS_DIR, "mlp.onnx"), "--input",
                 f"x:0={feed}", "--threads", "1", "--warmup", "3", "--iters", str(ITERS),
                 "--profile"], capture_output=True, text=True, env={**os.environ,
                                                                     "BNFOLD_ORT_DIR": ORT_DIR})
            self.assertEqual(done.returncode, 0, done.stderr)
            report = json.loads(done.stdout.strip().splitlines()[-1])
            self.assertEqual(os.listdir(work), ["x.npy"])
        profile = report["profile"]
        self.assertEqual(profile["runs"], ITERS)
        self.assertGreaterEqual(len(profile["steps"]), 3)  # three dense layers at least
        for step in profile["steps"]:
            self.assertGreater(step["median_ms"], 0.0, step)
            self.assertTrue(step["label"].startswith(step["op"] + " '"), step)
            self.assertIsInstance(step["output_shape"], list)
        self.assertEqual(profile["steps"][-1]["output_shape"], [1, 10])
        # Every node ran inside the timed runs: their medians fit in the run's.
        self.assertLess(sum(s["median_ms"] for s in profile["steps"]), report["max_ms"])


if __name__ == "__main__":
    unittest_main()
