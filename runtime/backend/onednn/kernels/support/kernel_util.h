// Helpers shared by kernel families: axis handling, broadcasting, dtype
// dispatch, reading constant inputs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/backend/onednn/kernel.h"
#include "runtime/common/half.h"

namespace bnfold::onednn {

// Maps a possibly negative axis into [0, rank); error naming the node.
StatusOr<int64_t> NormalizeAxis(const CompileContext& ctx, int64_t axis, int64_t rank);

// The element count of `dims`; error naming the node when it overflows.
StatusOr<int64_t> ElementCount(const CompileContext& ctx, const std::vector<int64_t>& dims);

// Numpy-style broadcast of two shapes; error naming the node when
// incompatible.
StatusOr<std::vector<int64_t>> BroadcastShapes(const CompileContext& ctx,
                                               const std::vector<int64_t>& a,
                                               const std::vector<int64_t>& b);

// Row-major strides of `dims` (in elements).
std::vector<int64_t> RowMajorStrides(const std::vector<int64_t>& dims);

// Strides to read a tensor of shape `dims` as if broadcast to `out_dims`
// (0 on broadcast axes), aligned right as numpy does.
std::vector<int64_t> BroadcastStrides(const std::vector<int64_t>& dims,
                                      const std::vector<int64_t>& out_dims);

// The constant integer input `i` (int32/int64) as int64s; error naming the
// node when it is not known at compile time.
StatusOr<std::vector<int64_t>> ConstantInts(const CompileContext& ctx, int i,
                                            const std::string& what);
// The constant floating/integer input `i` as doubles.
StatusOr<std::vector<double>> ConstantDoubles(const CompileContext& ctx, int i,
                                              const std::string& what);

// Error "<node>: input 0 is missing" unless input 0 is present.
Status RequireInput0(const CompileContext& ctx);

// Error "<node>: input N has element type X, expected one of ...".
Status UnsupportedType(const CompileContext& ctx, int input, const std::string& expected);

// Calls fn.template operator()<T>() with T the C++ type of `dtype` for the
// numeric types (float16/bfloat16 as uint16_t storage: callers that do
// arithmetic convert through float). Returns false for other types.
template <typename Fn>
bool DispatchNumeric(DataType dtype, Fn&& fn) {
  switch (dtype) {
    case DataType::kFloat: fn.template operator()<float>(); return true;
    case DataType::kDouble: fn.template operator()<double>(); return true;
    case DataType::kInt8: fn.template operator()<int8_t>(); return true;
    case DataType::kUint8: fn.template operator()<uint8_t>(); return true;
    case DataType::kInt16: fn.template operator()<int16_t>(); return true;
    case DataType::kUint16: fn.template operator()<uint16_t>(); return true;
    case DataType::kInt32: fn.template operator()<int32_t>(); return true;
    case DataType::kUint32: fn.template operator()<uint32_t>(); return true;
    case DataType::kInt64: fn.template operator()<int64_t>(); return true;
    case DataType::kUint64: fn.template operator()<uint64_t>(); return true;
    default: return false;
  }
}

// A oneDNN primitive when oneDNN accepts the configuration, else a plain
// loop over `Loop`: the fallback machinery the kernels share instead of each
// writing it out.
template <typename Loop>
struct PrimitiveOrLoop {
  using LoopFn = void (*)(const Loop&, ExecContext&);

  // Runs `build` (which sets up `runner` and declares to the context); when
  // oneDNN refuses it (dnnl::error) the loop stays in use and this is false.
  template <typename Build>
  bool TryPrimitive(Build&& build) {
    try {
      build();
    } catch (const dnnl::error&) {
      runner = PrimitiveRunner();
      return false;
    }
    use_primitive = true;
    return true;
  }

  // Only the primitive needs per-context state.
  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const {
    return use_primitive ? runner.CreateState(engine) : nullptr;
  }

  void Execute(ExecContext& ctx) const {
    if (use_primitive) {
      runner.Execute(ctx);
    } else {
      loop_fn(loop, ctx);
    }
  }

  PrimitiveRunner runner;
  Loop loop;
  LoopFn loop_fn = nullptr;
  bool use_primitive = false;
};

// A kernel that runs a PrimitiveOrLoop: Compile fills in `impl_` (and sets
// `empty_` when the output has no elements, so nothing runs); the state and
// the run are this class's, so a kernel writes only its Compile.
template <typename Loop>
class PrimitiveOrLoopKernel : public Kernel {
 public:
  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const override {
    return impl_.CreateState(engine);
  }

  Status Execute(ExecContext& ctx) const override {
    if (!empty_) impl_.Execute(ctx);
    return Status::Ok();
  }

 protected:
  PrimitiveOrLoop<Loop> impl_;
  bool empty_ = false;
};

// A kernel whose Execute runs one loop function, chosen by Compile (for
// the element type), over the parameters Compile filled in: the common
// shape of the C++-loop kernels.
template <typename Loop>
class LoopKernel : public Kernel {
 public:
  Status Execute(ExecContext& ctx) const override {
    fn_(loop_, ctx);
    return Status::Ok();
  }

 protected:
  Loop loop_;
  void (*fn_)(const Loop&, ExecContext&) = nullptr;
};

}  // namespace bnfold::onednn
