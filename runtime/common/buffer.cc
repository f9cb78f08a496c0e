#include "runtime/common/buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace bnfold {

namespace {

std::shared_ptr<void> MapLargeBuffer(size_t bytes) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t length = (bytes + page - 1) / page * page;
  const size_t reserved = length + kHugePageBytes;
  void* mapped = ::mmap(nullptr, reserved, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) return nullptr;
  const uintptr_t base = reinterpret_cast<uintptr_t>(mapped);
  const uintptr_t start = (base + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
  const uintptr_t end = start + length;
  if (start > base) ::munmap(mapped, start - base);
  if (base + reserved > end) ::munmap(reinterpret_cast<void*>(end), base + reserved - end);
  void* data = reinterpret_cast<void*>(start);
#ifdef MADV_HUGEPAGE
  // Advice only: without transparent huge pages this changes nothing.
  ::madvise(data, length & ~(kHugePageBytes - 1), MADV_HUGEPAGE);
#endif
  return std::shared_ptr<void>(data, [length](void* p) { ::munmap(p, length); });
}

}  // namespace

std::shared_ptr<void> AllocateBuffer(size_t bytes, bool zeroed) {
  if (bytes >= kHugePageBytes) return MapLargeBuffer(bytes);
  return AllocateHeapBuffer(bytes, zeroed);
}

std::shared_ptr<void> AllocateHeapBuffer(size_t bytes, bool zeroed) {
  const size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
  void* data = std::aligned_alloc(64, rounded);
  if (data == nullptr) return nullptr;
  if (zeroed) std::memset(data, 0, rounded);
  return std::shared_ptr<void>(data, std::free);
}

}  // namespace bnfold
