// Windowed and reshaping ops of the vision family (see vision.cc), C++
// loops: LpPool, GlobalLpPool, Col2Im, CenterCropPad.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "runtime/backend/onednn/kernel_registry.h"
#include "runtime/backend/onednn/kernels/support/element_type.h"
#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// -------------------------------------------------------- LpPool, GlobalLpPool

// (sum over the window of |x|^p)^(1/p); padding adds nothing. Global: the
// whole spatial extent. Windows as MaxPool's (kernel_shape, strides, pads or
// auto_pad, dilations and ceil_mode from opset 18).
struct LpPoolLoop {
  int64_t planes = 0;
  std::vector<int64_t> in, out, kernel, strides, dilations, pads_begin;
  double p = 2.0;
};

template <DataType kType>
void RunLpPool(const LpPoolLoop& p, ExecContext& ctx) {
  using E = Element<kType>;
  const auto* x = ctx.input_as<typename E::Storage>(0);
  auto* y = ctx.output_as<typename E::Storage>(0);
  const size_t r = p.in.size();
  int64_t in_plane = 1, out_plane = 1, window = 1;
  for (size_t d = 0; d < r; ++d) {
    in_plane *= p.in[d];
    out_plane *= p.out[d];
    window *= p.kernel[d];
  }
  std::vector<int64_t> o(r), k(r);
  for (int64_t plane = 0; plane < p.planes; ++plane) {
    const auto* xp = x + plane * in_plane;
    for (int64_t oi = 0; oi < out_plane; ++oi) {
      for (int64_t rest = oi, d = static_cast<int64_t>(r) - 1; d >= 0; --d) {
        o[d] = rest % p.out[d];
        rest /= p.out[d];
      }
      double sum = 0.0;
      for (int64_t ki = 0; ki < window; ++ki) {
        int64_t at = 0;
        bool inside = true;
        for (int64_t rest = ki, d = static_cast<int64_t>(r) - 1; d >= 0; --d) {
          k[d] = rest % p.kernel[d];
          rest /= p.kernel[d];
        }
        for (size_t d = 0; d < r && inside; ++d) {
          const int64_t i = o[d] * p.strides[d] - p.pads_begin[d] + k[d] * p.dilations[d];
          inside = i >= 0 && i < p.in[d];
          at = at * p.in[d] + i;
        }
        if (inside) sum += std::pow(std::abs(static_cast<double>(E::Load(xp[at]))), p.p);
      }
      y[plane * out_plane + oi] = E::Store(static_cast<typename E::Compute>(std::pow(sum, 1.0 / p.p)));
    }
  }
}

class LpPoolKernel : public LoopKernel<LpPoolLoop> {
 public:
  explicit LpPoolKernel(bool global) : global_(global) {}

  Status Compile(CompileContext& ctx) override {
    const std::string what = ctx.Describe() + ": ";
    const ir::Node& node = ctx.node();
    const TensorDesc& x = ctx.input(0);
    if (!DispatchElement<kFloatingElements>(x.dtype, [&]<DataType kType>() { fn_ = &RunLpPool<kType>; })) {
      return UnsupportedType(ctx, 0, "float16, float, double, bfloat16");
    }
    if (x.dims.size() < 3) return InvalidModel(what + "X must have rank >= 3 (N x C x D1 ...)");
    const size_t n = x.dims.size() - 2;
    // Opset 1 had a float p; later an int.
    const ir::Attribute* pa = node.FindAttribute("p");
    loop_.p = pa == nullptr ? 2.0 : pa->type == ir::AttrType::kFloat ? pa->f : static_cast<double>(pa->i);
    if (!(loop_.p > 0.0)) return InvalidModel(what + "p must be positive");
    loop_.planes = x.dims[0] * x.dims[1];
    loop_.in.assign(x.dims.begin() + 2, x.dims.end());
    if (global_) {
      loop_.kernel = loop_.in;
      loop_.out.assign(n, 1);
      loop_.strides.assign(n, 1);
      loop_.dilations.assign(n, 1);
      loop_.pads_begin.assign(n, 0);
    } else {
      ASSIGN_OR_RETURN(loop_.kernel, node.GetInts("kernel_shape", {}));
      ASSIGN_OR_RETURN(loop_.strides, node.GetInts("strides", std::vector<int64_t>(n, 1)));
      ASSIGN_OR_RETURN(loop_.dilations, node.GetInts("dilations", std::vector<int64_t>(n, 1)));
      ASSIGN_OR_RETURN(const std::vector<int64_t> pads, node.GetInts("pads", std::vector<int64_t>(2 * n, 0)));
      ASSIGN_OR_RETURN(const std::string auto_pad, node.GetString("auto_pad", "NOTSET"));
      ASSIGN_OR_RETURN(const int64_t ceil_mode, node.GetInt("ceil_mode", 0));
      if (loop_.kernel.size() != n || loop_.strides.size() != n || loop_.dilations.size() != n ||
          pads.size() != 2 * n) {
        return InvalidModel(what + "kernel_shape, strides, dilations and pads do not fit " +
                            std::to_string(n) + " spatial dims");
      }
      loop_.pads_begin.assign(n, 0);
      for (size_t d = 0; d < n; ++d) {
        const int64_t k = loop_.kernel[d], s = loop_.strides[d], dl = loop_.dilations[d], in = loop_.in[d];
        if (k < 1 || s < 1 || dl < 1 || k > (1 << 20) || s > (1 << 20) || dl > (1 << 20) || pads[d] < 0 ||
            pads[d + n] < 0) {
          return InvalidModel(what + "kernel_shape, strides and dilations must be positive, pads non-negative");
        }
        const int64_t eff = (k - 1) * dl + 1;
        if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
          const int64_t out = (in + s - 1) / s;
          const int64_t total = std::max<int64_t>(0, (out - 1) * s + eff - in);
          loop_.pads_begin[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
          loop_.out.push_back(out);
          continue;
        }
        if (auto_pad != "NOTSET" && auto_pad != "VALID") {
          return InvalidModel(what + "auto_pad '" + auto_pad + "' is not valid");
        }
        const int64_t begin = auto_pad == "VALID" ? 0 : pads[d], end = auto_pad == "VALID" ? 0 : pads[d + n];
        const int64_t span = in + begin + end - eff;
        if (span < 0) return InvalidModel(what + "the pooling window is larger than the padded input");
        int64_t out = span / s + 1;
        if (ceil_mode && span % s != 0) {
          ++out;
          if ((out - 1) * s >= in + begin) --out;
        }
        loop_.pads_begin[d] = begin;
        loop_.out.push_back(out);
      }
    }
    std::vector<int64_t> out_dims = {x.dims[0], x.dims[1]};
    out_dims.insert(out_dims.end(), loop_.out.begin(), loop_.out.end());
    ctx.SetOutput(0, x.dtype, out_dims);
    return Status::Ok();
  }

 private:
  bool global_;
};

std::unique_ptr<Kernel> MakeLpPool() { return std::make_unique<LpPoolKernel>(false); }
std::unique_ptr<Kernel> MakeGlobalLpPool() { return std::make_unique<LpPoolKernel>(true); }

// ------------------------------------------------------ Col2Im, CenterCropPad

// Col2Im: input [N, C * prod(block), L] columns summed back into images
// [N, C, image...] (image_shape and block_shape known when compiled), the
// inverse of an im2col with dilations, pads and strides.
class Col2ImKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const std::string what = ctx.Describe() + ": ";
    const TensorDesc& x = ctx.input(0);
    if (ctx.num_inputs() != 3) return InvalidModel(what + "expects inputs input, image_shape, block_shape");
    dtype_ = x.dtype;
    if (!DispatchElement<kFloatingElements>(dtype_, []<DataType>() {})) {
      return UnsupportedType(ctx, 0, "float16, float, double, bfloat16");
    }
    ASSIGN_OR_RETURN(image_, ConstantInts(ctx, 1, "image_shape"));
    ASSIGN_OR_RETURN(block_, ConstantInts(ctx, 2, "block_shape"));
    const size_t n = image_.size();
    if (n == 0 || block_.size() != n) return InvalidModel(what + "image_shape and block_shape must have the same non-zero length");
    ASSIGN_OR_RETURN(dilations_, ctx.node().GetInts("dilations", std::vector<int64_t>(n, 1)));
    ASSIGN_OR_RETURN(strides_, ctx.node().GetInts("strides", std::vector<int64_t>(n, 1)));
    ASSIGN_OR_RETURN(pads_, ctx.node().GetInts("pads", std::vector<int64_t>(2 * n, 0)));
    if (dilations_.size() != n || strides_.size() != n || pads_.size() != 2 * n) {
      return InvalidModel(what + "dilations, strides and pads do not fit " + std::to_string(n) + " spatial dims");
    }
    if (x.dims.size() != 3) return InvalidModel(what + "input must be [N, C * prod(block_shape), L]");
    int64_t block = 1, blocks = 1;
    counts_.clear();
    for (size_t d = 0; d < n; ++d) {
      if (image_[d] < 1 || block_[d] < 1 || dilations_[d] < 1 || strides_[d] < 1 || pads_[d] < 0 ||
          pads_[d + n] < 0 || image_[d] > (1 << 24) || block_[d] > (1 << 16)) {
        return InvalidModel(what + "image_shape, block_shape, dilations, strides must be positive, pads non-negative");
      }
      const int64_t span = image_[d] + pads_[d] + pads_[d + n] - ((block_[d] - 1) * dilations_[d] + 1);
      if (span < 0) return InvalidModel(what + "the block is larger than the padded image");
      counts_.push_back(span / strides_[d] + 1);
      block *= block_[d];
      blocks *= counts_.back();
    }
    if (x.dims[1] % block != 0 || x.dims[2] != blocks) {
      return InvalidModel(what + "input has shape " + ShapeToString(x.dims) + ", expected [N, C * " +
                          std::to_string(block) + ", " + std::to_string(blocks) + "]");
    }
    batch_ = x.dims[0];
    channels_ = x.dims[1] / block;
    std::vector<int64_t> out = {batch_, channels_};
    out.insert(out.end(), image_.begin(), image_.end());
    ctx.SetOutput(0, dtype_, out);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    DispatchElement<kFloatingElements>(dtype_, [&]<DataType kType>() { Run<kType>(ctx); });
    return Status::Ok();
  }

 private:
  template <DataType kType>
  void Run(ExecContext& ctx) const {
    using E = Element<kType>;
    const auto* x = ctx.input_as<typename E::Storage>(0);
    auto* y = ctx.output_as<typename E::Storage>(0);
    const size_t n = image_.size();
    int64_t block = 1, blocks = 1, plane = 1;
    for (size_t d = 0; d < n; ++d) {
      block *= block_[d];
      blocks *= counts_[d];
      plane *= image_[d];
    }
    std::vector<double> acc(static_cast<size_t>(plane));
    std::vector<int64_t> k(n), l(n);
    for (int64_t b = 0; b < batch_; ++b) {
      for (int64_t c = 0; c < channels_; ++c) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t ki = 0; ki < block; ++ki) {
          for (int64_t rest = ki, d = static_cast<int64_t>(n) - 1; d >= 0; --d) {
            k[d] = rest % block_[d];
            rest /= block_[d];
          }
          const auto* row = x + ((b * channels_ + c) * block + ki) * blocks;
          for (int64_t li = 0; li < blocks; ++li) {
            for (int64_t rest = li, d = static_cast<int64_t>(n) - 1; d >= 0; --d) {
              l[d] = rest % counts_[d];
              rest /= counts_[d];
            }
            int64_t at = 0;
            bool inside = true;
            for (size_t d = 0; d < n && inside; ++d) {
              const int64_t i = l[d] * strides_[d] - pads_[d] + k[d] * dilations_[d];
              inside = i >= 0 && i < image_[d];
              at = at * image_[d] + i;
            }
            if (inside) acc[at] += static_cast<double>(E::Load(row[li]));
          }
        }
        auto* out = y + (b * channels_ + c) * plane;
        for (int64_t i = 0; i < plane; ++i) out[i] = E::Store(static_cast<typename E::Compute>(acc[i]));
      }
    }
  }

  DataType dtype_ = DataType::kFloat;
  int64_t batch_ = 0, channels_ = 0;
  std::vector<int64_t> image_, block_, dilations_, strides_, pads_, counts_;
};

// CenterCropPad: each of `axes` (all by default) cropped or zero-padded to
// `shape` (known when compiled) around the centre; an odd difference puts
// the extra element at the end when padding and at the start when cropping
// (ONNX's reference: start = diff // 2 for both).
class CenterCropPadKernel : public Kernel {
 public:
  Status Compile(CompileContext& ctx) override {
    const std::string what = ctx.Describe() + ": ";
    const TensorDesc& x = ctx.input(0);
    dtype_ = x.dtype;
    if (DataTypeSize(dtype_) == 0) return UnsupportedType(ctx, 0, "a fixed-size element type");
    ASSIGN_OR_RETURN(const std::vector<int64_t> shape, ConstantInts(ctx, 1, "shape"));
    const int64_t rank = static_cast<int64_t>(x.dims.size());
    std::vector<int64_t> axes;
    if (ctx.node().FindAttribute("axes") != nullptr) {
      ASSIGN_OR_RETURN(axes, ctx.node().GetInts("axes", {}));
    } else {
      for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
    }
    if (axes.size() != shape.size()) {
      return InvalidModel(what + "shape has " + std::to_string(shape.size()) + " values for " +
                          std::to_string(axes.size()) + " axes");
    }
    in_dims_ = x.dims;
    out_dims_ = x.dims;
    offset_.assign(x.dims.size(), 0);
    for (size_t i = 0; i < axes.size(); ++i) {
      ASSIGN_OR_RETURN(const int64_t axis, NormalizeAxis(ctx, axes[i], rank));
      if (shape[i] < 0) return InvalidModel(what + "shape values must be non-negative");
      out_dims_[axis] = shape[i];
      // Output index o reads input o + offset (negative offset: padding).
      offset_[axis] = x.dims[axis] >= shape[i] ? (x.dims[axis] - shape[i]) / 2 : -((shape[i] - x.dims[axis]) / 2);
    }
    ASSIGN_OR_RETURN(out_count_, ElementCount(ctx, out_dims_));
    ctx.SetOutput(0, dtype_, out_dims_);
    return Status::Ok();
  }

  Status Execute(ExecContext& ctx) const override {
    const size_t size = DataTypeSize(dtype_);
    const char* x = static_cast<const char*>(ctx.input(0));
    char* y = static_cast<char*>(ctx.output(0));
    const size_t rank = out_dims_.size();
    std::vector<int64_t> o(rank, 0);
    for (int64_t e = 0; e < out_count_; ++e) {
      int64_t at = 0;
      bool inside = true;
      for (size_t d = 0; d < rank; ++d) {
        const int64_t i = o[d] + offset_[d];
        inside = inside && i >= 0 && i < in_dims_[d];
        at = at * in_dims_[d] + i;
      }
      if (inside) {
        std::memcpy(y + size * e, x + size * at, size);
      } else {
        std::memset(y + size * e, 0, size);
      }
      for (size_t d = rank; d-- > 0;) {
        if (++o[d] < out_dims_[d]) break;
        o[d] = 0;
      }
    }
    return Status::Ok();
  }

 private:
  DataType dtype_ = DataType::kFloat;
  int64_t out_count_ = 0;
  std::vector<int64_t> in_dims_, out_dims_, offset_;
};

}  // namespace

void RegisterVisionWindowKernels(KernelRegistry& registry) {
  registry.Register(ir::OpKind::kLpPool, MakeLpPool);
  registry.Register(ir::OpKind::kGlobalLpPool, MakeGlobalLpPool);
  registry.Register(ir::OpKind::kCol2Im, MakeKernel<Col2ImKernel>);
  registry.Register(ir::OpKind::kCenterCropPad, MakeKernel<CenterCropPadKernel>);
}

}  // namespace bnfold::onednn
