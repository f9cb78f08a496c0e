// Shape-like operands: Reshape's shape, Slice's starts, Pad's pads, Resize's
// scales, ... Usually constants (or folded from Shape chains), read when the
// plan is built. When the model feeds one at run time instead, a kernel can
// still plan, because the model's declared output shape fixes the output:
// it plans for that shape and, on every run, reads the operand, checks that
// it yields that shape (an error Status otherwise) and recomputes what else
// depends on it (e.g. Slice's offsets).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "runtime/backend/onednn/kernel.h"

namespace bnfold::onednn {

// Longest operand read at run time (into a fixed buffer, no allocation).
inline constexpr size_t kMaxOperandLength = 64;

// An operand of integers (int32/int64 inputs) or reals (float, double,
// float16, bfloat16 inputs), constant or read at run time.
template <typename V>
class Operand {
 public:
  Operand() = default;
  // Known values (an attribute, a default, a constant input).
  explicit Operand(std::vector<V> values) : values_(std::move(values)), length_(values_.size()) {}
  // Input `i`: its values now when known at compile time, else a run-time
  // read. Error naming the node and `what` for a wrong type or length.
  static StatusOr<Operand> FromInput(const CompileContext& ctx, int i, const std::string& what);

  bool is_constant() const { return input_ < 0; }
  size_t length() const { return length_; }
  // Precondition: is_constant().
  const std::vector<V>& values() const { return values_; }
  // The values during Execute: the constant ones, or input `i` converted into
  // `buffer` (kMaxOperandLength entries).
  std::span<const V> Read(const ExecContext& ctx, V* buffer) const;

 private:
  std::vector<V> values_;
  size_t length_ = 0;
  int input_ = -1;
  DataType dtype_ = DataType::kUndefined;
};

using IntOperand = Operand<int64_t>;
using RealOperand = Operand<double>;

// The dims the model declares for output `i` when all are fixed; otherwise
// Unsupported, saying that `operand` must then be known at compile time.
StatusOr<std::vector<int64_t>> DeclaredOutputDims(const CompileContext& ctx, int i,
                                                  const std::string& operand);

// `axis` in [-rank, rank) mapped to [0, rank); a bare error (no node name:
// callers at compile time add it, the executor adds it at run time).
Status NormalizeAxisAt(int64_t axis, int64_t rank, int64_t* normalized);

// A resolver's error met while running: the operand was fed, so it is bad
// input (kInvalidArgument), not a bad model.
Status AsInputError(const Status& status);

// Run-time error: `operand` yields `got` but the plan was built for `planned`.
Status OperandMismatch(const std::string& operand, std::span<const int64_t> got,
                       std::span<const int64_t> planned);

}  // namespace bnfold::onednn
