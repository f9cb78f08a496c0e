// NonMaxSuppression (opsets 10, 11) of the vision family (see vision.cc):
// a C++ loop. Its output's length depends on the boxes' and scores'
// values, so the kernel is compiled for them: constants, inputs a plan is
// specialised on, or the values a staged run computed before it
// (plan_cache.h). A model that declares the output's full shape runs it
// as a step, checking each run that the count agrees.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/shape_operand.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// A box as its corners, smaller first whichever way the model gave them.
struct Corners {
  float y_min, x_min, y_max, x_max;
  float area() const { return (y_max - y_min) * (x_max - x_min); }
};

Corners CornersOf(const float* box, bool center_point) {
  if (center_point) {  // [x_center, y_center, width, height]
    const float half_w = box[2] / 2.0f, half_h = box[3] / 2.0f;
    return {box[1] - half_h, box[0] - half_w, box[1] + half_h, box[0] + half_w};
  }
  // [y1, x1, y2, x2], any diagonal pair of corners.
  return {std::min(box[0], box[2]), std::min(box[1], box[3]), std::max(box[0], box[2]),
          std::max(box[1], box[3])};
}

// Whether `a` overlaps `b` by more than `threshold` (intersection over
// union). Boxes without area, or not overlapping, never suppress.
bool Overlaps(const Corners& a, const Corners& b, float threshold) {
  const float h = std::min(a.y_max, b.y_max) - std::max(a.y_min, b.y_min);
  const float w = std::min(a.x_max, b.x_max) - std::max(a.x_min, b.x_min);
  if (h <= 0.0f || w <= 0.0f) return false;
  const float intersection = h * w;
  const float area_a = a.area(), area_b = b.area();
  const float union_area = area_a + area_b - intersection;
  if (area_a <= 0.0f || area_b <= 0.0f || union_area <= 0.0f) return false;
  return intersection / union_area > threshold;
}

struct NmsParams {
  int64_t batches = 0, classes = 0, boxes = 0;
  bool center_point = false;
};

struct NmsInputs {
  const float* boxes = nullptr;   // [batches, boxes, 4]
  const float* scores = nullptr;  // [batches, classes, boxes]
  int64_t max_per_class = 0;
  float iou_threshold = 0.0f;
  bool has_score_threshold = false;
  float score_threshold = 0.0f;
};

// The selected [batch, class, box] triples: per batch and class, the boxes
// scoring above score_threshold in descending score (the lower index first
// on ties), each kept unless it overlaps one kept before by more than
// iou_threshold, at most max_per_class of them.
Status Select(const NmsParams& p, const NmsInputs& in, std::vector<int64_t>* selected) {
  if (!(in.iou_threshold >= 0.0f && in.iou_threshold <= 1.0f)) {
    return InvalidArgument("iou_threshold must be in [0, 1], got " +
                           std::to_string(in.iou_threshold));
  }
  selected->clear();
  if (in.max_per_class <= 0) return Status::Ok();
  std::vector<Corners> corners(static_cast<size_t>(p.boxes));
  std::vector<int64_t> order;
  std::vector<int64_t> kept;
  for (int64_t b = 0; b < p.batches; ++b) {
    for (int64_t i = 0; i < p.boxes; ++i) {
      corners[i] = CornersOf(in.boxes + (b * p.boxes + i) * 4, p.center_point);
    }
    for (int64_t c = 0; c < p.classes; ++c) {
      const float* score = in.scores + (b * p.classes + c) * p.boxes;
      order.clear();
      for (int64_t i = 0; i < p.boxes; ++i) {
        if (!in.has_score_threshold || score[i] > in.score_threshold) order.push_back(i);
      }
      // NaN scores (kept when there is no score_threshold) go last.
      std::stable_sort(order.begin(), order.end(), [score](int64_t x, int64_t y) {
        const bool nan_x = std::isnan(score[x]), nan_y = std::isnan(score[y]);
        return nan_x != nan_y ? nan_y : !nan_x && score[x] > score[y];
      });
      kept.clear();
      for (int64_t i : order) {
        if (static_cast<int64_t>(kept.size()) >= in.max_per_class) break;
        bool suppressed = false;
        for (int64_t k : kept) {
          if (Overlaps(corners[i], corners[k], in.iou_threshold)) {
            suppressed = true;
            break;
          }
        }
        if (suppressed) continue;
        kept.push_back(i);
        selected->insert(selected->end(), {b, c, i});
      }
    }
  }
  return Status::Ok();
}

class NonMaxSuppressionKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const TensorDesc& boxes = ctx.input(0);
    const TensorDesc& scores = ctx.input(1);
    if (boxes.dtype != DataType::kFloat) return UnsupportedType(ctx, 0, "float");
    if (scores.dtype != DataType::kFloat) return UnsupportedType(ctx, 1, "float");
    if (boxes.dims.size() != 3 || boxes.dims[2] != 4) {
      return InvalidModel(ctx.Describe() + ": boxes must be [batches, boxes, 4], got " +
                          ShapeToString(boxes.dims));
    }
    if (scores.dims.size() != 3 || scores.dims[0] != boxes.dims[0] ||
        scores.dims[2] != boxes.dims[1]) {
      return InvalidModel(ctx.Describe() + ": scores must be [" + std::to_string(boxes.dims[0]) +
                          ", classes, " + std::to_string(boxes.dims[1]) + "], got " +
                          ShapeToString(scores.dims));
    }
    params_ = {boxes.dims[0], scores.dims[1], boxes.dims[1], false};
    ASSIGN_OR_RETURN(const int64_t center, ctx.node().GetInt("center_point_box", 0));
    if (center != 0 && center != 1) {
      return InvalidModel(ctx.Describe() + ": center_point_box must be 0 or 1, got " +
                          std::to_string(center));
    }
    params_.center_point = center == 1;
    for (int i = 2; i < 5; ++i) {
      const TensorDesc& d = ctx.input(i);
      if (d.dtype == DataType::kUndefined) continue;
      const DataType wanted = i == 2 ? DataType::kInt64 : DataType::kFloat;
      if (d.dtype != wanted) return UnsupportedType(ctx, i, DataTypeName(wanted));
      if (d.num_elements() != 1) {
        return InvalidModel(ctx.Describe() + ": input " + std::to_string(i) +
                            " must hold one value, got " + ShapeToString(d.dims));
      }
    }
    // Every input's value, when known now.
    std::vector<const void*> values;
    bool known = true;
    for (int i = 0; i < 5; ++i) {
      const Tensor* c = ctx.constant_input(i);
      known = known && (c != nullptr || ctx.input(i).dtype == DataType::kUndefined);
      values.push_back(c ? c->data() : nullptr);
    }
    if (known) {
      std::vector<int64_t> selected;
      RETURN_IF_ERROR(Select(params_, Inputs(values.data()), &selected).WithContext(ctx.Describe()));
      count_ = static_cast<int64_t>(selected.size()) / 3;
    } else {
      StatusOr<std::vector<int64_t>> declared =
          DeclaredOutputDims(ctx, 0, "the boxes and scores (the output's length depends on them)");
      if (!declared.ok()) return declared.status();
      if (declared->size() != 2 || (*declared)[1] != 3) {
        return InvalidModel(ctx.Describe() + ": declared output shape " +
                            ShapeToString(*declared) + " is not [count, 3]");
      }
      count_ = (*declared)[0];
    }
    ctx.SetOutput(0, DataType::kInt64, {count_, 3});
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    const void* values[5];
    for (int i = 0; i < 5; ++i) values[i] = ctx.input(i);
    std::vector<int64_t> selected;
    RETURN_IF_ERROR(Select(params_, Inputs(values), &selected));
    if (static_cast<int64_t>(selected.size()) != count_ * 3) {
      return InvalidArgument("NonMaxSuppression selects " + std::to_string(selected.size() / 3) +
                             " boxes but the plan was built for " + std::to_string(count_));
    }
    std::copy(selected.begin(), selected.end(), ctx.output_as<int64_t>(0));
    return Status::Ok();
  }

 private:
  // The inputs' data (null for an omitted optional one) read as NmsInputs.
  static NmsInputs Inputs(const void* const* values) {
    NmsInputs in;
    in.boxes = static_cast<const float*>(values[0]);
    in.scores = static_cast<const float*>(values[1]);
    if (values[2]) in.max_per_class = *static_cast<const int64_t*>(values[2]);
    if (values[3]) in.iou_threshold = *static_cast<const float*>(values[3]);
    if (values[4]) {
      in.has_score_threshold = true;
      in.score_threshold = *static_cast<const float*>(values[4]);
    }
    return in;
  }

  NmsParams params_;
  int64_t count_ = 0;
};

}  // namespace

void RegisterVisionNmsKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kNonMaxSuppression, MakeKernel<NonMaxSuppressionKernel>);
}

}  // namespace bnfold::onednn
