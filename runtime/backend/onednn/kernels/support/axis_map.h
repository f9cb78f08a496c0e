// AxisMapCopy: the one copy loop behind the data-movement kernels. Each
// output axis has a table giving, for every output index on that axis, the
// element offset it reads in the input; an output element reads the input at
// the sum of its axes' offsets. Transpose, Slice (any step), Tile, Expand,
// Pad (all modes), DepthToSpace/SpaceToDepth and nearest Resize are all such
// tables, built once at compile time, so Execute only walks them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bnfold/status.h"
#include "runtime/backend/onednn/kernel.h"

namespace bnfold::onednn {

class AxisMapCopy {
 public:
  // Offset meaning "outside the input": the element takes the fill value.
  static constexpr int64_t kOutside = -1;
  // Most axes left after merging (the copy keeps them in a fixed array).
  static constexpr size_t kMaxAxes = 32;

  AxisMapCopy() = default;
  // Axes point into owned tables: not copyable.
  AxisMapCopy(const AxisMapCopy&) = delete;
  AxisMapCopy& operator=(const AxisMapCopy&) = delete;

  // `offsets[k][i]`: element offset into the input of output index i on axis
  // k (or kOutside); the output dims are the table sizes. Tables that are
  // arithmetic progressions are kept as (base, stride) and adjacent ones that
  // line up are merged, so rows are long (a Slice of whole rows becomes one
  // memcpy per row). Error (for the caller to prefix with the node) only for
  // absurd ranks.
  Status Init(std::vector<std::vector<int64_t>> offsets, size_t element_size);

  // Same, over `rank` tables the caller owns (tables[k] has sizes[k]
  // entries) and keeps alive while Run is used. Allocation-free: kernels
  // whose tables depend on run-time operands rebuild them with this.
  Status InitView(size_t rank, const int64_t* const* tables, const int64_t* sizes,
                  size_t element_size);

  // Every axis an arithmetic progression: output index i on axis k reads
  // input offset i * strides[k] (a broadcast has stride 0). No tables, so
  // nothing in proportion to the output's dims is allocated.
  Status InitStrided(const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides,
                     size_t element_size);

  // Copies into the dense row-major output. `fill` points at one element
  // (read only when some offset is kOutside; may be null otherwise).
  void Run(const void* input, void* output, const void* fill, int threads) const;

 private:
  struct Axis;
  // InitView's and InitStrided's common parts: the copy starts empty, takes
  // the axes outer to inner (merging those that line up), then chooses how
  // to run.
  void Reset(size_t element_size);
  Status AppendAxis(const Axis& axis);
  void ChooseTiling();

  struct Axis {
    int64_t size = 1;
    bool strided = true;  // offset(i) = base + i * stride, never outside
    int64_t base = 0;
    int64_t stride = 0;
    const int64_t* table = nullptr;  // when !strided
    bool has_outside = false;        // some table entry is kOutside
    int64_t Offset(int64_t i) const { return strided ? base + i * stride : table[i]; }
  };

  template <typename T>
  void RunRows(const char* input, char* output, const char* fill, int64_t first_row,
               int64_t end_row) const;
  // Transposes: rows read with a large stride while another axis reads
  // contiguously. Copies square tiles of those two axes so both sides stay
  // in cache; `first`/`end` index (other-axes combination, tile) items.
  template <typename T>
  void RunTiles(const char* input, char* output, int64_t first, int64_t end) const;
  int64_t num_tile_items() const;

  std::vector<std::vector<int64_t>> owned_;  // tables given to Init
  Axis axes_[kMaxAxes];                      // merged; the last one is the row
  size_t num_axes_ = 0;
  size_t element_size_ = 0;
  int64_t num_elements_ = 0;
  int64_t num_rows_ = 0;  // product of all merged sizes but the last
  int64_t base_ = 0;      // offset contributed by dropped size-1 axes
  bool all_outside_ = false;
  int tile_axis_ = -1;  // the contiguous-read axis for RunTiles, or -1
};

// Fills the offset tables for reading a row-major tensor of `input_dims`
// transposed by `perm` (output axis k is input axis perm[k]; tables[k] has
// input_dims[perm[k]] entries).
void TransposeTables(const std::vector<int64_t>& input_dims, const std::vector<int64_t>& perm,
                     int64_t* const* tables);

// Bytes per element of input `i` for a kernel that only moves data: any
// fixed-size type (numeric, bool, float16/bfloat16 as raw 2 bytes); strings
// and undefined types are an error naming the node.
StatusOr<size_t> MovableElementSize(const CompileContext& ctx, int i);

// Checks that an output of `dtype` and `dims` fits the plan's tensor size
// limit before a kernel sizes tables by it; error naming the node.
Status CheckOutputSize(const CompileContext& ctx, DataType dtype,
                       const std::vector<int64_t>& dims);

// Writes `count` copies of the `element_size`-byte element at `value`.
void FillElements(void* output, int64_t count, const void* value, size_t element_size);

}  // namespace bnfold::onednn
