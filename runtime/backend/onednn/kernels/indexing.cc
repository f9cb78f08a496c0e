// Kernels of the arg/top-k, gather/scatter and index ops (the BNFOLD_OPS_*
// family in runtime/ir/op_kind.h that names this file): ArgMax, ArgMin,
// TopK and ReverseSequence here, the gathers and scatters in
// indexing_scatter.cc, the ops with data-dependent output shapes in
// indexing_dynamic.cc, the further reductions in reduce.cc. oneDNN has none
// of these: they are C++ loops. Indices arrive at run time, so every index
// is checked before it is used: an out-of-range one is an error, never a
// read or write outside a buffer.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <span>
#include <string>

#include "runtime/backend/onednn/kernels/support/shape_operand.h"
#include "runtime/backend/onednn/kernels/support/index_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// ---------------------------------------------------------------- ArgMax/ArgMin

// ArgMax / ArgMin over `axis`: the first index of the extreme (the last with
// select_last_index, opset 12+). NaN counts as the extreme, as numpy's
// argmax/argmin do. An empty axis has no extreme: an error.
class ArgKernel : public Kernel {
 public:
  explicit ArgKernel(bool max) : max_(max) {}

  Status Compile(CompileContext& ctx) override {
    const TensorDesc& x = ctx.input(0);
    RETURN_IF_ERROR(CheckNumeric(ctx, 0, 13));
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    ASSIGN_OR_RETURN(const int64_t attr_axis, ctx.node().GetInt("axis", 0));
    ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx, attr_axis, rank));
    ASSIGN_OR_RETURN(const int64_t keepdims, ctx.node().GetInt("keepdims", 1));
    if (ctx.node().opset() >= 12) {
      ASSIGN_OR_RETURN(const int64_t last, ctx.node().GetInt("select_last_index", 0));
      last_ = last != 0;
    }
    outer_ = inner_ = 1;
    std::vector<int64_t> out_dims;
    for (int64_t d = 0; d < rank; ++d) {
      if (d < axis) outer_ *= x.dims[d];
      if (d > axis) inner_ *= x.dims[d];
      if (d != axis) out_dims.push_back(x.dims[d]);
      else if (keepdims) out_dims.push_back(1);
    }
    dim_ = x.dims[axis];
    if (dim_ == 0 && outer_ * inner_ > 0) {
      return InvalidModel(ctx.Describe() + ": axis " + std::to_string(attr_axis) +
                          " is empty, it has no " + (max_ ? "maximum" : "minimum"));
    }
    DispatchElement<kAllElements>(x.dtype, [&]<DataType kType>() { run_ = &Run<kType>; });
    ctx.SetOutput(0, DataType::kInt64, std::move(out_dims));
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    run_(*this, ctx);
    return Status::Ok();
  }

 private:
  template <DataType kType>
  static void Run(const ArgKernel& k, ExecContext& ctx) {
    using E = Element<kType>;
    using C = typename E::Compute;
    const auto* x = ctx.input_as<typename E::Storage>(0);
    int64_t* y = ctx.output_as<int64_t>(0);
    // Whether v replaces the best so far.
    const auto better = [&](C v, C best) {
      if (IsNanValue(best)) return k.last_ && IsNanValue(v);
      if (IsNanValue(v)) return true;
      if (v == best) return k.last_;
      return k.max_ ? v > best : v < best;
    };
    for (int64_t o = 0; o < k.outer_; ++o) {
      for (int64_t i = 0; i < k.inner_; ++i) {
        const auto* row = x + o * k.dim_ * k.inner_ + i;
        C best = E::Load(row[0]);
        int64_t arg = 0;
        for (int64_t j = 1; j < k.dim_; ++j) {
          const C v = E::Load(row[j * k.inner_]);
          if (better(v, best)) best = v, arg = j;
        }
        y[o * k.inner_ + i] = arg;
      }
    }
  }

  template <typename T>
  static bool IsNanValue(T v) {
    if constexpr (std::numeric_limits<T>::has_quiet_NaN) return std::isnan(v);
    return false;
  }

  bool max_;
  bool last_ = false;
  int64_t outer_ = 1, dim_ = 0, inner_ = 1;
  void (*run_)(const ArgKernel&, ExecContext&) = nullptr;
};

// ---------------------------------------------------------------- TopK

// TopK: the k largest (smallest) elements along `axis` and their indices,
// sorted; equal values keep their index order, as the spec requires. NaN
// ranks above every number (as in ArgMax). k is an attribute before opset
// 10, input K after: known at compile time, or fixed by the model's declared
// output shape and checked on every run.
class TopKKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const TensorDesc& x = ctx.input(0);
    RETURN_IF_ERROR(CheckNumeric(ctx, 0, std::numeric_limits<int64_t>::max()));
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    ASSIGN_OR_RETURN(const int64_t attr_axis, ctx.node().GetInt("axis", -1));
    ASSIGN_OR_RETURN(axis_, NormalizeAxis(ctx, attr_axis, rank));
    if (ctx.node().opset() >= 11) {
      ASSIGN_OR_RETURN(const int64_t largest, ctx.node().GetInt("largest", 1));
      largest_ = largest != 0;
    }
    if (ctx.node().opset() < 10) {
      ASSIGN_OR_RETURN(k_, ctx.node().GetInt("k", -1));
      if (ctx.node().FindAttribute("k") == nullptr) {
        return InvalidModel(ctx.Describe() + ": attribute k is missing");
      }
    } else {
      ASSIGN_OR_RETURN(k_operand_, IntOperand::FromInput(ctx, 1, "K"));
      if (k_operand_.length() != 1) {
        return InvalidModel(ctx.Describe() + ": K must hold one element");
      }
      if (k_operand_.is_constant()) {
        k_ = k_operand_.values()[0];
      } else {
        ASSIGN_OR_RETURN(const std::vector<int64_t> dims, DeclaredOutputDims(ctx, 0, "K"));
        if (static_cast<int64_t>(dims.size()) != rank) {
          return InvalidModel(ctx.Describe() + ": declared output rank differs from the input's");
        }
        k_ = dims[axis_];
      }
    }
    dim_ = x.dims[axis_];
    if (k_ < 0 || k_ > dim_) {
      return InvalidModel(ctx.Describe() + ": k = " + std::to_string(k_) + " is out of range [0, " +
                          std::to_string(dim_) + "] for axis " + std::to_string(attr_axis));
    }
    outer_ = inner_ = 1;
    for (int64_t d = 0; d < rank; ++d) {
      if (d < axis_) outer_ *= x.dims[d];
      if (d > axis_) inner_ *= x.dims[d];
    }
    std::vector<int64_t> dims = x.dims;
    dims[axis_] = k_;
    ctx.SetOutput(0, x.dtype, dims);
    ctx.SetOutput(1, DataType::kInt64, dims);
    ctx.RequestScratchpad(static_cast<size_t>(dim_) * sizeof(int64_t));
    DispatchElement<kAllElements>(x.dtype, [&]<DataType kType>() { run_ = &Run<kType>; });
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    if (!k_operand_.is_constant()) {
      int64_t buffer[kMaxOperandLength];
      const std::span<const int64_t> k = k_operand_.Read(ctx, buffer);
      if (k[0] != k_) return OperandMismatch("K", k, std::span<const int64_t>(&k_, 1));
    }
    run_(*this, ctx);
    return Status::Ok();
  }

 private:
  template <DataType kType>
  static void Run(const TopKKernel& t, ExecContext& ctx) {
    using E = Element<kType>;
    using C = typename E::Compute;
    const auto* x = ctx.input_as<typename E::Storage>(0);
    auto* values = ctx.output_as<typename E::Storage>(0);
    int64_t* indices = ctx.output_as<int64_t>(1);
    int64_t* order = static_cast<int64_t*>(ctx.scratchpad());
    for (int64_t o = 0; o < t.outer_; ++o) {
      for (int64_t i = 0; i < t.inner_; ++i) {
        const auto* row = x + o * t.dim_ * t.inner_ + i;
        const auto above = [&](int64_t a, int64_t b) {  // a ranks strictly before b
          const C va = E::Load(row[a * t.inner_]), vb = E::Load(row[b * t.inner_]);
          const bool na = IsNanValue(va), nb = IsNanValue(vb);
          if (na || nb) return na && !nb ? t.largest_ : (!na && nb ? !t.largest_ : a < b);
          if (va == vb) return a < b;
          return t.largest_ ? va > vb : va < vb;
        };
        for (int64_t j = 0; j < t.dim_; ++j) order[j] = j;
        std::partial_sort(order, order + t.k_, order + t.dim_, above);
        const int64_t base = o * t.k_ * t.inner_ + i;
        for (int64_t j = 0; j < t.k_; ++j) {
          values[base + j * t.inner_] = row[order[j] * t.inner_];
          indices[base + j * t.inner_] = order[j];
        }
      }
    }
  }

  template <typename T>
  static bool IsNanValue(T v) {
    if constexpr (std::numeric_limits<T>::has_quiet_NaN) return std::isnan(v);
    return false;
  }

  IntOperand k_operand_;
  int64_t axis_ = 0, k_ = 0, dim_ = 0, outer_ = 1, inner_ = 1;
  bool largest_ = true;
  void (*run_)(const TopKKernel&, ExecContext&) = nullptr;
};

// ---------------------------------------------------------------- ReverseSequence

// ReverseSequence: for batch b, the first sequence_lens[b] steps along the
// time axis reversed, the rest copied.
class ReverseSequenceKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const TensorDesc& x = ctx.input(0);
    element_size_ = DataTypeSize(x.dtype);
    if (element_size_ == 0) return UnsupportedType(ctx, 0, "a fixed-size type");
    if (ctx.input(1).dtype != DataType::kInt64) return UnsupportedType(ctx, 1, "int64");
    ASSIGN_OR_RETURN(const int64_t time_axis, ctx.node().GetInt("time_axis", 0));
    ASSIGN_OR_RETURN(const int64_t batch_axis, ctx.node().GetInt("batch_axis", 1));
    if (x.dims.size() < 2 || !((time_axis == 0 && batch_axis == 1) ||
                               (time_axis == 1 && batch_axis == 0))) {
      return InvalidModel(ctx.Describe() + ": expects rank >= 2 with time_axis, batch_axis "
                          "(0, 1) or (1, 0)");
    }
    time_ = x.dims[time_axis];
    batch_ = x.dims[batch_axis];
    if (ctx.input(1).dims != std::vector<int64_t>{batch_}) {
      return InvalidModel(ctx.Describe() + ": sequence_lens has shape " +
                          ShapeToString(ctx.input(1).dims) + ", expected [" +
                          std::to_string(batch_) + "]");
    }
    inner_ = static_cast<size_t>(x.num_elements() / std::max<int64_t>(1, time_ * batch_)) *
             element_size_;
    time_major_ = time_axis == 0;
    ctx.SetOutput(0, x.dtype, x.dims);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    const int64_t* lens = ctx.input_as<int64_t>(1);
    for (int64_t b = 0; b < batch_; ++b) {
      if (lens[b] < 0 || lens[b] > time_) {
        return InvalidArgument("sequence_lens[" + std::to_string(b) + "] = " +
                               std::to_string(lens[b]) + " is out of range [0, " +
                               std::to_string(time_) + "]");
      }
    }
    const char* in = static_cast<const char*>(ctx.input(0));
    char* out = static_cast<char*>(ctx.output(0));
    const auto block = [&](int64_t t, int64_t b) {
      return static_cast<size_t>(time_major_ ? t * batch_ + b : b * time_ + t) * inner_;
    };
    for (int64_t b = 0; b < batch_; ++b) {
      for (int64_t t = 0; t < time_; ++t) {
        const int64_t from = t < lens[b] ? lens[b] - 1 - t : t;
        std::memcpy(out + block(t, b), in + block(from, b), inner_);
      }
    }
    return Status::Ok();
  }

 private:
  size_t element_size_ = 0, inner_ = 0;
  int64_t time_ = 0, batch_ = 0;
  bool time_major_ = true;
};

}  // namespace

void RegisterIndexingKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kArgMax, [] { return std::unique_ptr<Kernel>(new ArgKernel(true)); });
  registry.Register(ir::OpKind::kArgMin, [] { return std::unique_ptr<Kernel>(new ArgKernel(false)); });
  registry.Register(ir::OpKind::kTopK, MakeKernel<TopKKernel>);
  registry.Register(ir::OpKind::kReverseSequence, MakeKernel<ReverseSequenceKernel>);
  RegisterGatherScatterKernels(registry);
  RegisterDataDependentKernels(registry);
}

}  // namespace bnfold::onednn
