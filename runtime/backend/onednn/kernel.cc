#include "runtime/backend/onednn/kernel.h"

#include <algorithm>
#include <cctype>
#include <numeric>

#include "oneapi/dnnl/dnnl_debug.h"

namespace bnfold::onednn {

const dnnl::engine& CpuEngine() {
  static const dnnl::engine* const engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

int64_t TensorDesc::num_elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

size_t TensorDesc::byte_size() const {
  if (!is_plain()) return layout.get_size();
  return static_cast<size_t>(num_elements()) * DataTypeSize(dtype);
}

dnnl::memory::desc TensorDesc::ToMemoryDesc() const {
  if (!is_plain()) return layout;
  return PlainDesc(dtype, dims);
}

dnnl::memory::data_type ToDnnlType(DataType dtype) {
  using dt = dnnl::memory::data_type;
  switch (dtype) {
    case DataType::kFloat: return dt::f32;
    case DataType::kFloat16: return dt::f16;
    case DataType::kBfloat16: return dt::bf16;
    case DataType::kInt8: return dt::s8;
    case DataType::kUint8: return dt::u8;
    case DataType::kInt32: return dt::s32;
    default: return dt::undef;
  }
}

dnnl::memory::format_tag PlainTag(size_t rank) {
  using tag = dnnl::memory::format_tag;
  switch (rank) {
    case 0:
    case 1: return tag::a;
    case 2: return tag::ab;
    case 3: return tag::abc;
    case 4: return tag::abcd;
    case 5: return tag::abcde;
    case 6: return tag::abcdef;
    default: return tag::undef;
  }
}

dnnl::memory::desc PlainDesc(DataType dtype, const std::vector<int64_t>& dims) {
  // oneDNN has no rank-0 tensors: a scalar is a 1-element vector.
  dnnl::memory::dims d(dims.begin(), dims.end());
  if (d.empty()) d.push_back(1);
  if (d.size() > 6) {
    // Beyond oneDNN's format tags: describe by strides.
    dnnl::memory::dims strides(d.size(), 1);
    for (size_t i = d.size() - 1; i > 0; --i) strides[i - 1] = strides[i] * d[i];
    return dnnl::memory::desc(d, ToDnnlType(dtype), strides);
  }
  return dnnl::memory::desc(d, ToDnnlType(dtype), PlainTag(d.size()));
}

namespace {

thread_local std::vector<std::string>* primitive_name_sink = nullptr;

// "convolution jit_1x1:avx512_core" for `primitive`.
std::string PrimitiveName(const dnnl::primitive& primitive) {
  const_dnnl_primitive_desc_t pd = nullptr;
  if (dnnl_primitive_get_primitive_desc(primitive.get(), &pd) != dnnl_success) return "oneDNN";
  dnnl_primitive_kind_t kind = dnnl_undefined_primitive;
  const char* impl = nullptr;
  dnnl_primitive_desc_query(pd, dnnl_query_primitive_kind, 0, &kind);
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
  return std::string(dnnl_prim_kind2str(kind)) + " " + (impl ? impl : "?");
}

struct PrimitiveState : KernelState {
  std::vector<dnnl::memory> memories;  // parallel to bindings
  // The data handle each memory has, to skip setting it again: a plan's
  // arena and scratchpad do not move between runs. Null for memories whose
  // desc has padding, which oneDNN zero-fills on every set.
  std::vector<void*> handles;
  std::vector<bool> padded;
  // The C argument array, built once: dnnl::primitive::execute(map) would
  // rebuild it (and allocate) on every run.
  std::vector<dnnl_exec_arg_t> args;
};

}  // namespace

void PrimitiveRunner::BindInput(int arg, int input_index, const dnnl::memory::desc& md) {
  bindings_.push_back({arg, Source::kInput, input_index, md, {}});
}

void PrimitiveRunner::BindOutput(int arg, int output_index, const dnnl::memory::desc& md) {
  bindings_.push_back({arg, Source::kOutput, output_index, md, {}});
}

void PrimitiveRunner::BindScratchpad(const dnnl::memory::desc& md) {
  // A primitive that books no scratchpad never reads the argument: no
  // memory object per state for it (most element-wise primitives).
  if (md.get_size() == 0) return;
  bindings_.push_back({DNNL_ARG_SCRATCHPAD, Source::kScratchpad, 0, md, {}});
}

void PrimitiveRunner::BindMemory(int arg, const dnnl::memory& memory) {
  bindings_.push_back({arg, Source::kOwned, 0, memory.get_desc(), memory});
}

std::unique_ptr<KernelState> PrimitiveRunner::CreateState(const dnnl::engine& engine) const {
  auto state = std::make_unique<PrimitiveState>();
  for (const Binding& b : bindings_) {
    dnnl::memory m = b.source == Source::kOwned
                         ? b.owned
                         : dnnl::memory(b.md, engine, DNNL_MEMORY_NONE);
    state->memories.push_back(m);
  }
  for (size_t i = 0; i < bindings_.size(); ++i) {
    state->args.push_back({bindings_[i].arg, state->memories[i].get()});
    const dnnl_memory_desc_t& md = bindings_[i].md.data;
    bool padded = false;
    for (int d = 0; d < md.ndims; ++d) padded = padded || md.padded_dims[d] != md.dims[d];
    state->padded.push_back(padded);
  }
  state->handles.assign(bindings_.size(), nullptr);
  return state;
}

void PrimitiveRunner::Execute(ExecContext& ctx, KernelState* raw_state) const {
  auto* state = static_cast<PrimitiveState*>(raw_state);
  for (size_t i = 0; i < bindings_.size(); ++i) {
    const Binding& b = bindings_[i];
    void* handle = nullptr;
    switch (b.source) {
      case Source::kInput: handle = const_cast<void*>(ctx.input(b.index)); break;
      case Source::kOutput: handle = ctx.output(b.index); break;
      case Source::kScratchpad: handle = ctx.scratchpad(); break;
      case Source::kOwned: continue;
    }
    if (handle == state->handles[i] && handle != nullptr && !state->padded[i]) continue;
    state->memories[i].set_data_handle(handle);
    state->handles[i] = handle;
  }
  const dnnl_status_t status =
      dnnl_primitive_execute(primitive_.get(), ctx.stream().get(),
                             static_cast<int>(state->args.size()), state->args.data());
  if (status != dnnl_success) throw dnnl::error(status, "could not execute a primitive");
  if (primitive_name_sink) primitive_name_sink->push_back(PrimitiveName(primitive_));
}

void SetPrimitiveNameSink(std::vector<std::string>* sink) { primitive_name_sink = sink; }

std::string LayoutName(const dnnl::memory::desc& md) {
  const dnnl_memory_desc_t& d = md.data;
  if (d.format_kind != dnnl_blocked) return "opaque";  // e.g. a Winograd weight layout
  const dnnl_blocking_desc_t& blocking = d.format_desc.blocking;
  std::vector<int> order(d.ndims);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return blocking.strides[a] > blocking.strides[b]; });
  std::vector<bool> blocked(d.ndims, false);
  for (int i = 0; i < blocking.inner_nblks; ++i) blocked[blocking.inner_idxs[i]] = true;
  std::string name;
  for (int dim : order) {
    const char letter = static_cast<char>('a' + dim);
    name += blocked[dim] ? static_cast<char>(std::toupper(letter)) : letter;
  }
  for (int i = 0; i < blocking.inner_nblks; ++i) {
    name += std::to_string(blocking.inner_blks[i]) + static_cast<char>('a' + blocking.inner_idxs[i]);
  }
  return name;
}

dnnl::primitive_attr DefaultPrimitiveAttr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

size_t ScratchpadBytes(const dnnl::primitive_desc_base& pd) {
  return pd.scratchpad_desc().get_size();
}

}  // namespace bnfold::onednn
