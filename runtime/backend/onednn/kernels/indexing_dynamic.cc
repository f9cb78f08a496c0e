// Compress, NonZero, Unique: the ops of the indexing family
// (kernels/indexing.cc) whose output shapes depend on input values.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/backend/onednn/kernels/support/shape_operand.h"
#include "runtime/backend/onednn/kernels/support/index_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// Compress, NonZero and Unique have outputs whose size depends on input
// values. When those values are known at compile time (a constant, or a fed
// input the session specialises the plan on: asking for constant_input
// tells it to) the size follows from them; otherwise the model's declared
// output shape fixes it and every run checks that the values agree.

// Whether element i of a bool/numeric buffer is nonzero.
bool NonZeroAt(const void* data, DataType dtype, int64_t i) {
  bool nonzero = false;
  DispatchElement<kAllElements>(dtype, [&]<DataType kType>() {
    using E = Element<kType>;
    nonzero = E::Load(static_cast<const typename E::Storage*>(data)[i]) != 0;
  });
  return nonzero;
}

int64_t CountNonZero(const void* data, DataType dtype, int64_t count) {
  int64_t n = 0;
  for (int64_t i = 0; i < count; ++i) n += NonZeroAt(data, dtype, i);
  return n;
}

// Compress(input, condition): the slices along `axis` (of the flattened
// input without one) whose condition is true. A condition shorter than the
// axis selects nothing past its end; a longer one must be false there.
class CompressKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const TensorDesc& x = ctx.input(0);
    const TensorDesc& condition = ctx.input(1);
    element_size_ = DataTypeSize(x.dtype);
    if (element_size_ == 0) return UnsupportedType(ctx, 0, "a fixed-size type");
    if (condition.dtype != DataType::kBool) return UnsupportedType(ctx, 1, "bool");
    if (condition.dims.size() != 1) {
      return InvalidModel(ctx.Describe() + ": condition must be 1-D, got " +
                          ShapeToString(condition.dims));
    }
    length_ = condition.dims[0];
    std::vector<int64_t> dims;
    if (ctx.node().FindAttribute("axis") != nullptr) {
      ASSIGN_OR_RETURN(const int64_t attr_axis, ctx.node().GetInt("axis", 0));
      ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx, attr_axis,
                                                         static_cast<int64_t>(x.dims.size())));
      outer_ = inner_ = 1;
      for (int64_t d = 0; d < static_cast<int64_t>(x.dims.size()); ++d) {
        if (d < axis) outer_ *= x.dims[d];
        if (d > axis) inner_ *= x.dims[d];
      }
      dim_ = x.dims[axis];
      dims = x.dims;
      axis_ = axis;
    } else {
      outer_ = inner_ = 1;
      dim_ = x.num_elements();
      dims = {dim_};
      axis_ = 0;
    }
    if (const Tensor* c = ctx.constant_input(1)) {
      RETURN_IF_ERROR(CountSelected(c->data(), &selected_).WithContext(ctx.Describe()));
    } else {
      ASSIGN_OR_RETURN(const std::vector<int64_t> declared,
                       DeclaredOutputDims(ctx, 0, "the condition"));
      if (declared.size() != dims.size()) {
        return InvalidModel(ctx.Describe() + ": declared output rank differs from " +
                            std::to_string(dims.size()));
      }
      selected_ = declared[axis_];
    }
    dims[axis_] = selected_;
    ctx.SetOutput(0, x.dtype, std::move(dims));
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    const uint8_t* condition = ctx.input_as<uint8_t>(1);
    int64_t selected = 0;
    RETURN_IF_ERROR(CountSelected(condition, &selected));
    if (selected != selected_) {
      return InvalidArgument("the condition selects " + std::to_string(selected) +
                             " slices but the plan was built for " + std::to_string(selected_));
    }
    const char* in = static_cast<const char*>(ctx.input(0));
    char* out = static_cast<char*>(ctx.output(0));
    const size_t slice = static_cast<size_t>(inner_) * element_size_;
    for (int64_t o = 0; o < outer_; ++o) {
      for (int64_t j = 0; j < std::min(dim_, length_); ++j) {
        if (!condition[j]) continue;
        std::memcpy(out, in + (o * dim_ + j) * slice, slice);
        out += slice;
      }
    }
    return Status::Ok();
  }

 private:
  Status CountSelected(const void* condition, int64_t* selected) const {
    const uint8_t* c = static_cast<const uint8_t*>(condition);
    *selected = 0;
    for (int64_t j = 0; j < length_; ++j) {
      if (!c[j]) continue;
      if (j >= dim_) {
        return InvalidArgument("condition is true at " + std::to_string(j) +
                               ", past the axis' " + std::to_string(dim_) + " entries");
      }
      ++*selected;
    }
    return Status::Ok();
  }

  size_t element_size_ = 0;
  int64_t axis_ = 0, outer_ = 1, dim_ = 0, inner_ = 1, length_ = 0, selected_ = 0;
};

// NonZero: the coordinates of the nonzero elements, [rank, count], in
// row-major order.
class NonZeroKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const TensorDesc& x = ctx.input(0);
    if (!IsElementIn<kAllElements>(x.dtype)) {
      return UnsupportedType(ctx, 0, "a numeric type or bool");
    }
    dims_ = x.dims;
    dtype_ = x.dtype;
    count_ = x.num_elements();
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    if (const Tensor* c = ctx.constant_input(0)) {
      nonzero_ = CountNonZero(c->data(), dtype_, count_);
      ASSIGN_OR_RETURN(Tensor out, Tensor::Allocate(DataType::kInt64, {rank, nonzero_}));
      Write(c->data(), static_cast<int64_t*>(out.data()));
      ctx.SetConstantOutput(0, std::move(out));
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(const std::vector<int64_t> declared, DeclaredOutputDims(ctx, 0, "the input"));
    if (declared.size() != 2 || declared[0] != rank) {
      return InvalidModel(ctx.Describe() + ": declared output shape " + ShapeToString(declared) +
                          " is not [" + std::to_string(rank) + ", count]");
    }
    nonzero_ = declared[1];
    ctx.SetOutput(0, DataType::kInt64, declared);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    const int64_t nonzero = CountNonZero(ctx.input(0), dtype_, count_);
    if (nonzero != nonzero_) {
      return InvalidArgument("the input has " + std::to_string(nonzero) +
                             " nonzero elements but the plan was built for " +
                             std::to_string(nonzero_));
    }
    Write(ctx.input(0), ctx.output_as<int64_t>(0));
    return Status::Ok();
  }

 private:
  void Write(const void* x, int64_t* out) const {
    const size_t rank = dims_.size();
    std::vector<int64_t> coords(rank, 0);
    int64_t column = 0;
    for (int64_t i = 0; i < count_; ++i) {
      if (NonZeroAt(x, dtype_, i)) {
        for (size_t d = 0; d < rank; ++d) out[d * nonzero_ + column] = coords[d];
        ++column;
      }
      for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; --d) {
        if (++coords[d] < dims_[d]) break;
        coords[d] = 0;
      }
    }
  }

  std::vector<int64_t> dims_;
  DataType dtype_ = DataType::kUndefined;
  int64_t count_ = 0, nonzero_ = 0;
};

// Unique: the distinct elements (or slices along `axis`), sorted ascending
// (lexicographically for slices) or in order of first occurrence, with the
// first-occurrence indices, the inverse indices and the counts. Computed
// when the model is compiled, so X must be known then (a constant, or a fed
// input the plan is specialised on).
class UniqueKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const TensorDesc& x = ctx.input(0);
    if (!IsElementIn<kAllElements>(x.dtype)) {
      return UnsupportedType(ctx, 0, "a numeric type or bool");
    }
    ASSIGN_OR_RETURN(const int64_t sorted, ctx.node().GetInt("sorted", 1));
    std::vector<int64_t> dims = x.dims;
    int64_t axis = 0, outer = 1, dim = x.num_elements(), inner = 1;
    const bool has_axis = ctx.node().FindAttribute("axis") != nullptr;
    if (has_axis) {
      ASSIGN_OR_RETURN(const int64_t attr_axis, ctx.node().GetInt("axis", 0));
      ASSIGN_OR_RETURN(axis, NormalizeAxis(ctx, attr_axis, static_cast<int64_t>(dims.size())));
      dim = dims[axis];
      for (int64_t d = 0; d < static_cast<int64_t>(dims.size()); ++d) {
        if (d < axis) outer *= dims[d];
        if (d > axis) inner *= dims[d];
      }
    } else {
      dims = {dim};
    }
    const Tensor* c = ctx.constant_input(0);
    if (c == nullptr) {
      return Unsupported(ctx.Describe() + ": X must be known when the model is compiled (a "
                         "constant, or a fed input of at most 4096 elements), since every "
                         "output's size depends on its values");
    }
    // Slice s is the elements (o, s, i) for all o, i, compared
    // lexicographically in the element's type (NaN compares equal to
    // everything, so inputs with NaN group arbitrarily).
    std::vector<int64_t> order(static_cast<size_t>(dim));
    std::vector<int64_t> unique_of(static_cast<size_t>(dim));  // slice -> unique slot
    std::vector<int64_t> firsts, counts;
    int compare_result = 0;
    const auto compare = [&](int64_t a, int64_t b) {
      DispatchElement<kAllElements>(x.dtype, [&]<DataType kType>() {
        using E = Element<kType>;
        const auto* p = static_cast<const typename E::Storage*>(c->data());
        compare_result = 0;
        for (int64_t o = 0; o < outer && compare_result == 0; ++o) {
          for (int64_t i = 0; i < inner; ++i) {
            const auto va = E::Load(p[(o * dim + a) * inner + i]);
            const auto vb = E::Load(p[(o * dim + b) * inner + i]);
            if (va < vb) { compare_result = -1; break; }
            if (vb < va) { compare_result = 1; break; }
          }
        }
      });
      return compare_result;
    };
    for (int64_t s = 0; s < dim; ++s) order[s] = s;
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return compare(a, b) < 0; });
    // Groups of equal slices; each group's first is its first occurrence.
    std::vector<int64_t> group_first, group_count;
    for (int64_t j = 0; j < dim; ++j) {
      if (j == 0 || compare(order[j - 1], order[j]) != 0) {
        group_first.push_back(order[j]);
        group_count.push_back(0);
      }
      unique_of[order[j]] = static_cast<int64_t>(group_first.size()) - 1;
      ++group_count.back();
    }
    // Slot of each group in the output: sorted order, or by first occurrence.
    const int64_t groups = static_cast<int64_t>(group_first.size());
    std::vector<int64_t> slot(static_cast<size_t>(groups));
    std::vector<int64_t> by_slot(static_cast<size_t>(groups));
    for (int64_t g = 0; g < groups; ++g) by_slot[g] = g;
    if (!sorted) {
      std::sort(by_slot.begin(), by_slot.end(),
                [&](int64_t a, int64_t b) { return group_first[a] < group_first[b]; });
    }
    for (int64_t k = 0; k < groups; ++k) slot[by_slot[k]] = k;

    std::vector<int64_t> y_dims = dims;
    y_dims[has_axis ? axis : 0] = groups;
    const size_t element_size = DataTypeSize(x.dtype);
    ASSIGN_OR_RETURN(Tensor y, Tensor::Allocate(x.dtype, y_dims));
    ASSIGN_OR_RETURN(Tensor indices, Tensor::Allocate(DataType::kInt64, {groups}));
    ASSIGN_OR_RETURN(Tensor inverse, Tensor::Allocate(DataType::kInt64, {dim}));
    ASSIGN_OR_RETURN(Tensor count, Tensor::Allocate(DataType::kInt64, {groups}));
    const char* in = static_cast<const char*>(c->data());
    char* out = static_cast<char*>(y.data());
    const size_t slice = static_cast<size_t>(inner) * element_size;
    for (int64_t k = 0; k < groups; ++k) {
      const int64_t g = by_slot[k];
      for (int64_t o = 0; o < outer; ++o) {
        std::memcpy(out + (o * groups + k) * slice, in + (o * dim + group_first[g]) * slice, slice);
      }
      static_cast<int64_t*>(indices.data())[k] = group_first[g];
      static_cast<int64_t*>(count.data())[k] = group_count[g];
    }
    for (int64_t s = 0; s < dim; ++s) {
      static_cast<int64_t*>(inverse.data())[s] = slot[unique_of[s]];
    }
    Tensor outputs[] = {std::move(y), std::move(indices), std::move(inverse), std::move(count)};
    for (int i = 0; i < 4 && i < ctx.num_outputs(); ++i) {
      if (ctx.has_output(i)) ctx.SetConstantOutput(i, std::move(outputs[i]));
    }
    return Status::Ok();
  }

  Status Execute(ExecContext&) const override { return Status::Ok(); }
};

}  // namespace

void RegisterDataDependentKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kCompress, MakeKernel<CompressKernel>);
  registry.Register(ir::OpKind::kNonZero, MakeKernel<NonZeroKernel>);
  registry.Register(ir::OpKind::kUnique, MakeKernel<UniqueKernel>);
}

}  // namespace bnfold::onednn
