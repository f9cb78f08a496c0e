// Kernels of the random generators (the BNFOLD_OPS_RANDOM family in
// runtime/ir/op_kind.h): RandomNormal, RandomUniform (shape from the
// attribute), RandomNormalLike, RandomUniformLike (shape, and by default
// type, of the input), Bernoulli, Multinomial. C++ loops over a 64-bit
// Mersenne Twister per execution context: with the `seed` attribute a
// context draws the same sequence every time it is created (run after run
// it continues the sequence, as ONNX Runtime does); without it, the
// generator is seeded from std::random_device.
#include <cstring>
#include <random>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/elementwise_types.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

class RandomState : public KernelState {
 public:
  explicit RandomState(uint64_t seed) : engine(seed) {}
  std::mt19937_64 engine;
};

enum class RandomOp { kNormal, kUniform, kNormalLike, kUniformLike, kBernoulli, kMultinomial };

// Draws for one run: `in` is the input (Bernoulli's probabilities,
// Multinomial's log-probabilities) or null.
using DrawFn = void (*)(std::mt19937_64& engine, const void* in, void* out, int64_t count,
                        double a, double b, int64_t classes);

// Normal(mean a, scale b) or Uniform[low a, high b) into floating T.
template <typename T, bool kNormal>
void DrawReal(std::mt19937_64& engine, const void*, void* out, int64_t count, double a, double b,
              int64_t) {
  T* y = static_cast<T*>(out);
  if constexpr (kNormal) {
    std::normal_distribution<double> dist(a, b);
    for (int64_t i = 0; i < count; ++i) y[i] = ConvertElement<T>(dist(engine));
  } else {
    std::uniform_real_distribution<double> dist(a, b);
    for (int64_t i = 0; i < count; ++i) y[i] = ConvertElement<T>(dist(engine));
  }
}

// 1 with probability p (the input element, clamped to [0, 1]), else 0.
template <typename P, typename T>
void DrawBernoulli(std::mt19937_64& engine, const void* in, void* out, int64_t count, double,
                   double, int64_t) {
  const P* p = static_cast<const P*>(in);
  T* y = static_cast<T*>(out);
  std::uniform_real_distribution<double> dist(0.0, 1.0);
  for (int64_t i = 0; i < count; ++i) {
    const bool one = dist(engine) < static_cast<double>(Load(p[i]));
    y[i] = ConvertElement<T>(one ? 1.0f : 0.0f);
  }
}

// `count / classes` rows of unnormalized log-probabilities; each output row
// holds sample_size (= count_out / rows) class indices drawn from the
// row's softmax.
template <typename P, typename T>
void DrawMultinomial(std::mt19937_64& engine, const void* in, void* out, int64_t rows,
                     double sample_size, double, int64_t classes) {
  const P* x = static_cast<const P*>(in);
  T* y = static_cast<T*>(out);
  const int64_t samples = static_cast<int64_t>(sample_size);
  std::vector<double> cumulative(static_cast<size_t>(classes));
  std::uniform_real_distribution<double> dist(0.0, 1.0);
  for (int64_t r = 0; r < rows; ++r) {
    double peak = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < classes; ++c) peak = std::max(peak, static_cast<double>(Load(x[r * classes + c])));
    double total = 0.0;
    for (int64_t c = 0; c < classes; ++c) {
      total += std::exp(static_cast<double>(Load(x[r * classes + c])) - peak);
      cumulative[c] = total;
    }
    for (int64_t s = 0; s < samples; ++s) {
      const double u = dist(engine) * total;
      int64_t c = std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin();
      y[r * samples + s] = static_cast<T>(std::min(c, classes - 1));
    }
  }
}

class RandomKernel : public Kernel {
 public:
  explicit RandomKernel(RandomOp op) : op_(op) {}

  Status Compile(CompileContext& ctx) override {
    const ir::Node& node = ctx.node();
    if (const ir::Attribute* seed = node.FindAttribute("seed")) {
      (void)seed;
      ASSIGN_OR_RETURN(float value, node.GetFloat("seed", 0.0f));
      uint32_t bits;
      std::memcpy(&bits, &value, sizeof bits);
      seed_ = bits;
      seeded_ = true;
    }
    const bool has_input = op_ != RandomOp::kNormal && op_ != RandomOp::kUniform;
    if (has_input && (ctx.num_inputs() < 1 || !ctx.has_input(0))) {
      return InvalidModel(ctx.Describe() + ": input 0 is missing");
    }
    const DataType in_type = has_input ? ctx.input(0).dtype : DataType::kFloat;
    std::vector<int64_t> dims = has_input ? ctx.input(0).dims : std::vector<int64_t>{};
    if (!has_input) {
      if (node.FindAttribute("shape") == nullptr) {
        return InvalidModel(ctx.Describe() + ": attribute 'shape' is missing");
      }
      ASSIGN_OR_RETURN(dims, node.GetInts("shape", {}));
      for (int64_t d : dims) {
        if (d < 0) return InvalidModel(ctx.Describe() + ": shape " + ShapeToString(dims) + " has a negative dim");
      }
    }
    const int64_t default_type = op_ == RandomOp::kMultinomial ? static_cast<int64_t>(DataType::kInt32)
                                 : has_input ? static_cast<int64_t>(in_type)
                                             : static_cast<int64_t>(DataType::kFloat);
    ASSIGN_OR_RETURN(int64_t dtype, node.GetInt("dtype", default_type));
    const DataType out_type = static_cast<DataType>(dtype);
    switch (op_) {
      case RandomOp::kNormal:
      case RandomOp::kNormalLike:
      case RandomOp::kUniform:
      case RandomOp::kUniformLike: {
        const bool normal = op_ == RandomOp::kNormal || op_ == RandomOp::kNormalLike;
        ASSIGN_OR_RETURN(float a, node.GetFloat(normal ? "mean" : "low", 0.0f));
        ASSIGN_OR_RETURN(float b, node.GetFloat(normal ? "scale" : "high", 1.0f));
        a_ = a, b_ = b;
        DispatchElementType(out_type, [&]<typename T>() {
          if constexpr (kIsFloating<T>) {
            fn_ = normal ? &DrawReal<T, true> : &DrawReal<T, false>;
          }
        });
        if (fn_ == nullptr) {
          return Unsupported(ctx.Describe() + ": dtype " + std::to_string(dtype) + " (" +
                             DataTypeName(out_type) + ") is not float16, float, double or bfloat16");
        }
        break;
      }
      case RandomOp::kBernoulli:
        DispatchElementType(in_type, [&]<typename P>() {
          if constexpr (kIsFloating<P>) {
            DispatchElementTypeOrBool(out_type, [&]<typename T>() { fn_ = &DrawBernoulli<P, T>; });
          }
        });
        if (fn_ == nullptr) {
          return Unsupported(ctx.Describe() + ": probabilities of type " + DataTypeName(in_type) +
                             " into " + DataTypeName(out_type) +
                             "; supported: floating probabilities into a numeric type or bool");
        }
        break;
      case RandomOp::kMultinomial: {
        if (dims.size() != 2) {
          return InvalidModel(ctx.Describe() + ": input must be [batch, classes], got shape " +
                              ShapeToString(dims));
        }
        ASSIGN_OR_RETURN(int64_t sample_size, node.GetInt("sample_size", 1));
        if (sample_size < 0) return InvalidModel(ctx.Describe() + ": sample_size is negative");
        if (out_type != DataType::kInt32 && out_type != DataType::kInt64) {
          return Unsupported(ctx.Describe() + ": dtype must be int32 or int64");
        }
        DispatchElementType(in_type, [&]<typename P>() {
          if constexpr (kIsFloating<P>) {
            fn_ = out_type == DataType::kInt32 ? &DrawMultinomial<P, int32_t>
                                               : &DrawMultinomial<P, int64_t>;
          }
        });
        if (fn_ == nullptr) return UnsupportedType(ctx, 0, "float16, float, double, bfloat16");
        if (dims[1] == 0 && sample_size > 0 && dims[0] > 0) {
          return InvalidModel(ctx.Describe() + ": no classes to draw from");
        }
        classes_ = dims[1];
        count_ = dims[0];
        a_ = static_cast<double>(sample_size);
        ctx.SetOutput(0, out_type, {dims[0], sample_size});
        return Status::Ok();
      }
    }
    ASSIGN_OR_RETURN(count_, ElementCount(ctx, dims));
    if (op_ != RandomOp::kBernoulli && has_input) ctx.AcceptInputLayout(0);  // only its dims
    ctx.SetOutput(0, out_type, dims);
    return Status::Ok();
  }

  std::unique_ptr<KernelState> CreateState(const dnnl::engine&) const override {
    return std::make_unique<RandomState>(seeded_ ? seed_ : std::random_device{}());
  }

  Status Execute(ExecContext& ctx) const override {
    auto* state = static_cast<RandomState*>(ctx.state());
    const bool reads_input = op_ == RandomOp::kBernoulli || op_ == RandomOp::kMultinomial;
    fn_(state->engine, reads_input ? ctx.input(0) : nullptr, ctx.output(0), count_, a_, b_,
        classes_);
    return Status::Ok();
  }

 private:
  RandomOp op_;
  DrawFn fn_ = nullptr;
  uint64_t seed_ = 0;
  bool seeded_ = false;
  double a_ = 0.0, b_ = 1.0;
  int64_t count_ = 0, classes_ = 0;
};

template <RandomOp kOp>
std::unique_ptr<Kernel> MakeRandom() {
  return std::make_unique<RandomKernel>(kOp);
}

}  // namespace

void RegisterRandomKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kRandomNormal, MakeRandom<RandomOp::kNormal>);
  registry.Register(ir::OpKind::kRandomUniform, MakeRandom<RandomOp::kUniform>);
  registry.Register(ir::OpKind::kRandomNormalLike, MakeRandom<RandomOp::kNormalLike>);
  registry.Register(ir::OpKind::kRandomUniformLike, MakeRandom<RandomOp::kUniformLike>);
  registry.Register(ir::OpKind::kBernoulli, MakeRandom<RandomOp::kBernoulli>);
  registry.Register(ir::OpKind::kMultinomial, MakeRandom<RandomOp::kMultinomial>);
}

}  // namespace bnfold::onednn
