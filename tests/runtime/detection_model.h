// A detection post-processing model whose shapes are known only at run
// time, shared by the staged-run and NonMaxSuppression tests.
#pragma once

namespace bnfold::testing {

// Detection post-processing: NonMaxSuppression over computed boxes and
// scores, its selected indices feeding Gather and GatherND.
inline constexpr char kDetectModel[] = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  g (float[1, N, 4] raw, float[1, N, 2] logits) => (int64[K, 3] selected, float[K, 4] picked,
                                                    float[K] picked_scores) {
    two = Constant <value = float[1] {2}> ()
    boxes = Mul(raw, two)
    scores = Transpose <perm = [0, 2, 1]> (logits)
    max_out = Constant <value = int64[1] {3}> ()
    iou = Constant <value = float[1] {0.5}> ()
    threshold = Constant <value = float[1] {0.1}> ()
    selected = NonMaxSuppression(boxes, scores, max_out, iou, threshold)
    col = Constant <value = int64[1] {2}> ()
    column = Gather <axis = 1> (selected, col)
    ax1 = Constant <value = int64[1] {1}> ()
    index = Squeeze(column, ax1)
    ax0 = Constant <value = int64[1] {0}> ()
    flat = Squeeze(boxes, ax0)
    picked = Gather <axis = 0> (flat, index)
    picked_scores = GatherND(scores, selected)
  })";

}  // namespace bnfold::testing
