#include "runtime/backend/onednn/kernels/support/axis_map.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "runtime/backend/onednn/kernels/support/kernel_util.h"
#include "runtime/backend/onednn/plan.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

// Below this many output bytes a copy is not worth waking a thread team.
constexpr int64_t kParallelBytes = int64_t{1} << 16;
// Edge of the square tiles RunTiles copies.
constexpr int64_t kTile = 32;

struct Bytes16 {
  uint64_t lo, hi;
};

}  // namespace

Status AxisMapCopy::Init(std::vector<std::vector<int64_t>> offsets, size_t element_size) {
  owned_ = std::move(offsets);
  std::vector<const int64_t*> tables;
  std::vector<int64_t> sizes;
  for (const auto& table : owned_) {
    tables.push_back(table.data());
    sizes.push_back(static_cast<int64_t>(table.size()));
  }
  return InitView(owned_.size(), tables.data(), sizes.data(), element_size);
}

void AxisMapCopy::Reset(size_t element_size) {
  element_size_ = element_size;
  num_axes_ = 0;
  base_ = 0;
  all_outside_ = false;
  num_elements_ = 1;
}

Status AxisMapCopy::InitStrided(const std::vector<int64_t>& sizes,
                                const std::vector<int64_t>& strides, size_t element_size) {
  Reset(element_size);
  for (int64_t size : sizes) num_elements_ *= size;
  if (num_elements_ == 0) {
    num_rows_ = 0;
    return Status::Ok();
  }
  for (size_t k = 0; k < sizes.size(); ++k) {
    if (sizes[k] == 1) continue;  // index 0 only: offset 0
    Axis axis;
    axis.size = sizes[k];
    axis.stride = strides[k];
    RETURN_IF_ERROR(AppendAxis(axis));
  }
  ChooseTiling();
  return Status::Ok();
}

Status AxisMapCopy::InitView(size_t rank, const int64_t* const* tables, const int64_t* sizes,
                             size_t element_size) {
  Reset(element_size);
  for (size_t k = 0; k < rank; ++k) num_elements_ *= sizes[k];
  if (num_elements_ == 0) {
    num_rows_ = 0;
    return Status::Ok();
  }
  for (size_t k = 0; k < rank; ++k) {
    const int64_t* table = tables[k];
    const int64_t size = sizes[k];
    if (size == 1) {
      // A size-1 axis only shifts every read (or blanks them all).
      if (table[0] == kOutside) all_outside_ = true;
      else base_ += table[0];
      continue;
    }
    Axis axis;
    axis.size = size;
    axis.base = table[0];
    axis.stride = table[1] - table[0];
    for (int64_t i = 0; i < size && axis.strided; ++i) {
      axis.strided = table[i] != kOutside && table[i] == axis.base + i * axis.stride;
    }
    if (!axis.strided) {
      axis.table = table;
      axis.base = axis.stride = 0;
      axis.has_outside = std::find(table, table + size, kOutside) != table + size;
    }
    RETURN_IF_ERROR(AppendAxis(axis));
  }
  ChooseTiling();
  return Status::Ok();
}

Status AxisMapCopy::AppendAxis(const Axis& axis) {
  Axis* outer = num_axes_ ? &axes_[num_axes_ - 1] : nullptr;
  if (outer && outer->strided && axis.strided && outer->stride == axis.stride * axis.size) {
    outer->size *= axis.size;
    outer->base += axis.base;
    outer->stride = axis.stride;
  } else if (num_axes_ == kMaxAxes) {
    return Unsupported("copies with more than " + std::to_string(kMaxAxes) +
                       " non-trivial axes are not supported");
  } else {
    axes_[num_axes_++] = axis;
  }
  return Status::Ok();
}

void AxisMapCopy::ChooseTiling() {
  if (num_axes_ == 0) axes_[num_axes_++] = Axis{};
  num_rows_ = num_elements_ / axes_[num_axes_ - 1].size;
  // Tiles pay off when the row gathers with a stride while an outer axis
  // reads contiguously, every axis strided (a transpose).
  tile_axis_ = -1;
  const Axis& row = axes_[num_axes_ - 1];
  bool all_strided = !all_outside_;
  for (size_t k = 0; k < num_axes_; ++k) all_strided = all_strided && axes_[k].strided;
  if (all_strided && row.stride != 1 && row.stride != 0 && row.size >= kTile / 4) {
    for (size_t k = 0; k + 1 < num_axes_; ++k) {
      if (axes_[k].stride == 1 && axes_[k].size >= kTile / 4) tile_axis_ = static_cast<int>(k);
    }
  }
}

template <typename T>
void AxisMapCopy::RunRows(const char* input, char* output, const char* fill_bytes,
                          int64_t first_row, int64_t end_row) const {
  const T* in = reinterpret_cast<const T*>(input);
  T* dst = reinterpret_cast<T*>(output);
  T fill{};
  if (fill_bytes) std::memcpy(&fill, fill_bytes, sizeof(T));
  const size_t outer = num_axes_ - 1;
  const Axis& row = axes_[outer];
  int64_t index[kMaxAxes] = {};
  for (int64_t r = first_row, k = static_cast<int64_t>(outer) - 1; k >= 0; --k) {
    index[k] = r % axes_[k].size;
    r /= axes_[k].size;
  }
  dst += first_row * row.size;
  int64_t previous_base = -1;
  for (int64_t r = first_row; r < end_row; ++r, dst += row.size) {
    int64_t base = base_;
    bool outside = all_outside_;
    for (size_t k = 0; k < outer && !outside; ++k) {
      const int64_t offset = axes_[k].Offset(index[k]);
      outside = offset == kOutside;
      base += offset;
    }
    if (outside) {
      std::fill(dst, dst + row.size, fill);
    } else if (r > first_row && base == previous_base) {
      // Same source row as the last one (upsampling, broadcasting): copy
      // the finished row instead of gathering it again.
      std::memcpy(dst, dst - row.size, row.size * sizeof(T));
    } else if (row.strided && row.stride == 1) {
      std::memcpy(dst, in + base + row.base, row.size * sizeof(T));
    } else if (row.strided) {
      const T* src = in + base + row.base;
      for (int64_t i = 0; i < row.size; ++i) dst[i] = src[i * row.stride];
    } else {
      const int64_t* table = row.table;
      const T* src = in + base;
      if (row.has_outside) {
        for (int64_t i = 0; i < row.size; ++i) {
          dst[i] = table[i] == kOutside ? fill : src[table[i]];
        }
      } else {
        for (int64_t i = 0; i < row.size; ++i) dst[i] = src[table[i]];
      }
    }
    previous_base = outside ? -1 : base;
    for (int64_t k = static_cast<int64_t>(outer) - 1; k >= 0; --k) {
      if (++index[k] < axes_[k].size) break;
      index[k] = 0;
    }
  }
}

int64_t AxisMapCopy::num_tile_items() const {
  const int64_t size = axes_[tile_axis_].size;
  return num_rows_ / size * ((size + kTile - 1) / kTile);
}

template <typename T>
void AxisMapCopy::RunTiles(const char* input, char* output, int64_t first, int64_t end) const {
  const T* in = reinterpret_cast<const T*>(input);
  T* out = reinterpret_cast<T*>(output);
  const Axis& row = axes_[num_axes_ - 1];
  const Axis& tiled = axes_[tile_axis_];
  const int64_t tiles = (tiled.size + kTile - 1) / kTile;
  // Output strides of the merged axes (the output is dense row-major).
  int64_t out_stride[kMaxAxes];
  out_stride[num_axes_ - 1] = 1;
  for (size_t k = num_axes_ - 1; k-- > 0;) out_stride[k] = out_stride[k + 1] * axes_[k + 1].size;
  for (int64_t item = first; item < end; ++item) {
    // Decompose the item into the other outer axes' indices and a tile.
    int64_t rest = item / tiles;
    const int64_t q0 = item % tiles * kTile, q1 = std::min(q0 + kTile, tiled.size);
    int64_t in_base = base_ + tiled.base + row.base, out_base = 0;
    for (int64_t k = static_cast<int64_t>(num_axes_) - 2; k >= 0; --k) {
      if (k == tile_axis_) continue;
      const int64_t i = rest % axes_[k].size;
      rest /= axes_[k].size;
      in_base += axes_[k].Offset(i);
      out_base += i * out_stride[k];
    }
    for (int64_t r0 = 0; r0 < row.size; r0 += kTile) {
      const int64_t r1 = std::min(r0 + kTile, row.size);
      for (int64_t q = q0; q < q1; ++q) {
        const T* src = in + in_base + q;
        T* dst = out + out_base + q * out_stride[tile_axis_];
        for (int64_t r = r0; r < r1; ++r) dst[r] = src[r * row.stride];
      }
    }
  }
}

void AxisMapCopy::Run(const void* input, void* output, const void* fill, int threads) const {
  if (num_rows_ == 0) return;
  const char* in = static_cast<const char*>(input);
  char* out = static_cast<char*>(output);
  const char* fill_bytes = static_cast<const char*>(fill);
  const bool tiles = tile_axis_ >= 0;
  const int64_t items = tiles ? num_tile_items() : num_rows_;
  auto run = [&](int64_t first, int64_t end) {
    auto typed = [&]<typename T>() {
      if (tiles) RunTiles<T>(in, out, first, end);
      else RunRows<T>(in, out, fill_bytes, first, end);
    };
    switch (element_size_) {
      case 1: typed.template operator()<uint8_t>(); break;
      case 2: typed.template operator()<uint16_t>(); break;
      case 4: typed.template operator()<uint32_t>(); break;
      case 8: typed.template operator()<uint64_t>(); break;
      default: typed.template operator()<Bytes16>(); break;
    }
  };
  const bool big = num_elements_ * static_cast<int64_t>(element_size_) >= kParallelBytes;
  const int64_t team = big ? std::min<int64_t>(std::max(threads, 1), items) : 1;
  if (team <= 1) {
    run(0, items);
    return;
  }
#pragma omp parallel num_threads(static_cast<int>(team))
  {
    const int64_t n = omp_get_num_threads(), t = omp_get_thread_num();
    run(items * t / n, items * (t + 1) / n);
  }
}

void TransposeTables(const std::vector<int64_t>& input_dims, const std::vector<int64_t>& perm,
                     int64_t* const* tables) {
  std::vector<int64_t> strides(input_dims.size(), 1);
  for (size_t i = input_dims.size(); i-- > 1;) strides[i - 1] = strides[i] * input_dims[i];
  for (size_t k = 0; k < perm.size(); ++k) {
    for (int64_t i = 0; i < input_dims[perm[k]]; ++i) tables[k][i] = i * strides[perm[k]];
  }
}

StatusOr<size_t> MovableElementSize(const CompileContext& ctx, int i) {
  const size_t size = DataTypeSize(ctx.input(i).dtype);
  if (size == 0 || size > sizeof(Bytes16)) {
    return UnsupportedType(ctx, i, "any numeric type or bool");
  }
  return size;
}

Status CheckOutputSize(const CompileContext& ctx, DataType dtype,
                       const std::vector<int64_t>& dims) {
  StatusOr<size_t> bytes = CheckedByteSize(dtype, dims);
  if (!bytes.ok()) return bytes.status().WithContext(ctx.Describe());
  // Dims are checked one by one too: a zero elsewhere hides a huge dim from
  // the product, but not from a per-axis table.
  bool too_big = *bytes > kMaxTensorBytes;
  for (int64_t d : dims) too_big = too_big || static_cast<uint64_t>(d) > kMaxTensorBytes;
  if (too_big) {
    return InvalidArgument(ctx.Describe() + ": output shape " + ShapeToString(dims) +
                           " exceeds the tensor size limit");
  }
  return Status::Ok();
}

void FillElements(void* output, int64_t count, const void* value, size_t element_size) {
  auto fill = [&]<typename T>() {
    T v;
    std::memcpy(&v, value, sizeof v);
    std::fill(static_cast<T*>(output), static_cast<T*>(output) + count, v);
  };
  switch (element_size) {
    case 1: fill.template operator()<uint8_t>(); break;
    case 2: fill.template operator()<uint16_t>(); break;
    case 4: fill.template operator()<uint32_t>(); break;
    case 8: fill.template operator()<uint64_t>(); break;
    default: fill.template operator()<Bytes16>(); break;
  }
}

}  // namespace bnfold::onednn
