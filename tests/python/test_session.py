"""bnfold.InferenceSession: onnxruntime's API surface, checked against numpy
references computed here."""

import json
import os
import pathlib

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import bnfold
from conftest import FLOAT, make_model, seed_model, tensor_info


def conv_bn_model(**fields):
    """x[batch,2,5,5] -> Conv 3x3 (3 out) -> BatchNormalization -> Relu -> y,
    with known weights; conv_bn_reference computes the same in float64."""
    rng = np.random.default_rng(7)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    scale = np.array([0.5, 2.0, -1.0], np.float32)
    bias = np.array([0.1, -0.2, 0.3], np.float32)
    mean = np.array([0.05, -0.1, 0.2], np.float32)
    var = np.array([1.5, 0.25, 4.0], np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in
             [(w, "W"), (b, "B"), (scale, "scale"), (bias, "bias"), (mean, "mean"), (var, "var")]]
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["n"],
                         name="bn1", epsilon=1e-5),
        helper.make_node("Relu", ["n"], ["y"], name="relu1"),
        helper.make_node("ReduceSum", ["y"], ["total"], name="sum1", keepdims=0),
    ]
    model = make_model(nodes, [tensor_info("x", FLOAT, ["batch", 2, 5, 5])],
                       [tensor_info("y", FLOAT, ["batch", 3, 5, 5]), tensor_info("total", FLOAT, [])],
                       inits, opset=13, **fields)
    return model, (w, b, scale, bias, mean, var)


def conv_bn_reference(x, params):
    w, b, scale, bias, mean, var = (p.astype(np.float64) for p in params)
    n, _, h, wd = x.shape
    padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    conv = np.zeros((n, 3, h, wd))
    for i in range(h):
        for j in range(wd):
            patch = padded[:, :, i:i + 3, j:j + 3]
            conv[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w) + b
    norm = (conv - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5)
    y = np.maximum(norm * scale[:, None, None] + bias[:, None, None], 0)
    return y, y.sum()


@pytest.fixture(scope="module")
def conv_bn(tmp_path_factory):
    model, params = conv_bn_model(producer_name="unit-test", producer_version="1.2",
                                  domain="org.example", model_version=7, doc_string="a model",
                                  graph_name="convnet", graph_doc="the graph")
    helper.set_model_props(model, {"author": "bnfold", "license": "MIT"})
    path = tmp_path_factory.mktemp("conv_bn") / "conv_bn.onnx"
    path.write_bytes(model.SerializeToString())
    return str(path), model, params


def test_run_matches_float64_reference(conv_bn):
    path, _, params = conv_bn
    session = bnfold.InferenceSession(path)
    x = np.random.default_rng(1).standard_normal((4, 2, 5, 5)).astype(np.float32)
    y, total = session.run(None, {"x": x})
    y_ref, total_ref = conv_bn_reference(x, params)
    assert y.dtype == np.float32 and y.shape == (4, 3, 5, 5)
    assert total.shape == ()
    np.testing.assert_allclose(y, y_ref, rtol=0, atol=1e-5 * np.abs(y_ref).max())
    np.testing.assert_allclose(total, total_ref, rtol=1e-5)
    assert session.stats()["batchnorm_before"] == 1
    assert session.stats()["batchnorm_after"] == 0


def test_max_memory_bytes_caps_a_plan(conv_bn):
    """SessionOptions.max_memory_bytes: batch 256's output alone (y: 75 KiB)
    does not fit in 64 KiB; batch 1's plan (300 bytes of y, the weights)
    does."""
    path, _, params = conv_bn
    options = bnfold.SessionOptions()
    assert options.max_memory_bytes is None  # the default cap (64 GiB)
    options.max_memory_bytes = 64 << 10
    session = bnfold.InferenceSession(path, options)
    x = np.random.default_rng(2).standard_normal((256, 2, 5, 5)).astype(np.float32)
    with pytest.raises(bnfold.InvalidArgument, match=r"over the memory cap of 64\.0 KiB"):
        session.run(None, {"x": x})
    y, _ = session.run(None, {"x": x[:1]})
    y_ref, _ = conv_bn_reference(x[:1], params)
    np.testing.assert_allclose(y, y_ref, rtol=0, atol=1e-5 * np.abs(y_ref).max())
    options.max_memory_bytes = 0  # no cap
    y, _ = bnfold.InferenceSession(path, options).run(None, {"x": x})
    y_ref, _ = conv_bn_reference(x, params)
    np.testing.assert_allclose(y, y_ref, rtol=0, atol=1e-5 * np.abs(y_ref).max())


def test_model_from_path_bytes_pathlike_and_proto_agree(conv_bn):
    path, model, _ = conv_bn
    x = np.ones((1, 2, 5, 5), np.float32)
    outputs = [bnfold.InferenceSession(arg).run(["y"], {"x": x})[0]
               for arg in (path, pathlib.Path(path), model.SerializeToString(),
                           bytearray(model.SerializeToString()), model)]
    for out in outputs[1:]:
        np.testing.assert_array_equal(out, outputs[0])
    with pytest.raises(TypeError):
        bnfold.InferenceSession(12)


def test_inputs_outputs_describe_types_and_symbolic_dims(conv_bn):
    session = bnfold.InferenceSession(conv_bn[0])
    (x,) = session.get_inputs()
    assert (x.name, x.type, x.shape) == ("x", "tensor(float)", ["batch", 2, 5, 5])
    y, total = session.get_outputs()
    assert (y.name, y.type, y.shape) == ("y", "tensor(float)", ["batch", 3, 5, 5])
    assert (total.name, total.shape) == ("total", [])
    assert "NodeArg(name='x'" in repr(x)
    assert session.get_overridable_initializers() == []


def test_unnamed_free_dim_is_none():
    model = make_model([helper.make_node("Relu", ["x"], ["y"])],
                       [tensor_info("x", FLOAT, [None, 4])], [tensor_info("y", FLOAT, [None, 4])])
    session = bnfold.InferenceSession(model.SerializeToString())
    assert session.get_inputs()[0].shape == [None, 4]


def test_modelmeta(conv_bn):
    meta = bnfold.InferenceSession(conv_bn[0]).get_modelmeta()
    assert meta.producer_name == "unit-test"
    assert meta.graph_name == "convnet"
    assert meta.domain == "org.example"
    assert meta.description == "a model"
    assert meta.graph_description == "the graph"
    assert meta.version == 7
    assert meta.custom_metadata_map == {"author": "bnfold", "license": "MIT"}


def test_output_subset_and_order(conv_bn):
    session = bnfold.InferenceSession(conv_bn[0])
    x = np.random.default_rng(2).standard_normal((2, 2, 5, 5)).astype(np.float32)
    y, total = session.run(None, {"x": x})
    (only_total,) = session.run(["total"], {"x": x})
    np.testing.assert_array_equal(only_total, total)
    total2, y2 = session.run(["total", "y"], {"x": x})
    np.testing.assert_array_equal(y2, y)
    assert session.run([], {"x": x})[0].shape == y.shape  # [] means every output, as in ORT


def test_options_threads_levels_and_passes(conv_bn):
    path, _, params = conv_bn
    x = np.random.default_rng(3).standard_normal((3, 2, 5, 5)).astype(np.float32)
    y_ref, _ = conv_bn_reference(x, params)
    for level in bnfold.GraphOptimizationLevel:
        options = bnfold.SessionOptions()
        options.intra_op_num_threads = 1
        options.graph_optimization_level = level
        session = bnfold.InferenceSession(path, sess_options=options)
        (y,) = session.run(["y"], {"x": x})
        np.testing.assert_allclose(y, y_ref, rtol=0, atol=1e-5 * np.abs(y_ref).max())
        folded = session.stats()["batchnorm_after"] == 0
        assert folded == (level != bnfold.GraphOptimizationLevel.ORT_DISABLE_ALL), level
    options = bnfold.SessionOptions()
    options.passes = ["cleanup"]  # bnfold's own: no fold-batchnorm
    assert bnfold.InferenceSession(path, options).stats()["batchnorm_after"] == 1
    options.passes = ["no-such-pass"]
    with pytest.raises(bnfold.InvalidArgument, match="no-such-pass"):
        bnfold.InferenceSession(path, options)
    with pytest.raises(AttributeError):
        options.intra_op_threads = 2  # a typo, refused as onnxruntime refuses it
    options = bnfold.SessionOptions()
    options.intra_op_num_threads = -1
    with pytest.raises(bnfold.InvalidArgument):
        bnfold.InferenceSession(path, options)
    options = bnfold.SessionOptions()
    options.add_session_config_entry("session.load_model_format", "ONNX")
    assert options.get_session_config_entry("session.load_model_format") == "ONNX"


def test_optimized_model_filepath_writes_the_folded_model(conv_bn, tmp_path):
    path, _, _ = conv_bn
    out = tmp_path / "folded.onnx"
    options = bnfold.SessionOptions()
    options.optimized_model_filepath = str(out)
    session = bnfold.InferenceSession(path, options)
    assert sorted(os.listdir(tmp_path)) == ["folded.onnx"]  # no temporary left behind
    import onnx
    written = onnx.load(str(out))
    ops = [n.op_type for n in written.graph.node]
    assert "BatchNormalization" not in ops and "Conv" in ops
    x = np.random.default_rng(4).standard_normal((2, 2, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(bnfold.InferenceSession(str(out)).run(None, {"x": x})[0],
                               session.run(None, {"x": x})[0], rtol=1e-6, atol=1e-6)
    # From bytes, and at ORT_DISABLE_ALL the model as written.
    options.optimized_model_filepath = str(tmp_path / "from_bytes.onnx")
    bnfold.InferenceSession(open(path, "rb").read(), options)
    assert "BatchNormalization" not in [n.op_type for n in onnx.load(options.optimized_model_filepath).graph.node]
    options.optimized_model_filepath = str(tmp_path / "as_written.onnx")
    options.graph_optimization_level = bnfold.GraphOptimizationLevel.ORT_DISABLE_ALL
    bnfold.InferenceSession(path, options)
    assert open(options.optimized_model_filepath, "rb").read() == open(path, "rb").read()
    # Never over the input.
    options = bnfold.SessionOptions()
    options.optimized_model_filepath = path
    with pytest.raises(bnfold.InvalidArgument, match="refusing to overwrite"):
        bnfold.InferenceSession(path, options)


def test_profiling_writes_a_trace(conv_bn, tmp_path):
    options = bnfold.SessionOptions()
    options.enable_profiling = True
    options.profile_file_prefix = str(tmp_path / "prof")
    session = bnfold.InferenceSession(conv_bn[0], options)
    x = np.ones((1, 2, 5, 5), np.float32)
    for _ in range(5):
        session.run(None, {"x": x})
    name = session.end_profiling()
    assert name.startswith(str(tmp_path / "prof_")) and name.endswith(".json")
    events = json.load(open(name))
    assert events and all(e["ph"] == "X" and e["dur"] >= 0 for e in events)
    assert any("Conv 'conv1'" in e["name"] for e in events)
    assert all(e["args"]["runs"] == 5 for e in events)
    assert session.get_profiling_start_time_ns() > 0
    assert bnfold.InferenceSession(conv_bn[0]).end_profiling() == ""


def test_errors_name_file_node_and_reason(conv_bn, tmp_path):
    path, _, _ = conv_bn
    session = bnfold.InferenceSession(path)
    x = np.ones((1, 2, 5, 5), np.float32)
    with pytest.raises(bnfold.InvalidArgument, match=r"conv_bn.onnx: input 'x': expected shape"):
        session.run(None, {"x": np.ones((1, 3, 5, 5), np.float32)})
    with pytest.raises(bnfold.InvalidArgument, match="'nope' is not an input"):
        session.run(None, {"x": x, "nope": x})
    with pytest.raises(bnfold.InvalidArgument, match="'nope' is not an output"):
        session.run(["nope"], {"x": x})
    with pytest.raises(bnfold.Error, match="'x'"):
        session.run(None, {})
    with pytest.raises(ValueError, match="input 'x' is numpy complex64 but the model expects "
                       r"tensor\(float\)"):  # InvalidArgument is a ValueError too
        session.run(None, {"x": np.ones((1, 2, 5, 5), np.complex64)})
    with pytest.raises(bnfold.NotFound, match="missing.onnx: no such file"):
        bnfold.InferenceSession(str(tmp_path / "missing.onnx"))
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00\x01 not a model")
    with pytest.raises(bnfold.InvalidModel, match="garbage.onnx: not an ONNX model"):
        bnfold.InferenceSession(str(garbage))
    bad = make_model([helper.make_node("Conv", ["x", "W"], ["y"], name="c7", kernel_shape=[3, 3])],
                     [tensor_info("x", FLOAT, [1, 2, 5, 5])], [tensor_info("y", FLOAT, [1, 3, 3, 3])],
                     [numpy_helper.from_array(np.ones((3, 2, 3), np.float32), "W")])
    bad_path = tmp_path / "bad.onnx"
    bad_path.write_bytes(bad.SerializeToString())
    with pytest.raises(bnfold.Error, match=r"bad.onnx: .*Conv 'c7'"):
        bnfold.InferenceSession(str(bad_path)).run(None, {"x": x})
    tfidf = helper.make_node("TfIdfVectorizer", ["x"], ["y"], name="tf1", mode="TF",
                             min_gram_length=1, max_gram_length=1, max_skip_count=0,
                             ngram_counts=[0], ngram_indexes=[0, 1, 2, 3],
                             pool_int64s=[1, 2, 3, 4])
    unsupported = make_model([tfidf], [tensor_info("x", TensorProto.INT32, [2, 3])],
                             [tensor_info("y", TensorProto.FLOAT, [2, 4])])
    with pytest.raises(NotImplementedError, match="TfIdfVectorizer 'tf1'.*not supported"):
        bnfold.InferenceSession(unsupported.SerializeToString())


def test_onnxruntime_names_exist():
    assert bnfold.get_available_providers() == ["CPUExecutionProvider"]
    assert bnfold.get_device() == "CPU"
    for name in ["InferenceSession", "SessionOptions", "RunOptions", "GraphOptimizationLevel",
                 "ExecutionMode", "NodeArg", "ModelMetadata", "InvalidArgument", "Fail",
                 "InvalidGraph", "NoSuchFile", "NotImplemented", "RuntimeException"]:
        assert hasattr(bnfold, name), name
    assert issubclass(bnfold.InvalidGraph, bnfold.Error)


def test_seed_model_runs_with_run_options():
    session = bnfold.InferenceSession(seed_model("mlp"))
    x = np.random.default_rng(5).uniform(0, 1, (3, 784)).astype(np.float32)
    (logits,) = session.run(None, {"x:0": x}, bnfold.RunOptions())
    assert logits.shape == (3, 10) and np.isfinite(logits).all()
