// Kernels of the recurrent layers (the BNFOLD_OPS_* family in
// runtime/ir/op_kind.h that names this file): LSTM, GRU, RNN.
//
// Float layers whose weights are constants (initializers: what exporters
// write), with the default activations, no clip, no input_forget and no
// sequence_lens input (or a constant one equal to the sequence length) run
// on oneDNN's lstm_forward / gru_forward / lbr_gru_forward (GRU with
// linear_before_reset=1) / vanilla_rnn_forward. The weights are repacked
// once when the node is compiled: ONNX's [dirs, gates*H, in] with gate order
// (i, o, f, c) for LSTM becomes oneDNN's ldigo with (i, f, c, o); GRU's
// (z, r, h) is oneDNN's (u, r, o) already. ONNX's two biases (Wb + Rb) are
// summed, except lbr_gru's candidate recurrent bias (Rbh), which oneDNN
// keeps as the fourth bias gate because it sits inside the reset product.
// Bidirectional layers concatenate the directions per step
// (bidirectional_concat) and Y is reshaped from [T, N, D*H] into ONNX's
// [T, D, N, H] (or [N, T, D, H] for layout=1) by a copy.
//
// Everything else (runtime weights, per-batch sequence_lens, other
// activations, clip, input_forget, float16/double/bfloat16) runs the C++
// loop, which follows the spec's equations step by step in double: steps at
// or past a batch entry's sequence length leave Y zero and its state as it
// was (an entry of length 0 ends with zero states, as in ONNX Runtime).
// The loop is in recurrent_loop.cc, the types both share in
// support/recurrent_util.h.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/element_type.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/kernels/support/recurrent_util.h"
#include "runtime/common/status_macros.h"
#include "runtime/ir/tensor_util.h"

namespace bnfold::onednn {

namespace {

// ---------------------------------------------------------------- activations

// Name -> activation with its default alpha/beta and how many of the
// activation_alpha/beta lists it consumes.
struct ActivationSpec {
  const char* name;
  Act act;
  int params;  // 0, 1 (alpha) or 2 (alpha, beta)
  double alpha, beta;
};

constexpr ActivationSpec kActivations[] = {
    {"Sigmoid", Act::kSigmoid, 0, 0, 0},       {"Tanh", Act::kTanh, 0, 0, 0},
    {"Relu", Act::kRelu, 0, 0, 0},             {"Affine", Act::kAffine, 2, 1.0, 0.0},
    {"LeakyRelu", Act::kLeakyRelu, 1, 0.01, 0}, {"ThresholdedRelu", Act::kThresholdedRelu, 1, 1.0, 0},
    {"ScaledTanh", Act::kScaledTanh, 2, 1.0, 1.0}, {"HardSigmoid", Act::kHardSigmoid, 2, 0.2, 0.5},
    {"Elu", Act::kElu, 1, 1.0, 0},             {"Softsign", Act::kSoftsign, 0, 0, 0},
    {"Softplus", Act::kSoftplus, 0, 0, 0},
};

// The activations of every direction: `per_direction` of them each (f, g, h
// for LSTM), the defaults when the attribute is absent; a list for one
// direction of a bidirectional layer is used for both.
StatusOr<std::vector<Activation>> ParseActivations(const CompileContext& ctx, int per_direction,
                                                   int directions,
                                                   const std::vector<std::string>& defaults) {
  const ir::Node& node = ctx.node();
  std::vector<std::string> names = defaults;
  if (const ir::Attribute* a = node.FindAttribute("activations")) names = a->strings;
  ASSIGN_OR_RETURN(const std::vector<float> alphas, node.GetFloats("activation_alpha", {}));
  ASSIGN_OR_RETURN(const std::vector<float> betas, node.GetFloats("activation_beta", {}));
  const size_t want = static_cast<size_t>(per_direction * directions);
  if (names.size() == static_cast<size_t>(per_direction) && directions == 2) {
    const std::vector<std::string> forward = names;
    names.insert(names.end(), forward.begin(), forward.end());
  }
  if (names.size() != want) {
    return InvalidModel(ctx.Describe() + ": 'activations' has " + std::to_string(names.size()) +
                        " entries, expected " + std::to_string(want));
  }
  std::vector<Activation> result;
  size_t next_alpha = 0, next_beta = 0;
  for (const std::string& name : names) {
    const ActivationSpec* spec = nullptr;
    for (const ActivationSpec& s : kActivations) {
      if (name == s.name) spec = &s;
    }
    if (spec == nullptr) {
      return Unsupported(ctx.Describe() + ": activation '" + name + "' is not supported");
    }
    Activation a{spec->act, spec->alpha, spec->beta};
    if (spec->params >= 1 && next_alpha < alphas.size()) a.alpha = alphas[next_alpha++];
    if (spec->params >= 2 && next_beta < betas.size()) a.beta = betas[next_beta++];
    result.push_back(a);
  }
  return result;
}

// ---------------------------------------------------------------- oneDNN

// ONNX gate g' of oneDNN's order: LSTM (i, f, c, o) from ONNX (i, o, f, c);
// GRU and RNN keep their order.
int64_t OnnxGate(Cell cell, int64_t dnnl_gate) {
  static constexpr int64_t kLstm[] = {0, 2, 3, 1};
  return cell == Cell::kLstm ? kLstm[dnnl_gate] : dnnl_gate;
}

// Memory objects of one execution context; their data handles are set to
// the step's buffers on every run.
struct RnnDnnlState : KernelState {
  dnnl::memory src_layer, src_iter, src_iter_c, dst_layer, dst_iter, dst_iter_c, scratchpad;
};

// oneDNN's RNN primitive with the constant weights repacked at compile
// time. Buffers oneDNN needs but ONNX does not give (dst_layer when Y is
// absent or bidirectional, which ONNX lays out as [T, D, N, H]) live in the
// scratchpad after oneDNN's own.
struct RnnDnnl {
  dnnl::primitive primitive;
  dnnl::memory::desc src_layer_md, src_iter_md, src_iter_c_md, dst_layer_md, dst_iter_md,
      dst_iter_c_md, scratchpad_md;
  dnnl::memory weights_layer, weights_iter, weights_peephole, bias;
  bool has_initial_h = false, has_initial_c = false;
  size_t dnnl_scratch_bytes = 0;
  bool dst_layer_in_scratch = false;

  static size_t Align(size_t bytes) { return (bytes + 63) / 64 * 64; }

  // Builds the primitive; a dnnl::error (configuration oneDNN refuses)
  // propagates to the caller, which keeps the loop.
  void Build(CompileContext& ctx, const RnnShape& s) {
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    const int64_t T = s.seq, N = s.batch, I = s.input, H = s.hidden, D = s.directions;
    const int64_t G = s.gates, BG = s.linear_before_reset ? 4 : G;
    const dnnl::engine& engine = ctx.engine();
    src_layer_md = dnnl::memory::desc({T, N, I}, dt::f32, tag::tnc);
    dst_layer_md = dnnl::memory::desc({T, N, D * H}, dt::f32, tag::tnc);
    const dnnl::memory::desc iter_md({1, D, N, H}, dt::f32, tag::ldnc);
    has_initial_h = ctx.num_inputs() > kInitialH && ctx.has_input(kInitialH);
    has_initial_c = s.cell == Cell::kLstm && ctx.num_inputs() > kInitialC && ctx.has_input(kInitialC);
    src_iter_md = has_initial_h ? iter_md : dnnl::memory::desc();
    src_iter_c_md = has_initial_c ? iter_md : dnnl::memory::desc();
    const bool want_h = ctx.num_outputs() > kYh && ctx.has_output(kYh);
    const bool want_c = s.cell == Cell::kLstm && ctx.num_outputs() > kYc && ctx.has_output(kYc);
    dst_iter_md = want_h ? iter_md : dnnl::memory::desc();
    dst_iter_c_md = want_c ? iter_md : dnnl::memory::desc();
    const dnnl::memory::desc wl_any({1, D, I, G, H}, dt::f32, tag::any);
    const dnnl::memory::desc wi_any({1, D, H, G, H}, dt::f32, tag::any);
    const dnnl::memory::desc bias_md({1, D, BG, H}, dt::f32, tag::ldgo);
    const bool has_peephole = s.cell == Cell::kLstm && ctx.num_inputs() > kP && ctx.has_input(kP);
    const dnnl::memory::desc peephole_md =
        has_peephole ? dnnl::memory::desc({1, D, 3, H}, dt::f32, tag::ldgo) : dnnl::memory::desc();
    const dnnl::rnn_direction direction =
        D == 2 ? dnnl::rnn_direction::bidirectional_concat
               : s.reverse ? dnnl::rnn_direction::unidirectional_right2left
                           : dnnl::rnn_direction::unidirectional_left2right;
    const auto prop = dnnl::prop_kind::forward_inference;
    const dnnl::primitive_attr attr = DefaultPrimitiveAttr();
    dnnl::memory::desc wl_md, wi_md;
    // The four cells differ only in their descriptors; what is kept of each
    // primitive descriptor is the same.
    const auto take = [&](const auto& pd) {
      primitive = dnnl::primitive(pd);
      wl_md = pd.weights_layer_desc();
      wi_md = pd.weights_iter_desc();
      scratchpad_md = pd.scratchpad_desc();
    };
    if (s.cell == Cell::kLstm) {
      take(dnnl::lstm_forward::primitive_desc(
          {prop, direction, src_layer_md, src_iter_md, src_iter_c_md, wl_any, wi_any, peephole_md,
           bias_md, dst_layer_md, dst_iter_md, dst_iter_c_md},
          attr, engine));
    } else if (s.cell == Cell::kGru && s.linear_before_reset) {
      take(dnnl::lbr_gru_forward::primitive_desc(
          {prop, direction, src_layer_md, src_iter_md, wl_any, wi_any, bias_md, dst_layer_md,
           dst_iter_md},
          attr, engine));
    } else if (s.cell == Cell::kGru) {
      take(dnnl::gru_forward::primitive_desc(
          {prop, direction, src_layer_md, src_iter_md, wl_any, wi_any, bias_md, dst_layer_md,
           dst_iter_md},
          attr, engine));
    } else {
      const Act act = s.activations[0].act;
      const dnnl::algorithm alg = act == Act::kTanh  ? dnnl::algorithm::eltwise_tanh
                                  : act == Act::kRelu ? dnnl::algorithm::eltwise_relu
                                                      : dnnl::algorithm::eltwise_logistic;
      take(dnnl::vanilla_rnn_forward::primitive_desc(
          {prop, alg, direction, src_layer_md, src_iter_md, wl_any, wi_any, bias_md, dst_layer_md,
           dst_iter_md},
          attr, engine));
    }

    // Repack ONNX's W [D, G*H, I] / R [D, G*H, H] into ldigo, then into the
    // primitive's layout; sum the biases.
    const std::vector<double> w = ir::ToDoubleVector(*ctx.constant_input(kW));
    const std::vector<double> r = ir::ToDoubleVector(*ctx.constant_input(kR));
    std::vector<double> b(static_cast<size_t>(D * 2 * G * H), 0.0);
    if (ctx.num_inputs() > kB && ctx.has_input(kB)) b = ir::ToDoubleVector(*ctx.constant_input(kB));
    std::vector<float> wl(static_cast<size_t>(D * I * G * H)), wi(static_cast<size_t>(D * H * G * H));
    std::vector<float> bias_values(static_cast<size_t>(D * BG * H));
    for (int64_t d = 0; d < D; ++d) {
      for (int64_t g = 0; g < G; ++g) {
        const int64_t og = OnnxGate(s.cell, g);
        for (int64_t h = 0; h < H; ++h) {
          const int64_t row = (d * G + og) * H + h;
          for (int64_t i = 0; i < I; ++i) wl[((d * I + i) * G + g) * H + h] = static_cast<float>(w[row * I + i]);
          for (int64_t i = 0; i < H; ++i) wi[((d * H + i) * G + g) * H + h] = static_cast<float>(r[row * H + i]);
          const double wb = b[(d * 2 * G + og) * H + h], rb = b[(d * 2 * G + G + og) * H + h];
          const bool split = s.linear_before_reset && g == 2;  // Rbh sits inside r * (...)
          bias_values[(d * BG + g) * H + h] = static_cast<float>(split ? wb : wb + rb);
          if (split) bias_values[(d * BG + 3) * H + h] = static_cast<float>(rb);
        }
      }
    }
    dnnl::stream stream(engine);
    auto pack = [&](std::vector<float>& values, const dnnl::memory::desc& plain,
                    const dnnl::memory::desc& target) {
      dnnl::memory src(plain, engine, values.data());
      dnnl::memory dst(target, engine);
      dnnl::reorder(src, dst).execute(stream, src, dst);
      return dst;
    };
    weights_layer = pack(wl, dnnl::memory::desc({1, D, I, G, H}, dt::f32, tag::ldigo), wl_md);
    weights_iter = pack(wi, dnnl::memory::desc({1, D, H, G, H}, dt::f32, tag::ldigo), wi_md);
    bias = pack(bias_values, bias_md, bias_md);
    if (has_peephole) {
      const std::vector<double> p = ir::ToDoubleVector(*ctx.constant_input(kP));
      std::vector<float> peep(static_cast<size_t>(D * 3 * H));
      static constexpr int64_t kFromOnnx[] = {0, 2, 1};  // oneDNN (i, f, o) from ONNX (i, o, f)
      for (int64_t d = 0; d < D; ++d)
        for (int64_t g = 0; g < 3; ++g)
          for (int64_t h = 0; h < H; ++h)
            peep[(d * 3 + g) * H + h] = static_cast<float>(p[(d * 3 + kFromOnnx[g]) * H + h]);
      weights_peephole = pack(peep, peephole_md, peephole_md);
    }
    stream.wait();
    const bool want_y = ctx.num_outputs() > kY && ctx.has_output(kY);
    dst_layer_in_scratch = !want_y || D == 2;
    dnnl_scratch_bytes = Align(scratchpad_md.get_size());
    ctx.RequestScratchpad(dnnl_scratch_bytes + (dst_layer_in_scratch ? dst_layer_md.get_size() : 0));
  }

  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const {
    auto state = std::make_unique<RnnDnnlState>();
    state->src_layer = dnnl::memory(src_layer_md, engine, nullptr);
    state->dst_layer = dnnl::memory(dst_layer_md, engine, nullptr);
    state->scratchpad = dnnl::memory(scratchpad_md, engine, nullptr);
    if (!src_iter_md.is_zero()) state->src_iter = dnnl::memory(src_iter_md, engine, nullptr);
    if (!src_iter_c_md.is_zero()) state->src_iter_c = dnnl::memory(src_iter_c_md, engine, nullptr);
    if (!dst_iter_md.is_zero()) state->dst_iter = dnnl::memory(dst_iter_md, engine, nullptr);
    if (!dst_iter_c_md.is_zero()) state->dst_iter_c = dnnl::memory(dst_iter_c_md, engine, nullptr);
    return state;
  }

  void Execute(const RnnShape& s, ExecContext& ctx) const {
    auto* state = static_cast<RnnDnnlState*>(ctx.state());
    char* scratch = static_cast<char*>(ctx.scratchpad());
    std::unordered_map<int, dnnl::memory> args;
    state->src_layer.set_data_handle(const_cast<void*>(ctx.input(kX)));
    args[DNNL_ARG_SRC_LAYER] = state->src_layer;
    if (has_initial_h) {
      state->src_iter.set_data_handle(const_cast<void*>(ctx.input(kInitialH)));
      args[DNNL_ARG_SRC_ITER] = state->src_iter;
    }
    if (has_initial_c) {
      state->src_iter_c.set_data_handle(const_cast<void*>(ctx.input(kInitialC)));
      args[DNNL_ARG_SRC_ITER_C] = state->src_iter_c;
    }
    args[DNNL_ARG_WEIGHTS_LAYER] = weights_layer;
    args[DNNL_ARG_WEIGHTS_ITER] = weights_iter;
    args[DNNL_ARG_BIAS] = bias;
    if (weights_peephole) args[DNNL_ARG_WEIGHTS_PEEPHOLE] = weights_peephole;
    float* dst_layer = dst_layer_in_scratch ? reinterpret_cast<float*>(scratch + dnnl_scratch_bytes)
                                            : ctx.output_as<float>(kY);
    state->dst_layer.set_data_handle(dst_layer);
    args[DNNL_ARG_DST_LAYER] = state->dst_layer;
    if (!dst_iter_md.is_zero()) {
      state->dst_iter.set_data_handle(ctx.output(kYh));
      args[DNNL_ARG_DST_ITER] = state->dst_iter;
    }
    if (!dst_iter_c_md.is_zero()) {
      state->dst_iter_c.set_data_handle(ctx.output(kYc));
      args[DNNL_ARG_DST_ITER_C] = state->dst_iter_c;
    }
    state->scratchpad.set_data_handle(scratch);
    args[DNNL_ARG_SCRATCHPAD] = state->scratchpad;
    primitive.execute(ctx.stream(), args);
    ctx.stream().wait();
    float* y = ctx.output_as<float>(kY);
    if (y != nullptr && s.directions == 2) {
      // [T, N, D*H] -> [T, D, N, H].
      const int64_t T = s.seq, N = s.batch, H = s.hidden;
      for (int64_t t = 0; t < T; ++t)
        for (int64_t d = 0; d < 2; ++d)
          for (int64_t n = 0; n < N; ++n)
            std::memcpy(y + ((t * 2 + d) * N + n) * H, dst_layer + (t * N + n) * 2 * H + d * H,
                        sizeof(float) * H);
    }
  }
};

// ---------------------------------------------------------------- kernel

class RecurrentKernel : public Kernel {
 public:
  explicit RecurrentKernel(Cell cell) { shape_.cell = cell; }

  Status Compile(CompileContext& ctx) override {
    const std::string what = ctx.Describe() + ": ";
    RnnShape& s = shape_;
    const ir::Node& node = ctx.node();
    const int64_t opset = node.opset();
    const int max_inputs = s.cell == Cell::kLstm ? 8 : 6;
    if (ctx.num_inputs() < 3 || ctx.num_inputs() > max_inputs || !ctx.has_input(kW) ||
        !ctx.has_input(kR)) {
      return InvalidModel(what + "expects inputs X, W, R and up to " +
                          std::to_string(max_inputs - 3) + " optional ones");
    }
    if (ctx.num_outputs() > (s.cell == Cell::kLstm ? 3 : 2)) {
      return InvalidModel(what + "has too many outputs");
    }
    const TensorDesc& x = ctx.input(kX);
    const bool bf16_allowed = opset >= 22;
    if ((x.dtype == DataType::kBfloat16 && !bf16_allowed) ||
        (loop_fn_ = SelectRecurrentLoop(x.dtype)) == nullptr) {
      return UnsupportedType(ctx, kX, bf16_allowed ? "float16, float, double, bfloat16"
                                                   : "float16, float, double");
    }
    for (int i = 1; i < ctx.num_inputs(); ++i) {
      if (i == kSeqLens || !ctx.has_input(i)) continue;
      if (ctx.input(i).dtype != x.dtype) return UnsupportedType(ctx, i, DataTypeName(x.dtype));
    }
    ASSIGN_OR_RETURN(const int64_t layout, opset >= 14 ? node.GetInt("layout", 0) : StatusOr<int64_t>(0));
    if (layout != 0 && layout != 1) return InvalidModel(what + "layout must be 0 or 1");
    s.batch_first = layout == 1;
    ASSIGN_OR_RETURN(const std::string direction, node.GetString("direction", "forward"));
    if (direction == "forward" || direction == "reverse") {
      s.directions = 1;
      s.reverse = direction == "reverse";
    } else if (direction == "bidirectional") {
      s.directions = 2;
    } else {
      return InvalidModel(what + "direction '" + direction + "' is not forward, reverse or bidirectional");
    }
    ASSIGN_OR_RETURN(const int64_t hidden_attr, node.GetInt("hidden_size", 0));
    ASSIGN_OR_RETURN(const float clip, node.GetFloat("clip", 0.0f));
    if (node.FindAttribute("clip") != nullptr && !(clip > 0.0f)) {
      return InvalidModel(what + "clip must be positive");
    }
    s.clip = clip;
    ASSIGN_OR_RETURN(const int64_t lbr, node.GetInt("linear_before_reset", 0));
    s.linear_before_reset = s.cell == Cell::kGru && lbr != 0;
    ASSIGN_OR_RETURN(const int64_t input_forget, node.GetInt("input_forget", 0));
    s.input_forget = s.cell == Cell::kLstm && input_forget != 0;
    s.gates = GateCount(s.cell);

    if (x.dims.size() != 3) return InvalidModel(what + "X must have rank 3, got " + ShapeToString(x.dims));
    s.seq = s.batch_first ? x.dims[1] : x.dims[0];
    s.batch = s.batch_first ? x.dims[0] : x.dims[1];
    s.input = x.dims[2];
    const TensorDesc& w = ctx.input(kW);
    const TensorDesc& r = ctx.input(kR);
    s.hidden = r.dims.size() == 3 ? r.dims[2] : -1;
    if (hidden_attr > 0 && s.hidden != hidden_attr) {
      return InvalidModel(what + "R has shape " + ShapeToString(r.dims) + ", expected [" +
                          std::to_string(s.directions) + ", " + std::to_string(s.gates * hidden_attr) +
                          ", " + std::to_string(hidden_attr) + "] for hidden_size " +
                          std::to_string(hidden_attr));
    }
    const int64_t D = s.directions, G = s.gates, H = s.hidden;
    auto expect = [&](int i, const std::vector<int64_t>& dims, const char* name) -> Status {
      if (ctx.num_inputs() <= i || !ctx.has_input(i) || ctx.input(i).dims == dims) return Status::Ok();
      return InvalidModel(what + name + " has shape " + ShapeToString(ctx.input(i).dims) +
                          ", expected " + ShapeToString(dims));
    };
    if (H < 1) return InvalidModel(what + "R has shape " + ShapeToString(r.dims) + ", hidden size unknown");
    RETURN_IF_ERROR(expect(kW, {D, G * H, s.input}, "W"));
    RETURN_IF_ERROR(expect(kR, {D, G * H, H}, "R"));
    RETURN_IF_ERROR(expect(kB, {D, 2 * G * H}, "B"));
    const std::vector<int64_t> state_dims =
        s.batch_first ? std::vector<int64_t>{s.batch, D, H} : std::vector<int64_t>{D, s.batch, H};
    RETURN_IF_ERROR(expect(kInitialH, state_dims, "initial_h"));
    if (s.cell == Cell::kLstm) {
      RETURN_IF_ERROR(expect(kInitialC, state_dims, "initial_c"));
      RETURN_IF_ERROR(expect(kP, {D, 3 * H}, "P"));
    }
    if (ctx.num_inputs() > kSeqLens && ctx.has_input(kSeqLens)) {
      const TensorDesc& lens = ctx.input(kSeqLens);
      if (lens.dtype != DataType::kInt32) return UnsupportedType(ctx, kSeqLens, "int32");
      RETURN_IF_ERROR(expect(kSeqLens, {s.batch}, "sequence_lens"));
    }
    (void)w;
    static const std::vector<std::string> kLstmDefaults = {"Sigmoid", "Tanh", "Tanh"};
    static const std::vector<std::string> kGruDefaults = {"Sigmoid", "Tanh"};
    static const std::vector<std::string> kRnnDefaults = {"Tanh"};
    const std::vector<std::string>& defaults =
        s.cell == Cell::kLstm ? kLstmDefaults : s.cell == Cell::kGru ? kGruDefaults : kRnnDefaults;
    ASSIGN_OR_RETURN(s.activations, ParseActivations(ctx, static_cast<int>(defaults.size()),
                                                     static_cast<int>(D), defaults));

    const std::vector<int64_t> y_dims = s.batch_first ? std::vector<int64_t>{s.batch, s.seq, D, H}
                                                      : std::vector<int64_t>{s.seq, D, s.batch, H};
    if (ctx.num_outputs() > kY && ctx.has_output(kY)) ctx.SetOutput(kY, x.dtype, y_dims);
    if (ctx.num_outputs() > kYh && ctx.has_output(kYh)) ctx.SetOutput(kYh, x.dtype, state_dims);
    if (ctx.num_outputs() > kYc && ctx.has_output(kYc)) ctx.SetOutput(kYc, x.dtype, state_dims);
    if (OneDnnFits(ctx)) {
      try {
        dnnl_.Build(ctx, s);
        use_dnnl_ = true;
      } catch (const dnnl::error&) {
        dnnl_ = RnnDnnl();
      }
    }
    return Status::Ok();
  }

  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const override {
    return use_dnnl_ ? dnnl_.CreateState(engine) : nullptr;
  }

  Status Execute(ExecContext& ctx) const override {
    if (use_dnnl_) {
      dnnl_.Execute(shape_, ctx);
    } else {
      loop_fn_(shape_, ctx);
    }
    return Status::Ok();
  }

 private:
  // What oneDNN's cells compute: float, [T, N, I] (layout 0), constant
  // weights, every sequence full length, the default activations (RNN:
  // Tanh, Relu or Sigmoid, the same both ways), no clip or input_forget.
  bool OneDnnFits(const CompileContext& ctx) const {
    const RnnShape& s = shape_;
    if (ctx.input(kX).dtype != DataType::kFloat || s.batch_first || s.clip > 0.0 || s.input_forget ||
        s.seq == 0 || s.batch == 0 || s.input == 0) {
      return false;
    }
    for (int i : {kW, kR, kB, kP}) {
      if (i < ctx.num_inputs() && ctx.has_input(i) && ctx.constant_input(i) == nullptr) return false;
    }
    if (ctx.num_inputs() > kSeqLens && ctx.has_input(kSeqLens)) {
      const Tensor* lens = ctx.constant_input(kSeqLens);
      if (lens == nullptr) return false;
      for (double len : ir::ToDoubleVector(*lens)) {
        if (len != static_cast<double>(s.seq)) return false;
      }
    }
    const size_t per = s.activations.size() / static_cast<size_t>(s.directions);
    for (size_t i = 0; i < s.activations.size(); ++i) {
      const Act act = s.activations[i].act, first = s.activations[i % per].act;
      if (s.cell == Cell::kRnn) {
        if (act != s.activations[0].act ||
            (act != Act::kTanh && act != Act::kRelu && act != Act::kSigmoid)) {
          return false;
        }
      } else if (act != (i % per == 0 ? Act::kSigmoid : Act::kTanh) || act != first) {
        return false;
      }
    }
    return true;
  }

  RnnShape shape_;
  void (*loop_fn_)(const RnnShape&, ExecContext&) = nullptr;
  RnnDnnl dnnl_;
  bool use_dnnl_ = false;
};

std::unique_ptr<Kernel> MakeLstm() { return std::make_unique<RecurrentKernel>(Cell::kLstm); }
std::unique_ptr<Kernel> MakeGru() { return std::make_unique<RecurrentKernel>(Cell::kGru); }
std::unique_ptr<Kernel> MakeRnn() { return std::make_unique<RecurrentKernel>(Cell::kRnn); }

}  // namespace

void RegisterRecurrentKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kLSTM, MakeLstm);
  registry.Register(ir::OpKind::kGRU, MakeGru);
  registry.Register(ir::OpKind::kRNN, MakeRnn);
}

}  // namespace bnfold::onednn
