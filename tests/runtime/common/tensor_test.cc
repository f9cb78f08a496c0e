// Tensor's own buffers: small and large (huge-page) allocations, and
// tensors adopting a buffer someone else made.
#include "bnfold/tensor.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bnfold {
namespace {

bool AllZero(const Tensor& t) {
  const auto* bytes = static_cast<const unsigned char*>(t.data());
  for (size_t i = 0; i < t.byte_size(); ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

TEST(TensorTest, AllocatesZeroedAlignedBuffersOfEverySize) {
  // Below and above the size where buffers come from mmap (2 MiB), and one
  // that ends mid-page.
  for (int64_t elements : {int64_t{0}, int64_t{1}, int64_t{1000}, int64_t{512} * 1024,
                           int64_t{3} * 1024 * 1024 + 5}) {
    SCOPED_TRACE(std::to_string(elements) + " floats");
    StatusOr<Tensor> t = Tensor::Allocate(DataType::kFloat, {elements});
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    ASSERT_NE(t->data(), nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data()) % 64, 0u);
    EXPECT_TRUE(t->owns_data());
    EXPECT_TRUE(AllZero(*t));
    // Every element is writable and keeps its value.
    float* data = t->data_as<float>();
    for (int64_t i = 0; i < elements; ++i) data[i] = static_cast<float>(i % 977);
    for (int64_t i = 0; i < elements; ++i) ASSERT_EQ(data[i], static_cast<float>(i % 977)) << i;
  }
}

TEST(TensorTest, LargeBuffersAreFreedWithTheirLastCopy) {
  // Many short-lived large tensors: each must be unmapped, or this would
  // take 64 GiB.
  for (int i = 0; i < 256; ++i) {
    StatusOr<Tensor> t = Tensor::Allocate(DataType::kUint8, {int64_t{256} << 20});
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    Tensor copy = *t;
    static_cast<unsigned char*>(copy.data())[(int64_t{256} << 20) - 1] = 1;
  }
}

TEST(TensorTest, RefusesSizesThatCannotBeAllocated) {
  StatusOr<Tensor> t = Tensor::Allocate(DataType::kFloat, {int64_t{1} << 60});
  EXPECT_FALSE(t.ok());
}

TEST(TensorTest, AdoptKeepsTheOwnerAliveWithoutCopying) {
  auto released = std::make_shared<bool>(false);
  auto* buffer = new std::vector<float>{1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
  std::shared_ptr<void> owner(buffer, [released](void* p) {
    *released = true;
    delete static_cast<std::vector<float>*>(p);
  });
  Tensor copy;
  {
    Tensor t = Tensor::Adopt(DataType::kFloat, {2, 3}, std::move(owner), buffer->data());
    EXPECT_EQ(t.data(), buffer->data());
    EXPECT_TRUE(t.owns_data());
    EXPECT_EQ(t.shape(), (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(t.GetAsDouble(5), 6.0);
    copy = t;
  }
  EXPECT_FALSE(*released);
  EXPECT_EQ(copy.data_as<float>()[4], 5.0f);
  copy = Tensor();
  EXPECT_TRUE(*released);
}

}  // namespace
}  // namespace bnfold
