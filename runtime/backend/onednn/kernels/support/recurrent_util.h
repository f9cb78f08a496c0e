// What the recurrent family's files (kernels/recurrent.cc,
// recurrent_loop.cc) share: the cell kinds, ONNX's input and output
// positions, the activation functions, a layer's geometry, and the C++ loop
// the kernel falls back to.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "runtime/backend/onednn/kernel.h"

namespace bnfold::onednn {

enum class Cell { kLstm, kGru, kRnn };

// ONNX input/output positions.
enum RnnInput { kX = 0, kW = 1, kR = 2, kB = 3, kSeqLens = 4, kInitialH = 5, kInitialC = 6, kP = 7 };
enum RnnOutput { kY = 0, kYh = 1, kYc = 2 };

enum class Act { kSigmoid, kTanh, kRelu, kAffine, kLeakyRelu, kThresholdedRelu, kScaledTanh,
                 kHardSigmoid, kElu, kSoftsign, kSoftplus };

struct Activation {
  Act act = Act::kSigmoid;
  double alpha = 0.0, beta = 0.0;

  double operator()(double x) const {
    switch (act) {
      case Act::kSigmoid: return 1.0 / (1.0 + std::exp(-x));
      case Act::kTanh: return std::tanh(x);
      case Act::kRelu: return std::max(0.0, x);
      case Act::kAffine: return alpha * x + beta;
      case Act::kLeakyRelu: return x >= 0.0 ? x : alpha * x;
      case Act::kThresholdedRelu: return x > alpha ? x : 0.0;
      case Act::kScaledTanh: return alpha * std::tanh(beta * x);
      case Act::kHardSigmoid: return std::clamp(alpha * x + beta, 0.0, 1.0);
      case Act::kElu: return x >= 0.0 ? x : alpha * (std::exp(x) - 1.0);
      case Act::kSoftsign: return x / (1.0 + std::abs(x));
      case Act::kSoftplus: return std::log1p(std::exp(x));
    }
    return x;
  }
};

struct RnnShape {
  Cell cell = Cell::kLstm;
  int64_t seq = 0, batch = 0, input = 0, hidden = 0, directions = 1, gates = 4;
  bool reverse = false;  // direction="reverse" (one direction, walked backwards)
  bool batch_first = false;  // layout=1
  bool linear_before_reset = false;
  bool input_forget = false;
  double clip = 0.0;  // 0: none
  std::vector<Activation> activations;  // per direction: f, g, h (LSTM), f, g (GRU), f (RNN)

  // Offsets (in elements) into X, Y, and the state tensors for the layout.
  int64_t XAt(int64_t t, int64_t b) const {
    return (batch_first ? b * seq + t : t * batch + b) * input;
  }
  int64_t YAt(int64_t t, int64_t d, int64_t b) const {
    return (batch_first ? (b * seq + t) * directions + d : (t * directions + d) * batch + b) * hidden;
  }
  int64_t StateAt(int64_t d, int64_t b) const {
    return (batch_first ? b * directions + d : d * batch + b) * hidden;
  }
};

inline int64_t GateCount(Cell cell) { return cell == Cell::kLstm ? 4 : cell == Cell::kGru ? 3 : 1; }

// The loop for X's element type (float16, float, double, bfloat16), null
// for others: the spec's equations step by step in double
// (recurrent_loop.cc).
using RecurrentLoopFn = void (*)(const RnnShape&, ExecContext&);
RecurrentLoopFn SelectRecurrentLoop(DataType dtype);

}  // namespace bnfold::onednn
