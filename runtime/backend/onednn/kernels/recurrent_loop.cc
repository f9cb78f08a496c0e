// The recurrent family's C++ loop: LSTM, GRU and RNN by the spec's
// equations, step by step in double, for every float type and whatever
// oneDNN's path does not take (see recurrent.cc).
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

template <DataType kType>
void RunRecurrentLoop(const RnnShape& s, ExecContext& ctx) {
  using E = Element<kType>;
  using S = typename E::Storage;
  const int64_t H = s.hidden, G = s.gates, I = s.input;
  auto load = [](const S* p, int64_t i) { return static_cast<double>(E::Load(p[i])); };
  const S* x = ctx.input_as<S>(kX);
  const S* w = ctx.input_as<S>(kW);
  const S* r = ctx.input_as<S>(kR);
  const S* bias = ctx.input_as<S>(kB);
  const S* h0 = ctx.input_as<S>(kInitialH);
  const S* c0 = s.cell == Cell::kLstm ? ctx.input_as<S>(kInitialC) : nullptr;
  const S* peep = s.cell == Cell::kLstm ? ctx.input_as<S>(kP) : nullptr;
  const void* lens = ctx.input(kSeqLens);
  S* y = ctx.output_as<S>(kY);
  S* yh = ctx.output_as<S>(kYh);
  S* yc = s.cell == Cell::kLstm ? ctx.output_as<S>(kYc) : nullptr;
  if (y) std::memset(static_cast<void*>(y), 0, sizeof(S) * s.seq * s.directions * s.batch * H);
  auto clip = [&](double v) { return s.clip > 0.0 ? std::clamp(v, -s.clip, s.clip) : v; };
  const int per = static_cast<int>(s.activations.size() / s.directions);

  std::vector<double> h(H), c(H), gates(G * H), next(H), rh(H);
  for (int64_t d = 0; d < s.directions; ++d) {
    const bool backwards = s.reverse || d == 1;
    const S* wd = w + d * G * H * I;
    const S* rd = r + d * G * H * H;
    const Activation* act = &s.activations[d * per];
    for (int64_t b = 0; b < s.batch; ++b) {
      int64_t len = s.seq;
      if (lens) len = std::clamp<int64_t>(static_cast<const int32_t*>(lens)[b], 0, s.seq);
      for (int64_t j = 0; j < H; ++j) {
        h[j] = h0 ? load(h0, s.StateAt(d, b) + j) : 0.0;
        c[j] = c0 ? load(c0, s.StateAt(d, b) + j) : 0.0;
      }
      for (int64_t step = 0; step < len; ++step) {
        const int64_t t = backwards ? len - 1 - step : step;
        const S* xt = x + s.XAt(t, b);
        // gates = x W^T + Wb (all gates), then the recurrent part.
        for (int64_t g = 0; g < G * H; ++g) {
          double v = bias ? load(bias, d * 2 * G * H + g) : 0.0;
          for (int64_t k = 0; k < I; ++k) v += load(xt, k) * load(wd, g * I + k);
          gates[g] = v;
        }
        auto recurrent = [&](int64_t g, const std::vector<double>& state) {
          double v = bias ? load(bias, d * 2 * G * H + G * H + g) : 0.0;
          for (int64_t k = 0; k < H; ++k) v += state[k] * load(rd, g * H + k);
          return v;
        };
        if (s.cell == Cell::kLstm) {
          for (int64_t g = 0; g < G * H; ++g) gates[g] += recurrent(g, h);
          const Activation &f = act[0], &gg = act[1], &hh = act[2];
          for (int64_t j = 0; j < H; ++j) {
            const double pi = peep ? load(peep, d * 3 * H + j) : 0.0;
            const double po = peep ? load(peep, d * 3 * H + H + j) : 0.0;
            const double pf = peep ? load(peep, d * 3 * H + 2 * H + j) : 0.0;
            const double i = f(clip(gates[j] + pi * c[j]));
            const double fo = s.input_forget ? 1.0 - i : f(clip(gates[2 * H + j] + pf * c[j]));
            const double cand = gg(clip(gates[3 * H + j]));
            const double cn = fo * c[j] + i * cand;
            const double o = f(clip(gates[H + j] + po * cn));
            c[j] = cn;
            next[j] = o * hh(cn);
          }
        } else if (s.cell == Cell::kGru) {
          const Activation &f = act[0], &gg = act[1];
          std::vector<double> z(H), rr(H);
          for (int64_t j = 0; j < H; ++j) {
            z[j] = f(clip(gates[j] + recurrent(j, h)));
            rr[j] = f(clip(gates[H + j] + recurrent(H + j, h)));
          }
          for (int64_t j = 0; j < H; ++j) rh[j] = rr[j] * h[j];
          for (int64_t j = 0; j < H; ++j) {
            const double rec = s.linear_before_reset ? rr[j] * recurrent(2 * H + j, h)
                                                     : recurrent(2 * H + j, rh);
            const double cand = gg(clip(gates[2 * H + j] + rec));
            next[j] = (1.0 - z[j]) * cand + z[j] * h[j];
          }
        } else {
          for (int64_t j = 0; j < H; ++j) next[j] = act[0](clip(gates[j] + recurrent(j, h)));
        }
        h = next;
        if (y) {
          S* yt = y + s.YAt(t, d, b);
          for (int64_t j = 0; j < H; ++j) yt[j] = E::Store(static_cast<typename E::Compute>(h[j]));
        }
      }
      if (len == 0) {
        // As ONNX Runtime: an empty sequence's final states are zero.
        std::fill(h.begin(), h.end(), 0.0);
        std::fill(c.begin(), c.end(), 0.0);
      }
      for (int64_t j = 0; j < H; ++j) {
        if (yh) yh[s.StateAt(d, b) + j] = E::Store(static_cast<typename E::Compute>(h[j]));
        if (yc) yc[s.StateAt(d, b) + j] = E::Store(static_cast<typename E::Compute>(c[j]));
      }
    }
  }
}

}  // namespace

RecurrentLoopFn SelectRecurrentLoop(DataType dtype) {
  RecurrentLoopFn fn = nullptr;
  DispatchElement<kFloatingElements>(dtype, [&]<DataType kType>() { fn = &RunRecurrentLoop<kType>; });
  return fn;
}

}  // namespace bnfold::onednn
