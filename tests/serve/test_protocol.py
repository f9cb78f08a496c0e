"""The Open Inference Protocol over loopback: every endpoint, every datatype,
JSON and binary tensors, every error status, and the connection staying
usable after each error."""

import json
import re
import socket
import threading

import numpy as np
import pytest

import conftest
from conftest import DATATYPES, Server, infer, request, seed_model, write_repository

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    repo = write_repository(str(tmp_path_factory.mktemp("repo")))
    s = Server([repo, seed_model("mlp"), seed_model("mobilenetv2")],
               "--threads", "1", "--workers", "2", "--max-body-bytes", str(8 << 20),
               "--max-tensor-elements", str(1 << 20))
    yield s
    code, err = s.terminate()
    assert code == 0, err


@pytest.fixture
def conn(server):
    c = server.connect()
    yield c
    c.close()


def error_of(status, body, expected_status, pattern):
    assert status == expected_status, body
    doc = json.loads(body)
    assert set(doc) == {"error"}, doc
    assert pattern in doc["error"], doc["error"]


# ------------------------------------------------------------------ endpoints

def test_health(conn):
    assert request(conn, "GET", "/v2/health/live")[0] == 200
    status, _, body = request(conn, "GET", "/v2/health/ready")
    assert (status, body) == (200, b"")


def test_server_metadata(conn):
    status, headers, body = request(conn, "GET", "/v2")
    assert status == 200 and headers["content-type"] == "application/json"
    doc = json.loads(body)
    assert doc["name"] == "bnfold" and doc["version"]
    assert "binary_tensor_data" in doc["extensions"]


def test_model_metadata(conn):
    status, _, body = request(conn, "GET", "/v2/models/mobilenetv2")
    assert status == 200
    doc = json.loads(body)
    assert doc == {"name": "mobilenetv2", "versions": ["1"], "platform": "onnx_onnxv1",
                   "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 3, 224, 224]}],
                   "outputs": [{"name": "output", "datatype": "FP32", "shape": [-1, 1000]}]}
    status, _, body = request(conn, "GET", "/v2/models/plus")
    assert json.loads(body)["versions"] == ["1", "2"]
    status, _, body = request(conn, "GET", "/v2/models/plus/versions/1")
    assert status == 200 and json.loads(body)["name"] == "plus"
    error_of(*request(conn, "GET", "/v2/models/nope")[::2], 404, "no model named 'nope'")
    error_of(*request(conn, "GET", "/v2/models/plus/versions/3")[::2], 404, "no version '3'")


def test_model_ready(conn):
    assert request(conn, "GET", "/v2/models/mlp/ready")[0] == 200
    assert request(conn, "GET", "/v2/models/plus/versions/2/ready")[0] == 200
    error_of(*request(conn, "GET", "/v2/models/nope/ready")[::2], 404, "no model named")
    error_of(*request(conn, "GET", "/v2/models/plus/versions/9/ready")[::2], 404, "no version")


def test_unknown_routes_are_404_json(conn):
    error_of(*request(conn, "GET", "/v3/whatever")[::2], 404, "no route for GET /v3/whatever")
    error_of(*request(conn, "GET", "/v2/models/mlp/infer")[::2], 404, "no route")
    error_of(*request(conn, "DELETE", "/v2/models/mlp")[::2], 404, "no route")


# ------------------------------------------------------------------ datatypes

def sample(datatype, rows=2):
    np_type = DATATYPES[datatype]
    rng = np.random.default_rng(len(datatype))
    if np_type == "bool":
        return rng.integers(0, 2, (rows, 3)).astype(bool)
    if np.dtype(np_type).kind == "f":
        return rng.uniform(-100, 100, (rows, 3)).astype(np_type)
    info = np.iinfo(np_type)
    # The extremes of the type's half range, so that x + x does not wrap.
    values = [info.min // 2, info.max // 2, 0, 1, 7, info.max // 2 - 1]
    return np.array(values[:rows * 3], dtype=np_type).reshape(rows, 3)


@pytest.mark.parametrize("datatype", sorted(DATATYPES))
@pytest.mark.parametrize("transport", ["json", "binary"])
def test_every_datatype(conn, datatype, transport):
    x = sample(datatype)
    binary = transport == "binary"
    status, outputs, doc = infer(conn, f"dtype_{datatype}", {"x": x},
                                 binary_inputs={"x"} if binary else (), binary_output=binary)
    assert status == 200, doc
    assert outputs["same"].dtype == x.dtype
    np.testing.assert_array_equal(outputs["same"], x)
    if datatype != "BOOL":
        np.testing.assert_array_equal(outputs["doubled"], x + x)
    for out in doc["outputs"]:
        assert out["datatype"] == datatype and out["shape"] == [2, 3]
        assert ("data" in out) != binary


def test_64_bit_integers_exactly_in_json(conn):
    x = np.array([[2**62 + 1, -(2**62) - 3, 9007199254740993]], np.int64)
    status, outputs, _ = infer(conn, "dtype_INT64", {"x": x}, outputs=["same"])
    assert status == 200
    np.testing.assert_array_equal(outputs["same"], x)
    x = np.array([[2**64 - 1, 2**63, 5]], np.uint64)
    status, outputs, _ = infer(conn, "dtype_UINT64", {"x": x}, outputs=["same"])
    np.testing.assert_array_equal(outputs["same"], x)


def test_nested_data_and_bool_spellings(conn):
    body = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "BOOL",
                        "data": [[True, False, 1], [0, True, False]]}]}
    status, _, raw = request(conn, "POST", "/v2/models/dtype_BOOL/infer", json.dumps(body))
    assert status == 200
    assert json.loads(raw)["outputs"][0]["data"] == [True, False, True, False, True, False]
    body = {"inputs": [{"data": [[1.5, 2], [3, 4], [5, 6e-1]], "datatype": "FP32", "shape": [3, 2],
                        "name": "x"}]}  # "data" before "datatype" and "shape"
    status, _, raw = request(conn, "POST", "/v2/models/plus/infer", json.dumps(body))
    assert status == 200
    np.testing.assert_allclose(json.loads(raw)["outputs"][0]["data"], [3.5, 4, 5, 6, 7, 2.6],
                               rtol=1e-6)


# ------------------------------------------------------------------ inference

def test_id_outputs_subset_and_binary_per_output(conn):
    x = sample("INT32")
    status, outputs, doc = infer(conn, "dtype_INT32", {"x": x}, request_id="req-42",
                                 outputs=[{"name": "doubled", "parameters": {"binary_data": True}}])
    assert status == 200 and doc["id"] == "req-42"
    assert doc["model_name"] == "dtype_INT32" and doc["model_version"] == "1"
    assert list(outputs) == ["doubled"]
    assert doc["outputs"][0]["parameters"]["binary_data_size"] == x.nbytes
    np.testing.assert_array_equal(outputs["doubled"], x + x)
    # binary_data_output for all, overridden by one output's binary_data false.
    status, outputs, doc = infer(conn, "dtype_INT32", {"x": x}, binary_output=True,
                                 outputs=[{"name": "same", "parameters": {"binary_data": False}},
                                          "doubled"])
    assert status == 200 and "id" not in doc
    assert "data" in doc["outputs"][0] and "data" not in doc["outputs"][1]
    np.testing.assert_array_equal(outputs["same"], x)


def test_versions_route_to_their_model(conn):
    x = np.array([[1.0, 2.0]], np.float32)
    for path, plus in [("/v2/models/plus/versions/1/infer", 1), ("/v2/models/plus/versions/2/infer", 2),
                       ("/v2/models/plus/infer", 2)]:
        status, outputs, doc = infer(conn, None, {"x": x}, path=path)
        assert status == 200
        np.testing.assert_array_equal(outputs["y"], x + plus)
        assert doc["model_version"] == str(plus)


def test_seed_model_binary_matches_the_python_module(conn):
    import bnfold
    x = np.random.default_rng(5).standard_normal((2, 3, 224, 224)).astype(np.float32)
    status, outputs, _ = infer(conn, "mobilenetv2", {"input": x}, binary_inputs={"input"},
                               binary_output=True)
    assert status == 200
    (expected,) = bnfold.InferenceSession(seed_model("mobilenetv2")).run(None, {"input": x})
    scale = np.abs(expected).max()
    assert np.abs(outputs["output"] - expected).max() <= 1e-5 * scale
    x = np.random.default_rng(6).uniform(0, 1, (3, 784)).astype(np.float32)
    status, outputs, _ = infer(conn, "mlp", {"x:0": x})  # JSON both ways
    (expected,) = bnfold.InferenceSession(seed_model("mlp")).run(None, {"x:0": x})
    np.testing.assert_allclose(outputs["logits/BiasAdd:0"], expected, rtol=1e-6, atol=1e-6)


def test_misaligned_binary_input_is_copied_and_correct(conn):
    # An INT8 input first puts the FP64 tensor after it at an odd offset.
    # (One model with two inputs is not needed: each binary tensor is
    # checked on its own; here the FP64 input alone at offset 0 of a header
    # whose length is not a multiple of 8.)
    x = sample("FP64")
    for pad in range(1, 9):
        doc = {"id": "x" * pad, "inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64",
                                             "parameters": {"binary_data_size": x.nbytes}}]}
        header = json.dumps(doc).encode()
        status, headers, body = request(conn, "POST", "/v2/models/dtype_FP64/infer",
                                        header + x.tobytes(),
                                        {"Inference-Header-Content-Length": str(len(header))})
        assert status == 200, body
        outputs, _ = conftest.decode_response(headers, body)
        np.testing.assert_array_equal(outputs["same"], x)


# ------------------------------------------------------------------ errors

def post(conn, path, body, headers=None):
    status, _, raw = request(conn, "POST", path, body, headers)
    return status, raw


FP32_X = {"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}


@pytest.mark.parametrize("body,pattern", [
    (b"{not json", "malformed JSON at byte"),
    (b"", "malformed JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"inputs": {}}', '"inputs" must be an array'),
    (b'{"id": 5, "inputs": []}', '"id" must be a string'),
    (b'{"outputs": []}', 'no "inputs"'),
    (json.dumps({"inputs": [{"shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]}), 'has no "name"'),
    (json.dumps({"inputs": [dict(FP32_X, name="z")]}), "unknown input 'z'"),
    (json.dumps({"inputs": []}), "input 'x' is missing"),
    (json.dumps({"inputs": [dict(FP32_X, datatype="FP64")]}), "is FP64 but the model expects FP32"),
    (json.dumps({"inputs": [dict(FP32_X, datatype="BYTES")]}), "datatype 'BYTES' is not supported"),
    (json.dumps({"inputs": [dict(FP32_X, shape=[2])]}), "has shape [2] but the model expects [-1,2]"),
    (json.dumps({"inputs": [dict(FP32_X, shape=[1, 3], data=[1, 2, 3])]}), "expects [-1,2]"),
    (json.dumps({"inputs": [dict(FP32_X, shape=[1, -2])]}), "non-negative integers"),
    (json.dumps({"inputs": [dict(FP32_X, data=[1, 2, 3])]}), 'holds 2 elements but "data" has 3'),
    (json.dumps({"inputs": [dict(FP32_X, data=[1, "a"])]}), "numbers or booleans"),
    (json.dumps({"inputs": [dict(FP32_X, data=[1, {"a": 1}])]}), "not objects"),
    (json.dumps({"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32"}]}),
     'neither "data" nor a binary_data_size'),
    (json.dumps({"inputs": [dict(FP32_X, parameters={"binary_data_size": 8})]}),
     'both "data" and binary_data_size'),
    (json.dumps({"inputs": [FP32_X], "outputs": [{"name": "nope"}]}), "unknown output 'nope'"),
    (json.dumps({"inputs": [FP32_X], "parameters": {"binary_data_output": "yes"}}),
     '"binary_data_output" must be true or false'),
    (json.dumps({"inputs": [dict(FP32_X, shape=[1, 2**20 + 1])]}), "more than 1048576 tensor elements"),
    (json.dumps({"inputs": [dict(FP32_X, shape=[2**40, 2**40])]}), "more elements than fit in 64 bits"),
])
def test_bad_requests_are_400(conn, body, pattern):
    error_of(*post(conn, "/v2/models/plus/infer", body), 400, pattern)
    # The connection is still in step: a good request on it works.
    status, outputs, _ = infer(conn, "plus", {"x": np.array([[1, 2]], np.float32)})
    assert status == 200 and outputs["y"].tolist() == [[3, 4]]


@pytest.mark.parametrize("datatype,value,pattern", [
    ("INT8", 300, "(300) is not a INT8 value"),
    ("UINT16", -1, "(-1) is not a UINT16 value"),
    ("INT32", 1.5, "(1.5) is not a INT32 value"),
    ("UINT64", 2**64, "malformed JSON"),  # beyond what JSON numbers parse to exactly: a float
    ("BOOL", 2, "is not a BOOL value"),
])
def test_values_out_of_range_are_400(conn, datatype, value, pattern):
    body = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": datatype, "data": [0, value, 1]}]}
    status, raw = post(conn, f"/v2/models/dtype_{datatype}/infer", json.dumps(body))
    if pattern == "malformed JSON":  # 2**64 parses as a float, which is then no UINT64
        error_of(status, raw, 400, "is not a UINT64 value")
    else:
        error_of(status, raw, 400, pattern)


def binary_body(doc, data):
    header = json.dumps(doc).encode()
    return header + data, {"Inference-Header-Content-Length": str(len(header))}


@pytest.mark.parametrize("doc,data,headers,pattern", [
    ({"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32",
                  "parameters": {"binary_data_size": 4}}]}, b"\0" * 4, None, "takes 8 bytes"),
    ({"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32",
                  "parameters": {"binary_data_size": 8}}]}, b"\0" * 4, None, "past the end of the body"),
    ({"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32",
                  "parameters": {"binary_data_size": 8}}]}, b"\0" * 12, None,
     "the inputs' binary_data_size account for 8"),
    ({"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32",
                  "parameters": {"binary_data_size": 8}}]}, b"\0" * 8,
     {"Inference-Header-Content-Length": "100000"}, "larger than the body"),
    ({"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32",
                  "parameters": {"binary_data_size": 8}}]}, b"\0" * 8,
     {"Inference-Header-Content-Length": "12x"}, "is not a number"),
])
def test_bad_binary_requests_are_400(conn, doc, data, headers, pattern):
    body, default_headers = binary_body(doc, data)
    error_of(*post(conn, "/v2/models/plus/infer", body, headers or default_headers), 400, pattern)
    assert infer(conn, "plus", {"x": np.array([[1, 2]], np.float32)})[0] == 200


def test_binary_without_header_length_is_400(conn):
    doc = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32",
                       "parameters": {"binary_data_size": 8}}]}
    error_of(*post(conn, "/v2/models/plus/infer", json.dumps(doc)), 400,
             "no Inference-Header-Content-Length header")


def test_unknown_model_infer_is_404_and_the_body_is_consumed(conn):
    body = json.dumps({"inputs": [FP32_X]}) + " " * 100000
    error_of(*post(conn, "/v2/models/nope/infer", body), 404, "no model named 'nope'")
    error_of(*post(conn, "/v2/models/plus/versions/7/infer", body), 404, "no version '7'")
    assert infer(conn, "plus", {"x": np.array([[1, 2]], np.float32)})[0] == 200


def test_body_over_the_limit_is_400_without_storing_it(conn, server):
    big = b" " * (9 << 20)  # the server's --max-body-bytes is 8 MiB
    error_of(*post(conn, "/v2/models/plus/infer", big), 400, "over the server's limit of 8388608")
    assert infer(conn, "plus", {"x": np.array([[1, 2]], np.float32)})[0] == 200
    # Chunked, without a Content-Length: the same, counted as it arrives.
    def chunks():
        for _ in range(9):
            yield b" " * (1 << 20)
    conn.request("POST", "/v2/models/plus/infer", body=chunks(),
                 headers={"Transfer-Encoding": "chunked"}, encode_chunked=True)
    response = conn.getresponse()
    error_of(response.status, response.read(), 400, "over the server's limit")
    assert infer(conn, "plus", {"x": np.array([[1, 2]], np.float32)})[0] == 200


def test_expect_100_continue_oversize_is_refused_before_the_body(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(b"POST /v2/models/plus/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        # The status line and the JSON body may arrive in separate segments.
        reply = recv_all(s, quiet=1.0)
    assert reply.startswith(b"HTTP/1.1 400"), reply
    assert b"over the server's limit" in reply


def test_chunked_body_within_the_limit_is_served(conn):
    body = json.dumps({"inputs": [FP32_X]}).encode()
    conn.request("POST", "/v2/models/plus/infer", body=iter([body[:10], body[10:]]),
                 headers={"Transfer-Encoding": "chunked"}, encode_chunked=True)
    response = conn.getresponse()
    assert response.status == 200
    assert json.loads(response.read())["outputs"][0]["data"] == [3, 4]


def recv_all(s, quiet=None):
    """Bytes from socket `s` until the peer closes it or, with `quiet`, until
    it has sent nothing for `quiet` seconds."""
    if quiet is not None:
        s.settimeout(quiet)
    reply = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            if quiet is None:
                raise
            break
        if not chunk:
            break
        reply += chunk
    return reply


def test_garbage_on_the_wire_never_hangs(server):
    for junk in [b"\x00\xff garbage\r\n\r\n", b"POST /v2/models/plus/infer HTTP/1.1\r\n"
                 b"Content-Length: -5\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\r\n\r\n" * 100]:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            reply = recv_all(s)
        assert reply == b"" or reply.startswith(b"HTTP/1.1 4"), reply
    assert infer(server.connect(), "plus", {"x": np.array([[1, 2]], np.float32)})[0] == 200


def test_model_failures_are_500(conn):
    error_of(*post(conn, "/v2/models/bf16/infer",
                   json.dumps({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32",
                                           "data": [1, 2]}]})),
             500, "output 'y' is bfloat16, which the protocol has no datatype for")
    error_of(*post(conn, "/v2/models/reshape5/infer",
                   json.dumps({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32",
                                           "data": [1, 2, 3]}]})),
             500, "cannot reshape [1,3] to [5]")


# ------------------------------------------------------------------ concurrency, metrics

def test_concurrent_clients_get_their_own_answers(server):
    import bnfold
    session = bnfold.InferenceSession(seed_model("mlp"))
    rng = np.random.default_rng(9)
    inputs = [rng.uniform(0, 1, (1 + i % 3, 784)).astype(np.float32) for i in range(24)]
    expected = [session.run(None, {"x:0": x})[0] for x in inputs]
    failures = []

    def client(k):
        conn = server.connect()
        for round_ in range(3):
            for i in range(k, len(inputs), 8):
                binary = (i + round_) % 2 == 0
                status, outputs, doc = infer(conn, "mlp", {"x:0": inputs[i]}, request_id=f"{k}-{i}",
                                             binary_inputs={"x:0"} if binary else (),
                                             binary_output=binary)
                if status != 200 or doc["id"] != f"{k}-{i}" or not np.allclose(
                        outputs["logits/BiasAdd:0"], expected[i], rtol=1e-5, atol=1e-5):
                    failures.append((k, i, status, doc if status != 200 else None))
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_metrics(conn):
    x = np.array([[1, 2]], np.float32)
    assert infer(conn, "plus", {"x": x}, path="/v2/models/plus/versions/1/infer")[0] == 200
    post(conn, "/v2/models/plus/versions/1/infer", b"{bad")
    request(conn, "GET", "/v2/models/nope")
    status, headers, body = request(conn, "GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    key = 'model="plus",version="1"'
    assert samples[f"bnfold_inference_requests_total{{{key}}}"] >= 2
    assert samples[f'bnfold_inference_failures_total{{{key},code="400"}}'] >= 1
    count = samples[f"bnfold_inference_request_duration_seconds_count{{{key}}}"]
    assert samples[f'bnfold_inference_request_duration_seconds_bucket{{{key},le="+Inf"}}'] == count
    assert samples[f'bnfold_inference_request_duration_seconds_bucket{{{key},le="10"}}'] <= count
    assert samples['bnfold_requests_rejected_total{code="404"}'] >= 1
    assert samples["bnfold_requests_in_flight"] == 0
    assert samples[f"bnfold_plan_cache_plans{{{key}}}"] >= 1
    assert samples['bnfold_model_ready{model="mlp",version="1"}'] == 1
    # Every line is a comment or `name{labels} value`: the format Prometheus reads.
    for line in body.decode().splitlines():
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or \
            len(line.rsplit(" ", 1)) == 2


def test_json_elements_are_counted_as_they_arrive(conn):
    # 1.2 M values in 2.4 MB of JSON, under the body limit but over the
    # element budget (1 Mi): refused while streaming, whatever the shape says.
    body = '{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [' + \
        ",".join(["0"] * 1200000) + "]}]}"
    error_of(*post(conn, "/v2/models/plus/infer", body), 400, "more than 1048576 tensor elements")
    assert infer(conn, "plus", {"x": np.array([[1, 2]], np.float32)})[0] == 200


def test_chunked_body_on_a_get_route_is_refused_unread(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(b"GET /v2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        # The head and the body may come in separate segments.
        reply = b""
        while b"\r\n\r\n" not in reply or len(reply.split(b"\r\n\r\n", 1)[1]) < int(
                re.search(rb"Content-Length: (\d+)", reply).group(1)):
            chunk = s.recv(65536)
            assert chunk, reply
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 400") and b"takes no chunked request body" in reply


def test_mutated_requests_never_crash_the_server(server):
    # 400 random mutations of valid JSON and binary requests (bytes flipped,
    # cut, repeated, JSON tokens swapped in): each answer is a 200 or a
    # 400/404 with a JSON error, and the server keeps serving.
    rng = np.random.default_rng(2024)
    doc = {"id": "m", "inputs": [{"name": "x", "shape": [2, 3], "datatype": "INT16",
                                  "data": [[1, 2, 3], [4, 5, 6]]}],
           "outputs": [{"name": "doubled", "parameters": {"binary_data": True}}]}
    json_body = json.dumps(doc).encode()
    header = json.dumps({"inputs": [{"name": "x", "shape": [2, 3], "datatype": "INT16",
                                     "parameters": {"binary_data_size": 12}}]}).encode()
    tokens = [b"[", b"]", b"{", b"}", b",", b":", b'"', b"null", b"true", b"-1", b"1e308",
              b"18446744073709551616", b'"shape"', b'"data"', b'"binary_data_size"', b"\\u0000"]
    conn = server.connect()
    for i in range(400):
        binary = i % 2 == 1
        body = bytearray(header + np.arange(6, dtype=np.int16).tobytes() if binary else json_body)
        for _ in range(rng.integers(1, 4)):
            kind, at = rng.integers(0, 4), int(rng.integers(0, len(body)))
            if kind == 0:
                body[at] = int(rng.integers(0, 256))
            elif kind == 1:
                del body[at:at + int(rng.integers(1, 20))]
            elif kind == 2:
                body[at:at] = tokens[int(rng.integers(0, len(tokens)))]
            else:
                body[at:at] = body[at:at + int(rng.integers(1, 40))]
        headers = {"Inference-Header-Content-Length": str(len(header))} if binary else {}
        status, _, raw = request(conn, "POST", "/v2/models/dtype_INT16/infer", bytes(body), headers)
        assert status in (200, 400), (status, raw, bytes(body))
        if status != 200:
            assert set(json.loads(raw)) == {"error"}
    assert infer(conn, "plus", {"x": np.array([[1, 2]], np.float32)})[0] == 200
