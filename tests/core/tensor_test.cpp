// Tensor handles, views sharing storage, copies, 0-dim and empty tensors, printing.
#include <gtest/gtest.h>

#include "ember.h"

using namespace ember;

namespace {
std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }
Tensor grid() { return arange(0, 12).to(kFloat32).reshape({3, 4}); }  // [[0..3],[4..7],[8..11]]
}  // namespace

TEST(Tensor, ViewsShareStorage) {
  Tensor a = grid();
  for (Tensor v : {a.view({4, 3}), a.transpose(0, 1), a.narrow(1, 1, 2), a.select(0, 2),
                   a.slice(1, 0, 4, 2), a.unsqueeze(0), a.flatten(), a.permute({1, 0})})
    EXPECT_TRUE(v.storage().is_same(a.storage()));
  a.select(0, 1).fill_(-1);  // writing through a view changes the base
  EXPECT_EQ(values(a.select(0, 1)), (std::vector<float>{-1, -1, -1, -1}));
}

TEST(Tensor, ViewLayouts) {
  Tensor a = grid();
  Tensor t = a.t();
  EXPECT_EQ(t.sizes(), (Shape{4, 3}));
  EXPECT_EQ(t.strides(), (Shape{1, 4}));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(values(t.contiguous()), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  Tensor s = a.slice(1, 1, 4, 2);  // columns 1 and 3
  EXPECT_EQ(s.storage_offset(), 1);
  EXPECT_EQ(s.strides(), (Shape{4, 2}));
  EXPECT_EQ(values(s), (std::vector<float>{1, 3, 5, 7, 9, 11}));
  EXPECT_EQ(values(a.select(1, -1)), (std::vector<float>{3, 7, 11}));
  EXPECT_EQ(a.unsqueeze(1).sizes(), (Shape{3, 1, 4}));
  EXPECT_EQ(a.unsqueeze(1).squeeze().sizes(), (Shape{3, 4}));
  EXPECT_EQ(a.reshape({2, -1}).sizes(), (Shape{2, 6}));
  Tensor e = tensor({1.0, 2.0}).reshape({2, 1}).expand({2, 3});
  EXPECT_EQ(e.strides(), (Shape{1, 0}));
  EXPECT_EQ(values(e), (std::vector<float>{1, 1, 1, 2, 2, 2}));
}

TEST(Tensor, ReshapeCopiesOnlyWhenItMust) {
  Tensor a = grid();
  EXPECT_TRUE(a.reshape({12}).storage().is_same(a.storage()));
  Tensor t = a.t();
  Tensor r = t.reshape({12});  // a transpose cannot be flattened without a copy
  EXPECT_FALSE(r.storage().is_same(a.storage()));
  EXPECT_EQ(values(r), values(t.contiguous()));
  EXPECT_THROW(t.view({12}), ValueError);
}

TEST(Tensor, CloneAndCopy) {
  Tensor a = grid();
  Tensor c = a.clone();
  EXPECT_FALSE(c.storage().is_same(a.storage()));
  c.fill_(0);
  EXPECT_EQ(values(a)[5], 5);
  Tensor dst = zeros({2, 4}, kFloat64);
  dst.copy_(tensor({1.0, 2.0, 3.0, 4.0}));  // broadcast and convert
  EXPECT_EQ(dst.to_vector<double>(), (std::vector<double>{1, 2, 3, 4, 1, 2, 3, 4}));
  a.t().narrow(0, 0, 2).copy_(ones({2, 3}));  // copy into a strided view
  EXPECT_EQ(values(a.select(1, 0)), (std::vector<float>{1, 1, 1}));
  EXPECT_EQ(values(a.select(1, 2)), (std::vector<float>{2, 6, 10}));
}

TEST(Tensor, ZeroDimAndEmpty) {
  Tensor s = scalar_tensor(2.5);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(mul(s, s).item(), 6.25);
  EXPECT_EQ(sum(ones({2, 3})).dim(), 0);
  Tensor e = zeros({0, 3});
  EXPECT_EQ(e.numel(), 0);
  EXPECT_EQ(sum(e).item(), 0.0);
  EXPECT_EQ(sum(e, {0}).sizes(), (Shape{3}));
  EXPECT_EQ(add(e, ones({3})).sizes(), (Shape{0, 3}));
  EXPECT_EQ(cat({e, ones({2, 3})}, 0).sizes(), (Shape{2, 3}));
  EXPECT_EQ(mm(zeros({2, 0}), zeros({0, 3})).to_vector<float>(), std::vector<float>(6, 0.0f));
  EXPECT_EQ(e.clone().sizes(), (Shape{0, 3}));
  EXPECT_EQ(to_string(e), "tensor([], size=(0, 3))");
}

TEST(Tensor, Factories) {
  EXPECT_EQ(arange(5).dtype(), kInt64);
  EXPECT_EQ(arange(2, 11, 3).to_vector<int64_t>(), (std::vector<int64_t>{2, 5, 8}));
  EXPECT_EQ(arange(0.0, 1.0, 0.25).to_vector<float>(), (std::vector<float>{0, 0.25, 0.5, 0.75}));
  EXPECT_EQ(linspace(0, 1, 5).to_vector<float>(), (std::vector<float>{0, 0.25, 0.5, 0.75, 1}));
  EXPECT_EQ(eye(2, 3).to_vector<float>(), (std::vector<float>{1, 0, 0, 0, 1, 0}));
  EXPECT_EQ(full({2}, 7, kInt32).to_vector<int32_t>(), (std::vector<int32_t>{7, 7}));
  EXPECT_EQ(ones_like(eye(2)).to_vector<float>(), (std::vector<float>{1, 1, 1, 1}));
  float buffer[6] = {1, 2, 3, 4, 5, 6};
  Tensor blob = from_blob(buffer, {2, 3});
  blob.mul_(2.0);
  EXPECT_EQ(buffer[5], 12.0f);  // from_blob borrows, no copy
}

TEST(Tensor, OneHotAndIndexing) {
  Tensor oh = one_hot(tensor(std::vector<int64_t>{0, 2, 1}), 3);
  EXPECT_EQ(oh.to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 0, 0, 0, 1, 0, 1, 0}));
  auto parts = split(arange(0, 7), 3);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[2].to_vector<int64_t>(), (std::vector<int64_t>{6}));
  EXPECT_EQ(chunk(arange(0, 6), 4).size(), 3u);  // chunks of ceil(6/4) = 2
}

TEST(Tensor, Printing) {
  EXPECT_EQ(to_string(tensor({1.0, 2.0, 3.0})), "tensor([1., 2., 3.])");
  EXPECT_EQ(to_string(tensor({1.5, -2.25})), "tensor([ 1.5000, -2.2500])");
  EXPECT_EQ(to_string(tensor({1e-5, 1.0})), "tensor([1.0000e-05, 1.0000e+00])");
  EXPECT_EQ(to_string(arange(0, 4).reshape({2, 2})), "tensor([[0, 1],\n        [2, 3]])");
  EXPECT_EQ(to_string(scalar_tensor(3, kFloat64)), "tensor(3., dtype=torch.float64)");
  EXPECT_EQ(to_string(tensor(std::vector<bool>{true, false})), "tensor([ True, False])");
  EXPECT_EQ(to_string(ones({2}).requires_grad_()), "tensor([1., 1.], requires_grad=True)");
  EXPECT_EQ(to_string(mul(ones({1}).requires_grad_(), 2.0)), "tensor([2.], grad_fn=<MulBackward1>)");
  std::string big = to_string(arange(0, 2000));
  EXPECT_EQ(big, "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])");
}

TEST(Tensor, DeviceParsing) {
  EXPECT_TRUE(Device("cpu").is_cpu());
  EXPECT_EQ(Device("cuda"), Device(DeviceType::CUDA, 0));
  EXPECT_EQ(Device("cuda:1").index, 1);
  EXPECT_EQ(Device("cuda:3").str(), "cuda:3");
  EXPECT_THROW(Device("gpu"), ValueError);
  EXPECT_THROW(Device("cuda:"), ValueError);
  EXPECT_THROW(Device("cuda:x"), ValueError);
}
