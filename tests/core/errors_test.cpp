// Bad input throws ember::Error whose message says what was expected and what was found.
#include <gtest/gtest.h>

#include "ember.h"
#include "support/error_of.h"

using namespace ember;

namespace {
void expect_mentions(const std::string& message, std::initializer_list<const char*> parts) {
  for (const char* p : parts) EXPECT_NE(message.find(p), std::string::npos) << "'" << p << "' not in: " << message;
}
}  // namespace

TEST(Errors, ShapeMismatch) {
  expect_mentions(error_of([] { add(ones({2, 3}), ones({4})); }), {"add", "[2, 3]", "[4]"});
  expect_mentions(error_of([] { mm(ones({2, 3}), ones({4, 5})); }), {"mm", "[2, 3]", "[4, 5]"});
  expect_mentions(error_of([] { ones({6}).view({4, -1}); }), {"view", "[4, -1]", "6"});
  expect_mentions(error_of([] { conv2d(ones({1, 2, 5, 5}), ones({3, 4, 3, 3})); }), {"conv2d", "4", "2"});
  expect_mentions(error_of([] { cat({ones({2, 3}), ones({3, 3})}, 1); }), {"cat", "[2, 3]", "[3, 3]"});
}

TEST(Errors, OutOfRangeIndexAndDim) {
  EXPECT_THROW(ones({2, 3}).select(0, 2), IndexError);
  expect_mentions(error_of([] { ones({2, 3}).select(1, -4); }), {"index -4", "size 3"});
  expect_mentions(error_of([] { sum(ones({2, 3}), {2}); }), {"dim 2", "[-2, 1]"});
  expect_mentions(error_of([] { index_select(ones({3}), 0, tensor(std::vector<int64_t>{5})); }),
                  {"index 5", "size 3"});
  expect_mentions(error_of([] { gather(ones({2, 2}), 1, tensor(std::vector<int64_t>{0, 2}, Shape{2, 1})); }),
                  {"index 2", "size 2"});
}

TEST(Errors, SizesWhoseStridesOrBytesOverflowAreRefused) {
  const int64_t big = int64_t{1} << 40;
  expect_mentions(error_of([&] { empty({0, big, big}); }), {"empty", "[0, 1099511627776, 1099511627776]", "exceed 2^63 bytes"});
  expect_mentions(error_of([] { empty({int64_t{1} << 61}, TensorOptions(kFloat64)); }), {"float64", "exceed 2^63 bytes"});
  EXPECT_EQ(empty({0, int64_t{1} << 30, int64_t{1} << 30}).numel(), 0);  // strides of 2^60 and 2^30 fit
}

TEST(Errors, UnsupportedDtype) {
  expect_mentions(error_of([] { mean(arange(4)); }), {"mean", "int64"});
  expect_mentions(error_of([] { conv2d(ones({1, 1, 3, 3}, kInt64), ones({1, 1, 1, 1}, kInt64)); }), {"int64"});
  expect_mentions(error_of([] { ones({2}, kInt32).requires_grad_(); }), {"floating", "int32"});
}

TEST(Errors, DeviceMismatchAndUnavailableDevice) {
  expect_mentions(error_of([] { ones({2}).to(Device("cuda:0")); }), {"cuda:0", "cpu"});
}

TEST(Errors, BackwardTwice) {
  Tensor x = ones({2}).requires_grad_();
  Tensor y = sum(exp(x));
  y.backward();
  expect_mentions(error_of([&] { y.backward(); }), {"second time", "retain_graph"});
}

TEST(Errors, ItemOfManyElements) {
  expect_mentions(error_of([] { ones({2, 2}).item(); }), {"one element", "[2, 2]"});
}
