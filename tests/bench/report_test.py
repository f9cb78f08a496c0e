#!/usr/bin/python3
"""bench/report.py `summarize` on hand-computed samples: the ratio subtracts
each ORT sample's own in-process call cost (`call_ms`), falls back to the
separate Identity process of the sample's round and then to that process's
median; saved files from before the in-process figure still render."""

import json
import os
import sys
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, os.path.join(ROOT, "bench"))

import report  # noqa: E402


def sample(rnd, median_ms, call_ms=None):
    s = {"round": rnd, "median_ms": median_ms, "p90_ms": median_ms * 1.5, "min_ms": median_ms,
         "load_ms": 1.0, "first_run_ms": 2.0, "ready_ms": 3.0, "rss_mb": 10.0,
         "time_rss_mb": None}
    if call_ms is not None:
        s["call_ms"] = call_ms
    return s


def facts(macs):
    return {"input": "x", "dims": [None, 4], "macs_per_sample": macs}


def plan():
    """Three rounds; the Identity process failed in round 1, so its figures
    are 10 µs (round 0) and 16 µs (round 2), median 13 µs."""
    identity = {"model": "identity", "batch": 1, "threads": 1, "iters": 2001,
                "facts": facts(0),
                "ort": [sample(0, 0.010), sample(2, 0.016)],
                "bnfold": [sample(0, 0.00005), sample(1, 0.00007), sample(2, 0.00006)]}
    # In-process figures in rounds 0 and 1; round 2's sample lacks one and
    # falls back to round 2's Identity process (16 µs).
    mlp = {"model": "mlp", "batch": 1, "threads": 1, "target": 0.70, "iters": 5001,
           "facts": facts(1000),
           "bnfold": [sample(0, 0.0025), sample(1, 0.0030), sample(2, 0.0020)],
           "ort": [sample(0, 0.0137, call_ms=0.010), sample(1, 0.0160, call_ms=0.012),
                   sample(2, 0.0200)]}
    # No in-process figure at all (an old run.js): rounds 0 and 2 use their
    # Identity process, round 1 the median over rounds (13 µs).
    cnn = {"model": "keras_cnn", "batch": 1, "threads": 1, "target": 0.70, "iters": 301,
           "facts": facts(0),
           "bnfold": [sample(0, 0.050), sample(1, 0.048), sample(2, 0.052)],
           "ort": [sample(0, 0.070), sample(1, 0.073), sample(2, 0.066)]}
    return [mlp, cnn], [], [identity]


class SummarizeTest(unittest.TestCase):
    def setUp(self):
        self.summary = report.summarize(*plan())
        self.mlp, self.cnn = self.summary["table"]

    def test_in_process_call_cost_is_subtracted_per_sample(self):
        # Round ratios: 0.0025/(0.0137-0.010) = 0.675676, 0.0030/(0.0160-0.012)
        # = 0.75, 0.0020/(0.0200-0.016) = 0.5.
        r = self.mlp
        self.assertAlmostEqual(r["ratio"], 0.0025 / 0.0037, places=9)
        self.assertAlmostEqual(r["ratio_rounds_min"], 0.5, places=9)
        self.assertAlmostEqual(r["ratio_rounds_max"], 0.75, places=9)
        self.assertTrue(r["met"])  # 0.676 <= 0.70
        # Raw: 0.0025/0.0137 = 0.18248, 0.0030/0.0160 = 0.1875, 0.0020/0.0200 = 0.1.
        self.assertAlmostEqual(r["ratio_raw"], 0.0025 / 0.0137, places=9)
        # Net per round 0.0037, 0.0040, 0.0040.
        self.assertAlmostEqual(r["ort_net_ms"], 0.0040, places=12)
        self.assertAlmostEqual(r["ort_ms"], 0.0160, places=12)
        self.assertAlmostEqual(r["bnfold_ms"], 0.0025, places=12)
        # Subtracted 10, 12, 16 µs: median 12; one sample fell back.
        self.assertAlmostEqual(r["ort_call_overhead_ms"], 0.012, places=12)
        self.assertEqual(r["ort_call_fallbacks"], 1)
        # GFLOP/s from the net time: 2 * 1000 MACs / 4 µs = 0.5.
        self.assertAlmostEqual(r["ort_gflops"], 0.5, places=9)
        self.assertAlmostEqual(r["bnfold_gflops"], 0.8, places=9)

    def test_without_in_process_figure_falls_back_to_identity_process(self):
        # Net: 0.070-0.010 = 0.060, 0.073-0.013 = 0.060, 0.066-0.016 = 0.050.
        # Round ratios 0.05/0.06 = 0.8333, 0.048/0.06 = 0.8, 0.052/0.05 = 1.04.
        r = self.cnn
        self.assertAlmostEqual(r["ratio"], 0.050 / 0.060, places=9)
        self.assertAlmostEqual(r["ratio_rounds_min"], 0.8, places=9)
        self.assertAlmostEqual(r["ratio_rounds_max"], 1.04, places=9)
        self.assertFalse(r["met"])
        # Raw: 0.714286, 0.657534, 0.787879.
        self.assertAlmostEqual(r["ratio_raw"], 0.050 / 0.070, places=9)
        self.assertAlmostEqual(r["ort_net_ms"], 0.060, places=12)
        self.assertAlmostEqual(r["ort_call_overhead_ms"], 0.013, places=12)
        self.assertEqual(r["ort_call_fallbacks"], 3)
        self.assertIsNone(r["ort_gflops"])  # no MAC count

    def test_overhead_summary(self):
        o = self.summary["overhead"][1]
        self.assertAlmostEqual(o["ort_ms"], 0.013, places=12)  # Identity process median
        self.assertAlmostEqual(o["bnfold_ms"], 0.00006, places=12)
        # In-process figures of all rows: 10 and 12 µs.
        self.assertAlmostEqual(o["ort_in_process_ms"], 0.011, places=12)

    def test_tables_say_what_is_subtracted(self):
        line = report.overhead_line(self.summary)
        self.assertIn("in the same process", line)
        self.assertIn("1 thread 11 µs", line)
        self.assertIn("ORT via Node 13 µs", line)
        self.assertIn("†", line)
        title, header, rows = report.markdown_tables(self.summary)[0]
        cells = dict(zip(header, rows[0]))
        self.assertEqual(cells["ORT call"], "0.012 †")
        self.assertEqual(cells["ORT − call"], "0.004")
        self.assertEqual(cells["ratio"], "0.68")
        self.assertEqual(cells["raw ratio"], "0.18")
        self.assertEqual(cells["ratio per round"], "0.50–0.75")

    def test_saved_json_round_trips_and_old_files_still_render(self):
        saved = json.loads(json.dumps({"machine": {}, **self.summary}, default=float))
        summary, _ = report.from_json(saved)
        self.assertAlmostEqual(summary["overhead"][1]["ort_in_process_ms"], 0.011, places=12)
        self.assertEqual(report.markdown_tables(summary), report.markdown_tables(self.summary))
        # A file from before the in-process figure has neither field.
        for o in saved["overhead"].values():
            del o["ort_in_process_ms"]
        for r in saved["table"]:
            del r["ort_call_fallbacks"]
        old, _ = report.from_json(saved)
        line = report.overhead_line(old)
        self.assertIn("one-op Identity model", line)
        self.assertNotIn("same process", line)
        _, header, rows = report.markdown_tables(old)[0]
        cells = dict(zip(header, rows[0]))
        self.assertEqual(cells["ORT call"], "0.012")


if __name__ == "__main__":
    unittest.main()
