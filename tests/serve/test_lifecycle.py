"""`bnfold serve` as a process: start-up errors, readiness, the admission
limit (503 when busy), draining, and SIGTERM while requests are in flight:
every request the server accepted is answered, and it exits 0."""

import json
import os
import re
import socket
import subprocess
import threading
import time

import numpy as np
import pytest

from conftest import BNFOLD_BINARY, Server, infer, request, seed_model


def run(*args, timeout=60):
    done = subprocess.run([BNFOLD_BINARY, *args], capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def test_usage_and_startup_errors_exit_2(tmp_path):
    code, out, _ = run("serve", "--help")
    assert code == 0 and "usage: bnfold serve" in out
    assert run("serve")[0] == 2
    code, _, err = run("serve", str(tmp_path / "missing.onnx"))
    assert code == 2 and "missing.onnx: no such file or folder" in err
    code, _, err = run("serve", str(tmp_path))
    assert code == 2 and "no models found" in err
    code, _, err = run("serve", seed_model("mlp"), "--port", "70000")
    assert code == 2 and "--port must be between 0 and 65535" in err
    code, _, err = run("serve", seed_model("mlp"), seed_model("keras_cnn"), "--model-name", "m")
    assert code == 2 and "--model-name names one model" in err
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    code, out, err = run("serve", str(bad), "--port", "0", "--json")
    assert code == 2 and "bad.onnx: not an ONNX model" in err
    assert json.loads(out.splitlines()[0])["port"] > 0  # it had started listening


def test_port_in_use_exits_2():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code, _, err = run("serve", seed_model("mlp"), "--port", str(port))
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err


def test_model_name_and_file_layout():
    server = Server([seed_model("mlp")], "--model-name", "digits")
    try:
        info = server.info["models"]
        assert [(m["name"], m["version"]) for m in info] == [("digits", "1")]
        conn = server.connect()
        assert request(conn, "GET", "/v2/models/digits/ready")[0] == 200
        status, outputs, doc = infer(conn, "digits", {"x:0": np.zeros((1, 784), np.float32)})
        assert status == 200 and doc["model_name"] == "digits"
    finally:
        assert server.terminate()[0] == 0


def test_ready_only_after_loading_and_503_while_draining():
    server = Server([seed_model("resnet50")], "--drain-seconds", "3", wait_ready=False)
    try:
        conn = server.connect()
        seen = set()
        deadline = time.time() + 120
        while time.time() < deadline:
            status = request(conn, "GET", "/v2/health/ready")[0]
            seen.add(status)
            if status == 200:
                break
        assert 200 in seen and seen <= {200, 503}
        print("ready statuses seen", seen)
        # SIGTERM with --drain-seconds 3: ready says 503 at once, requests are
        # still served, then the server stops.
        server.process.send_signal(15)
        deadline = time.time() + 2
        while request(conn, "GET", "/v2/health/ready")[0] != 503:
            assert time.time() < deadline
        status, _, body = request(conn, "GET", "/v2/health/ready")
        assert json.loads(body) == {"error": "shutting down"}
        assert request(conn, "GET", "/v2/health/live")[0] == 200
        assert request(conn, "GET", "/v2/models/resnet50")[0] == 200
    finally:
        code, err = server.terminate()
    assert code == 0, err


def test_busy_server_answers_503():
    server = Server([seed_model("resnet50"), seed_model("mlp")], "--max-concurrency", "1",
                    "--workers", "1")
    try:
        x = np.random.default_rng(0).standard_normal((8, 3, 224, 224)).astype(np.float32)
        slow = {}

        def slow_request():
            slow["result"] = infer(server.connect(timeout=300), "resnet50", {"input": x},
                                   binary_inputs={"input"}, binary_output=True)

        t = threading.Thread(target=slow_request)
        t.start()
        conn = server.connect()
        # Wait until the slow request is in flight.
        while True:
            metrics = request(conn, "GET", "/metrics")[2].decode()
            if re.search(r"^bnfold_requests_in_flight 1$", metrics, re.M):
                break
            assert t.is_alive(), slow
        status, doc, _ = infer(conn, "mlp", {"x:0": np.zeros((1, 784), np.float32)})
        t.join()
        assert status == 503 and "server busy" in doc["error"] and "--max-concurrency" in doc["error"]
        assert slow["result"][0] == 200
        # (A new connection: the first sat idle past the keep-alive timeout.)
        assert infer(server.connect(), "mlp", {"x:0": np.zeros((1, 784), np.float32)})[0] == 200
    finally:
        assert server.terminate()[0] == 0


def test_sigterm_while_busy_answers_every_accepted_request():
    # Clients keep sending (binary tensors to MobileNetV2, JSON to the MLP);
    # SIGTERM arrives mid-load. A request either gets a complete 200 whose
    # outputs match the Python module's on the same input, or its connection
    # is refused/closed before any byte of a response (it was never
    # accepted). The requests in flight at the signal are answered, and the
    # number of 200s the clients received equals what the server says it
    # received and answered.
    import http.client
    server = Server([seed_model("mobilenetv2"), seed_model("mlp")], "--threads", "1",
                    "--workers", "2")
    rng = np.random.default_rng(1)
    cases = {"mobilenetv2": ("input", "output",
                             rng.standard_normal((1, 3, 224, 224)).astype(np.float32), True),
             "mlp": ("x:0", "logits/BiasAdd:0",
                     rng.standard_normal((2, 784)).astype(np.float32), False)}
    import bnfold
    expected = {model: bnfold.InferenceSession(seed_model(model)).run(None, {name: x})[0]
                for model, (name, _, x, _) in cases.items()}
    counts = {"ok": 0, "refused": 0, "bad": []}
    lock = threading.Lock()
    stop = threading.Event()

    def client(model):
        input_name, output_name, x, binary = cases[model]
        conn = None
        while not stop.is_set():
            try:
                if conn is None:
                    conn = server.connect(timeout=120)
                if binary:
                    status, outputs, doc = infer(conn, model, {input_name: x},
                                                 binary_inputs={input_name}, binary_output=True)
                else:
                    status, outputs, doc = infer(conn, model, {input_name: x})
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine,
                    OSError) as e:
                with lock:
                    counts["refused"] += 1
                conn = None
                if isinstance(e, ConnectionRefusedError):
                    return
                continue
            with lock:
                reference = expected[model]
                if status == 200 and outputs[output_name].shape == reference.shape and \
                        np.abs(outputs[output_name] - reference).max() <= \
                        1e-5 * np.abs(reference).max():
                    counts["ok"] += 1
                else:
                    counts["bad"].append((model, status, doc))

    clients = [threading.Thread(target=client, args=(model,))
               for model in ["mobilenetv2"] * 4 + ["mlp"] * 2]
    for c in clients:
        c.start()
    # A few answers first, however slow the machine, then the signal mid-load.
    deadline = time.time() + 120
    while counts["ok"] < 12 and not counts["bad"] and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    with lock:
        before = counts["ok"]
        server.process.send_signal(15)
    code, err = server.terminate(timeout=120)
    stop.set()
    for c in clients:
        c.join()
    print("sigterm counts", before, counts)
    assert code == 0, err
    assert counts["bad"] == []
    # Some requests were answered before the signal, and the ones in flight
    # at the signal after it.
    assert 0 < before < counts["ok"]
    received, answered, ok = map(int, re.search(
        r"stopped: (\d+) inference requests received, (\d+) answered \((\d+) with 200\)",
        err).groups())
    assert received == answered == ok == counts["ok"], (received, answered, ok, counts)
