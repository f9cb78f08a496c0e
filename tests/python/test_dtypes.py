"""Every numpy dtype onnxruntime users feed, in and out, and when an input is
read in place versus copied."""

import numpy as np
import pytest
from onnx import TensorProto, helper, mapping

import bnfold
from conftest import make_model, tensor_info

NUMERIC = ["float32", "float16", "float64", "int8", "int16", "int32", "int64",
           "uint8", "uint16", "uint32", "uint64"]


def dtype_model(np_type):
    """x[n,3] of np_type -> doubled = x + x (numeric), as_float = Cast(x),
    same = Cast(x) to its own type (every type, bool included)."""
    elem = mapping.NP_TYPE_TO_TENSOR_TYPE[np.dtype(np_type)]
    nodes = [helper.make_node("Cast", ["x"], ["as_float"], to=TensorProto.FLOAT),
             helper.make_node("Cast", ["x"], ["same"], to=elem)]
    outputs = [tensor_info("as_float", TensorProto.FLOAT, ["n", 3]),
               tensor_info("same", elem, ["n", 3])]
    if np_type != "bool":
        nodes.append(helper.make_node("Add", ["x", "x"], ["doubled"]))
        outputs.append(tensor_info("doubled", elem, ["n", 3]))
    return make_model(nodes, [tensor_info("x", elem, ["n", 3])], outputs).SerializeToString()


def sample(np_type, rows=4):
    rng = np.random.default_rng(11)
    if np_type == "bool":
        return rng.integers(0, 2, (rows, 3)).astype(bool)
    if np.dtype(np_type).kind == "f":
        return rng.uniform(-50, 50, (rows, 3)).astype(np_type)
    info = np.iinfo(np_type)
    # Halves of the range, so that x + x does not wrap.
    return rng.integers(max(info.min // 2, -10**6), min(info.max // 2, 10**6), (rows, 3)).astype(np_type)


@pytest.mark.parametrize("np_type", NUMERIC + ["bool"])
def test_dtype_round_trip(np_type):
    session = bnfold.InferenceSession(dtype_model(np_type))
    assert session.get_inputs()[0].type == "tensor(%s)" % {
        "float32": "float", "float64": "double"}.get(np_type, np_type)
    x = sample(np_type)
    outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"x": x})))
    assert outputs["same"].dtype == np.dtype(np_type)
    np.testing.assert_array_equal(outputs["same"], x)
    assert outputs["as_float"].dtype == np.float32
    np.testing.assert_array_equal(outputs["as_float"], x.astype(np.float32))
    if np_type != "bool":
        assert outputs["doubled"].dtype == np.dtype(np_type)
        np.testing.assert_array_equal(outputs["doubled"], x + x)


def test_extreme_integers_survive():
    session = bnfold.InferenceSession(dtype_model("int64"))
    x = np.array([[np.iinfo(np.int64).max, np.iinfo(np.int64).min, 1]] * 2, np.int64)
    (same,) = session.run(["same"], {"x": x})
    np.testing.assert_array_equal(same, x)
    session = bnfold.InferenceSession(dtype_model("uint64"))
    x = np.array([[np.iinfo(np.uint64).max, 0, 2**63 + 5]], np.uint64)
    np.testing.assert_array_equal(session.run(["same"], {"x": x})[0], x)


def feed(array, dtype="float32"):
    return bnfold._bnfold._feed("x", array, dtype)


def test_contiguous_right_dtype_is_read_in_place():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    address, copied = feed(x)
    assert (address, copied) == (x.ctypes.data, False)
    x.setflags(write=False)  # read-only arrays too
    assert feed(x) == (x.ctypes.data, False)
    view = np.arange(24, dtype=np.float32).reshape(8, 3)[2:6]  # a contiguous slice
    assert feed(view) == (view.ctypes.data, False)


@pytest.mark.parametrize("make", [
    lambda: np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2],      # strided
    lambda: np.asfortranarray(np.arange(12, dtype=np.float32).reshape(4, 3)),
    lambda: np.arange(12, dtype=np.float64).reshape(4, 3),               # other dtype
    lambda: np.arange(12, dtype=">f4").reshape(4, 3),                    # big-endian
    lambda: np.frombuffer(b"\0" + np.arange(12, dtype=np.float32).tobytes(), np.float32,
                          offset=1).reshape(4, 3),                      # misaligned
    lambda: [[1.0, 2.0, 3.0]],                                           # a list
])
def test_anything_else_is_copied_and_still_correct(make):
    x = make()
    address, copied = feed(x)
    assert copied
    session = bnfold.InferenceSession(dtype_model("float32"))
    (same,) = session.run(["same"], {"x": x})
    assert same.dtype == np.float32
    np.testing.assert_array_equal(same, np.asarray(x, dtype=np.float32))


def test_unsafe_conversions_are_refused():
    session = bnfold.InferenceSession(dtype_model("int32"))
    with pytest.raises(bnfold.InvalidArgument, match="float32.*tensor\\(int32\\)"):
        session.run(None, {"x": np.ones((2, 3), np.float32)})
    session = bnfold.InferenceSession(dtype_model("float32"))
    with pytest.raises(bnfold.InvalidArgument, match="has no ONNX tensor type|complex"):
        session.run(None, {"x": np.ones((2, 3), np.complex64)})


def test_outputs_own_their_memory():
    session = bnfold.InferenceSession(dtype_model("float32"))
    x = sample("float32")
    (first,) = session.run(["same"], {"x": x})
    (second,) = session.run(["same"], {"x": x * 2})
    np.testing.assert_array_equal(first, x)  # not overwritten by the next run
    assert first.flags.owndata is False and first.base is not None
    first[0, 0] = 123.0  # writable, as onnxruntime's
    del second
