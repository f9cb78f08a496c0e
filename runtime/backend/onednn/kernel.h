// The kernel interface of the oneDNN backend: one Kernel object per node per
// plan. Lifecycle: Compile (once per input-shape signature: infer output
// shapes, build primitive descriptors, state layout wishes) -> CreateState
// (once per execution context: bind memory objects) -> Execute (every run:
// replay).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "bnfold/status.h"
#include "bnfold/tensor.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "runtime/ir/graph.h"

namespace bnfold::onednn {

struct PostOpChain;  // fusion.h

// A tensor's type, concrete dims and layout in a plan.
struct TensorDesc {
  DataType dtype = DataType::kUndefined;
  std::vector<int64_t> dims;
  // oneDNN layout when the data is not dense row-major (e.g. a blocked
  // nChw8c activation); a zero desc means dense row-major ("plain").
  dnnl::memory::desc layout;

  bool is_plain() const { return layout.is_zero(); }
  int64_t num_elements() const;
  // Bytes the buffer needs (the blocked size when not plain).
  size_t byte_size() const;
  // The oneDNN desc of this tensor: `layout`, or the plain row-major desc.
  // Precondition: dtype has a oneDNN equivalent.
  dnnl::memory::desc ToMemoryDesc() const;
};

// oneDNN's data type for `dtype`, or undef when oneDNN has none (int64,
// double, bool, ...).
dnnl::memory::data_type ToDnnlType(DataType dtype);
// Plain row-major format tag for `rank` (a, ab, abc, ...).
dnnl::memory::format_tag PlainTag(size_t rank);
dnnl::memory::desc PlainDesc(DataType dtype, const std::vector<int64_t>& dims);

// The process-wide oneDNN CPU engine.
const dnnl::engine& CpuEngine();

// Per-execution-context state of a kernel (e.g. its oneDNN memory objects).
class KernelState {
 public:
  virtual ~KernelState() = default;
};

class CompileContext {
 public:
  virtual ~CompileContext() = default;

  virtual const ir::Node& node() const = 0;
  virtual const dnnl::engine& engine() const = 0;
  virtual int threads() const = 0;
  // Convolutions on the longest path from the graph inputs to this node,
  // itself included (image_split.h: which way a split layer runs).
  virtual int convolution_depth() const = 0;

  int num_inputs() const { return node().num_inputs(); }
  int num_outputs() const { return node().num_outputs(); }
  // False for an omitted optional input/output.
  bool has_input(int i) const { return node().input(i) != nullptr; }
  bool has_output(int i) const { return node().output(i) != nullptr; }

  // The input's type, dims and current layout. Unless the kernel calls
  // AcceptInputLayout or RequireInputLayout for it, the input is delivered
  // plain at execution (the planner inserts a reorder when needed).
  virtual const TensorDesc& input(int i) const = 0;
  // Plain data of an input known at compile time (an initializer, a Constant,
  // or anything computed from them and from known shapes); null otherwise.
  virtual const Tensor* constant_input(int i) const = 0;

  // The kernel handles input `i` in whatever layout it arrives in.
  virtual void AcceptInputLayout(int i) = 0;
  // The kernel needs input `i` in exactly this layout.
  virtual void RequireInputLayout(int i, const dnnl::memory::desc& layout) = 0;

  // Declares output `i`; `layout` zero = plain.
  virtual void SetOutput(int i, DataType dtype, std::vector<int64_t> dims,
                         dnnl::memory::desc layout = {}) = 0;
  // Declares output `i` as data known now (e.g. Shape's output). The kernel's
  // Execute is then not called for it.
  virtual void SetConstantOutput(int i, Tensor value) = 0;
  // Declares output `i` as a view of input `input`: the same bytes, seen
  // with `dims` in `layout` (zero = plain), e.g. Reshape or a Transpose as
  // a permuted desc. `layout` describes the bytes as the input is delivered
  // (plain, unless the kernel accepted or required another layout). No copy
  // is made and Execute never writes the output (it sees a null pointer):
  // a node whose outputs are all views or constants does not run. False
  // when the context cannot alias; the kernel then declares the output with
  // SetOutput and computes it.
  virtual bool SetOutputView(int i, int input, std::vector<int64_t> dims,
                             dnnl::memory::desc layout = {}) {
    (void)i, (void)input, (void)dims, (void)layout;
    return false;
  }
  // Bytes of scratch memory Execute needs (oneDNN scratchpad or the kernel's
  // own), valid only during Execute.
  virtual void RequestScratchpad(size_t bytes) = 0;

  // Followers the planner offers to fuse into output 0 as oneDNN post-ops
  // (fusion.h); null when none. A kernel that applies the first `count` of
  // them says so with AcceptPostOps(count); a binary post-op's operand
  // arrives as step input PostOp::input (after the node's own inputs).
  // Kernels that know nothing of fusion ignore both.
  virtual const PostOpChain* post_ops() const { return nullptr; }
  virtual void AcceptPostOps(size_t count) { (void)count; }

  // "Conv 'conv1'": prefix for errors.
  std::string Describe() const { return node().Describe(); }
};

class ExecContext {
 public:
  virtual ~ExecContext() = default;
  virtual const void* input(int i) const = 0;  // null for omitted inputs
  virtual void* output(int i) const = 0;       // null for omitted outputs
  virtual void* scratchpad() const = 0;
  virtual dnnl::stream& stream() const = 0;
  virtual KernelState* state() const = 0;
  template <typename T>
  const T* input_as(int i) const {
    return static_cast<const T*>(input(i));
  }
  template <typename T>
  T* output_as(int i) const {
    return static_cast<T*>(output(i));
  }
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Validates attributes and input types/shapes, declares outputs. Errors
  // name the node (ctx.Describe()) and the reason.
  virtual Status Compile(CompileContext& ctx) = 0;
  // State for one execution context; null when the kernel needs none.
  virtual std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const {
    (void)engine;
    return nullptr;
  }
  virtual Status Execute(ExecContext& ctx) const = 0;
  // For profiles: what runs the node when it runs no oneDNN primitive, e.g.
  // "bnfold gemv:avx512"; null for the runtime's plain C++ code ("bnfold").
  virtual const char* Implementation() const { return nullptr; }
};

// A oneDNN primitive whose arguments are bound to the step's inputs and
// outputs, to memory the kernel owns (reordered constants), or to the
// scratchpad. Executing it costs no allocation: the memory objects live in
// the per-context state and only their data handles are updated.
class PrimitiveRunner {
 public:
  PrimitiveRunner() = default;
  explicit PrimitiveRunner(dnnl::primitive primitive) : primitive_(std::move(primitive)) {}
  void set_primitive(dnnl::primitive primitive) { primitive_ = std::move(primitive); }

  void BindInput(int arg, int input_index, const dnnl::memory::desc& md);
  void BindOutput(int arg, int output_index, const dnnl::memory::desc& md);
  void BindScratchpad(const dnnl::memory::desc& md);
  // `memory` is owned by the kernel and shared (read-only) by all contexts.
  void BindMemory(int arg, const dnnl::memory& memory);

  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const;
  // Runs with the state from CreateState (must be ctx.state()).
  void Execute(ExecContext& ctx) const { Execute(ctx, ctx.state()); }
  void Execute(ExecContext& ctx, KernelState* state) const;

 private:
  enum class Source { kInput, kOutput, kScratchpad, kOwned };
  struct Binding {
    int arg;
    Source source;
    int index;
    dnnl::memory::desc md;
    dnnl::memory owned;
  };
  dnnl::primitive primitive_;
  std::vector<Binding> bindings_;
};

// Profiling: while `sink` is set on this thread, PrimitiveRunner::Execute
// appends the kind and implementation of each oneDNN primitive it runs
// ("convolution jit_1x1:avx512_core"). Null (the default) collects nothing.
void SetPrimitiveNameSink(std::vector<std::string>* sink);

// oneDNN's name for a layout in its letter notation, as ONEDNN_VERBOSE
// prints it: dims from outermost to innermost, a capital for a blocked
// dim, then the inner blocks ("aBcd16b" is nChw16c, "acdb" nhwc).
std::string LayoutName(const dnnl::memory::desc& md);

// Primitive attributes every backend primitive uses: user-managed scratchpad
// (so concurrent runs never share one).
dnnl::primitive_attr DefaultPrimitiveAttr();

// Scratchpad bytes a primitive descriptor asks for.
size_t ScratchpadBytes(const dnnl::primitive_desc_base& pd);

// Runs `fn` converting a dnnl::error into a Status naming `what`.
template <typename Fn>
Status CatchDnnl(const std::string& what, Fn&& fn) {
  try {
    fn();
  } catch (const dnnl::error& e) {
    return Unsupported(what + ": oneDNN refused it (" + e.what() + ")");
  }
  return Status::Ok();
}

}  // namespace bnfold::onednn
