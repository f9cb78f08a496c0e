// GatherElements, ScatterElements, Scatter (legacy), GatherND, ScatterND:
// the gathers and scatters of the indexing family (kernels/indexing.cc).
// Every index is checked before the element it addresses is touched.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/backend/onednn/kernels/support/index_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// ---------------------------------------------------------------- GatherElements

// Row-major coordinates of the elements of `dims`, walked with the offset
// into another tensor whose strides are `strides`: fn(flat, offset, coords).
template <typename Fn>
void WalkCoords(const std::vector<int64_t>& dims, const std::vector<int64_t>& strides, Fn&& fn) {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  std::vector<int64_t> coords(dims.size(), 0);
  int64_t offset = 0;
  for (int64_t flat = 0; flat < count; ++flat) {
    fn(flat, offset, coords);
    for (int64_t d = static_cast<int64_t>(dims.size()) - 1; d >= 0; --d) {
      offset += strides[d];
      if (++coords[d] < dims[d]) break;
      offset -= strides[d] * dims[d];
      coords[d] = 0;
    }
  }
}

// The geometry GatherElements, ScatterElements and Scatter share: data
// [r dims], indices of the same rank and no larger than data on the other
// axes (so only the index along `axis` needs a run-time check).
struct ElementsGeometry {
  std::vector<int64_t> data_dims, index_dims, data_strides;
  int64_t axis = 0;
  bool int64_index = true;
  size_t element_size = 0;

  // The data offset of every index element with its index along `axis`
  // replaced: fn(flat index position, data offset). Error on an index out
  // of range, before fn sees it.
  template <typename Fn>
  Status Walk(const void* indices, Fn&& fn) const {
    std::vector<int64_t> strides_without_axis = data_strides;
    strides_without_axis[axis] = 0;
    Status status;
    WalkCoords(index_dims, strides_without_axis,
               [&](int64_t flat, int64_t offset, const std::vector<int64_t>&) {
                 if (!status.ok()) return;
                 int64_t index = 0;
                 status = WrapIndex(IndexAt(indices, int64_index, flat), data_dims[axis], axis,
                                    &index);
                 if (status.ok()) fn(flat, offset + index * data_strides[axis]);
               });
    return status;
  }
};

// Reads inputs 0 (data) and 1 (indices) of GatherElements/ScatterElements.
StatusOr<ElementsGeometry> CompileElements(const CompileContext& ctx) {
  ElementsGeometry g;
  const TensorDesc& data = ctx.input(0);
  const TensorDesc& indices = ctx.input(1);
  RETURN_IF_ERROR(CheckIndexType(ctx, 1));
  g.element_size = DataTypeSize(data.dtype);
  if (g.element_size == 0 || g.element_size > 8) {
    return UnsupportedType(ctx, 0, "a fixed-size type");
  }
  if (data.dims.empty()) return InvalidModel(ctx.Describe() + ": data is a scalar");
  if (indices.dims.size() != data.dims.size()) {
    return InvalidModel(ctx.Describe() + ": indices have rank " +
                        std::to_string(indices.dims.size()) + ", data rank " +
                        std::to_string(data.dims.size()));
  }
  ASSIGN_OR_RETURN(const int64_t attr_axis, ctx.node().GetInt("axis", 0));
  ASSIGN_OR_RETURN(g.axis, NormalizeAxis(ctx, attr_axis, static_cast<int64_t>(data.dims.size())));
  for (size_t d = 0; d < data.dims.size(); ++d) {
    if (static_cast<int64_t>(d) != g.axis && indices.dims[d] > data.dims[d]) {
      return InvalidModel(ctx.Describe() + ": indices " + ShapeToString(indices.dims) +
                          " exceed data " + ShapeToString(data.dims) + " on axis " +
                          std::to_string(d));
    }
  }
  g.data_dims = data.dims;
  g.index_dims = indices.dims;
  g.data_strides = RowMajorStrides(data.dims);
  g.int64_index = indices.dtype == DataType::kInt64;
  return g;
}

// GatherElements: out[i] = data[i with its `axis` coordinate replaced by
// indices[i]]; the output has the indices' shape.
class GatherElementsKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    ASSIGN_OR_RETURN(g_, CompileElements(ctx));
    ctx.SetOutput(0, ctx.input(0).dtype, g_.index_dims);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    Status status;
    DispatchBySize(g_.element_size, [&]<typename T>() {
      const T* data = ctx.input_as<T>(0);
      T* out = ctx.output_as<T>(0);
      status = g_.Walk(ctx.input(1), [&](int64_t i, int64_t offset) { out[i] = data[offset]; });
    });
    return status;
  }

 private:
  ElementsGeometry g_;
};

// ---------------------------------------------------------------- scatters

enum class ScatterReduction { kNone, kAdd, kMul, kMax, kMin };

// ScatterElements/ScatterND's reduction: none before opset 16, add/mul from
// 16, max/min from 18.
StatusOr<ScatterReduction> ReadScatterReduction(const CompileContext& ctx) {
  const int64_t opset = ctx.node().opset();
  if (ctx.node().kind() == ir::OpKind::kScatter || opset < 16) return ScatterReduction::kNone;
  ASSIGN_OR_RETURN(const std::string r, ctx.node().GetString("reduction", "none"));
  if (r == "none") return ScatterReduction::kNone;
  if (r == "add") return ScatterReduction::kAdd;
  if (r == "mul") return ScatterReduction::kMul;
  if (r == "max" && opset >= 18) return ScatterReduction::kMax;
  if (r == "min" && opset >= 18) return ScatterReduction::kMin;
  return InvalidModel(ctx.Describe() + ": reduction '" + r + "' is not defined at opset " +
                      std::to_string(opset));
}

// Checks the updates (input 2) against the data's type and `dims`.
Status CheckUpdates(const CompileContext& ctx, const std::vector<int64_t>& dims,
                    ScatterReduction reduction) {
  const TensorDesc& updates = ctx.input(2);
  if (updates.dtype != ctx.input(0).dtype) {
    return InvalidModel(ctx.Describe() + ": updates have element type " +
                        DataTypeName(updates.dtype) + ", data " +
                        DataTypeName(ctx.input(0).dtype));
  }
  if (updates.dims != dims) {
    return InvalidModel(ctx.Describe() + ": updates have shape " + ShapeToString(updates.dims) +
                        ", expected " + ShapeToString(dims));
  }
  if (reduction != ScatterReduction::kNone && ctx.input(0).dtype == DataType::kBool) {
    return UnsupportedType(ctx, 0, "a numeric type (a reduction is set)");
  }
  return Status::Ok();
}

// Writes updates[u] into out[o] for each (o, u) `each` produces, folding with
// the reduction; the output starts as a copy of the data.
template <typename Each>
Status RunScatter(ExecContext& ctx, DataType dtype, size_t bytes, ScatterReduction reduction,
                  Each&& each) {
  if (bytes) std::memcpy(ctx.output(0), ctx.input(0), bytes);
  Status status;
  if (reduction == ScatterReduction::kNone) {
    DispatchBySize(DataTypeSize(dtype), [&]<typename T>() {
      T* out = ctx.output_as<T>(0);
      const T* updates = ctx.input_as<T>(2);
      status = each([&](int64_t o, int64_t u) { out[o] = updates[u]; });
    });
    return status;
  }
  DispatchElement<kAllElements>(dtype, [&]<DataType kType>() {
    using E = Element<kType>;
    using C = typename E::Compute;
    auto* out = ctx.output_as<typename E::Storage>(0);
    const auto* updates = ctx.input_as<typename E::Storage>(2);
    status = each([&](int64_t o, int64_t u) {
      const C a = E::Load(out[o]), b = E::Load(updates[u]);
      C r = a;
      switch (reduction) {
        case ScatterReduction::kAdd: r = static_cast<C>(a + b); break;
        case ScatterReduction::kMul: r = static_cast<C>(a * b); break;
        case ScatterReduction::kMax: r = a < b ? b : a; break;
        case ScatterReduction::kMin: r = b < a ? b : a; break;
        case ScatterReduction::kNone: r = b; break;
      }
      out[o] = E::Store(r);
    });
  });
  return status;
}

// ScatterElements (and the legacy Scatter): out = data, then
// out[i with its `axis` coordinate replaced by indices[i]] = updates[i].
class ScatterElementsKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    ASSIGN_OR_RETURN(g_, CompileElements(ctx));
    ASSIGN_OR_RETURN(reduction_, ReadScatterReduction(ctx));
    RETURN_IF_ERROR(CheckUpdates(ctx, g_.index_dims, reduction_));
    dtype_ = ctx.input(0).dtype;
    bytes_ = ctx.input(0).byte_size();
    ctx.SetOutput(0, dtype_, g_.data_dims);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    return RunScatter(ctx, dtype_, bytes_, reduction_, [&](auto&& write) {
      return g_.Walk(ctx.input(1), [&](int64_t u, int64_t o) { write(o, u); });
    });
  }

 private:
  ElementsGeometry g_;
  ScatterReduction reduction_ = ScatterReduction::kNone;
  DataType dtype_ = DataType::kUndefined;
  size_t bytes_ = 0;
};

// The index tuples of GatherND/ScatterND: indices [..., k] address slices
// of data's dims [batch, batch + k).
struct TupleGeometry {
  std::vector<int64_t> data_dims, data_strides;
  int64_t batch_dims = 0, k = 0;
  int64_t batches = 1;       // product of data dims [0, batch_dims)
  int64_t tuples = 1;        // index tuples per batch
  int64_t slice = 1;         // elements per addressed slice
  int64_t batch_stride = 1;  // data elements per batch
  bool int64_index = true;

  // fn(tuple number (over all batches), data offset of its slice); error
  // on an index out of range before fn sees it.
  template <typename Fn>
  Status Walk(const void* indices, Fn&& fn) const {
    for (int64_t b = 0; b < batches; ++b) {
      for (int64_t t = 0; t < tuples; ++t) {
        const int64_t tuple = b * tuples + t;
        int64_t offset = b * batch_stride;
        for (int64_t j = 0; j < k; ++j) {
          const int64_t axis = batch_dims + j;
          int64_t index = 0;
          RETURN_IF_ERROR(WrapIndex(IndexAt(indices, int64_index, tuple * k + j),
                                    data_dims[axis], axis, &index));
          offset += index * data_strides[axis];
        }
        fn(tuple, offset);
      }
    }
    return Status::Ok();
  }
};

StatusOr<TupleGeometry> CompileTuples(const CompileContext& ctx, int64_t batch_dims) {
  TupleGeometry g;
  const TensorDesc& data = ctx.input(0);
  const TensorDesc& indices = ctx.input(1);
  RETURN_IF_ERROR(CheckIndexType(ctx, 1));
  if (DataTypeSize(data.dtype) == 0 || DataTypeSize(data.dtype) > 8) {
    return UnsupportedType(ctx, 0, "a fixed-size type");
  }
  const int64_t r = static_cast<int64_t>(data.dims.size());
  const int64_t q = static_cast<int64_t>(indices.dims.size());
  if (r < 1 || q < 1) return InvalidModel(ctx.Describe() + ": data and indices must have rank >= 1");
  if (batch_dims < 0 || batch_dims >= std::min(r, q)) {
    return InvalidModel(ctx.Describe() + ": batch_dims " + std::to_string(batch_dims) +
                        " must be in [0, " + std::to_string(std::min(r, q)) + ")");
  }
  g.k = indices.dims[q - 1];
  if (g.k < 1 || batch_dims + g.k > r) {
    return InvalidModel(ctx.Describe() + ": index tuples of length " + std::to_string(g.k) +
                        " do not fit data of rank " + std::to_string(r) +
                        (batch_dims ? " after " + std::to_string(batch_dims) + " batch dims" : ""));
  }
  for (int64_t d = 0; d < batch_dims; ++d) {
    if (indices.dims[d] != data.dims[d]) {
      return InvalidModel(ctx.Describe() + ": batch dim " + std::to_string(d) + " is " +
                          std::to_string(indices.dims[d]) + " in indices, " +
                          std::to_string(data.dims[d]) + " in data");
    }
    g.batches *= data.dims[d];
  }
  for (int64_t d = batch_dims; d < q - 1; ++d) g.tuples *= indices.dims[d];
  for (int64_t d = batch_dims + g.k; d < r; ++d) g.slice *= data.dims[d];
  for (int64_t d = batch_dims; d < r; ++d) g.batch_stride *= data.dims[d];
  g.batch_dims = batch_dims;
  g.data_dims = data.dims;
  g.data_strides = RowMajorStrides(data.dims);
  g.int64_index = indices.dtype == DataType::kInt64;
  return g;
}

// GatherND: out = data[batch, indices tuple, ...] for every tuple.
class GatherNdKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    int64_t batch_dims = 0;
    if (ctx.node().opset() >= 12) {
      ASSIGN_OR_RETURN(batch_dims, ctx.node().GetInt("batch_dims", 0));
    }
    ASSIGN_OR_RETURN(g_, CompileTuples(ctx, batch_dims));
    const TensorDesc& data = ctx.input(0);
    const TensorDesc& indices = ctx.input(1);
    std::vector<int64_t> dims(data.dims.begin(), data.dims.begin() + batch_dims);
    dims.insert(dims.end(), indices.dims.begin() + batch_dims, indices.dims.end() - 1);
    dims.insert(dims.end(), data.dims.begin() + batch_dims + g_.k, data.dims.end());
    element_size_ = DataTypeSize(data.dtype);
    ctx.SetOutput(0, data.dtype, std::move(dims));
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    const char* data = static_cast<const char*>(ctx.input(0));
    char* out = static_cast<char*>(ctx.output(0));
    const size_t slice_bytes = static_cast<size_t>(g_.slice) * element_size_;
    return g_.Walk(ctx.input(1), [&](int64_t tuple, int64_t offset) {
      std::memcpy(out + tuple * slice_bytes, data + offset * element_size_, slice_bytes);
    });
  }

 private:
  TupleGeometry g_;
  size_t element_size_ = 0;
};

// ScatterND: out = data, then out[indices tuple, ...] = updates[tuple, ...].
class ScatterNdKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    ASSIGN_OR_RETURN(g_, CompileTuples(ctx, 0));
    ASSIGN_OR_RETURN(reduction_, ReadScatterReduction(ctx));
    const TensorDesc& data = ctx.input(0);
    const TensorDesc& indices = ctx.input(1);
    std::vector<int64_t> dims(indices.dims.begin(), indices.dims.end() - 1);
    dims.insert(dims.end(), data.dims.begin() + g_.k, data.dims.end());
    RETURN_IF_ERROR(CheckUpdates(ctx, dims, reduction_));
    dtype_ = data.dtype;
    bytes_ = data.byte_size();
    ctx.SetOutput(0, data.dtype, data.dims);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    return RunScatter(ctx, dtype_, bytes_, reduction_, [&](auto&& write) {
      return g_.Walk(ctx.input(1), [&](int64_t tuple, int64_t offset) {
        for (int64_t s = 0; s < g_.slice; ++s) write(offset + s, tuple * g_.slice + s);
      });
    });
  }

 private:
  TupleGeometry g_;
  ScatterReduction reduction_ = ScatterReduction::kNone;
  DataType dtype_ = DataType::kUndefined;
  size_t bytes_ = 0;
};

}  // namespace

void RegisterGatherScatterKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kGatherElements, MakeKernel<GatherElementsKernel>);
  registry.Register(ir::OpKind::kScatterElements, MakeKernel<ScatterElementsKernel>);
  registry.Register(ir::OpKind::kScatter, MakeKernel<ScatterElementsKernel>);
  registry.Register(ir::OpKind::kGatherND, MakeKernel<GatherNdKernel>);
  registry.Register(ir::OpKind::kScatterND, MakeKernel<ScatterNdKernel>);
}

}  // namespace bnfold::onednn
