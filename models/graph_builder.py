"""GraphBuilder: writes an ONNX graph and runs it on calibration data as it goes.

Every node is evaluated (numpy_ops) the moment it is added, so a model can ask
for the real statistics of any value -- which is how BatchNormalization gets
running mean/variance that match what the layer actually sees, making BN
outputs roughly N(beta, gamma^2) as in a trained network.
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import numpy_ops

OPSET = 13


class GraphBuilder:
    def __init__(self, name, seed, producer=("bnfold-models", "1")):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.producer = producer
        self.nodes, self.initializers, self.inputs, self.outputs = [], [], [], []
        self.values = {}  # name -> calibration activations (float64)
        self._used_names = set()

    # ---- graph interface

    def _claim(self, name):
        if name in self._used_names:
            raise ValueError(f"duplicate name {name}")
        self._used_names.add(name)
        return name

    def input(self, name, dims, calibration):
        """A float graph input; `dims` may hold strings (dim_param)."""
        self.inputs.append(helper.make_tensor_value_info(self._claim(name), TensorProto.FLOAT, dims))
        self.values[name] = np.asarray(calibration, dtype=np.float64)
        return name

    def initializer(self, name, array):
        array = np.asarray(array)
        if np.issubdtype(array.dtype, np.floating):
            array = array.astype(np.float32)
        self.initializers.append(numpy_helper.from_array(array, self._claim(name)))
        # Calibrate with the stored (rounded) values, as the runtimes will see them.
        self.values[name] = array.astype(np.float64) if array.dtype == np.float32 else array
        return name

    def node(self, op_type, inputs, output, name=None, **attrs):
        """Adds one single-output node and evaluates it; returns the output name."""
        node = helper.make_node(op_type, list(inputs), [self._claim(output)],
                                name=name or output, **attrs)
        self.nodes.append(node)
        args = [self.values[i] if i else None for i in inputs]
        self.values[output] = numpy_ops.run_node(node, args, np.float64)[0]
        return output

    def constant(self, name, output, array):
        """A Constant node (what PyTorch emits for scalar operands)."""
        tensor = numpy_helper.from_array(np.asarray(array, dtype=np.float32), output)
        return self.node("Constant", [], output, name=name, value=tensor)

    def output(self, value, dims):
        self.outputs.append(helper.make_tensor_value_info(value, TensorProto.FLOAT, dims))

    def model(self, doc):
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs,
                                  initializer=self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name=self.producer[0],
                                  producer_version=self.producer[1], doc_string=doc)
        return model

    # ---- parameter initialisation

    def he_normal(self, shape, fan_in):
        return self.rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)

    def small_bias(self, n):
        return self.rng.normal(0.0, 0.1, size=n)

    def bn_parameters(self, value, channel_axis=1):
        """(gamma, beta, mean, var) for a BN on `value`: mean/var measured per
        channel over the calibration activations, gamma ~ U(0.5, 1.5) and
        beta ~ N(0, 0.1)."""
        x = self.values[value]
        axes = tuple(a for a in range(x.ndim) if a != channel_axis % x.ndim)
        channels = x.shape[channel_axis]
        gamma = self.rng.uniform(0.5, 1.5, size=channels)
        beta = self.rng.normal(0.0, 0.1, size=channels)
        return gamma, beta, x.mean(axis=axes), x.var(axis=axes)


def check(model):
    """Full checker plus strict shape inference; returns the inferred model."""
    onnx.checker.check_model(model, full_check=True)
    return onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)


def count_macs(model):
    """Multiply-accumulates per sample (batch 1) of Conv, Gemm and MatMul, from
    the shapes ONNX shape inference gives with the batch dimension set to 1."""
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for value in list(fixed.graph.input) + list(fixed.graph.output):
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_param"):
                dim.dim_value = 1
    inferred = onnx.shape_inference.infer_shapes(fixed, strict_mode=True)
    shapes = {}
    for v in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        shapes[v.name] = [d.dim_value for d in v.type.tensor_type.shape.dim]
    for init in inferred.graph.initializer:
        shapes[init.name] = list(init.dims)
    total = 0
    for node in inferred.graph.node:
        if node.op_type == "Conv":
            out = shapes[node.output[0]]
            w = shapes[node.input[1]]
            total += int(np.prod(out)) * int(np.prod(w[1:]))
        elif node.op_type == "Gemm":
            attrs = {a.name: a.i for a in node.attribute}
            a, b = shapes[node.input[0]], shapes[node.input[1]]
            m = a[1] if attrs.get("transA") else a[0]
            k = a[0] if attrs.get("transA") else a[1]
            n = b[0] if attrs.get("transB") else b[1]
            total += m * k * n
        elif node.op_type == "MatMul":
            out = shapes[node.output[0]]
            k = shapes[node.input[0]][-1]
            total += int(np.prod(out)) * k
    return total
