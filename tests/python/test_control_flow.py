"""Control flow from a real export: a torch.jit.script module (Debian's torch
1.13) with a data-dependent `for` loop whose body holds a Conv +
BatchNormalization and a data-dependent `if`, exported to ONNX (Loop with an
If inside, the Conv/BN parameters captured from the main graph). bnfold's
outputs, with and without its passes, are compared with torch's and ONNX
Runtime's; the file `bnfold optimize` writes has the BN folded inside the
body and still runs on ONNX Runtime with the same outputs."""

import os

import numpy as np
import onnx
import pytest

import bnfold
from conftest import ort_available, require, run_cli, run_ort, scale_error

torch = pytest.importorskip("torch")


class LoopIf(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 3, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(3)

    def forward(self, x, n):
        acc = torch.zeros_like(x)
        for i in range(int(n)):
            acc = self.bn(self.conv(acc + x)) * 0.5
            if bool(acc.sum() > 0):
                acc = acc - float(i)
            else:
                acc = acc + 1.0
        return acc


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    module = LoopIf().eval()
    with torch.no_grad():
        module.bn.running_mean.uniform_(-0.5, 0.5)
        module.bn.running_var.uniform_(0.5, 2.0)
        module.bn.weight.uniform_(0.5, 1.5)
        module.bn.bias.uniform_(-0.2, 0.2)
    scripted = torch.jit.script(module)
    path = str(tmp_path_factory.mktemp("cf") / "loop_if.onnx")
    x = torch.randn(1, 3, 8, 8)
    torch.onnx.export(scripted, (x, torch.tensor(3)), path, opset_version=13,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      input_names=["x", "n"], output_names=["y"])
    return scripted, path


def feeds(seed, n):
    x = np.random.default_rng(seed).standard_normal((1, 3, 8, 8)).astype(np.float32)
    return {"x": x, "n": np.array(n, dtype=np.int64)}


def test_the_export_has_a_loop_with_an_if_and_a_batchnorm_in_its_body(exported):
    model = onnx.load(exported[1])
    loops = [n for n in model.graph.node if n.op_type == "Loop"]
    assert len(loops) == 1
    body = loops[0].attribute[0].g
    assert {"If", "BatchNormalization", "Conv"} <= {n.op_type for n in body.node}


@pytest.mark.parametrize("n", [0, 1, 4])
def test_bnfold_matches_torch_with_and_without_its_passes(exported, n):
    scripted, path = exported
    f = feeds(n, n)
    expected = scripted(torch.from_numpy(f["x"]), torch.tensor(n)).detach().numpy()
    for optimize in (True, False):
        options = bnfold.SessionOptions()
        if not optimize:
            options.graph_optimization_level = bnfold.GraphOptimizationLevel.ORT_DISABLE_ALL
        got = bnfold.InferenceSession(path, options).run(None, f)[0]
        assert got.shape == expected.shape
        assert scale_error(got, expected) < 1e-5, (optimize, n)


def test_onnx_runtime_agrees_on_the_export_and_on_bnfolds_optimized_file(exported, tmp_path):
    require(ort_available(), "ONNX Runtime (scripts/ort/install.sh) is not installed")
    scripted, path = exported
    optimized = str(tmp_path / "loop_if.folded.onnx")
    code, out, err = run_cli("optimize", path, optimized)
    assert code == 0, err
    body = [n for n in onnx.load(optimized).graph.node if n.op_type == "Loop"][0].attribute[0].g
    assert "BatchNormalization" not in {n.op_type for n in body.node}, "the BN folds in the body"
    for n in (2, 5):
        f = feeds(10 + n, n)
        expected = scripted(torch.from_numpy(f["x"]), torch.tensor(n)).detach().numpy()
        for model in (path, optimized):
            work = tmp_path / f"ort_{n}_{os.path.basename(model)}"
            work.mkdir()
            got = run_ort(model, f, str(work))[0]
            assert scale_error(got, expected) < 1e-5, (model, n)
        got = bnfold.InferenceSession(optimized).run(None, f)[0]
        assert scale_error(got, expected) < 1e-5


def test_bnfold_verify_passes_on_the_export(exported, tmp_path):
    _, path = exported
    f = feeds(3, 3)
    np.save(tmp_path / "x.npy", f["x"])
    np.save(tmp_path / "n.npy", f["n"])
    code, out, err = run_cli("verify", path, "--input", f"x={tmp_path / 'x.npy'}",
                             "--input", f"n={tmp_path / 'n.npy'}")
    assert code == 0, out + err
