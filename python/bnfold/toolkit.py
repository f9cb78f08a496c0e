"""The folding toolkit: `bnfold optimize`, `verify` and `inspect` as
functions. Each returns the document the CLI prints with --json (the CLI
contract in docs/DESIGN.md), parsed: the same numbers, from the same code.

    model_bytes, report = bnfold.optimize("model.onnx", check_n=3)
    report["batchnorm_before"], report["batchnorm_after"], report["ok"]
    bnfold.inspect("model.onnx")["batchnorm"][0]["reason"]
"""

import json
import os

from . import _bnfold
from .session import _model_argument


def _pass_list(passes):
    if passes is None:
        return []
    if isinstance(passes, str):
        passes = passes.split(",")
    return [str(p) for p in passes]


def optimize(model_or_path, output_path=None, passes=None, check_n=0, rtol=1e-4, atol=1e-5):
    """Folds BatchNormalization (and friends) like `bnfold optimize`.

    model_or_path: a path, the model's bytes, or an onnx.ModelProto.
    output_path: also write the result there (atomically; never over the input).
    passes: pass names (list or "a,b"), default the whole pipeline.
    check_n: as onnx-simplifier's, run the folded and the unfolded model on
      check_n random input sets and compare (bnfold.verify); the result is
      in report["check"] and report["ok"].

    Returns (model_bytes, report): report is `bnfold optimize --json`'s
    document. model_bytes is None only when the weights had to go to an
    external-data file (input with external data, or over 2 GiB): read
    output_path then.
    """
    model = _model_argument(model_or_path)
    out = os.fspath(output_path) if output_path is not None else ""
    model_bytes, report_json = _bnfold.optimize(model, out, _pass_list(passes))
    report = json.loads(report_json)
    if model_bytes is None and out and report.get("external_data") is None:
        with open(out, "rb") as f:
            model_bytes = f.read()
    if check_n:
        check = verify(model, seeds=check_n, passes=passes, rtol=rtol, atol=atol,
                       random_inputs=True)
        report["check"] = check
        report["ok"] = check["pass"]
    return model_bytes, report


def verify(model_or_path, inputs=None, random_inputs=False, batch=1, seeds=3, rtol=1e-4,
           atol=1e-5, passes=None, threads=0):
    """Runs the model with and without the passes and compares every output,
    like `bnfold verify`; returns its --json document ("pass", "outputs": [{
    "name", "max_abs_err", "max_rel_err", ...}], "batchnorm_folded", ...).

    inputs: {name: array} fed as given; inputs not given are random (seeded
    0..seeds-1, dims the model leaves open take `batch`), as the CLI makes
    them. With every input given, they are the only set unless random_inputs.
    """
    model = _model_argument(model_or_path)
    return json.loads(_bnfold.verify(model, dict(inputs or {}), bool(random_inputs), int(batch),
                                     int(seeds), float(rtol), float(atol), _pass_list(passes),
                                     int(threads)))


def inspect(model_or_path, passes=None):
    """`bnfold inspect --json`: op counts and, for each BatchNormalization,
    what it folds into or why not, with diagnostics of its statistics."""
    return json.loads(_bnfold.inspect(_model_argument(model_or_path), _pass_list(passes)))


def available_passes():
    """Names of the graph passes, in the order the default pipeline runs them."""
    return list(_bnfold.available_passes())
