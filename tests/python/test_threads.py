"""run() from many Python threads on one session, and run() releasing the GIL."""

import threading
import time

import numpy as np

import bnfold
from conftest import seed_model


def test_concurrent_runs_on_one_session_match_sequential_runs():
    options = bnfold.SessionOptions()
    options.intra_op_num_threads = 1
    session = bnfold.InferenceSession(seed_model("keras_cnn"), options)
    name = session.get_inputs()[0].name
    rng = np.random.default_rng(0)
    # Two batch sizes, so that threads also compile and share two plans.
    inputs = [rng.uniform(0, 1, (1 + i % 2, 28, 28, 1)).astype(np.float32) for i in range(16)]
    expected = [session.run(None, {name: x})[0] for x in inputs]
    results = {}
    errors = []

    def worker(t):
        try:
            for round_ in range(5):
                for i in range(t, len(inputs), 4):
                    results[(t, round_, i)] = session.run(None, {name: inputs[i]})[0]
        except Exception as e:  # reported below, with the thread's name
            errors.append((t, e))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 4 * 5 * 4
    for (_, _, i), out in results.items():
        np.testing.assert_array_equal(out, expected[i])
    assert session.stats()["plans"] == 2


def test_run_releases_the_gil():
    # A run of ~0.3 s or more; while it runs, this thread must keep running
    # Python. Holding the GIL would stall it for the whole run.
    session = bnfold.InferenceSession(seed_model("mobilenetv2"))
    x = np.random.default_rng(1).standard_normal((16, 3, 224, 224)).astype(np.float32)
    session.run(None, {"input": x})  # compile first
    start = time.perf_counter()
    session.run(None, {"input": x})
    run_seconds = time.perf_counter() - start

    done = threading.Event()
    runner = threading.Thread(target=lambda: (session.run(None, {"input": x}), done.set()))
    ticks = []
    runner.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    runner.join()
    gaps = np.diff(ticks) if len(ticks) > 1 else np.array([run_seconds])
    assert len(ticks) > 10, (len(ticks), run_seconds)
    assert gaps.max() < 0.5 * run_seconds, (gaps.max(), run_seconds)
