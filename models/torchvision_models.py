"""torchvision ResNet-50 (v1.5) and MobileNetV2, written the way
torch.onnx.export (opset 13, dynamic batch axis) writes them: Conv without
bias followed by BatchNormalization(epsilon=1e-5, momentum=0.9), node names
"/module/path/OpType", value names "<node>_output_0", parameters named by
their state_dict key. One difference: since PyTorch 1.7 an eval-mode export
folds BN into the Conv itself (pytorch/pytorch#40547); the BN nodes are kept
here, as in older exports and in other frameworks' models, because folding
them is bnfold's job.
"""

import numpy as np

from graph_builder import GraphBuilder

PRODUCER = ("pytorch", "1.13.1")
BN_EPSILON = 1e-5  # torch.nn.BatchNorm2d default


class TorchExport:
    """Emits PyTorch-style nodes into a GraphBuilder."""

    def __init__(self, builder):
        self.b = builder

    @staticmethod
    def _node_name(scope, op):
        return f"{scope}/{op}"

    def conv(self, x, scope, param, in_c, out_c, kernel, stride=1, group=1):
        fan_in = in_c // group * kernel * kernel
        w = self.b.initializer(f"{param}.weight",
                               self.b.he_normal((out_c, in_c // group, kernel, kernel), fan_in))
        pad = kernel // 2
        name = self._node_name(scope, "Conv")
        return self.b.node("Conv", [x, w], f"{name}_output_0", name=name,
                           dilations=[1, 1], group=group, kernel_shape=[kernel, kernel],
                           pads=[pad] * 4, strides=[stride, stride])

    def batch_norm(self, x, scope, param):
        gamma, beta, mean, var = self.b.bn_parameters(x)
        inputs = [x] + [self.b.initializer(f"{param}.{key}", value) for key, value in
                        (("weight", gamma), ("bias", beta),
                         ("running_mean", mean), ("running_var", var))]
        name = self._node_name(scope, "BatchNormalization")
        return self.b.node("BatchNormalization", inputs, f"{name}_output_0", name=name,
                           epsilon=BN_EPSILON, momentum=0.9)

    def relu(self, x, scope):
        name = self._node_name(scope, "Relu")
        return self.b.node("Relu", [x], f"{name}_output_0", name=name)

    def relu6(self, x, scope):
        """nn.ReLU6 exports as Clip with min/max fed by Constant nodes."""
        lo = self.b.constant(f"{scope}/Constant", f"{scope}/Constant_output_0", 0.0)
        hi = self.b.constant(f"{scope}/Constant_1", f"{scope}/Constant_1_output_0", 6.0)
        name = self._node_name(scope, "Clip")
        return self.b.node("Clip", [x, lo, hi], f"{name}_output_0", name=name)

    def add(self, a, c, scope):
        name = self._node_name(scope, "Add")
        return self.b.node("Add", [a, c], f"{name}_output_0", name=name)

    def classifier_head(self, x, pool_scope, fc_scope, fc_param, in_features, classes, output):
        """GlobalAveragePool -> Flatten -> Gemm(transB=1), as adaptive_avg_pool2d
        + torch.flatten(x, 1) + nn.Linear export."""
        pooled = self.b.node("GlobalAveragePool", [x], f"{pool_scope}/GlobalAveragePool_output_0",
                             name=f"{pool_scope}/GlobalAveragePool")
        flat = self.b.node("Flatten", [pooled], "/Flatten_output_0", name="/Flatten", axis=1)
        w = self.b.initializer(f"{fc_param}.weight",
                               self.b.he_normal((classes, in_features), in_features))
        bias = self.b.initializer(f"{fc_param}.bias", self.b.small_bias(classes))
        self.b.node("Gemm", [flat, w, bias], output, name=f"{fc_scope}/Gemm",
                    alpha=1.0, beta=1.0, transB=1)
        self.b.output(output, ["batch", classes])
        return output


# ---------------------------------------------------------------- ResNet-50

RESNET50_STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))  # planes, blocks, stride


def _bottleneck(t, x, layer, index, in_c, planes, stride):
    """torchvision Bottleneck (v1.5: the stride sits on the 3x3 conv)."""
    width, out_c = planes, planes * 4
    scope, param = f"/{layer}/{layer}.{index}", f"{layer}.{index}"
    h = t.conv(x, f"{scope}/conv1", f"{param}.conv1", in_c, width, 1)
    h = t.relu(t.batch_norm(h, f"{scope}/bn1", f"{param}.bn1"), f"{scope}/relu")
    h = t.conv(h, f"{scope}/conv2", f"{param}.conv2", width, width, 3, stride)
    h = t.relu(t.batch_norm(h, f"{scope}/bn2", f"{param}.bn2"), f"{scope}/relu_1")
    h = t.conv(h, f"{scope}/conv3", f"{param}.conv3", width, out_c, 1)
    h = t.batch_norm(h, f"{scope}/bn3", f"{param}.bn3")
    identity = x
    if stride != 1 or in_c != out_c:
        identity = t.conv(x, f"{scope}/downsample/downsample.0", f"{param}.downsample.0",
                          in_c, out_c, 1, stride)
        identity = t.batch_norm(identity, f"{scope}/downsample/downsample.1",
                                f"{param}.downsample.1")
    return t.relu(t.add(h, identity, scope), f"{scope}/relu_2"), out_c


def resnet50(calibration, seed):
    b = GraphBuilder("torch_jit", seed, PRODUCER)
    t = TorchExport(b)
    x = b.input("input", ["batch", 3, 224, 224], calibration)
    h = t.conv(x, "/conv1", "conv1", 3, 64, 7, 2)
    h = t.relu(t.batch_norm(h, "/bn1", "bn1"), "/relu")
    h = b.node("MaxPool", [h], "/maxpool/MaxPool_output_0", name="/maxpool/MaxPool",
               ceil_mode=0, kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2])
    channels = 64
    for stage, (planes, blocks, stride) in enumerate(RESNET50_STAGES, start=1):
        for index in range(blocks):
            h, channels = _bottleneck(t, h, f"layer{stage}", index, channels, planes,
                                      stride if index == 0 else 1)
    t.classifier_head(h, "/avgpool", "/fc", "fc", channels, 1000, "output")
    return b


# ---------------------------------------------------------------- MobileNetV2

# t (expansion), c (output channels), n (repeats), s (first stride)
MOBILENETV2_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                        (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def _conv_bn_relu6(t, x, parent, local, param, in_c, out_c, kernel, stride=1, group=1):
    """torchvision Conv2dNormActivation: .0 Conv, .1 BatchNorm2d, .2 ReLU6."""
    scope = f"{parent}/{local}"
    h = t.conv(x, f"{scope}/{local}.0", f"{param}.0", in_c, out_c, kernel, stride, group)
    h = t.batch_norm(h, f"{scope}/{local}.1", f"{param}.1")
    return t.relu6(h, f"{scope}/{local}.2")


def _inverted_residual(t, x, index, in_c, out_c, stride, expansion):
    scope, param = f"/features/features.{index}", f"features.{index}.conv"
    hidden = in_c * expansion
    h, layer = x, 0
    if expansion != 1:
        h = _conv_bn_relu6(t, h, f"{scope}/conv", f"conv.{layer}", f"{param}.{layer}",
                           in_c, hidden, 1)
        layer += 1
    h = _conv_bn_relu6(t, h, f"{scope}/conv", f"conv.{layer}", f"{param}.{layer}",
                       hidden, hidden, 3, stride, group=hidden)
    h = t.conv(h, f"{scope}/conv/conv.{layer + 1}", f"{param}.{layer + 1}", hidden, out_c, 1)
    h = t.batch_norm(h, f"{scope}/conv/conv.{layer + 2}", f"{param}.{layer + 2}")
    if stride == 1 and in_c == out_c:
        h = t.add(x, h, scope)
    return h


def mobilenetv2(calibration, seed):
    b = GraphBuilder("torch_jit", seed, PRODUCER)
    t = TorchExport(b)
    x = b.input("input", ["batch", 3, 224, 224], calibration)
    h = _conv_bn_relu6(t, x, "/features", "features.0", "features.0", 3, 32, 3, 2)
    channels, index = 32, 1
    for expansion, out_c, repeats, stride in MOBILENETV2_SETTINGS:
        for r in range(repeats):
            h = _inverted_residual(t, h, index, channels, out_c, stride if r == 0 else 1,
                                   expansion)
            channels, index = out_c, index + 1
    h = _conv_bn_relu6(t, h, "/features", f"features.{index}", f"features.{index}",
                       channels, 1280, 1)
    t.classifier_head(h, "", "/classifier/classifier.1", "classifier.1", 1280, 1000, "output")
    return b
