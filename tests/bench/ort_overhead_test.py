#!/usr/bin/python3
"""scripts/ort/run.js --overhead-model: the MLP timed with an Identity model
interleaved in the same process reports the overhead statistics (ordered
nearest-rank figures over exactly --iters runs); without the flag it reports
none; a model whose input shape is not fixed is refused with exit code 2.

Exit codes: 0 pass, 1 failure (also when ONNX Runtime is not installed), 77
skipped (not installed, and BNFOLD_ALLOW_SKIP=1: tests/test_util/dependency.py).
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # keep tests/ and bench/ free of __pycache__
from bench_paths import MODELS_DIR, ORT_DIR, ORT_MISSING, RUN_JS, ort_installed  # noqa: E402
from dependency import require_program  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402

import side_by_side  # noqa: E402  (the Identity model the benchmark uses)

ITERS = 21


class OverheadModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.TemporaryDirectory()
        cls.identity = os.path.join(cls.work.name, "identity.onnx")
        onnx.save(side_by_side.identity_model(), cls.identity)
        cls.mlp = os.path.join(MODELS_DIR, "mlp.onnx")
        feed = os.path.join(cls.work.name, "x.npy")
        np.save(feed, np.random.default_rng(7).uniform(0, 1, (1, 784)).astype(np.float32))
        cls.feed = f"x:0={feed}"

    @classmethod
    def tearDownClass(cls):
        cls.work.cleanup()

    def run_js(self, *extra):
        return subprocess.run(["node", RUN_JS, self.mlp, "--input", self.feed, "--threads", "1",
                               *extra], capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, BNFOLD_ORT_DIR=ORT_DIR))

    def report(self, *extra):
        done = self.run_js(*extra)
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout.strip().splitlines()[-1])

    def test_overhead_statistics_over_interleaved_runs(self):
        r = self.report("--iters", str(ITERS), "--warmup", "3",
                        "--overhead-model", self.identity)
        self.assertEqual(r["iters"], ITERS)
        self.assertEqual(r["overhead_iters"], ITERS)
        self.assertGreater(r["overhead_min_ms"], 0.0)
        self.assertLessEqual(r["overhead_min_ms"], r["overhead_median_ms"])
        self.assertLessEqual(r["overhead_median_ms"], r["overhead_p90_ms"])
        self.assertLessEqual(r["overhead_p90_ms"], r["overhead_max_ms"])
        self.assertLessEqual(r["min_ms"], r["median_ms"])
        self.assertEqual(r["outputs"][0]["shape"], [1, 10])

    def test_without_the_flag_there_is_no_overhead(self):
        r = self.report("--iters", "5", "--warmup", "1")
        self.assertEqual(r["iters"], 5)
        self.assertFalse([k for k in r if k.startswith("overhead_")])

    def test_overhead_model_needs_a_fixed_input_shape(self):
        done = self.run_js("--iters", "3", "--overhead-model", self.mlp)  # [batch, 784]
        self.assertEqual(done.returncode, 2)
        self.assertIn("fixed shape", done.stderr)


if __name__ == "__main__":
    require_program(ort_installed(), ORT_MISSING)
    unittest.main()
