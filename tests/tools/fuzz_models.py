#!/usr/bin/python3
"""Structured mutation fuzzing of the bnfold CLI on malformed-but-parseable models.

Random bytes rarely get past protobuf parsing, so this fuzzer starts from
valid seed models (built-in Conv/ConvTranspose/Gemm/MatMul + BN models,
sampled ONNX backend node cases, the same with their inputs turned into
initializers, and any --models) and applies one or two *structured*
mutations to each mutant: attribute values, types and lengths; node inputs
and outputs; initializer dims, dtypes and data; graph input shapes; op
types; opset versions; BatchNormalization's modes and statistics;
self-loops and name collisions. Some mutants first get value_info from ONNX
shape inference (as exporters write it), some an opset past the installed
ONNX library's (its checker is then skipped). Each mutant goes through
`bnfold inspect`, `run --random-inputs`, `optimize` and `verify` under a
timeout and an address-space limit. The mutants that once found a bug
(known_cases()) run first.

Outcomes that are fine: exit 0, 1 or 2. Bugs: a signal (crash), a timeout
(hang), std::bad_alloc or an out-of-memory kill (unbounded allocation), an
uncaught exception ("terminate called"), a sanitizer report, any other exit
code, `optimize` changing its input file, and `optimize` writing a model
that fails onnx.checker.check_model(full_check=True) when its input passed.

Deterministic for a given --seed. Exit status 1 when any bug was found;
the failing mutants are kept in --out-dir with a JSON line each in
failures.jsonl (seed model, mutations, command, outcome, stderr tail).

  fuzz_models.py --bnfold build/bnfold --seed 1 --mutants 2000 \
      --models models/mlp.onnx models/keras_cnn.onnx --node-cases 150
  # under ASan/UBSan (no address-space limit: the sanitizers reserve shadow):
  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:max_allocation_size_mb=8192 \
      fuzz_models.py --bnfold build-asan/bnfold --mem-gb 0 --timeout 60 ...
"""

import argparse
import copy
import hashlib
import json
import math
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NODE_TESTDATA = "/usr/share/libonnx-testdata/data/node"
# Ops whose backend test cases make good seeds: the folding targets, shape
# consumers and data movement.
NODE_PREFIXES = (
    "test_conv", "test_convtranspose", "test_batchnorm", "test_gemm", "test_matmul",
    "test_reshape", "test_transpose", "test_pad", "test_constant_pad", "test_edge_pad",
    "test_reflect_pad", "test_slice", "test_resize", "test_maxpool", "test_averagepool",
    "test_globalaveragepool", "test_globalmaxpool", "test_concat", "test_split",
    "test_gather", "test_expand", "test_tile", "test_flatten", "test_squeeze",
    "test_unsqueeze", "test_softmax", "test_clip", "test_instancenorm", "test_lrn",
    "test_depthtospace", "test_spacetodepth", "test_cast", "test_reduce_mean",
    "test_reduce_sum", "test_where", "test_shape", "test_leakyrelu", "test_add",
    "test_mul", "test_sum", "test_mean", "test_max", "test_identity", "test_constant",
)

# ------------------------------------------------------------------ seeds


def _bn_inits(prefix, channels, rng):
    scale = rng.uniform(0.5, 1.5, channels).astype(np.float32)
    bias = rng.uniform(-0.5, 0.5, channels).astype(np.float32)
    mean = rng.uniform(-0.5, 0.5, channels).astype(np.float32)
    var = rng.uniform(0.5, 1.5, channels).astype(np.float32)
    return [numpy_helper.from_array(a, prefix + n)
            for a, n in ((scale, "_scale"), (bias, "_bias"), (mean, "_mean"), (var, "_var"))]


def builtin_seeds():
    """Small models with BatchNormalization in each form the passes fold."""
    rng = np.random.default_rng(7)
    seeds = {}

    def model(nodes, inputs, outputs, inits, opset=13):
        graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8
        return m

    def bn(name, x, y, prefix):
        return helper.make_node("BatchNormalization", [x, prefix + "_scale", prefix + "_bias",
                                                       prefix + "_mean", prefix + "_var"],
                                [y], name=name, epsilon=1e-5)

    # Conv -> BN -> Relu -> Conv(group 2) -> BN -> MaxPool
    w1 = numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "w1")
    b1 = numpy_helper.from_array(rng.normal(size=(4,)).astype(np.float32), "b1")
    w2 = numpy_helper.from_array(rng.normal(size=(4, 2, 1, 1)).astype(np.float32), "w2")
    seeds["builtin_conv_bn"] = model(
        [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1",
                          pads=[1, 1, 1, 1], strides=[1, 1], kernel_shape=[3, 3]),
         bn("bn1", "c1", "n1", "bn1"),
         helper.make_node("Relu", ["n1"], ["r1"], name="relu1"),
         helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2", group=2),
         bn("bn2", "c2", "n2", "bn2"),
         helper.make_node("MaxPool", ["n2"], ["y"], name="pool", kernel_shape=[2, 2],
                          strides=[2, 2])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4, 4, 4])],
        [w1, b1, w2] + _bn_inits("bn1", 4, rng) + _bn_inits("bn2", 4, rng))

    # ConvTranspose -> BN, BN -> Conv (input side)
    wt = numpy_helper.from_array(rng.normal(size=(3, 2, 2, 2)).astype(np.float32), "wt")
    wc = numpy_helper.from_array(rng.normal(size=(2, 3, 1, 1)).astype(np.float32), "wc")
    seeds["builtin_convtranspose_bn"] = model(
        [bn("bn0", "x", "n0", "bn0"),
         helper.make_node("Conv", ["n0", "wc"], ["c0"], name="conv0"),
         helper.make_node("ConvTranspose", ["x", "wt"], ["t"], name="deconv", strides=[2, 2]),
         bn("bn1", "t", "y", "bn1")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 10, 10]),
         helper.make_tensor_value_info("c0", TensorProto.FLOAT, [1, 2, 5, 5])],
        [wt, wc] + _bn_inits("bn0", 3, rng) + _bn_inits("bn1", 2, rng))

    # Gemm -> BN -> Relu -> MatMul + Add -> BN, Reshape/Transpose in between
    wg = numpy_helper.from_array(rng.normal(size=(6, 5)).astype(np.float32), "wg")
    bg = numpy_helper.from_array(rng.normal(size=(6,)).astype(np.float32), "bg")
    wm = numpy_helper.from_array(rng.normal(size=(6, 4)).astype(np.float32), "wm")
    bm = numpy_helper.from_array(rng.normal(size=(4,)).astype(np.float32), "bm")
    shape = numpy_helper.from_array(np.array([-1, 2, 2], dtype=np.int64), "shape")
    seeds["builtin_gemm_bn"] = model(
        [helper.make_node("Gemm", ["x", "wg", "bg"], ["g"], name="gemm", transB=1),
         bn("bn1", "g", "n1", "bn1"),
         helper.make_node("Relu", ["n1"], ["r"], name="relu"),
         helper.make_node("MatMul", ["r", "wm"], ["m"], name="matmul"),
         helper.make_node("Add", ["m", "bm"], ["a"], name="add"),
         bn("bn2", "a", "n2", "bn2"),
         helper.make_node("Reshape", ["n2", "shape"], ["s"], name="reshape"),
         helper.make_node("Transpose", ["s"], ["y"], name="transpose", perm=[0, 2, 1])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2, 2])],
        [wg, bg, wm, bm, shape] + _bn_inits("bn1", 6, rng) + _bn_inits("bn2", 4, rng))

    # NHWC in and out, as tf2onnx writes it (fcn.onnx): cancel-transposes
    # moves the middle to NCHW.
    wa = numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "wa")
    wb = numpy_helper.from_array(rng.normal(size=(3, 4, 1, 1)).astype(np.float32), "wb")
    seeds["builtin_nhwc"] = model(
        [helper.make_node("Transpose", ["x"], ["xt"], name="to_nchw", perm=[0, 3, 1, 2]),
         helper.make_node("Conv", ["xt", "wa"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
         helper.make_node("Transpose", ["c1"], ["c1t"], name="to_nhwc1", perm=[0, 2, 3, 1]),
         helper.make_node("Relu", ["c1t"], ["r"], name="relu"),
         helper.make_node("Transpose", ["r"], ["rt"], name="to_nchw2", perm=[0, 3, 1, 2]),
         helper.make_node("Conv", ["rt", "wb"], ["c2"], name="conv2"),
         helper.make_node("Transpose", ["c2"], ["y"], name="to_nhwc2", perm=[0, 2, 3, 1])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 6, 6, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 6, 6, 3])],
        [wa, wb])
    return seeds


def known_cases():
    """Mutants that once crashed or hung bnfold, rebuilt from the built-in
    seeds: every run starts with them, so a regression fails even a short run.
    Returns (seed name, description, mutated model) triples."""
    seeds = builtin_seeds()
    cases = []

    # fold_util: a BatchNormalization reading one initializer as scale and var
    # was freed on the first and read again on the second (use-after-free).
    m = copy.deepcopy(seeds["builtin_gemm_bn"])
    bn = next(n for n in m.graph.node if n.name == "bn1")
    bn.input[1] = bn.input[4]
    cases.append(("builtin_gemm_bn", "BatchNormalization scale and var the same initializer", m))

    # exporter: value_info a pass changed (cancel-transposes) was written
    # stale, and the optimized model failed ONNX shape inference.
    m = onnx.shape_inference.infer_shapes(seeds["builtin_nhwc"])
    cases.append(("builtin_nhwc", "value_info from ONNX shape inference", m))

    # pool: a window far longer than its input (2^31 rows, SAME pads of 2^30)
    # made oneDNN visit every padded tap.
    m = copy.deepcopy(seeds["builtin_conv_bn"])
    pool = next(n for n in m.graph.node if n.op_type == "MaxPool")
    del pool.attribute[:]
    pool.attribute.extend([helper.make_attribute("kernel_shape", [2**31, 2]),
                           helper.make_attribute("auto_pad", "SAME_UPPER")])
    out_shape = m.graph.output[0].type.tensor_type.shape
    out_shape.dim[2].dim_value = out_shape.dim[3].dim_value = 8
    cases.append(("builtin_conv_bn", "MaxPool kernel_shape [2^31, 2], auto_pad SAME_UPPER", m))

    # loader: past the installed ONNX checker's opset, a node without its
    # required inputs made the kernel read past the node's inputs.
    m = copy.deepcopy(seeds["builtin_conv_bn"])
    set_default_opset(m, 19)
    pool = next(n for n in m.graph.node if n.op_type == "MaxPool")
    del pool.input[:]
    cases.append(("builtin_conv_bn", "opset 19, MaxPool without inputs", m))
    return cases


def load_seeds(model_paths, node_cases, rng):
    seeds = builtin_seeds()
    for path in model_paths:
        seeds[os.path.splitext(os.path.basename(path))[0]] = onnx.load(path)
    if node_cases > 0 and os.path.isdir(NODE_TESTDATA):
        names = sorted(d for d in os.listdir(NODE_TESTDATA)
                       if d.startswith(NODE_PREFIXES) and "training" not in d
                       and "expanded" not in d)
        for name in sorted(rng.sample(names, min(node_cases, len(names)))):
            model = onnx.load(os.path.join(NODE_TESTDATA, name, "model.onnx"))
            seeds["node/" + name] = model
            constant = with_inputs_as_initializers(model, os.path.join(NODE_TESTDATA, name))
            if constant is not None:
                seeds["node_const/" + name] = constant
    return seeds


def with_inputs_as_initializers(model, case_dir):
    """`model` with the case's inputs after the first (shapes, indices, pads,
    weights) turned into initializers from test_data_set_0: the data the
    mutations then change is read at compile time, where the planner folds."""
    data_dir = os.path.join(case_dir, "test_data_set_0")
    inputs = list(model.graph.input)
    if len(inputs) < 2 or not os.path.isdir(data_dir):
        return None
    result = copy.deepcopy(model)
    del result.graph.input[1:]
    for i, info in enumerate(inputs[1:], start=1):
        path = os.path.join(data_dir, "input_%d.pb" % i)
        if not os.path.exists(path):
            return None
        tensor = onnx.TensorProto()
        with open(path, "rb") as f:
            tensor.ParseFromString(f.read())
        tensor.name = info.name
        result.graph.initializer.append(tensor)
    return result


def seed_kind(name):
    if name.startswith("builtin_"):
        return "builtin"
    if name.startswith("node/"):
        return "node"
    if name.startswith("node_const/"):
        return "node_const"
    return name


# ------------------------------------------------------------------ mutations

HUGE = [2**31, 2**31 - 1, 2**40, 2**62, 2**63 - 1]
INT_VALUES = [-(2**63), -(2**31), -3, -2, -1, 0, 1, 2, 3, 5, 7, 64, 1000] + HUGE
FLOAT_VALUES = [float("nan"), float("inf"), float("-inf"), -1.0, 0.0, -1e-5, 1e30, 1e-45, 2.0]
DTYPES = [TensorProto.INT64, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE,
          TensorProto.BOOL, TensorProto.STRING, TensorProto.INT8, TensorProto.UINT8,
          TensorProto.INT32, TensorProto.COMPLEX64, TensorProto.UINT64, 0, 99]
# Attributes ops commonly read; added to nodes that lack them.
EXTRA_ATTRS = {
    "axis": ("i", None), "axes": ("ints", None), "perm": ("ints", None),
    "pads": ("ints", None), "strides": ("ints", None), "kernel_shape": ("ints", None),
    "dilations": ("ints", None), "group": ("i", None), "transA": ("i", None),
    "transB": ("i", None), "epsilon": ("f", None), "alpha": ("f", None),
    "training_mode": ("i", None), "keepdims": ("i", None), "auto_pad": ("s", None),
    "output_padding": ("ints", None), "output_shape": ("ints", None), "mode": ("s", None),
    "blocksize": ("i", None), "split": ("ints", None), "to": ("i", None),
    "ceil_mode": ("i", None), "count_include_pad": ("i", None), "allowzero": ("i", None),
    "spatial": ("i", None), "is_test": ("i", None), "momentum": ("f", None),
    "size": ("i", None), "coordinate_transformation_mode": ("s", None),
}
STRING_VALUES = [b"", b"SAME_UPPER", b"SAME_LOWER", b"VALID", b"NOTSET", b"bogus", b"linear",
                 b"nearest", b"cubic", b"reflect", b"edge", b"constant", b"DCR", b"CRD",
                 b"half_pixel", b"tf_crop_and_resize", b"\xff\xfe"]
# Ops grouped by how many inputs they take, for op_type swaps.
SAME_ARITY = {
    1: ["Relu", "Sigmoid", "Identity", "Flatten", "Transpose", "Softmax", "MaxPool",
        "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Squeeze", "Shape", "Neg", "Abs",
        "Sqrt", "Exp", "LRN", "InstanceNormalization", "Cast", "DepthToSpace", "Size",
        "ReduceMean", "LeakyRelu", "Clip", "Erf", "Not"],
    2: ["Add", "Sub", "Mul", "Div", "MatMul", "Conv", "ConvTranspose", "Reshape", "Expand",
        "Tile", "Gather", "Pad", "Pow", "PRelu", "Concat", "Split", "Unsqueeze", "Squeeze",
        "Equal", "Greater", "Max", "Min", "Sum", "Resize", "Slice", "ReduceSum", "GatherElements"],
    3: ["Gemm", "Conv", "ConvTranspose", "Clip", "Where", "Slice", "Pad", "Concat", "Sum",
        "InstanceNormalization", "Split", "Resize"],
    4: ["Resize", "Slice", "Concat", "Sum", "Max"],
    5: ["BatchNormalization", "Slice", "Concat", "Sum", "Mean"],
}


class Mutator:
    """Applies one structured mutation; returns a description or None."""

    def __init__(self, rng):
        self.rng = rng

    def pick(self, seq):
        return self.rng.choice(seq) if seq else None

    # --- helpers
    def nodes(self, m):
        return list(m.graph.node)

    def value_names(self, m):
        names = [i.name for i in m.graph.input] + [i.name for i in m.graph.initializer]
        for n in m.graph.node:
            names.extend(o for o in n.output if o)
        return names

    def float_inits(self, m):
        return [t for t in m.graph.initializer if t.data_type == TensorProto.FLOAT]

    def node_label(self, n):
        return "%s '%s'" % (n.op_type, n.name)

    def pick_attribute(self, m, types=None):
        """A random (node, attribute) of `m` whose type is in `types` (any
        type when None); None when it has none."""
        cands = [(n, a) for n in m.graph.node for a in n.attribute
                 if types is None or a.type in types]
        return self.pick(cands) if cands else None

    def set_value(self, a, scalar_type, scalar_field, values, v):
        """`v` as attribute `a`'s value when it is a scalar of `scalar_type`,
        else over a random element of its list `values` (appended when empty)."""
        if a.type == scalar_type:
            setattr(a, scalar_field, v)
        elif values:
            values[self.rng.randrange(len(values))] = v
        else:
            values.append(v)

    # --- attributes
    def attr_int_value(self, m):
        picked = self.pick_attribute(m, (onnx.AttributeProto.INT, onnx.AttributeProto.INTS))
        if picked is None:
            return None
        n, a = picked
        v = self.pick(INT_VALUES)
        self.set_value(a, onnx.AttributeProto.INT, "i", a.ints, v)
        return "%s: %s element <- %d" % (self.node_label(n), a.name, v)

    def attr_ints_length(self, m):
        picked = self.pick_attribute(m, (onnx.AttributeProto.INTS,))
        if picked is None:
            return None
        n, a = picked
        how = self.pick(["drop", "add", "empty", "double", "long"])
        values = list(a.ints)
        if how == "drop" and values:
            values.pop()
        elif how == "add":
            values.append(self.pick([0, 1, 2, -1]))
        elif how == "empty":
            values = []
        elif how == "double":
            values = values + values
        else:
            values = [1] * self.rng.choice([7, 13, 64])
        del a.ints[:]
        a.ints.extend(values)
        return "%s: %s length %s -> %s" % (self.node_label(n), a.name, how, values[:8])

    def attr_float_value(self, m):
        picked = self.pick_attribute(m, (onnx.AttributeProto.FLOAT, onnx.AttributeProto.FLOATS))
        if picked is None:
            return None
        n, a = picked
        v = self.pick(FLOAT_VALUES)
        self.set_value(a, onnx.AttributeProto.FLOAT, "f", a.floats, v)
        return "%s: %s <- %r" % (self.node_label(n), a.name, v)

    def attr_string_value(self, m):
        picked = self.pick_attribute(m, (onnx.AttributeProto.STRING,))
        if picked is None:
            return None
        n, a = picked
        a.s = self.pick(STRING_VALUES)
        return "%s: %s <- %r" % (self.node_label(n), a.name, a.s)

    def attr_type(self, m):
        picked = self.pick_attribute(m)
        if picked is None:
            return None
        n, a = picked
        new = self.pick(["i", "f", "ints", "s", "t", "floats", "g", "undefined"])
        name = a.name
        idx = list(n.attribute).index(a)
        if new == "i":
            attr = helper.make_attribute(name, 2)
        elif new == "f":
            attr = helper.make_attribute(name, 1.5)
        elif new == "ints":
            attr = helper.make_attribute(name, [1, 2])
        elif new == "floats":
            attr = helper.make_attribute(name, [0.5])
        elif new == "s":
            attr = helper.make_attribute(name, "x")
        elif new == "t":
            attr = helper.make_attribute(name, numpy_helper.from_array(
                np.array([1, 2], dtype=np.int64)))
        elif new == "g":
            attr = helper.make_attribute(name, helper.make_graph([], "sub", [], []))
        else:
            attr = onnx.AttributeProto(name=name)  # type UNDEFINED, no value
        n.attribute[idx].CopyFrom(attr)
        return "%s: %s type -> %s" % (self.node_label(n), name, new)

    def attr_drop(self, m):
        picked = self.pick_attribute(m)
        if picked is None:
            return None
        n, a = picked
        n.attribute.remove(a)
        return "%s: drop attribute %s" % (self.node_label(n), a.name)

    def attr_duplicate(self, m):
        picked = self.pick_attribute(m)
        if picked is None:
            return None
        n, a = picked
        dup = copy.deepcopy(a)
        if dup.type == onnx.AttributeProto.INT:
            dup.i = dup.i + 1
        n.attribute.append(dup)
        return "%s: duplicate attribute %s" % (self.node_label(n), a.name)

    def attr_add(self, m):
        n = self.pick(self.nodes(m))
        if n is None:
            return None
        name = self.pick(sorted(EXTRA_ATTRS))
        if any(a.name == name for a in n.attribute):
            return None
        kind = EXTRA_ATTRS[name][0]
        if kind == "i":
            value = self.pick([-1, 0, 1, 2, 3, 7, 2**40])
        elif kind == "f":
            value = self.pick(FLOAT_VALUES)
        elif kind == "s":
            value = self.pick(STRING_VALUES)
        else:
            value = [self.pick([-1, 0, 1, 2, 3]) for _ in range(self.rng.randrange(0, 6))]
        n.attribute.append(helper.make_attribute(name, value))
        return "%s: add attribute %s=%r" % (self.node_label(n), name, value)

    # --- node inputs / outputs
    def input_edit(self, m):
        n = self.pick(self.nodes(m))
        if n is None:
            return None
        how = self.pick(["drop", "add", "add_empty", "swap", "empty", "other", "missing"])
        ins = list(n.input)
        names = self.value_names(m)
        if how == "drop" and ins:
            ins.pop(self.rng.randrange(len(ins)))
        elif how == "add":
            ins.append(self.pick(names))
        elif how == "add_empty":
            ins.append("")
        elif how == "swap" and len(ins) >= 2:
            i, j = self.rng.sample(range(len(ins)), 2)
            ins[i], ins[j] = ins[j], ins[i]
        elif how == "empty" and ins:
            ins[self.rng.randrange(len(ins))] = ""
        elif how == "other" and ins:
            ins[self.rng.randrange(len(ins))] = self.pick(names)
        elif how == "missing" and ins:
            ins[self.rng.randrange(len(ins))] = "no_such_value"
        else:
            return None
        del n.input[:]
        n.input.extend(ins)
        return "%s: inputs %s -> %s" % (self.node_label(n), how, ins)

    def output_edit(self, m):
        n = self.pick(self.nodes(m))
        if n is None:
            return None
        how = self.pick(["add", "add_empty", "drop", "self", "collide", "empty"])
        outs = list(n.output)
        if how == "add":
            outs.append(n.name + "_extra_out")
        elif how == "add_empty":
            outs.append("")
        elif how == "drop" and outs:
            outs.pop()
        elif how == "self" and outs and n.input:
            # The node's output feeds itself.
            i = self.rng.randrange(len(n.input))
            n.input[i] = outs[0]
        elif how == "collide" and outs:
            outs[0] = self.pick(self.value_names(m))
        elif how == "empty" and outs:
            outs[0] = ""
        else:
            return None
        del n.output[:]
        n.output.extend(outs)
        return "%s: outputs %s -> %s" % (self.node_label(n), how, outs)

    def op_type(self, m):
        n = self.pick(self.nodes(m))
        if n is None:
            return None
        arity = len(n.input)
        pool = SAME_ARITY.get(arity, SAME_ARITY[1])
        old = n.op_type
        n.op_type = self.pick(pool)
        return "%s '%s': op_type -> %s" % (old, n.name, n.op_type)

    def node_domain(self, m):
        n = self.pick(self.nodes(m))
        if n is None:
            return None
        n.domain = self.pick(["ai.onnx.ml", "com.microsoft", "ai.onnx", "bogus"])
        return "%s: domain -> %s" % (self.node_label(n), n.domain)

    def node_duplicate(self, m):
        n = self.pick(self.nodes(m))
        if n is None:
            return None
        dup = copy.deepcopy(n)
        dup.name = n.name + "_copy"
        m.graph.node.append(dup)
        return "%s: duplicated (same outputs)" % self.node_label(n)

    def node_drop(self, m):
        n = self.pick(self.nodes(m))
        if n is None:
            return None
        m.graph.node.remove(n)
        return "%s: removed" % self.node_label(n)

    # --- initializers
    def init_dims(self, m):
        t = self.pick(list(m.graph.initializer))
        if t is None:
            return None
        how = self.pick(["add1", "drop", "zero", "huge", "negative", "swap", "scalar",
                         "hugebig"])
        dims = list(t.dims)
        if how == "add1":
            dims.insert(self.rng.randrange(len(dims) + 1), 1)
        elif how == "drop" and dims:
            d = dims.pop(self.rng.randrange(len(dims)))
            if dims:
                dims[0] *= d
        elif how == "zero" and dims:
            dims[self.rng.randrange(len(dims))] = 0
        elif how == "huge":
            dims = dims + [2**31]
        elif how == "hugebig" and dims:
            dims[self.rng.randrange(len(dims))] = self.pick(HUGE)
        elif how == "negative" and dims:
            dims[self.rng.randrange(len(dims))] = -1
        elif how == "swap" and len(dims) >= 2:
            dims[0], dims[-1] = dims[-1], dims[0]
        elif how == "scalar":
            dims = []
        else:
            return None
        del t.dims[:]
        t.dims.extend(dims)
        return "initializer '%s': dims %s -> %s" % (t.name, how, dims)

    def init_dtype(self, m):
        t = self.pick(list(m.graph.initializer))
        if t is None:
            return None
        old = t.data_type
        t.data_type = self.pick(DTYPES)
        return "initializer '%s': data_type %d -> %d" % (t.name, old, t.data_type)

    def init_convert_dtype(self, m):
        """A consistent dtype change (data converted): the op sees a wrong type."""
        t = self.pick(list(m.graph.initializer))
        if t is None or t.data_type in (TensorProto.STRING, TensorProto.UNDEFINED):
            return None
        try:
            a = numpy_helper.to_array(t)
        except Exception:
            return None
        target = self.pick([np.int64, np.float16, np.float64, np.bool_, np.int32, np.uint8])
        new = numpy_helper.from_array(a.astype(target), t.name)
        t.CopyFrom(new)
        return "initializer '%s': converted to %s" % (t.name, np.dtype(target).name)

    def init_typed_wrong_length(self, m):
        t = self.pick(list(m.graph.initializer))
        if t is None or not t.raw_data:
            return None
        try:
            a = numpy_helper.to_array(t).ravel()
        except Exception:
            return None
        delta = self.pick([-1, 1, -len(a), 5])
        t.raw_data = b""
        if t.data_type in (TensorProto.FLOAT,):
            vals = list(a.astype(np.float32))
            target = t.float_data
        elif t.data_type in (TensorProto.INT64,):
            vals = list(a.astype(np.int64))
            target = t.int64_data
        elif t.data_type in (TensorProto.DOUBLE,):
            vals = list(a)
            target = t.double_data
        else:
            vals = [int(v) for v in a.view(np.uint8)] if a.dtype.itemsize == 1 else []
            target = t.int32_data
        if delta < 0:
            vals = vals[:max(0, len(vals) + delta)]
        else:
            vals = vals + vals[:delta] + [0] * max(0, delta - len(vals))
        target.extend(vals)
        return "initializer '%s': raw -> typed, %d elements" % (t.name, len(vals))

    def init_raw_length(self, m):
        t = self.pick([t for t in m.graph.initializer if t.raw_data])
        if t is None:
            return None
        how = self.pick(["short", "long", "odd", "empty"])
        if how == "short":
            t.raw_data = t.raw_data[:-1]
        elif how == "long":
            t.raw_data = t.raw_data + b"\0" * 8
        elif how == "odd":
            t.raw_data = t.raw_data[: len(t.raw_data) // 2 * 2 - 1] if len(t.raw_data) > 1 else b"x"
        else:
            t.raw_data = b""
        return "initializer '%s': raw_data %s" % (t.name, how)

    def init_special_values(self, m):
        t = self.pick(self.float_inits(m))
        if t is None:
            return None
        a = numpy_helper.to_array(t).copy()
        if a.size == 0:
            return None
        v = self.pick([np.nan, np.inf, -np.inf, 0.0, -1.0, 1e38, -1e38, 1e-45])
        how = self.pick(["one", "all"])
        if how == "one":
            a.flat[self.rng.randrange(a.size)] = v
        else:
            a[...] = v
        t.CopyFrom(numpy_helper.from_array(a, t.name))
        return "initializer '%s': %s <- %r" % (t.name, how, v)

    def init_int_values(self, m):
        """Shape-like int64 initializers (Reshape shape, Slice starts, pads, axes)."""
        t = self.pick([t for t in m.graph.initializer if t.data_type in
                       (TensorProto.INT64, TensorProto.INT32)])
        if t is None:
            return None
        a = numpy_helper.to_array(t).copy()
        if a.size == 0:
            return None
        v = self.pick(INT_VALUES)
        if a.dtype == np.int32:
            v = int(np.clip(v, -(2**31), 2**31 - 1))
        a.flat[self.rng.randrange(a.size)] = v
        t.CopyFrom(numpy_helper.from_array(a, t.name))
        return "initializer '%s': element <- %d" % (t.name, v)

    def init_drop_or_duplicate(self, m):
        t = self.pick(list(m.graph.initializer))
        if t is None:
            return None
        if self.rng.random() < 0.5:
            m.graph.initializer.remove(t)
            return "initializer '%s': removed" % t.name
        dup = copy.deepcopy(t)
        m.graph.initializer.append(dup)
        return "initializer '%s': duplicated" % t.name

    def init_as_input(self, m):
        """An initializer also listed as a graph input (overridable), maybe with a wrong shape."""
        t = self.pick(list(m.graph.initializer))
        if t is None or any(i.name == t.name for i in m.graph.input):
            return None
        dims = list(t.dims)
        if self.rng.random() < 0.5 and dims:
            dims[0] += 1
        m.graph.input.append(helper.make_tensor_value_info(t.name, t.data_type or 1, dims))
        return "initializer '%s': also a graph input of shape %s" % (t.name, dims)

    # --- graph inputs / outputs
    def graph_input_shape(self, m):
        inits = {t.name for t in m.graph.initializer}
        ins = [i for i in m.graph.input if i.name not in inits]
        vi = self.pick(ins)
        if vi is None or not vi.type.HasField("tensor_type"):
            return None
        tt = vi.type.tensor_type
        how = self.pick(["rank+", "rank-", "zero", "neg", "huge", "symbolic", "noshape",
                         "elemtype", "unknowndim", "scalar"])
        shape = tt.shape
        if how == "rank+":
            shape.dim.add().dim_value = self.pick([1, 2, 3])
        elif how == "rank-" and shape.dim:
            del shape.dim[-1]
        elif how in ("zero", "neg", "huge", "symbolic", "unknowndim") and shape.dim:
            d = shape.dim[self.rng.randrange(len(shape.dim))]
            if how == "zero":
                d.dim_value = 0
            elif how == "neg":
                d.dim_value = -1
            elif how == "huge":
                d.dim_value = self.pick(HUGE[:3] + [100000])
            elif how == "symbolic":
                d.dim_param = "s%d" % self.rng.randrange(3)
            else:
                d.Clear()
        elif how == "noshape":
            tt.ClearField("shape")
        elif how == "scalar":
            del shape.dim[:]
        elif how == "elemtype":
            tt.elem_type = self.pick(DTYPES)
        else:
            return None
        return "graph input '%s': %s" % (vi.name, how)

    def graph_output_edit(self, m):
        how = self.pick(["drop", "duplicate", "input", "elemtype", "shape", "init"])
        outs = m.graph.output
        if how == "drop" and len(outs) > 1:
            outs.remove(outs[-1])
        elif how == "duplicate" and outs:
            outs.append(copy.deepcopy(outs[0]))
        elif how == "input" and m.graph.input:
            outs.append(copy.deepcopy(m.graph.input[0]))
        elif how == "init" and m.graph.initializer:
            t = m.graph.initializer[0]
            outs.append(helper.make_tensor_value_info(t.name, t.data_type or 1, list(t.dims)))
        elif how == "elemtype" and outs:
            outs[0].type.tensor_type.elem_type = self.pick(DTYPES)
        elif how == "shape" and outs and outs[0].type.tensor_type.shape.dim:
            outs[0].type.tensor_type.shape.dim[0].dim_value = 7
        else:
            return None
        return "graph outputs: %s" % how

    # --- model-level
    def opset(self, m):
        v = self.rng.randint(1, 20)
        for o in m.opset_import:
            if o.domain in ("", "ai.onnx"):
                o.version = v
        return "opset -> %d" % v

    def ir_version(self, m):
        m.ir_version = self.pick([3, 4, 5, 6, 7, 9, 10])
        return "ir_version -> %d" % m.ir_version

    def rename_collide(self, m):
        """Renames a value everywhere it is read to another existing value's name."""
        names = self.value_names(m)
        if len(set(names)) < 2:
            return None
        a, b = self.rng.sample(sorted(set(names)), 2)
        for n in m.graph.node:
            for i, x in enumerate(n.input):
                if x == a:
                    n.input[i] = b
            for i, x in enumerate(n.output):
                if x == a:
                    n.output[i] = b
        for t in m.graph.initializer:
            if t.name == a:
                t.name = b
        return "rename '%s' -> '%s' (collides)" % (a, b)

    def value_info_junk(self, m):
        """A value_info entry that contradicts what the graph computes."""
        outs = [o for n in m.graph.node for o in n.output if o]
        name = self.pick(outs)
        if name is None:
            return None
        vi = helper.make_tensor_value_info(name, self.pick([1, 7, 10]),
                                           [self.pick([1, 3, 2**40]), 0])
        m.graph.value_info.append(vi)
        return "value_info '%s' contradicting" % name

    def constant_node_value(self, m):
        cands = [n for n in m.graph.node if n.op_type == "Constant"]
        n = self.pick(cands)
        if n is None:
            return None
        how = self.pick(["drop", "two", "ints", "float", "sparse"])
        if how == "drop":
            del n.attribute[:]
        elif how == "two":
            n.attribute.append(helper.make_attribute("value_float", 1.0))
        elif how == "ints":
            del n.attribute[:]
            n.attribute.append(helper.make_attribute("value_ints", [2**40, -1]))
        elif how == "float":
            del n.attribute[:]
            n.attribute.append(helper.make_attribute("value_float", float("nan")))
        else:
            del n.attribute[:]
            n.attribute.append(helper.make_attribute(
                "value_string", "abc"))
        return "%s: value %s" % (self.node_label(n), how)

    # --- BatchNormalization
    def bn_mode(self, m):
        bns = [n for n in m.graph.node if n.op_type == "BatchNormalization"]
        n = self.pick(bns)
        if n is None:
            return None
        name = self.pick(["training_mode", "is_test", "spatial", "momentum", "epsilon",
                          "consumed_inputs"])
        for a in list(n.attribute):
            if a.name == name:
                n.attribute.remove(a)
        if name in ("momentum", "epsilon"):
            value = self.pick([-1.0, 0.0, float("nan"), float("inf"), 1e-30, 2.0])
        elif name == "consumed_inputs":
            value = [0, 0, 0, 1, 1]
        else:
            value = self.pick([0, 1, 2, -1])
        n.attribute.append(helper.make_attribute(name, value))
        if name == "training_mode" and value == 1 and self.rng.random() < 0.5:
            n.output.extend([n.name + "_rmean", n.name + "_rvar"])
        return "%s: %s=%r" % (self.node_label(n), name, value)

    def bn_stats(self, m):
        bns = [n for n in m.graph.node if n.op_type == "BatchNormalization" and len(n.input) >= 5]
        n = self.pick(bns)
        if n is None:
            return None
        inits = {t.name: t for t in m.graph.initializer}
        which = self.pick([1, 2, 3, 4, 4, 4])
        t = inits.get(n.input[which])
        if t is None or t.data_type != TensorProto.FLOAT:
            return None
        a = numpy_helper.to_array(t).copy()
        if a.size == 0:
            return None
        v = self.pick([-1.0, 0.0, -1e-5, np.nan, np.inf, 1e38, -1e-30])
        if self.rng.random() < 0.5:
            a.flat[self.rng.randrange(a.size)] = v
        else:
            a[...] = v
        t.CopyFrom(numpy_helper.from_array(a, t.name))
        return "%s: input %d ('%s') <- %r" % (self.node_label(n), which, t.name, v)

    def bn_stats_shape(self, m):
        bns = [n for n in m.graph.node if n.op_type == "BatchNormalization" and len(n.input) >= 5]
        n = self.pick(bns)
        if n is None:
            return None
        inits = {t.name: t for t in m.graph.initializer}
        t = inits.get(n.input[self.rng.randrange(1, 5)])
        if t is None or t.data_type != TensorProto.FLOAT:
            return None
        a = numpy_helper.to_array(t)
        how = self.pick(["short", "long", "2d", "scalar"])
        if how == "short" and a.size > 1:
            a = a[:-1]
        elif how == "long":
            a = np.concatenate([a, a])
        elif how == "2d":
            a = a.reshape(1, -1)
        else:
            a = np.array(a.ravel()[0] if a.size else 1.0, dtype=np.float32)
        t.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(a), t.name))
        return "%s: '%s' shape -> %s" % (self.node_label(n), t.name, list(a.shape))

    def all(self):
        weighted = [
            (self.attr_int_value, 6), (self.attr_ints_length, 5), (self.attr_float_value, 3),
            (self.attr_string_value, 2), (self.attr_type, 3), (self.attr_drop, 3),
            (self.attr_duplicate, 1), (self.attr_add, 4), (self.input_edit, 5),
            (self.output_edit, 3), (self.op_type, 4), (self.node_domain, 1),
            (self.node_duplicate, 1), (self.node_drop, 1), (self.init_dims, 5),
            (self.init_dtype, 3), (self.init_convert_dtype, 3),
            (self.init_typed_wrong_length, 2), (self.init_raw_length, 2),
            (self.init_special_values, 3), (self.init_int_values, 4),
            (self.init_drop_or_duplicate, 1), (self.init_as_input, 2),
            (self.graph_input_shape, 5), (self.graph_output_edit, 2), (self.opset, 3),
            (self.ir_version, 1), (self.rename_collide, 2), (self.value_info_junk, 1),
            (self.constant_node_value, 1), (self.bn_mode, 4), (self.bn_stats, 4),
            (self.bn_stats_shape, 3),
        ]
        return weighted

    def mutate(self, model, count):
        """Applies `count` mutations that take; returns their descriptions."""
        weighted = self.all()
        funcs = [f for f, _ in weighted]
        weights = [w for _, w in weighted]
        done = []
        attempts = 0
        while len(done) < count and attempts < 50:
            attempts += 1
            f = self.rng.choices(funcs, weights)[0]
            try:
                desc = f(model)
            except (ValueError, TypeError, IndexError, OverflowError):
                desc = None
            if desc:
                done.append("%s: %s" % (f.__name__, desc))
        return done


# ------------------------------------------------------------------ running


def default_opset(model):
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return o.version
    return 0


def set_default_opset(model, version):
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = version


def in_child(fn, *args):
    """fn(*args) -> bytes, run in a forked child: the installed ONNX library's
    checker and shape inference crash on some malformed models. Returns None
    when the child dies."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            result = fn(*args)
        except BaseException:  # anything: the child must not return
            os._exit(3)
        with os.fdopen(write_fd, "wb") as f:
            f.write(result)
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    return data if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else None


def _check(path):
    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
        return b""
    except Exception as e:  # the checker raises several exception types
        return (str(e).strip() or type(e).__name__).encode()


def checker_error(path):
    """The full check's complaint about the model at `path` ("" when it passes).

    Checked on a loaded copy: onnx 1.12's check_model(PATH, full_check=True)
    writes the inferred shapes back into the file.
    """
    result = in_child(_check, path)
    return "the ONNX checker crashed" if result is None else result.decode(errors="replace")


def _infer(model):
    return onnx.shape_inference.infer_shapes(model).SerializeToString()


def checker_ok(path):
    return not checker_error(path)


def file_hash(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run_cli(argv, timeout, mem_bytes):
    def limit():
        if mem_bytes > 0:  # 0 for sanitizer builds, which reserve terabytes of shadow
            resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    env = dict(os.environ, OMP_NUM_THREADS="1")
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=limit, env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        timed_out = True
    return proc.returncode, timed_out, out.decode(errors="replace"), \
        err.decode(errors="replace"), time.monotonic() - start


def classify(code, timed_out, err):
    """Returns None when the outcome is fine, else a short bug class."""
    if timed_out:
        return "hang"
    if "ERROR: AddressSanitizer" in err or "ERROR: LeakSanitizer" in err:
        return "asan"  # exits with 1, which would otherwise pass
    if ": runtime error: " in err:
        return "ubsan"
    if "std::bad_alloc" in err or "Cannot allocate memory" in err or "out of memory" in err:
        return "allocation"
    if "terminate called" in err:
        return "uncaught-exception"
    if code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        # With RLIMIT_AS, a failed allocation inside oneDNN/OpenMP often ends
        # in SIGSEGV or SIGABRT; both are bugs either way.
        return "signal-" + name
    if code not in (0, 1, 2):
        return "exit-%d" % code
    return None


def run_mutant(bnfold, path, workdir, args, input_checks, codes):
    """Runs the four commands on `path`; returns a list of (command, bug, detail)."""
    bugs = []
    soft = []
    out_path = os.path.join(workdir, "out.onnx")
    commands = [
        ("inspect", [bnfold, "inspect", path]),
        ("run", [bnfold, "run", path, "--random-inputs", "--threads", "1"]),
        ("optimize", [bnfold, "optimize", path, out_path]),
        ("verify", [bnfold, "verify", path, "--random-inputs", "--seeds", "1", "--threads", "1"]),
    ]
    before = file_hash(path)
    for name, argv in commands:
        if name not in args.commands:
            continue
        if os.path.exists(out_path):
            os.remove(out_path)
        code, timed_out, out, err, secs = run_cli(argv, args.timeout, args.mem_gb << 30)
        bug = classify(code, timed_out, err)
        key = "%s:%s" % (name, bug or code)
        codes[key] = codes.get(key, 0) + 1
        if bug:
            bugs.append((name, bug, err[-600:]))
            continue
        if code == 2 and path not in err:
            soft.append((name, "message-without-file", err.strip()[-300:]))
        if name == "optimize":
            if file_hash(path) != before:
                bugs.append((name, "modified-input", ""))
            if code == 0 and input_checks and os.path.exists(out_path):
                detail = checker_error(out_path)
                if detail:
                    bugs.append((name, "output-fails-checker", detail[-400:]))
    return bugs, soft


class Campaign:
    """Runs mutants through the CLI and records what went wrong."""

    def __init__(self, args, out_dir, workdir):
        self.args = args
        self.out_dir = out_dir
        self.workdir = workdir
        self.codes = {}
        self.per_kind = {}
        self.failures = []
        self.soft_count = 0

    def test(self, label, kind, name, mutations, model):
        path = os.path.join(self.workdir, "mutant.onnx")
        try:
            data = model.SerializeToString()
        except Exception:  # e.g. a value protobuf refuses to encode
            return
        self.per_kind[kind] = self.per_kind.get(kind, 0) + 1
        with open(path, "wb") as f:
            f.write(data)
        input_checks = "optimize" in self.args.commands and checker_ok(path)
        bugs, soft = run_mutant(self.args.bnfold, path, self.workdir, self.args, input_checks,
                                self.codes)
        self.soft_count += len(soft)
        for command, bug, detail in bugs:
            kept = os.path.join(self.out_dir, "mutant_%s.onnx" % label)
            shutil.copy(path, kept)
            record = {"mutant": label, "seed_model": name, "mutations": mutations,
                      "command": command, "bug": bug, "stderr": detail, "file": kept}
            self.failures.append(record)
            with open(os.path.join(self.out_dir, "failures.jsonl"), "a") as f:
                f.write(json.dumps(record) + "\n")
            print("BUG #%s %s %s on %s: %s\n    %s" % (label, command, bug, name,
                                                     "; ".join(mutations),
                                                     detail.strip()[-300:]))
        for command, what, detail in soft:
            if not self.args.quiet:
                print("note #%s %s %s: %s" % (label, command, what, detail))
        sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bnfold", required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mutants", type=int, default=200)
    parser.add_argument("--models", nargs="*", default=[],
                        help="extra seed models (e.g. models/mlp.onnx)")
    parser.add_argument("--node-cases", type=int, default=40,
                        help="how many ONNX backend node cases to sample as seeds")
    parser.add_argument("--max-mutations", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--mem-gb", type=int, default=8,
                        help="address-space limit per command; 0: none (for ASan builds, "
                        "with ASAN_OPTIONS=max_allocation_size_mb=8192:allocator_may_return_null=1)")
    parser.add_argument("--commands", default="inspect,run,optimize,verify")
    parser.add_argument("--out-dir", default=None, help="keeps failing mutants")
    parser.add_argument("--no-known-cases", action="store_true",
                        help="skip the mutants that once failed (known_cases())")
    parser.add_argument("--budget-seconds", type=float, default=0,
                        help="stop starting new mutants after this long (0: no limit)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    args.commands = set(args.commands.split(","))

    rng = random.Random(args.seed)
    seeds = load_seeds(args.models, args.node_cases, rng)
    names = sorted(seeds)
    kinds = sorted({seed_kind(n) for n in names})
    out_dir = args.out_dir or tempfile.mkdtemp(prefix="bnfold_fuzz_")
    os.makedirs(out_dir, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="bnfold_fuzz_work_")
    campaign = Campaign(args, out_dir, workdir)
    mutator = Mutator(rng)
    start = time.monotonic()
    try:
        if not args.no_known_cases:
            for k, (name, description, model) in enumerate(known_cases()):
                campaign.test("known%d" % k, "known", name, [description], model)
        for index in range(args.mutants):
            if args.budget_seconds and time.monotonic() - start > args.budget_seconds:
                print("budget reached after %d mutants" % index)
                break
            # Each seed kind (built-in, node cases, each given model) equally often.
            kind = kinds[rng.randrange(len(kinds))]
            name = rng.choice([n for n in names if seed_kind(n) == kind])
            model = copy.deepcopy(seeds[name])
            mutations = []
            if rng.random() < 0.3:
                # Exporters often write value_info; passes must keep it true.
                inferred = in_child(_infer, model)
                if inferred is not None:
                    model = onnx.load_model_from_string(inferred)
                    mutations.append("value_info from ONNX shape inference")
            if rng.random() < 0.35 and default_opset(model) >= 13:
                # Past the installed ONNX library's newest opset (17) its
                # checker and shape inference are skipped: bnfold's own
                # validation is all that stands between the data and the kernels.
                set_default_opset(model, rng.choice([18, 19]))
                mutations.append("opset -> %d (past the ONNX checker)" % default_opset(model))
            mutated = mutator.mutate(model, rng.randint(1, args.max_mutations))
            if not mutated:
                continue
            campaign.test("%05d" % index, kind, name, mutations + mutated, model)
            if not args.quiet and index % 50 == 0:
                print("... %d mutants, %d bugs, %.0f s" % (index, len(campaign.failures),
                                                          time.monotonic() - start))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    total = sum(campaign.per_kind.values())
    print("%d mutants (%s) in %.0f s: %d bugs, %d exit-2 messages without the file name; "
          "failing mutants in %s" % (total, ", ".join("%s %d" % kv for kv in
                                                      sorted(campaign.per_kind.items())),
                                    time.monotonic() - start, len(campaign.failures),
                                    campaign.soft_count, out_dir))
    print("outcomes: " + ", ".join("%s %d" % kv for kv in sorted(campaign.codes.items())))
    if not campaign.failures and not args.out_dir:
        shutil.rmtree(out_dir, ignore_errors=True)
    return 1 if campaign.failures else 0


if __name__ == "__main__":
    sys.exit(main())
