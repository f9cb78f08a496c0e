"""The TensorFlow/Keras networks of the seed write-ups, written the way tf2onnx
(opset 13) writes them: NHWC graph inputs, Conv wrapped in Transposes, Dense as
MatMul + Add (or Gemm after tf2onnx's gemm rewriter), TF tensor names with
":0", and BatchNormalization epsilon 1e-3 (the Keras and tf.contrib default).
"""

import numpy as np

from graph_builder import GraphBuilder

PRODUCER = ("tf2onnx", "1.16.1 15c810")
KERAS_BN_EPSILON = 1e-3
NHWC_TO_NCHW = [0, 3, 1, 2]
NCHW_TO_NHWC = [0, 2, 3, 1]


class TfExport:
    def __init__(self, builder):
        self.b = builder

    def conv_nchw(self, x, scope, in_c, out_c, kernel, bias):
        """Keras Conv2D(padding='same') after tf2onnx's transpose optimizer:
        the Conv sits in NCHW, weights converted from HWIO to OIHW."""
        w = self.b.he_normal((kernel, kernel, in_c, out_c), in_c * kernel * kernel)
        inputs = [x, self.b.initializer(f"{scope}/Conv2D/ReadVariableOp:0",
                                        w.transpose(3, 2, 0, 1))]
        if bias:
            inputs.append(self.b.initializer(f"{scope}/BiasAdd/ReadVariableOp:0",
                                             self.b.small_bias(out_c)))
        pad = kernel // 2
        op = "BiasAdd" if bias else "Conv2D"
        return self.b.node("Conv", inputs, f"{scope}/{op}:0", name=f"{scope}/{op}",
                           dilations=[1, 1], kernel_shape=[kernel, kernel],
                           pads=[pad] * 4, strides=[1, 1])

    def batch_norm_node(self, x, scope):
        """FusedBatchNormV3 -> BatchNormalization (what tf2onnx emits for the
        fused kernel Keras uses on 4-D tensors)."""
        gamma, beta, mean, var = self.b.bn_parameters(x)
        read = f"{scope}/FusedBatchNormV3/ReadVariableOp"
        inputs = [x] + [self.b.initializer(f"{read}{suffix}:0", value) for suffix, value in
                        (("", gamma), ("_1", beta), ("_2", mean), ("_3", var))]
        return self.b.node("BatchNormalization", inputs, f"{scope}/FusedBatchNormV3:0",
                           name=f"{scope}/FusedBatchNormV3", epsilon=KERAS_BN_EPSILON)

    def batch_norm_mul_add(self, x, scope):
        """Keras BN on a 2-D tensor runs unfused (tf.nn.batch_normalization):
        after freezing, TF has folded its constants and tf2onnx emits
        x * scale + shift."""
        gamma, beta, mean, var = self.b.bn_parameters(x)
        scale = gamma / np.sqrt(var + KERAS_BN_EPSILON)
        shift = beta - mean * scale
        s = self.b.initializer(f"{scope}/batchnorm/mul:0", scale)
        t = self.b.initializer(f"{scope}/batchnorm/sub:0", shift)
        h = self.b.node("Mul", [x, s], f"{scope}/batchnorm/mul_1:0", name=f"{scope}/batchnorm/mul_1")
        return self.b.node("Add", [h, t], f"{scope}/batchnorm/add_1:0", name=f"{scope}/batchnorm/add_1")

    def dense(self, x, scope, in_features, out_features):
        """Keras Dense: MatMul with the [in, out] kernel, then Add of the bias."""
        w = self.b.initializer(f"{scope}/MatMul/ReadVariableOp:0",
                               self.b.he_normal((in_features, out_features), in_features))
        bias = self.b.initializer(f"{scope}/BiasAdd/ReadVariableOp:0",
                                  self.b.small_bias(out_features))
        h = self.b.node("MatMul", [x, w], f"{scope}/MatMul:0", name=f"{scope}/MatMul")
        return self.b.node("Add", [h, bias], f"{scope}/BiasAdd:0", name=f"{scope}/BiasAdd")

    def relu(self, x, scope):
        return self.b.node("Relu", [x], f"{scope}/Relu:0", name=f"{scope}/Relu")

    def transpose(self, x, name, perm):
        return self.b.node("Transpose", [x], f"{name}:0", name=name, perm=perm)


# ---------------------------------------------------------------- Keras CNN

def keras_cnn(calibration, seed):
    """Seed 002's create_cnn_with_batchnorm (28x28x1, Conv-BN-ReLU-MaxPool x2,
    Flatten, Dense(128)-BN-ReLU, Dropout) followed by seed 003's head
    (Dense(64, relu)-BN, Dense(10, softmax)), i.e. both Dense/BN placements."""
    b = GraphBuilder("tf2onnx", seed, PRODUCER)
    t = TfExport(b)
    s = "sequential"
    x = b.input("input_1", ["batch", 28, 28, 1], calibration)
    h = t.transpose(x, f"{s}/conv2d/BiasAdd__6", NHWC_TO_NCHW)
    channels = 1
    for block, (conv, bn, act, pool, out_c) in enumerate((
            ("conv2d", "batch_normalization", "activation", "max_pooling2d", 32),
            ("conv2d_1", "batch_normalization_1", "activation_1", "max_pooling2d_1", 64))):
        h = t.conv_nchw(h, f"{s}/{conv}", channels, out_c, 3, bias=True)
        h = t.relu(t.batch_norm_node(h, f"{s}/{bn}"), f"{s}/{act}")
        h = b.node("MaxPool", [h], f"{s}/{pool}/MaxPool:0", name=f"{s}/{pool}/MaxPool",
                   kernel_shape=[2, 2], pads=[0, 0, 0, 0], strides=[2, 2])
        channels = out_c
    # Keras flattens in NHWC order, so the layout goes back before the Reshape.
    h = t.transpose(h, f"{s}/max_pooling2d_1/MaxPool__20", NCHW_TO_NHWC)
    shape = b.initializer("const_fold_opt__42", np.array([-1, 7 * 7 * 64], dtype=np.int64))
    h = b.node("Reshape", [h, shape], f"{s}/flatten/Reshape:0", name=f"{s}/flatten/Reshape")
    # Dense -> BN -> ReLU (seed 002). Dropout is the identity at inference.
    h = t.dense(h, f"{s}/dense", 7 * 7 * 64, 128)
    h = t.relu(t.batch_norm_node(h, f"{s}/batch_normalization_2"), f"{s}/activation_2")
    # Dense(relu) -> BN (seed 003), then the softmax classifier.
    h = t.relu(t.dense(h, f"{s}/dense_1", 128, 64), f"{s}/dense_1")
    h = t.batch_norm_mul_add(h, f"{s}/batch_normalization_3")
    h = t.dense(h, f"{s}/dense_2", 64, 10)
    b.node("Softmax", [h], "dense_2", name=f"{s}/dense_2/Softmax", axis=-1)
    b.output("dense_2", ["batch", 10])
    return b


# ---------------------------------------------------------------- MNIST MLP

def mlp(calibration, seed, untrained_stats=False):
    """Seed 001 (Rui Shu): 784-100-BN-ReLU-100-BN-ReLU-10 with
    tf.contrib.layers.fully_connected (MatMul + BiasAdd, fused to Gemm by
    tf2onnx) and tf.contrib.layers.batch_norm (epsilon 1e-3).

    untrained_stats: the moving mean/variance keep their initial values 0/1,
    as when the UPDATE_OPS were never run during training (the mistake the
    seed warns about); weights, gamma and beta are the same as the trained one.
    """
    b = GraphBuilder("tf2onnx", seed, PRODUCER)
    x = b.input("x:0", ["batch", 784], calibration)
    h, features = x, 784
    for layer in ("layer1", "layer2"):
        w = b.initializer(f"{layer}/dense/MatMul/ReadVariableOp:0",
                          b.he_normal((features, 100), features))
        bias = b.initializer(f"{layer}/dense/BiasAdd/ReadVariableOp:0", b.small_bias(100))
        h = b.node("Gemm", [h, w, bias], f"{layer}/dense/BiasAdd:0", name=f"{layer}/dense/MatMul",
                   alpha=1.0, beta=1.0)
        gamma, beta, mean, var = b.bn_parameters(h)
        if untrained_stats:
            mean, var = np.zeros_like(mean), np.ones_like(var)
        read = f"{layer}/bn/FusedBatchNormV3/ReadVariableOp"
        bn_inputs = [h] + [b.initializer(f"{read}{suffix}:0", value) for suffix, value in
                           (("", gamma), ("_1", beta), ("_2", mean), ("_3", var))]
        h = b.node("BatchNormalization", bn_inputs, f"{layer}/bn/FusedBatchNormV3:0",
                   name=f"{layer}/bn/FusedBatchNormV3", epsilon=KERAS_BN_EPSILON)
        h = b.node("Relu", [h], f"{layer}/relu:0", name=f"{layer}/relu")
        features = 100
    w = b.initializer("logits/MatMul/ReadVariableOp:0", b.he_normal((100, 10), 100))
    bias = b.initializer("logits/BiasAdd/ReadVariableOp:0", b.small_bias(10))
    b.node("Gemm", [h, w, bias], "logits/BiasAdd:0", name="logits/MatMul", alpha=1.0, beta=1.0)
    b.output("logits/BiasAdd:0", ["batch", 10])
    return b


# ---------------------------------------------------------------- FCN

FCN_HIDDEN = 32
FCN_BN_EPSILON = 1e-5  # the seed passes variance_epsilon explicitly


def _fcn_layer(b, t, x, index, in_c, out_c):
    """tf.nn.conv2d(SAME, no bias) + tf.nn.batch_normalization written out as
    (x - mean) * (gamma / sqrt(var + eps)) + beta, + tf.nn.relu. tf2onnx's
    Conv handler wraps the NCHW Conv in Transposes (kept here, as when the
    transpose optimizer is off), so the BN arithmetic runs in NHWC on [C]
    vectors, and the scale is a constant subgraph, not an initializer."""
    scope = f"layer{index}"
    h = t.transpose(x, f"{scope}/Conv2D__{4 * index}", NHWC_TO_NCHW)
    h = t.conv_nchw(h, scope, in_c, out_c, 3, bias=False)
    h = t.transpose(h, f"{scope}/Conv2D__{4 * index + 1}", NCHW_TO_NHWC)
    # Calibrate on the NHWC conv output: channels are the last axis.
    gamma, beta, mean, var = b.bn_parameters(h, channel_axis=-1)
    bn = f"{scope}/batchnorm"
    mean = b.initializer(f"{scope}/moving_mean:0", mean)
    var = b.initializer(f"{scope}/moving_variance:0", var)
    gamma = b.initializer(f"{scope}/scale:0", gamma)
    beta = b.initializer(f"{scope}/offset:0", beta)
    eps = b.initializer(f"{bn}/add/y:0", np.array(FCN_BN_EPSILON, dtype=np.float32))
    var_eps = b.node("Add", [var, eps], f"{bn}/add:0", name=f"{bn}/add")
    std = b.node("Sqrt", [var_eps], f"{bn}/Sqrt:0", name=f"{bn}/Sqrt")
    factor = b.node("Div", [gamma, std], f"{bn}/truediv:0", name=f"{bn}/truediv")
    h = b.node("Sub", [h, mean], f"{bn}/sub:0", name=f"{bn}/sub")
    h = b.node("Mul", [h, factor], f"{bn}/mul:0", name=f"{bn}/mul")
    h = b.node("Add", [h, beta], f"{bn}/add_1:0", name=f"{bn}/add_1")
    return t.relu(h, scope)


def fcn(calibration, seed):
    """Seed 000 (Divakar V): a 2-layer fully convolutional net, 512x512 RGB in,
    512x512x3 out, BN after each conv with tf.nn.batch_normalization."""
    b = GraphBuilder("tf2onnx", seed, PRODUCER)
    t = TfExport(b)
    x = b.input("input:0", ["batch", 512, 512, 3], calibration)
    h = _fcn_layer(b, t, x, 1, 3, FCN_HIDDEN)
    h = _fcn_layer(b, t, h, 2, FCN_HIDDEN, 3)
    out = b.node("Identity", [h], "output:0", name="output")
    b.output(out, ["batch", 512, 512, 3])
    return b
