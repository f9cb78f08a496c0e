"""bnfold.optimize / verify / inspect against the CLI's --json output: the
same documents, number for number."""

import json
import os

import numpy as np
import onnx
import pytest

import bnfold
from conftest import run_cli, seed_model


def cli_json(*args):
    code, out, err = run_cli(*args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("name", ["keras_cnn", "mlp_untrained_stats", "mobilenetv2"])
def test_inspect_is_the_cli_document(name):
    path = seed_model(name)
    assert bnfold.inspect(path) == cli_json("inspect", path)
    from_bytes = bnfold.inspect(open(path, "rb").read())
    assert from_bytes.pop("model") == "<memory>"
    expected = cli_json("inspect", path)
    expected.pop("model")
    assert from_bytes == expected


def test_inspect_with_passes_says_why_not():
    path = seed_model("keras_cnn")
    doc = bnfold.inspect(path, passes="cleanup")
    assert doc == cli_json("inspect", path, "--passes", "cleanup")
    assert all(bn["folds_into"] is None for bn in doc["batchnorm"])
    assert all(bn["reason"] for bn in doc["batchnorm"])


@pytest.mark.parametrize("name", ["keras_cnn", "mlp"])
def test_verify_is_the_cli_document(name):
    path = seed_model(name)
    doc = bnfold.verify(path, seeds=2, batch=3)
    assert doc == cli_json("verify", path, "--seeds", "2", "--batch", "3")
    assert doc["pass"] and doc["runs"] == 2
    assert doc["outputs"][0]["max_rel_err"] < 1e-4


def test_verify_with_given_inputs(tmp_path):
    path = seed_model("mlp")
    x = np.random.default_rng(3).uniform(0, 1, (5, 784)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    doc = bnfold.verify(path, inputs={"x:0": x})
    assert doc == cli_json("verify", path, "--input", f"x:0={tmp_path / 'x.npy'}")
    assert doc["runs"] == 1 and doc["outputs"][0]["worst"]["seed"] is None


def test_verify_reports_a_mismatch_like_the_cli():
    path = seed_model("mlp")
    doc = bnfold.verify(path, rtol=0, atol=0, seeds=1)
    code, out, _ = run_cli("verify", path, "--rtol", "0", "--atol", "0", "--seeds", "1", "--json")
    assert json.loads(out) == doc
    assert code == (0 if doc["pass"] else 1)
    with pytest.raises(bnfold.InvalidArgument, match="--seeds"):
        bnfold.verify(path, seeds=0)


def test_optimize_matches_the_cli_and_writes_atomically(tmp_path):
    path = seed_model("keras_cnn")
    cli_out = tmp_path / "cli.onnx"
    expected = cli_json("optimize", path, str(cli_out))
    out = tmp_path / "py.onnx"
    model_bytes, report = bnfold.optimize(path, out)
    assert report.pop("output") == str(out)
    expected.pop("output")
    assert report == expected
    assert model_bytes == out.read_bytes() == cli_out.read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["cli.onnx", "py.onnx"]
    # Into memory only, from a path, from bytes and from a ModelProto: the same model.
    for source in (path, open(path, "rb").read(), onnx.load(path)):
        again, report = bnfold.optimize(source)
        assert again == model_bytes and report["output"] is None
        assert report["batchnorm_before"] == 3 and report["batchnorm_after"] == 0
    with pytest.raises(bnfold.InvalidArgument, match="refusing to overwrite"):
        bnfold.optimize(path, path)


def test_optimize_check_n_like_onnx_simplifier():
    model_bytes, report = bnfold.optimize(seed_model("mlp"), check_n=2)
    assert report["ok"] is True and report["check"]["runs"] == 2
    folded = onnx.load_from_string(model_bytes)
    assert "BatchNormalization" not in [n.op_type for n in folded.graph.node]
    _, report = bnfold.optimize(seed_model("mlp"), passes=["cleanup"], check_n=1)
    assert report["batchnorm_after"] == 2 and report["ok"] is True


def test_available_passes_lists_the_pipeline():
    passes = bnfold.available_passes()
    assert "fold-batchnorm" in passes and "cleanup" in passes
