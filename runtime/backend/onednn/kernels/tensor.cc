// Ops that rearrange a tensor's elements through per-axis index tables (see
// axis_map.h): Transpose, Slice, Tile, Pad, DepthToSpace, SpaceToDepth.
// Concat, Split and Gather (block copies) live in block_copy.cc. Every dtype
// with a fixed size is moved as raw bytes.
#include <algorithm>
#include <cstring>
#include <limits>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/block_copy.h"
#include "runtime/backend/onednn/kernels/support/axis_map.h"
#include "runtime/backend/onednn/kernels/support/elementwise_layout.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/shape_operand.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

using Offsets = std::vector<std::vector<int64_t>>;

// Offset tables sized by `dims`, and pointers to them.
struct Tables {
  explicit Tables(const std::vector<int64_t>& dims) : offsets(dims.size()) {
    for (size_t k = 0; k < dims.size(); ++k) {
      offsets[k].resize(dims[k]);
      pointers.push_back(offsets[k].data());
    }
  }
  Offsets offsets;
  std::vector<int64_t*> pointers;
};

// Output 0 is input 0 read through per-axis offset tables: built once at
// compile time, or on every run when they depend on a run-time operand
// (then in per-context state, so Execute stays allocation-free).
class AxisMapKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    ASSIGN_OR_RETURN(element_size_, MovableElementSize(ctx, 0));
    ASSIGN_OR_RETURN(dims_, OutputDims(ctx));
    RETURN_IF_ERROR(CheckOutputSize(ctx, ctx.input(0).dtype, dims_));
    if (table_dims_.empty()) table_dims_ = dims_;
    if (!tables_at_run_time_) {
      Tables tables(table_dims_);
      RETURN_IF_ERROR(BuildTables(ctx, tables.pointers.data()));
      RETURN_IF_ERROR(copy_.Init(std::move(tables.offsets), element_size_)
                          .WithContext(ctx.Describe()));
    } else if (dims_.size() > AxisMapCopy::kMaxAxes) {
      return Unsupported(ctx.Describe() + ": rank " + std::to_string(dims_.size()) + " is above " +
                         std::to_string(AxisMapCopy::kMaxAxes));
    }
    threads_ = ctx.threads();
    ctx.SetOutput(0, ctx.input(0).dtype, dims_);
    return Status::Ok();
  }

  std::unique_ptr<KernelState> CreateState(const dnnl::engine&) const override {
    if (!tables_at_run_time_) return nullptr;
    auto state = std::make_unique<RunTimeTables>(table_dims_);
    return state;
  }

  Status Execute(ExecContext& ctx) const override {
    if (!tables_at_run_time_) {
      RETURN_IF_ERROR(CheckAtRunTime(ctx));
      copy_.Run(ctx.input(0), ctx.output(0), Fill(ctx), threads_);
      return Status::Ok();
    }
    auto& state = *static_cast<RunTimeTables*>(ctx.state());
    RETURN_IF_ERROR(FillTablesAtRunTime(ctx, state.tables.pointers.data()));
    RETURN_IF_ERROR(state.copy.InitView(table_dims_.size(), state.tables.pointers.data(),
                                        table_dims_.data(), element_size_));
    state.copy.Run(ctx.input(0), ctx.output(0), Fill(ctx), threads_);
    return Status::Ok();
  }

 protected:
  // Output dims first, so their size is checked before tables are sized by
  // them. Sets tables_at_run_time_ when the tables need run-time operands.
  virtual StatusOr<std::vector<int64_t>> OutputDims(CompileContext& ctx) = 0;
  // Fills tables[k][0..dims_[k]) at compile time.
  virtual Status BuildTables(CompileContext& ctx, int64_t* const* tables) = 0;
  // Fills them from the run-time operands (bare errors).
  virtual Status FillTablesAtRunTime(const ExecContext& ctx, int64_t* const* tables) const {
    (void)ctx, (void)tables;
    return Internal("no run-time tables");
  }
  // Checks run-time operands the compile-time tables depend on.
  virtual Status CheckAtRunTime(const ExecContext& ctx) const {
    (void)ctx;
    return Status::Ok();
  }
  // The element that kOutside offsets read.
  virtual const void* Fill(const ExecContext& ctx) const {
    (void)ctx;
    return nullptr;
  }

  std::vector<int64_t> dims_;
  // Dims the tables index, when not the output's (a finer view of it).
  std::vector<int64_t> table_dims_;
  bool tables_at_run_time_ = false;

 private:
  struct RunTimeTables : KernelState {
    explicit RunTimeTables(const std::vector<int64_t>& dims) : tables(dims) {}
    Tables tables;
    AxisMapCopy copy;
  };

  AxisMapCopy copy_;
  size_t element_size_ = 0;
  int threads_ = 1;
};

// ---------------------------------------------------------------- Transpose

// Whether `layout` is channels-last (nwc, nhwc, ndhwc) for `dims`: what
// NHWC data transposed to NCHW looks like, and what oneDNN's pooling and
// normalization take as well as plain.
bool IsChannelsLast(const dnnl::memory::desc& layout, DataType dtype,
                    const std::vector<int64_t>& dims) {
  using tag = dnnl::memory::format_tag;
  tag channels_last = tag::undef;
  switch (dims.size()) {
    case 3: channels_last = tag::acb; break;
    case 4: channels_last = tag::acdb; break;
    case 5: channels_last = tag::acdeb; break;
    default: return false;
  }
  return layout == dnnl::memory::desc(dnnl::memory::dims(dims.begin(), dims.end()),
                                      ToDnnlType(dtype), channels_last);
}

// Whether a reader of `value` is a pooling or normalization op: they take
// any layout and then may find only oneDNN's slow reference code for an
// unusual one.
bool ReadByLayoutSensitiveOp(const ir::Value& value) {
  for (const ir::Use& use : value.uses()) {
    switch (use.node->kind()) {
      case ir::OpKind::kAveragePool: case ir::OpKind::kMaxPool:
      case ir::OpKind::kGlobalAveragePool: case ir::OpKind::kGlobalMaxPool:
      case ir::OpKind::kBatchNormalization: case ir::OpKind::kInstanceNormalization:
      case ir::OpKind::kLRN:
        return true;
      default:
        break;
    }
  }
  return false;
}

// A Transpose is a view: the input's bytes under a permuted oneDNN desc
// (NHWC data transposed to NCHW is an nhwc-strided NCHW tensor). A consumer
// that takes any layout reads it as is (a Conv whose chosen layout is nhwc
// needs no data movement); the planner reorders it once for the others.
// Copied through the offset tables instead when oneDNN has no type for it,
// would reorder it only with its slow generic code, or when the permuted
// layout is neither plain nor channels-last and a pooling or normalization
// op reads it.
class TransposeKernel : public AxisMapKernel {
 public:
  Status Compile(CompileContext& ctx) override {
    ASSIGN_OR_RETURN(const std::vector<int64_t> dims, OutputDims(ctx));
    if (TryView(ctx, dims)) return Status::Ok();
    return AxisMapKernel::Compile(ctx);
  }

 private:
  bool TryView(CompileContext& ctx, const std::vector<int64_t>& dims) {
    const TensorDesc& x = ctx.input(0);
    bool identity = true;
    for (size_t i = 0; i < perm_.size(); ++i) identity = identity && perm_[i] == static_cast<int64_t>(i);
    if (identity && x.is_plain()) return ctx.SetOutputView(0, 0, dims);
    if (ToDnnlType(x.dtype) == dnnl::memory::data_type::undef || x.dims.empty() ||
        x.dims.size() > DNNL_MAX_NDIMS || x.num_elements() == 0) {
      return false;
    }
    // oneDNN's permutation maps each input axis to its output position.
    std::vector<int> positions(perm_.size());
    for (size_t j = 0; j < perm_.size(); ++j) positions[perm_[j]] = static_cast<int>(j);
    try {
      dnnl::memory::desc layout = x.ToMemoryDesc().permute_axes(positions);
      if (layout == PlainDesc(x.dtype, dims)) {
        layout = dnnl::memory::desc();
      } else {
        if (!IsChannelsLast(layout, x.dtype, dims) && ctx.node().output(0) != nullptr &&
            ReadByLayoutSensitiveOp(*ctx.node().output(0))) {
          return false;
        }
        const dnnl::reorder::primitive_desc to_plain(ctx.engine(), layout, ctx.engine(),
                                                     PlainDesc(x.dtype, dims));
        const std::string impl = to_plain.impl_info_str();
        if (IsReferenceImpl(to_plain) || impl.rfind("simple", 0) == 0) return false;
      }
      if (!ctx.SetOutputView(0, 0, dims, layout)) return false;
    } catch (const dnnl::error&) {
      return false;
    }
    ctx.AcceptInputLayout(0);
    return true;
  }

  StatusOr<std::vector<int64_t>> OutputDims(CompileContext& ctx) override {
    const std::vector<int64_t>& in = ctx.input(0).dims;
    const int64_t rank = static_cast<int64_t>(in.size());
    std::vector<int64_t> reversed(rank);
    for (int64_t i = 0; i < rank; ++i) reversed[i] = rank - 1 - i;
    ASSIGN_OR_RETURN(perm_, ctx.node().GetInts("perm", reversed));
    std::vector<bool> seen(rank, false);
    bool valid = static_cast<int64_t>(perm_.size()) == rank;
    for (int64_t& p : perm_) {
      if (p < 0) p += rank;  // tolerated, as numpy does
      valid = valid && p >= 0 && p < rank && !seen[p];
      if (valid) seen[p] = true;
    }
    if (!valid) {
      return InvalidModel(ctx.Describe() + ": perm " + ShapeToString(perm_) +
                          " is not a permutation of the " + std::to_string(rank) + " axes");
    }
    std::vector<int64_t> dims(rank);
    for (int64_t i = 0; i < rank; ++i) dims[i] = in[perm_[i]];
    return dims;
  }
  Status BuildTables(CompileContext& ctx, int64_t* const* tables) override {
    TransposeTables(ctx.input(0).dims, perm_, tables);
    return Status::Ok();
  }
  std::vector<int64_t> perm_;
};

// ------------------------------------------------ DepthToSpace/SpaceToDepth

// Both are a reshape to 6-D, a transpose and a reshape back: the tables read
// the 6-D view transposed.
class BlockRearrangeKernel : public AxisMapKernel {
 public:
  explicit BlockRearrangeKernel(bool depth_to_space) : depth_to_space_(depth_to_space) {}

 private:
  StatusOr<std::vector<int64_t>> OutputDims(CompileContext& ctx) override {
    const std::vector<int64_t>& in = ctx.input(0).dims;
    ASSIGN_OR_RETURN(const int64_t b, ctx.node().GetInt("blocksize", 0));
    ASSIGN_OR_RETURN(const std::string mode, ctx.node().GetString("mode", "DCR"));
    if (in.size() != 4) {
      return InvalidModel(ctx.Describe() + ": input must be 4-D, got " + ShapeToString(in));
    }
    if (b <= 0) return InvalidModel(ctx.Describe() + ": blocksize must be positive");
    const int64_t n = in[0], c = in[1], h = in[2], w = in[3];
    // Divisions only: b * b and the output dims overflow for a blocksize
    // near 2^63 (the output holds as many elements as the input, but an
    // empty input bounds nothing).
    constexpr int64_t kMaxDim = std::numeric_limits<int64_t>::max();
    if (depth_to_space_) {
      if (mode != "DCR" && mode != "CRD") {
        return InvalidModel(ctx.Describe() + ": unknown mode '" + mode + "'");
      }
      if (c % b != 0 || (c / b) % b != 0) {
        return InvalidModel(ctx.Describe() + ": channels " + std::to_string(c) +
                            " are not divisible by blocksize^2 (blocksize " + std::to_string(b) +
                            ")");
      }
      if (h > kMaxDim / b || w > kMaxDim / b) {
        return InvalidModel(ctx.Describe() + ": blocksize " + std::to_string(b) +
                            " times the spatial dims " + ShapeToString(in) +
                            " does not fit in 64 bits");
      }
      const int64_t c_out = c / b / b;
      if (mode == "DCR") {
        view_ = {n, b, b, c_out, h, w};
        perm_ = {0, 3, 4, 1, 5, 2};
      } else {
        view_ = {n, c_out, b, b, h, w};
        perm_ = {0, 1, 4, 2, 5, 3};
      }
      table_dims_ = {n, c_out, h, b, w, b};
      return std::vector<int64_t>{n, c_out, h * b, w * b};
    }
    if (h % b != 0 || w % b != 0) {
      return InvalidModel(ctx.Describe() + ": spatial dims " + ShapeToString(in) +
                          " are not divisible by the blocksize");
    }
    if (c > kMaxDim / b / b) {
      return InvalidModel(ctx.Describe() + ": channels " + std::to_string(c) + " times blocksize^2 (" +
                          std::to_string(b) + "^2) does not fit in 64 bits");
    }
    view_ = {n, c, h / b, b, w / b, b};
    perm_ = {0, 3, 5, 1, 2, 4};
    table_dims_ = {n, b, b, c, h / b, w / b};
    return std::vector<int64_t>{n, c * b * b, h / b, w / b};
  }
  Status BuildTables(CompileContext&, int64_t* const* tables) override {
    TransposeTables(view_, perm_, tables);
    return Status::Ok();
  }

  bool depth_to_space_;
  std::vector<int64_t> view_, perm_;
};

std::unique_ptr<Kernel> MakeDepthToSpace() {
  return std::make_unique<BlockRearrangeKernel>(/*depth_to_space=*/true);
}
std::unique_ptr<Kernel> MakeSpaceToDepth() {
  return std::make_unique<BlockRearrangeKernel>(/*depth_to_space=*/false);
}

// -------------------------------------------------------------------- Slice

class SliceKernel : public AxisMapKernel {
  struct AxisSlice {
    int64_t start = 0, step = 1, count = 0;
  };

  StatusOr<std::vector<int64_t>> OutputDims(CompileContext& ctx) override {
    const ir::Node& node = ctx.node();
    in_dims_ = ctx.input(0).dims;
    strides_ = RowMajorStrides(in_dims_);
    const size_t rank = in_dims_.size();
    if (rank > kMaxOperandLength) return Unsupported(ctx.Describe() + ": rank is too large");
    if (node.opset() < 10) {
      ASSIGN_OR_RETURN(std::vector<int64_t> starts, node.GetInts("starts", {}));
      ASSIGN_OR_RETURN(std::vector<int64_t> ends, node.GetInts("ends", {}));
      ASSIGN_OR_RETURN(std::vector<int64_t> axes, node.GetInts("axes", {}));
      starts_ = IntOperand(std::move(starts));
      ends_ = IntOperand(std::move(ends));
      axes_ = IntOperand(std::move(axes));
    } else {
      ASSIGN_OR_RETURN(starts_, IntOperand::FromInput(ctx, 1, "starts"));
      ASSIGN_OR_RETURN(ends_, IntOperand::FromInput(ctx, 2, "ends"));
      if (ctx.has_input(3)) {
        ASSIGN_OR_RETURN(axes_, IntOperand::FromInput(ctx, 3, "axes"));
      }
      if (ctx.has_input(4)) {
        ASSIGN_OR_RETURN(steps_, IntOperand::FromInput(ctx, 4, "steps"));
      }
    }
    if (starts_.is_constant() && ends_.is_constant() && axes_.is_constant() &&
        steps_.is_constant()) {
      slices_.resize(rank);
      RETURN_IF_ERROR(Resolve(starts_.values(), ends_.values(), axes_.values(), steps_.values(),
                              slices_.data())
                          .WithContext(ctx.Describe()));
      std::vector<int64_t> dims(rank);
      for (size_t i = 0; i < rank; ++i) dims[i] = slices_[i].count;
      return dims;
    }
    tables_at_run_time_ = true;
    ASSIGN_OR_RETURN(std::vector<int64_t> dims,
                     DeclaredOutputDims(ctx, 0, "starts, ends, axes and steps"));
    if (dims.size() != rank) {
      return InvalidModel(ctx.Describe() + ": declared output rank differs from the input's");
    }
    return dims;
  }

  // The spec's clamping: negative indices count from the end, then starts
  // and ends are clamped to the axis (one before it for negative steps).
  static AxisSlice Clamp(int64_t dim, int64_t start, int64_t end, int64_t step) {
    AxisSlice s;
    s.step = step;
    if (dim == 0) return s;
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      s.count = end > start ? (end - start - 1) / step + 1 : 0;
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      // -step may be 2^63: compute in unsigned.
      const uint64_t span = start > end ? static_cast<uint64_t>(start - end) : 0;
      const uint64_t stride = 0 - static_cast<uint64_t>(step);
      s.count = span ? static_cast<int64_t>((span - 1) / stride + 1) : 0;
    }
    s.start = start;
    return s;
  }

  // Per-axis slices from the operands (axes and steps may be empty: all
  // leading axes, steps of 1). Bare errors.
  Status Resolve(std::span<const int64_t> starts, std::span<const int64_t> ends,
                 std::span<const int64_t> axes, std::span<const int64_t> steps,
                 AxisSlice* out) const {
    const int64_t rank = static_cast<int64_t>(in_dims_.size());
    if (ends.size() != starts.size() || (!axes.empty() && axes.size() != starts.size()) ||
        (!steps.empty() && steps.size() != starts.size())) {
      return InvalidModel("starts, ends, axes and steps differ in length");
    }
    if (axes.empty() && starts.size() > in_dims_.size()) {
      return InvalidModel("more starts than axes");
    }
    bool seen[kMaxOperandLength] = {};
    for (int64_t i = 0; i < rank; ++i) out[i] = AxisSlice{0, 1, in_dims_[i]};
    for (size_t j = 0; j < starts.size(); ++j) {
      int64_t axis = static_cast<int64_t>(j);
      if (!axes.empty()) RETURN_IF_ERROR(NormalizeAxisAt(axes[j], rank, &axis));
      if (seen[axis]) return InvalidModel("axis " + std::to_string(axis) + " is repeated");
      seen[axis] = true;
      const int64_t step = steps.empty() ? 1 : steps[j];
      if (step == 0) return InvalidModel("a step is 0");
      out[axis] = Clamp(in_dims_[axis], starts[j], ends[j], step);
    }
    return Status::Ok();
  }

  void SliceTables(const AxisSlice* slices, int64_t* const* tables) const {
    for (size_t k = 0; k < in_dims_.size(); ++k) {
      for (int64_t i = 0; i < slices[k].count; ++i) {
        tables[k][i] = (slices[k].start + i * slices[k].step) * strides_[k];
      }
    }
  }

  Status BuildTables(CompileContext&, int64_t* const* tables) override {
    SliceTables(slices_.data(), tables);
    return Status::Ok();
  }

  Status FillTablesAtRunTime(const ExecContext& ctx, int64_t* const* tables) const override {
    int64_t starts[kMaxOperandLength], ends[kMaxOperandLength], axes[kMaxOperandLength],
        steps[kMaxOperandLength], counts[kMaxOperandLength];
    AxisSlice slices[kMaxOperandLength];
    RETURN_IF_ERROR(AsInputError(Resolve(starts_.Read(ctx, starts), ends_.Read(ctx, ends),
                                         axes_.Read(ctx, axes), steps_.Read(ctx, steps),
                                         slices)));
    for (size_t k = 0; k < dims_.size(); ++k) counts[k] = slices[k].count;
    if (!std::equal(dims_.begin(), dims_.end(), counts)) {
      return OperandMismatch("starts, ends, axes and steps", {counts, dims_.size()}, dims_);
    }
    SliceTables(slices, tables);
    return Status::Ok();
  }

  std::vector<int64_t> in_dims_, strides_;
  IntOperand starts_, ends_, axes_, steps_;
  std::vector<AxisSlice> slices_;  // when all operands are constant
};

// --------------------------------------------------------------------- Tile

class TileKernel : public AxisMapKernel {
  StatusOr<std::vector<int64_t>> OutputDims(CompileContext& ctx) override {
    if (ctx.node().opset() < 6) {
      return Unsupported(ctx.Describe() + ": Tile before opset 6 (tiles/axis inputs)");
    }
    in_dims_ = ctx.input(0).dims;
    ASSIGN_OR_RETURN(repeats_, IntOperand::FromInput(ctx, 1, "repeats"));
    if (repeats_.length() != in_dims_.size()) {
      return InvalidModel(ctx.Describe() + ": " + std::to_string(repeats_.length()) +
                          " repeats for a rank-" + std::to_string(in_dims_.size()) + " input");
    }
    if (!repeats_.is_constant()) return DeclaredOutputDims(ctx, 0, "repeats");
    int64_t dims[kMaxOperandLength];
    RETURN_IF_ERROR(TiledDims(repeats_.values(), dims).WithContext(ctx.Describe()));
    return std::vector<int64_t>(dims, dims + in_dims_.size());
  }

  Status TiledDims(std::span<const int64_t> repeats, int64_t* dims) const {
    for (size_t i = 0; i < in_dims_.size(); ++i) {
      if (repeats[i] < 0) return InvalidModel("a repeat is negative");
      if (__builtin_mul_overflow(in_dims_[i], repeats[i], &dims[i])) {
        return InvalidModel("the tiled shape overflows");
      }
    }
    return Status::Ok();
  }

  Status BuildTables(CompileContext& ctx, int64_t* const* tables) override {
    if (dims_.size() != in_dims_.size()) {
      return InvalidModel(ctx.Describe() + ": declared output rank differs from the input's");
    }
    const std::vector<int64_t> strides = RowMajorStrides(in_dims_);
    for (size_t k = 0; k < dims_.size(); ++k) {
      if (in_dims_[k] == 0 ? dims_[k] != 0 : dims_[k] % in_dims_[k] != 0) {
        return InvalidModel(ctx.Describe() + ": declared output " + ShapeToString(dims_) +
                            " is not a tiling of " + ShapeToString(in_dims_));
      }
      for (int64_t i = 0; i < dims_[k]; ++i) tables[k][i] = (i % in_dims_[k]) * strides[k];
    }
    return Status::Ok();
  }

  Status CheckAtRunTime(const ExecContext& ctx) const override {
    if (repeats_.is_constant()) return Status::Ok();
    int64_t buffer[kMaxOperandLength], dims[kMaxOperandLength];
    RETURN_IF_ERROR(AsInputError(TiledDims(repeats_.Read(ctx, buffer), dims)));
    if (!std::equal(dims_.begin(), dims_.end(), dims)) {
      return OperandMismatch("repeats", {dims, dims_.size()}, dims_);
    }
    return Status::Ok();
  }

  std::vector<int64_t> in_dims_;
  IntOperand repeats_;
};

// ---------------------------------------------------------------------- Pad

class PadKernel : public AxisMapKernel {
  enum class Mode { kConstant, kReflect, kEdge, kWrap };

  StatusOr<std::vector<int64_t>> OutputDims(CompileContext& ctx) override {
    const ir::Node& node = ctx.node();
    in_dims_ = ctx.input(0).dims;
    strides_ = RowMajorStrides(in_dims_);
    if (in_dims_.size() > kMaxOperandLength) {
      return Unsupported(ctx.Describe() + ": rank is too large");
    }
    ASSIGN_OR_RETURN(const std::string mode, node.GetString("mode", "constant"));
    if (mode == "constant") mode_ = Mode::kConstant;
    else if (mode == "reflect") mode_ = Mode::kReflect;
    else if (mode == "edge") mode_ = Mode::kEdge;
    else if (mode == "wrap" && node.opset() >= 19) mode_ = Mode::kWrap;
    else return InvalidModel(ctx.Describe() + ": unknown mode '" + mode + "'");

    double value = 0.0;
    if (node.opset() < 11) {
      ASSIGN_OR_RETURN(std::vector<int64_t> pads,
                       node.GetInts(node.opset() < 2 ? "paddings" : "pads", {}));
      pads_ = IntOperand(std::move(pads));
      ASSIGN_OR_RETURN(value, node.GetFloat("value", 0.0f));
    } else {
      ASSIGN_OR_RETURN(pads_, IntOperand::FromInput(ctx, 1, "pads"));
      if (ctx.has_input(2)) {
        if (ctx.input(2).dtype != ctx.input(0).dtype || ctx.input(2).num_elements() != 1) {
          return InvalidModel(ctx.Describe() + ": constant_value must be one element of the "
                              "data's type");
        }
        fill_from_input_ = true;
      }
      if (ctx.has_input(3)) {
        ASSIGN_OR_RETURN(axes_, IntOperand::FromInput(ctx, 3, "axes"));
      }
    }
    if (!fill_from_input_) {
      // The attribute value, stored in the data's type.
      ASSIGN_OR_RETURN(Tensor fill, Tensor::Allocate(ctx.input(0).dtype, {}));
      fill.SetFromDouble(0, value);
      std::memcpy(fill_, fill.data(), fill.byte_size());
    }
    if (!pads_.is_constant() || !axes_.is_constant()) {
      tables_at_run_time_ = true;
      ASSIGN_OR_RETURN(std::vector<int64_t> dims, DeclaredOutputDims(ctx, 0, "pads"));
      if (dims.size() != in_dims_.size()) {
        return InvalidModel(ctx.Describe() + ": declared output rank differs from the input's");
      }
      return dims;
    }
    begin_.resize(in_dims_.size());
    std::vector<int64_t> dims(in_dims_.size());
    RETURN_IF_ERROR(Resolve(pads_.values(), axes_.values(), begin_.data(), dims.data())
                        .WithContext(ctx.Describe()));
    return dims;
  }

  // Leading pads and output dims from the operands (axes empty: all).
  Status Resolve(std::span<const int64_t> pads, std::span<const int64_t> axes, int64_t* begin,
                 int64_t* dims) const {
    const int64_t rank = static_cast<int64_t>(in_dims_.size());
    const int64_t n = axes.empty() ? rank : static_cast<int64_t>(axes.size());
    if (static_cast<int64_t>(pads.size()) != 2 * n) {
      return InvalidModel(std::to_string(pads.size()) + " pads for " + std::to_string(n) +
                          " axes");
    }
    bool seen[kMaxOperandLength] = {};
    std::copy(in_dims_.begin(), in_dims_.end(), dims);
    std::fill(begin, begin + rank, 0);
    for (int64_t j = 0; j < n; ++j) {
      int64_t axis = j;
      if (!axes.empty()) RETURN_IF_ERROR(NormalizeAxisAt(axes[j], rank, &axis));
      if (seen[axis]) return InvalidModel("axis " + std::to_string(axis) + " is repeated");
      seen[axis] = true;
      const int64_t b = pads[j], e = pads[j + n];
      constexpr int64_t kLimit = int64_t{1} << 48;  // keeps the sums exact
      if (b < -kLimit || b > kLimit || e < -kLimit || e > kLimit ||
          in_dims_[axis] + b + e < 0) {
        return InvalidModel("pads " + std::to_string(b) + ", " + std::to_string(e) +
                            " do not fit axis " + std::to_string(axis) + " of size " +
                            std::to_string(in_dims_[axis]));
      }
      begin[axis] = b;
      dims[axis] = in_dims_[axis] + b + e;
      if (mode_ != Mode::kConstant && in_dims_[axis] == 0 && dims[axis] > 0) {
        return InvalidModel("only constant mode can pad the empty axis " +
                            std::to_string(axis));
      }
    }
    return Status::Ok();
  }

  // The input index output index `i` (relative to the unpadded start) reads.
  int64_t SourceIndex(int64_t i, int64_t dim) const {
    if (i >= 0 && i < dim) return i;
    switch (mode_) {
      case Mode::kConstant: return AxisMapCopy::kOutside;
      case Mode::kEdge: return i < 0 ? 0 : dim - 1;
      case Mode::kWrap: return (i % dim + dim) % dim;
      case Mode::kReflect: {
        if (dim == 1) return 0;
        const int64_t period = 2 * (dim - 1);  // as numpy.pad: reflect repeatedly
        const int64_t m = (i % period + period) % period;
        return m < dim ? m : period - m;
      }
    }
    return AxisMapCopy::kOutside;
  }

  void PadTables(const int64_t* begin, int64_t* const* tables) const {
    for (size_t k = 0; k < dims_.size(); ++k) {
      for (int64_t o = 0; o < dims_[k]; ++o) {
        const int64_t i = SourceIndex(o - begin[k], in_dims_[k]);
        tables[k][o] = i == AxisMapCopy::kOutside ? i : i * strides_[k];
      }
    }
  }

  Status BuildTables(CompileContext&, int64_t* const* tables) override {
    PadTables(begin_.data(), tables);
    return Status::Ok();
  }

  Status FillTablesAtRunTime(const ExecContext& ctx, int64_t* const* tables) const override {
    int64_t pads[kMaxOperandLength], axes[kMaxOperandLength], begin[kMaxOperandLength],
        dims[kMaxOperandLength];
    RETURN_IF_ERROR(AsInputError(Resolve(pads_.Read(ctx, pads), axes_.Read(ctx, axes), begin,
                                         dims)));
    if (!std::equal(dims_.begin(), dims_.end(), dims)) {
      return OperandMismatch("pads", {dims, dims_.size()}, dims_);
    }
    PadTables(begin, tables);
    return Status::Ok();
  }

  const void* Fill(const ExecContext& ctx) const override {
    return fill_from_input_ ? ctx.input(2) : fill_;
  }

  Mode mode_ = Mode::kConstant;
  std::vector<int64_t> in_dims_, strides_;
  IntOperand pads_, axes_;
  std::vector<int64_t> begin_;  // when the operands are constant
  bool fill_from_input_ = false;
  alignas(16) unsigned char fill_[16] = {};
};

}  // namespace

void RegisterTensorKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kTranspose, MakeKernel<TransposeKernel>);
  registry.Register(ir::OpKind::kDepthToSpace, MakeDepthToSpace);
  registry.Register(ir::OpKind::kSpaceToDepth, MakeSpaceToDepth);
  registry.Register(ir::OpKind::kSlice, MakeKernel<SliceKernel>);
  registry.Register(ir::OpKind::kTile, MakeKernel<TileKernel>);
  registry.Register(ir::OpKind::kPad, MakeKernel<PadKernel>);
  RegisterBlockCopyKernels(registry);
}

}  // namespace bnfold::onednn
