"""--max-batch: concurrent requests to a model run as one batch, and each
request gets exactly its own rows back."""

import re
import threading

import numpy as np
import pytest

from conftest import Server, infer, request, seed_model, write_repository


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    repo = write_repository(str(tmp_path_factory.mktemp("repo")))
    # One worker and a 50 ms window: requests sent together are batched.
    s = Server([repo, seed_model("keras_cnn")], "--threads", "1", "--workers", "1",
               "--max-batch", "8", "--batch-window-us", "50000")
    yield s
    code, err = s.terminate()
    assert code == 0, err


def counters(server):
    text = request(server.connect(), "GET", "/metrics")[2].decode()
    runs = int(re.search(r"^bnfold_session_runs_total (\d+)$", text, re.M).group(1))
    requests = int(re.search(r"^bnfold_session_run_requests_total (\d+)$", text, re.M).group(1))
    return runs, requests


def together(server, calls):
    """Runs the calls (functions of a connection) at once; their results."""
    results = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def go(i):
        conn = server.connect()
        barrier.wait()
        results[i] = calls[i](conn)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_requests_are_batched_and_split_back(server):
    import bnfold
    session = bnfold.InferenceSession(seed_model("keras_cnn"))
    rng = np.random.default_rng(3)
    inputs = [rng.uniform(0, 1, (rows, 28, 28, 1)).astype(np.float32) for rows in (1, 2, 1, 3)]
    runs0, requests0 = counters(server)
    results = together(server, [
        lambda conn, x=x, i=i: infer(conn, "keras_cnn", {"input_1": x}, request_id=str(i),
                                     binary_inputs={"input_1"} if i % 2 else (),
                                     binary_output=bool(i % 2))
        for i, x in enumerate(inputs)])
    runs1, requests1 = counters(server)
    assert requests1 - requests0 == 4
    assert runs1 - runs0 < 4, "no batch formed"
    for i, (status, outputs, doc) in enumerate(results):
        assert status == 200 and doc["id"] == str(i)
        (expected,) = session.run(None, {"input_1": inputs[i]})
        assert outputs["dense_2"].shape == expected.shape
        np.testing.assert_allclose(outputs["dense_2"], expected, rtol=1e-5, atol=1e-6)


def test_different_shapes_and_output_subsets_do_not_mix(server):
    x2 = np.arange(6, dtype=np.int32).reshape(2, 3)
    x1 = np.arange(3, dtype=np.int32).reshape(1, 3) + 100
    results = together(server, [
        lambda conn: infer(conn, "dtype_INT32", {"x": x2}, outputs=["doubled"]),
        lambda conn: infer(conn, "dtype_INT32", {"x": x1}, outputs=["same"]),
        lambda conn: infer(conn, "dtype_INT32", {"x": x1}),
    ])
    assert [r[0] for r in results] == [200, 200, 200]
    np.testing.assert_array_equal(results[0][1]["doubled"], x2 * 2)
    assert list(results[1][1]) == ["same"]
    np.testing.assert_array_equal(results[1][1]["same"], x1)
    np.testing.assert_array_equal(results[2][1]["doubled"], x1 * 2)


def test_a_model_that_mixes_rows_falls_back_to_single_runs(server):
    xs = [np.full((1, 3), float(i + 1), np.float32) for i in range(3)]
    results = together(server, [lambda conn, x=x: infer(conn, "rowsum", {"x": x}) for x in xs])
    for x, (status, outputs, _) in zip(xs, results):
        assert status == 200
        np.testing.assert_array_equal(outputs["y"], x.sum(axis=0))
