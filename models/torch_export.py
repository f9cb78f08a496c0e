#!/usr/bin/python3
"""Writes real PyTorch exports of torchvision classification models (models/README.md).

    /usr/bin/python3 models/torch_export.py [--out-dir DIR] [--variants V,...] [--force] [NAME...]
    /usr/bin/python3 models/torch_export.py --list

Each model is built by torchvision with random weights, its BatchNorm affine
parameters randomised (gamma ~ U(0.5, 1.5), beta ~ N(0, 0.25): a fold that
drops them changes the outputs), its running statistics calibrated by a few
train-mode passes on N(0, 1) images, and exported in eval mode by
torch.onnx.export(opset_version=13, training=TrainingMode.PRESERVE, dynamic
batch axis), so the BatchNormalization nodes stay for bnfold to fold.

Variants of each export (file NAME.VARIANT.onnx; the plain export is NAME.onnx):
  ir9, ir10   the export re-saved with IR version 9 / 10 at opset 18 (the
              opset 13 -> 18 changes these models need, made by direct edits:
              Reduce* axes become an input); newer than Debian's ONNX 1.12.
  constsub    Conv weights and BN parameters computed by constant subgraphs
              (Reshape of a flat initializer, Transpose of HWIO weights,
              Unsqueeze of 1x1 kernels, Cast from float64, Constant nodes,
              ConstantOfShape(Shape(...)) * var) instead of initializers.
  fp16        every float tensor, graph input and output in float16.

Deterministic (fixed seeds, one thread) and cached: a file that carries the
fingerprint of this script, the model, the variant and the torch version is
left alone. Needs Debian's python3-torch and python3-torchvision (installed
by scripts/setup.sh); without them it fails, or exits 77 (ctest's skip code)
when BNFOLD_ALLOW_SKIP=1 says skipping is acceptable (never under CI=true:
the rule of tests/test_util/dependency.py).
"""

import argparse
import hashlib
import os
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.dont_write_bytecode = True  # keep models/ free of __pycache__
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import helper, numpy_helper, TensorProto  # noqa: E402

from generate import FINGERPRINT_KEY, stored_fingerprint  # noqa: E402
DEFAULT_OUT_DIR = os.path.join(ROOT, ".cache", "torch_models")

# name: (constructor keyword arguments, input resolution, seed). The issue 11
# set first; the rest are the torchvision families issue 16 benchmarks.
MODELS = {
    "shufflenet_v2_x1_0": ({}, 224, 1),
    "resnet50": ({}, 224, 2),
    "mobilenet_v2": ({}, 224, 3),
    "densenet121": ({}, 224, 4),
    "resnext50_32x4d": ({}, 224, 5),
    "wide_resnet50_2": ({}, 224, 6),
    "mobilenet_v3_large": ({}, 224, 7),
    "efficientnet_b0": ({}, 224, 8),
    "regnet_y_400mf": ({}, 224, 9),
    "mnasnet1_0": ({}, 224, 10),
    "googlenet": ({"aux_logits": False, "init_weights": True}, 224, 11),
    "inception_v3": ({"aux_logits": False, "init_weights": True}, 299, 12),
    "vgg16_bn": ({}, 224, 13),
    "squeezenet1_1": ({}, 224, 14),
    "convnext_tiny": ({}, 224, 15),
    # Not torchvision: an MNIST-style network (mnist_bn below) whose last
    # block puts its BN after the ReLU, then Flatten, then Linear (issue 11,
    # point 4: the BN folds forward into the Gemm through the Flatten).
    "mnist_bn": ({}, 28, 16),
}
# Models built here rather than by torchvision.
CUSTOM_MODELS = ("mnist_bn",)
# Input channels (3 for the torchvision models).
CHANNELS = {"mnist_bn": 1}
DEFAULT_MODELS = ("shufflenet_v2_x1_0", "resnet50", "mobilenet_v2", "densenet121", "mnist_bn")
VARIANTS = ("ir9", "ir10", "constsub", "fp16")
CALIBRATION_PASSES = 2
CALIBRATION_BATCH = 2


def model_path(out_dir, name, variant=None):
    return os.path.join(out_dir, f"{name}.onnx" if variant is None else f"{name}.{variant}.onnx")


def fingerprint(name, variant, torch_version):
    digest = hashlib.sha256(f"{name}/{variant}/{torch_version}".encode())
    with open(os.path.abspath(__file__), "rb") as f:
        digest.update(f.read())
    return digest.hexdigest()


def save(model, path, mark):
    """Writes atomically (readers never see half a file), with its fingerprint."""
    del model.metadata_props[:]
    helper.set_model_props(model, {FINGERPRINT_KEY: mark})
    tmp = f"{path}.tmp{os.getpid()}"
    onnx.save(model, tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------- the export


def mnist_bn(torch):
    """28x28x1 -> 10: Conv-BN-ReLU-MaxPool, then Conv-ReLU-BN, Flatten, Linear."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),  # 16x13x13
        nn.Conv2d(16, 32, 3), nn.ReLU(), nn.BatchNorm2d(32),                 # 32x11x11
        nn.Flatten(), nn.Linear(32 * 11 * 11, 10))


def export(torch, name, path_tmp):
    """Builds, randomises, calibrates and exports `name` to `path_tmp`."""
    from torchvision import models

    kwargs, resolution, seed = MODELS[name]
    torch.manual_seed(seed)
    if name in CUSTOM_MODELS:
        model = globals()[name](torch)
    else:
        model = getattr(models, name)(weights=None, **kwargs)
    channels = CHANNELS.get(name, 3)
    batchnorms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for bn in batchnorms:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.normal_(0.0, 0.25)
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the calibration passes
    model.train()
    with torch.no_grad():
        for _ in range(CALIBRATION_PASSES):
            model(torch.randn(CALIBRATION_BATCH, channels, resolution, resolution))
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.randn(1, channels, resolution, resolution), path_tmp,
                          opset_version=13, training=torch.onnx.TrainingMode.PRESERVE,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    return len(batchnorms)


# ---------------------------------------------------------------- variants

# Reductions whose axes moved from an attribute to an input in opset 18
# (ReduceSum did so in opset 13 already).
REDUCE_AXES_INPUT_SINCE_18 = {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                              "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"}
# Ops these exports use whose schema changed between opsets 13 and 18 in a
# way a model must follow; the others (Reshape-14, BatchNormalization-14/15,
# Relu-14, Add-14, Pad-18, Split-18, Resize-18, ...) only added optional
# inputs, attributes or types.
HANDLED_OPSET18_CHANGES = REDUCE_AXES_INPUT_SINCE_18


def to_opset18(model, ir_version):
    """The model at opset 18 and `ir_version`: Reduce* axes become an input."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    out.ir_version = ir_version
    for opset in out.opset_import:
        if opset.domain in ("", "ai.onnx"):
            opset.version = 18
    graph = out.graph
    nodes = list(graph.node)
    del graph.node[:]
    for node in nodes:
        if node.op_type in REDUCE_AXES_INPUT_SINCE_18:
            axes = [a for a in node.attribute if a.name == "axes"]
            if axes:
                name = f"{node.output[0]}_axes"
                graph.initializer.append(numpy_helper.from_array(
                    np.array(axes[0].ints, dtype=np.int64), name))
                node.attribute.remove(axes[0])
                node.input.append(name)
        graph.node.append(node)
    return out


class ConstantSubgraphs:
    """Rewrites Conv weights and BN parameters as constant subgraphs, in a
    rotation of the forms other exporters and converters write."""

    def __init__(self, model):
        self.model = model
        self.graph = model.graph
        self.inits = {t.name: t for t in self.graph.initializer}
        self.uses = {}
        for node in self.graph.node:
            for name in node.input:
                self.uses[name] = self.uses.get(name, 0) + 1
        self.new_nodes = []
        self.count = 0

    def _take(self, name):
        """The initializer `name` as an array, removed, when only one node reads it."""
        if name not in self.inits or self.uses.get(name, 0) != 1:
            return None
        tensor = self.inits.pop(name)
        self.graph.initializer.remove(tensor)
        return numpy_helper.to_array(tensor)

    def _init(self, name, array):
        self.graph.initializer.append(numpy_helper.from_array(array, name))
        return name

    def _const(self, name, array):
        self.new_nodes.append(helper.make_node("Constant", [], [name], name=f"{name}/Constant",
                                               value=numpy_helper.from_array(array, name)))
        return name

    def _node(self, op, inputs, output, **attrs):
        self.new_nodes.append(helper.make_node(op, inputs, [output], name=f"{output}/{op}", **attrs))

    def weight(self, name, form):
        w = self._take(name)
        if w is None:
            return
        self.count += 1
        if form == 0:  # a flat initializer and its shape from a Constant node
            shape = self._const(f"{name}/shape", np.array(w.shape, dtype=np.int64))
            self._node("Reshape", [self._init(f"{name}/flat", w.reshape(-1)), shape], name)
        elif form == 1 and w.shape[2:] == (1, 1):  # a 1x1 kernel stored as a matrix
            axes = self._init(f"{name}/axes", np.array([2, 3], dtype=np.int64))
            self._node("Unsqueeze", [self._init(f"{name}/matrix", w[:, :, 0, 0].copy()), axes], name)
        elif form == 1:  # HWIO, as TensorFlow keeps it
            hwio = self._init(f"{name}/hwio", np.ascontiguousarray(w.transpose(2, 3, 1, 0)))
            self._node("Transpose", [hwio], name, perm=[3, 2, 0, 1])
        elif form == 2:  # stored in float64, cast at run time (exact)
            self._node("Cast", [self._init(f"{name}/f64", w.astype(np.float64))], name,
                       to=TensorProto.FLOAT)
        else:  # a Constant node
            self._const(name, w)

    def batchnorm(self, node):
        scale, bias, mean, var = node.input[1:5]
        for param, make in ((scale, self._bn_scale), (bias, self._bn_bias), (mean, self._bn_mean),
                            (var, self._bn_var)):
            array = self._take(param)
            if array is not None:
                self.count += 1
                make(param, array)

    def _bn_scale(self, name, array):
        self._const(name, array)

    def _bn_bias(self, name, array):
        self._node("Cast", [self._init(f"{name}/f64", array.astype(np.float64))], name,
                   to=TensorProto.FLOAT)

    def _bn_mean(self, name, array):
        shape = self._const(f"{name}/shape", np.array([-1], dtype=np.int64))
        self._node("Reshape", [self._init(f"{name}/nchw", array.reshape(1, -1, 1, 1)), shape], name)

    def _bn_var(self, name, array):
        # var = ConstantOfShape(Shape(v), 1) * v
        v = self._init(f"{name}/values", array)
        self._node("Shape", [v], f"{name}/shape")
        ones = onnx.helper.make_tensor("value", TensorProto.FLOAT, [1], [1.0])
        self._node("ConstantOfShape", [f"{name}/shape"], f"{name}/ones", value=ones)
        self._node("Mul", [f"{name}/ones", v], name)

    def run(self):
        convs = 0
        for node in self.graph.node:
            if node.op_type == "Conv" and len(node.input) > 1:
                self.weight(node.input[1], convs % 4)
                convs += 1
            elif node.op_type == "BatchNormalization":
                self.batchnorm(node)
        # The subgraphs first: nodes stay topologically sorted.
        nodes = self.new_nodes + list(self.graph.node)
        del self.graph.node[:]
        self.graph.node.extend(nodes)
        return self.count


def to_constant_subgraphs(model):
    out = onnx.ModelProto()
    out.CopyFrom(model)
    ConstantSubgraphs(out).run()
    return out


def to_float16(model):
    """Every float32 tensor of the model in float16 (rounded once)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph

    def convert_tensor(t):
        if t.data_type == TensorProto.FLOAT:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))

    for t in graph.initializer:
        convert_tensor(t)
    for node in graph.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                convert_tensor(a.t)
            if node.op_type == "Cast" and a.name == "to" and a.i == TensorProto.FLOAT:
                a.i = TensorProto.FLOAT16
    for info in list(graph.input) + list(graph.output) + list(graph.value_info):
        if info.type.tensor_type.elem_type == TensorProto.FLOAT:
            info.type.tensor_type.elem_type = TensorProto.FLOAT16
    return out


def derive(base, variant):
    if variant == "ir9":
        return to_opset18(base, 9)
    if variant == "ir10":
        return to_opset18(base, 10)
    if variant == "constsub":
        return to_constant_subgraphs(base)
    if variant == "fp16":
        return to_float16(base)
    raise ValueError(variant)


def check(model, variant):
    """The checks the installed ONNX library can make (IR <= 8, opset <= 17)."""
    if variant in ("ir9", "ir10"):
        return
    onnx.checker.check_model(model, full_check=True)


# ---------------------------------------------------------------- main


def count_ops(model, op):
    return sum(1 for n in model.graph.node if n.op_type == op)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*",
                        help=f"models (default: {', '.join(DEFAULT_MODELS)}; 'all' for every one)")
    parser.add_argument("--out-dir", default=os.environ.get("BNFOLD_TORCH_MODELS_DIR",
                                                            DEFAULT_OUT_DIR))
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"derived files to write besides NAME.onnx (default: all of "
                             f"{','.join(VARIANTS)}; '' for none)")
    parser.add_argument("--force", action="store_true", help="rewrite even if up to date")
    parser.add_argument("--list", action="store_true", help="list the models and exit")
    args = parser.parse_args()
    if args.list:
        for name, (kwargs, resolution, seed) in MODELS.items():
            print(f"{name:<22} {resolution}x{resolution} seed {seed}"
                  f"{' (default set)' if name in DEFAULT_MODELS else ''}")
        return 0
    names = list(MODELS) if args.names == ["all"] else (args.names or list(DEFAULT_MODELS))
    unknown = [n for n in names if n not in MODELS]
    variants = [v for v in args.variants.split(",") if v]
    bad = [v for v in variants if v not in VARIANTS]
    if unknown or bad:
        parser.error(f"unknown model(s) or variant(s) {', '.join(unknown + bad)}; "
                     f"models: {', '.join(MODELS)}; variants: {', '.join(VARIANTS)}")
    try:
        import torch
        import torchvision  # noqa: F401
    except ImportError as e:
        allowed = os.environ.get("BNFOLD_ALLOW_SKIP") == "1" and os.environ.get("CI") != "true"
        print(f"torch_export.py: needs Debian's python3-torch and python3-torchvision ({e}): "
              f"run scripts/setup.sh{'; skipped (BNFOLD_ALLOW_SKIP=1)' if allowed else ''}",
              file=sys.stderr)
        return 77 if allowed else 1
    torch.set_num_threads(1)  # one summation order: the same bytes on every run
    os.makedirs(args.out_dir, exist_ok=True)
    print(f"{'file':<36}{'status':<12}{'nodes':>6}{'BN':>5}{'MB':>8}{'sec':>7}")
    for name in names:
        base_path = model_path(args.out_dir, name)
        start = time.time()
        mark = fingerprint(name, None, torch.__version__)
        base = None
        if args.force or stored_fingerprint(base_path) != mark:
            tmp = f"{base_path}.export{os.getpid()}"
            try:
                export(torch, name, tmp)
                base = onnx.load(tmp)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
            check(base, None)
            save(base, base_path, mark)
            status = "written"
        else:
            status = "up to date"
        outputs = [(base_path, None, status, start)]
        for variant in variants:
            path = model_path(args.out_dir, name, variant)
            start = time.time()
            mark = fingerprint(name, variant, torch.__version__)
            if not args.force and stored_fingerprint(path) == mark and status == "up to date":
                outputs.append((path, variant, "up to date", start))
                continue
            if base is None:
                base = onnx.load(base_path)
            derived = derive(base, variant)
            check(derived, variant)
            save(derived, path, mark)
            outputs.append((path, variant, "written", start))
        for path, variant, state, began in outputs:
            model = onnx.load(path, load_external_data=False)
            print(f"{os.path.basename(path):<36}{state:<12}{len(model.graph.node):>6}"
                  f"{count_ops(model, 'BatchNormalization'):>5}"
                  f"{os.path.getsize(path) / 1e6:>8.1f}{time.time() - began:>7.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
