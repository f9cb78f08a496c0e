"""`bnfold serve` over loopback: a server process per test module (or per
test, for the lifecycle tests), a model repository of small models written
here, and a client speaking the protocol with http.client."""

import http.client
import json
import os
import select
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from onnx import TensorProto, helper, mapping

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BNFOLD_BINARY = os.environ.get("BNFOLD_BINARY", os.path.join(ROOT, "build", "bnfold"))
MODELS_DIR = os.environ.get("BNFOLD_MODELS_DIR", os.path.join(ROOT, "models"))

sys.path.insert(0, os.path.join(ROOT, "tests", "test_util"))
from pytest_dependency import pytest_sessionfinish, require  # noqa: E402,F401

# Protocol datatype -> numpy dtype.
DATATYPES = {"BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32",
             "UINT64": "uint64", "INT8": "int8", "INT16": "int16", "INT32": "int32",
             "INT64": "int64", "FP16": "float16", "FP32": "float32", "FP64": "float64"}


def seed_model(name):
    path = os.path.join(MODELS_DIR, name + ".onnx")
    require(os.path.exists(path), f"{path} is missing: scripts/models.sh writes it")
    return path


def _save(model, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    model.ir_version = 8
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


def _model(nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def write_repository(root):
    """A model repository (NAME/VERSION/model.onnx):
    - dtype_<DATATYPE> v1: x[n,3] -> same = Cast(x) to its own type, and
      doubled = x + x (not for BOOL);
    - plus v1 and v2: y = x + 1 and y = x + 2 on FP32 x[n,2];
    - bf16 v1: y = Cast(x) to bfloat16 (no protocol datatype: a 500);
    - reshape5 v1: y = Reshape(x[n,3], [5]) (fails unless the input has 5 elements);
    - rowsum v1: y[3] = ReduceSum(x[n,3]) over the rows (mixes samples: not
      batchable, though its input is).
    """
    for datatype, np_type in DATATYPES.items():
        elem = mapping.NP_TYPE_TO_TENSOR_TYPE[np.dtype(np_type)]
        nodes = [helper.make_node("Cast", ["x"], ["same"], to=elem)]
        outputs = [helper.make_tensor_value_info("same", elem, ["n", 3])]
        if datatype != "BOOL":
            nodes.append(helper.make_node("Add", ["x", "x"], ["doubled"]))
            outputs.append(helper.make_tensor_value_info("doubled", elem, ["n", 3]))
        _save(_model(nodes, [helper.make_tensor_value_info("x", elem, ["n", 3])], outputs),
              os.path.join(root, f"dtype_{datatype}", "1", "model.onnx"))
    for version in (1, 2):
        c = helper.make_tensor("c", TensorProto.FLOAT, [], [float(version)])
        _save(_model([helper.make_node("Add", ["x", "c"], ["y"])],
                     [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2])],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2])], [c]),
              os.path.join(root, "plus", str(version), "model.onnx"))
    _save(_model([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.BFLOAT16)],
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                 [helper.make_tensor_value_info("y", TensorProto.BFLOAT16, [2])]),
          os.path.join(root, "bf16", "1", "model.onnx"))
    shape = helper.make_tensor("s", TensorProto.INT64, [1], [5])
    _save(_model([helper.make_node("Reshape", ["x", "s"], ["y"])],
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [5])], [shape]),
          os.path.join(root, "reshape5", "1", "model.onnx"))
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [0])
    _save(_model([helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)],
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])], [axes]),
          os.path.join(root, "rowsum", "1", "model.onnx"))
    return root


class Server:
    """A `bnfold serve` process on a free port."""

    def __init__(self, paths, *flags, wait_ready=True):
        self.process = subprocess.Popen(
            [BNFOLD_BINARY, "serve", *paths, "--port", "0", "--json", *flags],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self._line(timeout=60)
        self.info = json.loads(line)
        self.port = self.info["port"]
        if wait_ready:
            ready = json.loads(self._line(timeout=300))
            assert ready.get("ready") is True, ready

    def _line(self, timeout):
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            self.process.kill()
            raise AssertionError("bnfold serve printed nothing: " + self.process.stderr.read())
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError("bnfold serve exited: " + self.process.stderr.read())
        return line

    def connect(self, timeout=60):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def terminate(self, timeout=60):
        """SIGTERM; returns (exit code, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            _, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
            raise AssertionError("bnfold serve did not stop after SIGTERM: " + err)
        return self.process.returncode, err


# The server closes a connection idle for this long (--keep-alive-seconds).
KEEP_ALIVE_SECONDS = 5


def request(conn, method, path, body=None, headers=None):
    """(status, headers dict (lower-case names), body bytes) on `conn`. A
    connection that sat idle past the server's keep-alive timeout (the server
    closed it, as it should) is reopened once; a connection in use is not, so
    that a server breaking one mid-conversation still fails the test."""
    idle = time.monotonic() - getattr(conn, "last_used", time.monotonic())
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
    except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
        if idle < KEEP_ALIVE_SECONDS - 1:
            raise
        conn.close()
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
    data = response.read()
    conn.last_used = time.monotonic()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def infer(conn, model, inputs, outputs=None, binary_inputs=(), binary_output=None,
          request_id=None, path=None):
    """POST an inference. `inputs`: {name: ndarray}; those in `binary_inputs`
    go as binary data. Returns (status, {output name: ndarray} or error doc,
    response doc)."""
    doc = {"inputs": []}
    if request_id is not None:
        doc["id"] = request_id
    blobs = []
    for name, array in inputs.items():
        datatype = {v: k for k, v in DATATYPES.items()}[str(array.dtype)]
        entry = {"name": name, "shape": list(array.shape), "datatype": datatype}
        if name in binary_inputs:
            raw = np.ascontiguousarray(array).tobytes()
            entry["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
        else:
            entry["data"] = array.flatten().tolist()
        doc["inputs"].append(entry)
    if outputs is not None:
        doc["outputs"] = [o if isinstance(o, dict) else {"name": o} for o in outputs]
    if binary_output is not None:
        doc["parameters"] = {"binary_data_output": binary_output}
    header = json.dumps(doc).encode()
    headers = {"Content-Type": "application/json"}
    if blobs:
        headers["Inference-Header-Content-Length"] = str(len(header))
        headers["Content-Type"] = "application/octet-stream"
    status, response_headers, body = request(
        conn, "POST", path or f"/v2/models/{model}/infer", header + b"".join(blobs), headers)
    return status, *decode_response(response_headers, body)


def decode_response(headers, body):
    if "inference-header-content-length" in headers:
        length = int(headers["inference-header-content-length"])
        doc, binary = json.loads(body[:length]), body[length:]
    else:
        doc, binary = json.loads(body), b""
    if "error" in doc:
        return doc, doc
    results, offset = {}, 0
    for out in doc["outputs"]:
        dtype = np.dtype(DATATYPES[out["datatype"]])
        if "data" in out:
            data = [np.nan if v is None else v for v in out["data"]]
            results[out["name"]] = np.array(data, dtype=dtype).reshape(out["shape"])
        else:
            size = out["parameters"]["binary_data_size"]
            results[out["name"]] = np.frombuffer(binary[offset:offset + size], dtype).reshape(out["shape"])
            offset += size
    assert offset == len(binary)
    return results, doc
