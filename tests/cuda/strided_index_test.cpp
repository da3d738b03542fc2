// The CUDA kernels' index math (core/backend/cuda/strided_index.h) is host/device code: here it
// runs on the CPU against the offsets Tensor's own strides give.
#include "core/backend/cuda/strided_index.h"

#include <gtest/gtest.h>

#include "ember.h"

using namespace ember;

namespace {

// Element offset of linear element i of t (row-major over t's sizes) from t's strides.
int64_t reference_offset(const Tensor& t, int64_t i) {
  int64_t off = 0;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    off += (i % t.size(d)) * t.stride(d);
    i /= t.size(d);
  }
  return off;
}

void expect_offsets_match(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.sizes(), b.sizes());
  auto ix = cuda::make_strided_index<2>(a.sizes(), {a.strides(), b.strides()});
  for (int64_t i = 0; i < a.numel(); ++i) {
    int64_t off[2];
    ix.offsets(i, off);
    ASSERT_EQ(off[0], reference_offset(a, i)) << "element " << i;
    ASSERT_EQ(off[1], reference_offset(b, i)) << "element " << i;
  }
}

}  // namespace

TEST(StridedIndex, ContiguousMergesToOneDim) {
  Tensor a = zeros({4, 5, 6});
  auto ix = cuda::make_strided_index<2>(a.sizes(), {a.strides(), a.strides()});
  EXPECT_EQ(ix.ndim, 1);
  EXPECT_TRUE(ix.contiguous());
  expect_offsets_match(a, a);
}

TEST(StridedIndex, TransposedSlicedAndBroadcastOperands) {
  Tensor base = zeros({6, 8, 10});
  Tensor transposed = base.permute({2, 0, 1});                  // [10, 6, 8]
  Tensor sliced = zeros({10, 12, 9}).slice(1, 2, 8).slice(2, 0, 8);  // [10, 6, 8], gaps between rows
  Tensor broadcast = zeros({6, 1}).expand({10, 6, 8});          // stride 0 on two dims
  expect_offsets_match(transposed, sliced);
  expect_offsets_match(sliced, broadcast);
  auto ix = cuda::make_strided_index<2>(transposed.sizes(), {transposed.strides(), broadcast.strides()});
  EXPECT_FALSE(ix.contiguous());
}

TEST(StridedIndex, SizeOneDimsAndScalarsAreDropped) {
  Tensor a = zeros({1, 7, 1, 3});
  auto ix = cuda::make_strided_index<1>(a.sizes(), {a.strides()});
  EXPECT_EQ(ix.ndim, 1);
  Tensor s = zeros({});
  auto one = cuda::make_strided_index<1>(s.sizes(), {s.strides()});
  EXPECT_EQ(one.ndim, 0);
  int64_t off[1] = {-1};
  one.offsets(0, off);
  EXPECT_EQ(off[0], 0);
}

TEST(StridedIndex, TooManyDimsAfterMergingIsAValueError) {
  Shape sizes(13, 2), strides(13);
  for (int d = 0; d < 13; ++d) strides[d] = int64_t{1} << (2 * (12 - d));  // gaps everywhere: nothing merges
  EXPECT_THROW((cuda::make_strided_index<1>(sizes, {strides})), ValueError);
}
