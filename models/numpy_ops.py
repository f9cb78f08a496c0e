"""A small numpy evaluator for the ONNX ops the seed models use.

It serves two purposes: the generator runs every node as it adds it, so that
BatchNormalization statistics can be calibrated from real pre-BN activations,
and reference.py runs finished models in float64 as an independent check of
ONNX Runtime and bnfold. Only the attribute combinations the generator emits
are supported; anything else raises, so a silent mismatch cannot happen.
"""

import numpy as np
from onnx import helper, numpy_helper


def _conv_output_size(size, kernel, stride, pad_begin, pad_end, dilation):
    return (size + pad_begin + pad_end - dilation * (kernel - 1) - 1) // stride + 1


def _taps(x_nhwc, kh, kw, stride, dilation, out_h, out_w):
    """Yields (i, j, view): the input pixels each kernel tap multiplies."""
    sh, sw = stride
    dh, dw = dilation
    for i in range(kh):
        for j in range(kw):
            yield i, j, x_nhwc[:, i * dh:i * dh + sh * (out_h - 1) + 1:sh,
                               j * dw:j * dw + sw * (out_w - 1) + 1:sw, :]


def _pad_spatial(x, pads, value):
    rank = x.ndim - 2
    widths = [(0, 0), (0, 0)] + [(pads[k], pads[k + rank]) for k in range(rank)]
    return np.pad(x, widths, constant_values=value)


def conv(x, w, b=None, *, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1),
         group=1, kernel_shape=None, auto_pad=b"NOTSET"):
    if auto_pad not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("Conv auto_pad")
    if x.ndim != 4:
        raise NotImplementedError("Conv is 2-D only here")
    n, c, h, wd = x.shape
    out_c, c_per_group, kh, kw = w.shape
    if c != c_per_group * group:
        raise ValueError("Conv channels do not match the weight and group")
    out_h = _conv_output_size(h, kh, strides[0], pads[0], pads[2], dilations[0])
    out_w = _conv_output_size(wd, kw, strides[1], pads[1], pads[3], dilations[1])
    # Channels last, so that every tap is one (pixels x C) @ (C x O) product.
    xh = _pad_spatial(x, pads, 0.0).transpose(0, 2, 3, 1)
    out = np.zeros((n, out_h, out_w, out_c), dtype=x.dtype)
    taps = _taps(xh, kh, kw, strides, dilations, out_h, out_w)
    if group == 1:
        for i, j, view in taps:
            out += view @ w[:, :, i, j].T
    elif c_per_group == 1 and out_c == c:  # depthwise
        for i, j, view in taps:
            out += view * w[:, 0, i, j]
    else:
        og = out_c // group
        for i, j, view in taps:
            for g in range(group):
                out[..., g * og:(g + 1) * og] += (
                    view[..., g * c_per_group:(g + 1) * c_per_group] @ w[g * og:(g + 1) * og, :, i, j].T)
    if b is not None:
        out += b
    return out.transpose(0, 3, 1, 2)


def max_pool(x, *, kernel_shape, strides=(1, 1), pads=(0, 0, 0, 0), ceil_mode=0,
             dilations=(1, 1), auto_pad=b"NOTSET", storage_order=0):
    if ceil_mode or auto_pad not in (b"NOTSET", "NOTSET") or storage_order:
        raise NotImplementedError("MaxPool ceil_mode/auto_pad/storage_order")
    kh, kw = kernel_shape
    _, _, h, w = x.shape
    out_h = _conv_output_size(h, kh, strides[0], pads[0], pads[2], dilations[0])
    out_w = _conv_output_size(w, kw, strides[1], pads[1], pads[3], dilations[1])
    xh = _pad_spatial(x, pads, -np.inf).transpose(0, 2, 3, 1)
    out = None
    for _, _, view in _taps(xh, kh, kw, strides, dilations, out_h, out_w):
        out = view.copy() if out is None else np.maximum(out, view)
    return out.transpose(0, 3, 1, 2)


def batch_norm(x, scale, bias, mean, var, *, epsilon=1e-5, momentum=0.9, training_mode=0):
    if training_mode:
        raise NotImplementedError("BatchNormalization training_mode")
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv = (scale / np.sqrt(var + epsilon)).reshape(shape)
    return (x - mean.reshape(shape)) * inv + bias.reshape(shape)


def gemm(a, b, c=None, *, alpha=1.0, beta=1.0, transA=0, transB=0):
    a = a.T if transA else a
    b = b.T if transB else b
    y = alpha * (a @ b)
    return y if c is None else y + beta * c


def reshape(x, shape, *, allowzero=0):
    shape = [int(d) for d in shape]
    if not allowzero:
        shape = [x.shape[k] if d == 0 else d for k, d in enumerate(shape)]
    return x.reshape(shape)


def flatten(x, *, axis=1):
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


def softmax(x, *, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def clip(x, lo=None, hi=None):
    return np.clip(x, -np.inf if lo is None else lo, np.inf if hi is None else hi)


_OPS = {
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
    "Div": lambda a, b: a / b,
    "Sqrt": np.sqrt,
    "Identity": lambda x: x.copy(),
    "Relu": lambda x: np.maximum(x, 0),
    "Clip": clip,
    "MatMul": np.matmul,
    "Gemm": gemm,
    "Conv": conv,
    "MaxPool": max_pool,
    "BatchNormalization": batch_norm,
    "GlobalAveragePool": lambda x: x.mean(axis=tuple(range(2, x.ndim)), keepdims=True),
    "Flatten": flatten,
    "Reshape": reshape,
    "Transpose": lambda x, *, perm: x.transpose(perm),
    "Softmax": softmax,
}


def attributes(node):
    out = {}
    for a in node.attribute:
        value = helper.get_attribute_value(a)
        out[a.name] = numpy_helper.to_array(value) if a.name == "value" else value
    return out


def run_node(node, inputs, dtype):
    """Outputs of `node` (a NodeProto) given its input arrays."""
    attrs = attributes(node)
    if node.op_type == "Constant":
        value = np.asarray(attrs["value"])
        return [value.astype(dtype) if np.issubdtype(value.dtype, np.floating) else value]
    if node.domain not in ("", "ai.onnx"):
        raise NotImplementedError(f"domain {node.domain}")
    fn = _OPS.get(node.op_type)
    if fn is None:
        raise NotImplementedError(f"op {node.op_type}")
    # Trailing optional inputs given as "" are dropped (Clip min/max, Gemm C).
    while inputs and inputs[-1] is None:
        inputs = inputs[:-1]
    return [fn(*inputs, **attrs)]


def run_graph(graph, feeds, dtype=np.float64):
    """Evaluates a GraphProto (nodes in topological order) on `feeds`."""
    values = {}
    for init in graph.initializer:
        array = numpy_helper.to_array(init)
        values[init.name] = array.astype(dtype) if np.issubdtype(array.dtype, np.floating) else array
    for name, array in feeds.items():
        values[name] = array.astype(dtype) if np.issubdtype(array.dtype, np.floating) else array
    for node in graph.node:
        args = [values[n] if n else None for n in node.input]
        for name, value in zip(node.output, run_node(node, args, dtype)):
            values[name] = value
    return [values[o.name] for o in graph.output]
