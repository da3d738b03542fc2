// Every op of the backend interface on the GPU against the CPU backend: forward and backward,
// several shapes, non-contiguous and broadcast inputs. Exact where the op only moves or selects
// values (copies, indexing, comparisons, pooling indices, random fills); float64 to 1e-10 and
// float32 to 1e-5 where the two backends sum in different orders. Skipped without a GPU.
#include "gpu.h"

using namespace ember;
using gpu_test::expect_parity;
using gpu_test::kGPU;

namespace {

Tensor rnd(const Shape& s, DType t = kFloat32, bool grad = true, uint64_t seed = 1) {
  Generator g(seed);
  Tensor x = randn(s, TensorOptions(t), &g);
  if (grad) x.requires_grad_(true);
  return x;
}
Tensor positive(const Shape& s, DType t = kFloat32) {
  Tensor x = add(abs(rnd(s, t, false, 3)), 0.1);
  return x.requires_grad_(true);
}
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

}  // namespace

TEST(CudaOps, UnaryMapsAndTheirGradients) {
  EMBER_SKIP_WITHOUT_GPU();
  for (DType t : {kFloat32, kFloat64}) {
    double tol = t == kFloat32 ? 1e-5 : 1e-10;
    Tensor x = rnd({7, 33}, t), p = positive({7, 33}, t);
    std::vector<std::pair<const char*, Fn>> ops = {
        {"neg", [](auto& v) { return neg(v[0]); }},          {"exp", [](auto& v) { return exp(v[0]); }},
        {"abs", [](auto& v) { return abs(v[0]); }},          {"sign", [](auto& v) { return sign(v[0]); }},
        {"relu", [](auto& v) { return relu(v[0]); }},        {"sigmoid", [](auto& v) { return sigmoid(v[0]); }},
        {"tanh", [](auto& v) { return tanh(v[0]); }},        {"gelu", [](auto& v) { return gelu(v[0]); }},
        {"softplus", [](auto& v) { return softplus(mul(v[0], 8.0)); }},
        {"leaky_relu", [](auto& v) { return leaky_relu(v[0], 0.2); }},
        {"clamp", [](auto& v) { return clamp(v[0], -0.5, 0.7); }},
        {"add scalar", [](auto& v) { return add(v[0], 2.5); }}, {"mul scalar", [](auto& v) { return mul(v[0], -3.0); }},
        {"pow scalar", [](auto& v) { return pow(abs(v[0]), 1.7); }},
        {"transposed input", [](auto& v) { return exp(v[0].t()); }},
    };
    for (auto& [name, f] : ops) expect_parity(name, f, {x}, tol);
    expect_parity("log", [](auto& v) { return log(v[0]); }, {p}, tol);
    expect_parity("sqrt", [](auto& v) { return sqrt(v[0]); }, {p}, tol);
    expect_parity("rsqrt", [](auto& v) { return rsqrt(v[0]); }, {p}, tol);
  }
}

TEST(CudaOps, BinaryMapsBroadcastAndCompare) {
  EMBER_SKIP_WITHOUT_GPU();
  Tensor a = rnd({4, 1, 5}), b = rnd({3, 1}, kFloat32, true, 2), c = rnd({4, 3, 5}, kFloat32, true, 4);
  std::vector<std::pair<const char*, Fn>> ops = {
      {"add", [](auto& v) { return add(v[0], v[1], 0.5); }}, {"sub", [](auto& v) { return sub(v[0], v[1]); }},
      {"mul", [](auto& v) { return mul(v[0], v[1]); }},       {"div", [](auto& v) { return div(v[0], add(abs(v[1]), 1.0)); }},
      {"maximum", [](auto& v) { return maximum(v[0], v[1]); }}, {"minimum", [](auto& v) { return minimum(v[0], v[1]); }},
      {"pow", [](auto& v) { return pow(add(abs(v[0]), 0.5), v[1]); }},
  };
  for (auto& [name, f] : ops) expect_parity(name, f, {a, b}, 1e-5);
  expect_parity("where", [](auto& v) { return where(gt(v[2], 0.0), v[0], v[1]); }, {a, b, c}, 1e-6);
  for (auto& [name, f] : std::vector<std::pair<const char*, Fn>>{
           {"lt", [](auto& v) { return lt(v[0], v[1]); }}, {"eq", [](auto& v) { return eq(v[0], v[0]); }},
           {"ge scalar", [](auto& v) { return ge(v[0], 0.1); }}})
    expect_parity(name, f, {a.detach(), b.detach()}, 0);
  Tensor i = arange(24, kInt64).reshape({4, 6});
  expect_parity("int64 arithmetic", [](auto& v) { return add(mul(v[0], v[0]), v[0]); }, {i}, 0);
}

TEST(CudaOps, CopiesConversionsAndFillsAreExact) {
  EMBER_SKIP_WITHOUT_GPU();
  Tensor x = mul(rnd({5, 7}, kFloat64, false), 100.0);
  for (DType to : {kFloat32, kFloat16, kBFloat16, kInt64, kInt32, kInt16, kInt8, kUInt8, kBool}) {
    SCOPED_TRACE(dtype_name(to));
    Tensor cpu = x.to(to);
    Tensor gpu = x.to(kGPU).to(to).to(kCPU);
    EXPECT_TRUE(equal(cpu.to(kFloat64), gpu.to(kFloat64)));
    EXPECT_TRUE(equal(cpu.to(kGPU).to(kFloat64).to(kCPU), cpu.to(kFloat64)));  // and back up
  }
  Tensor big = full({3}, 9007199254740993.0, kInt64);  // 2^53 + 1 survives int64 -> int64 on the device
  EXPECT_EQ(big.to(kGPU).to(kInt64).to(kCPU).to_vector<int64_t>(), big.to_vector<int64_t>());
  Tensor strided = x.t().slice(0, 1, 6, 2);
  EXPECT_TRUE(equal(strided.to(kGPU).to(kCPU), strided.contiguous()));
  EXPECT_TRUE(equal(strided.to(kGPU).contiguous().to(kCPU), strided.contiguous()));
  Tensor dst = zeros({7, 5}, TensorOptions().device(kGPU));
  dst.t().copy_(x);  // host source into a transposed device view
  EXPECT_TRUE(equal(dst.t().to(kCPU), x.to(kFloat32)));
  Tensor filled = full({2, 3}, -1.5, TensorOptions(kFloat64).device(kGPU));
  EXPECT_TRUE(equal(filled.to(kCPU), full({2, 3}, -1.5, kFloat64)));
  EXPECT_EQ(ones({}, TensorOptions().device(kGPU)).item(), 1.0);
  Tensor c = zeros({3}, TensorOptions(kComplex64).device(kGPU));
  c.fill_(2.0);
  EXPECT_TRUE(equal(c.to(kCPU).view_as_real(), stack({full({3}, 2.0), zeros({3})}, 1)));
}

TEST(CudaOps, ReductionsInEveryLayout) {
  EMBER_SKIP_WITHOUT_GPU();
  for (DType t : {kFloat32, kFloat64}) {
    double tol = t == kFloat32 ? 1e-5 : 1e-10;
    Tensor x = rnd({6, 300, 5}, t), small = rnd({9, 4}, t);
    expect_parity("sum all", [](auto& v) { return sum(v[0]); }, {x}, tol);
    expect_parity("sum leading", [](auto& v) { return sum(v[0], {0, 1}); }, {x}, tol);
    expect_parity("sum middle", [](auto& v) { return sum(v[0], {1}, true); }, {x}, tol);
    expect_parity("mean last", [](auto& v) { return mean(v[0], {2}); }, {x}, tol);
    expect_parity("var", [](auto& v) { return var(v[0], {0, 2}); }, {x}, tol);
    expect_parity("sum of transposed", [](auto& v) { return sum(v[0].t(), {1}); }, {small}, tol);
    expect_parity("logsumexp", [](auto& v) { return logsumexp(v[0], {1}); }, {small}, tol);
    expect_parity("amax", [](auto& v) { return amax(v[0], {0}); }, {x}, 0);
    expect_parity("max dim", [](auto& v) { return max(v[0], 1).values; }, {x}, 0);
    expect_parity("argmax", [](auto& v) { return argmax(v[0], 1); }, {x.detach()}, 0);
    expect_parity("argmin flat", [](auto& v) { return argmin(v[0]); }, {small.detach()}, 0);
    expect_parity("prod", [](auto& v) { return prod(v[0], {1}); }, {small.detach()}, tol);
  }
  Tensor i = arange(60, kInt64).reshape({3, 20});
  expect_parity("int64 sum", [](auto& v) { return sum(v[0], {1}); }, {i}, 0);
}

TEST(CudaOps, MatmulWithTransposesAndBatches) {
  EMBER_SKIP_WITHOUT_GPU();
  for (DType t : {kFloat32, kFloat64}) {
    double tol = t == kFloat32 ? 1e-4 : 1e-10;
    Tensor a = rnd({17, 31}, t), b = rnd({31, 9}, t, true, 2), w = rnd({9, 31}, t, true, 3), bias = rnd({9}, t, true, 4);
    Tensor ba = rnd({4, 17, 31}, t, true, 5), bb = rnd({4, 31, 9}, t, true, 6);
    expect_parity("mm", [](auto& v) { return mm(v[0], v[1]); }, {a, b}, tol);
    expect_parity("mm transposed", [](auto& v) { return mm(v[0].t().t(), v[1].t()); }, {a, w}, tol);
    expect_parity("linear", [](auto& v) { return linear(v[0], v[1], v[2]); }, {a, w, bias}, tol);
    expect_parity("bmm", [](auto& v) { return bmm(v[0], v[1]); }, {ba, bb}, tol);
    expect_parity("matmul broadcast", [](auto& v) { return matmul(v[0], v[1]); }, {ba, b}, tol);
    expect_parity("vector", [](auto& v) { return matmul(v[0][0], v[1]); }, {a, b}, tol);
  }
}

TEST(CudaOps, ConvolutionForwardAndBackward) {
  EMBER_SKIP_WITHOUT_GPU();
  struct Case {
    Shape x, w;
    Size2 stride, pad, dilation;
    int64_t groups;
  };
  for (const Case& c : {Case{{2, 3, 12, 11}, {8, 3, 3, 3}, 1, 1, 1, 1}, Case{{3, 4, 13, 13}, {6, 2, 3, 2}, 2, {1, 0}, 1, 2},
                        Case{{1, 2, 15, 15}, {4, 2, 3, 3}, 1, 2, 2, 1}, Case{{4, 1, 28, 28}, {32, 1, 5, 5}, 1, 2, 1, 1}}) {
    for (DType t : {kFloat32, kFloat64}) {
      double tol = t == kFloat32 ? 1e-4 : 1e-10;
      Tensor x = rnd(c.x, t), w = rnd(c.w, t, true, 2), b = rnd({c.w[0]}, t, true, 3);
      expect_parity("conv2d", [c](auto& v) { return conv2d(v[0], v[1], v[2], c.stride, c.pad, c.dilation, c.groups); },
                    {x, w, b}, tol);
    }
  }
}

TEST(CudaOps, PoolingExactIndicesAndGradients) {
  EMBER_SKIP_WITHOUT_GPU();
  Tensor x = rnd({2, 3, 9, 10});
  expect_parity("max 2x2", [](auto& v) { return max_pool2d(v[0], 2); }, {x}, 0);
  expect_parity("max 3x3 s2 p1", [](auto& v) { return max_pool2d(v[0], 3, 2, 1); }, {x}, 0);
  expect_parity("max dilated ceil", [](auto& v) { return max_pool2d(v[0], 2, 2, 0, 2, true); }, {x}, 0);
  expect_parity("avg 2x2", [](auto& v) { return avg_pool2d(v[0], 2); }, {x}, 1e-6);
  expect_parity("avg 3x3 p1", [](auto& v) { return avg_pool2d(v[0], 3, 2, 1); }, {x}, 1e-6);
  expect_parity("avg no pad count", [](auto& v) { return avg_pool2d(v[0], 3, 2, 1, true, false); }, {x}, 1e-6);
  expect_parity("adaptive", [](auto& v) { return adaptive_avg_pool2d(v[0], {4, 3}); }, {x}, 1e-6);
  PoolResult cpu = max_pool2d_with_indices(x.detach(), 3, 2, 1), gpu = max_pool2d_with_indices(x.detach().to(kGPU), 3, 2, 1);
  EXPECT_TRUE(equal(cpu.indices, gpu.indices.to(kCPU)));
}

TEST(CudaOps, BatchNormTrainAndEval) {
  EMBER_SKIP_WITHOUT_GPU();
  for (DType t : {kFloat32, kFloat64}) {
    double tol = t == kFloat32 ? 1e-4 : 1e-10;
    for (Shape s : {Shape{16, 5}, Shape{4, 6, 7, 9}}) {
      Tensor x = add(mul(rnd(s, t), 3.0), 5.0).detach().requires_grad_(true);
      Tensor w = rnd({s[1]}, t, true, 2), b = rnd({s[1]}, t, true, 3);
      expect_parity("train", [t](auto& v) {
        Tensor rm = zeros({v[0].size(1)}, TensorOptions(t).device(v[0].device()));
        Tensor rv = ones({v[0].size(1)}, TensorOptions(t).device(v[0].device()));
        Tensor y = batch_norm(v[0], rm, rv, v[1], v[2], true, 0.1, 1e-5);
        return add(y, sum(rm));  // the running statistics are updated alike
      }, {x, w, b}, tol);
      expect_parity("eval", [t](auto& v) {
        Tensor rm = full({v[0].size(1)}, 4.0, TensorOptions(t).device(v[0].device()));
        Tensor rv = full({v[0].size(1)}, 2.0, TensorOptions(t).device(v[0].device()));
        return batch_norm(v[0], rm, rv, v[1], v[2], false, 0.1, 1e-5);
      }, {x, w, b}, tol);
    }
  }
  Tensor x = rnd({3, 4, 5});
  expect_parity("layer_norm", [](auto& v) { return layer_norm(v[0], {5}, Tensor(), Tensor(), 1e-5); }, {x}, 1e-5);
}

TEST(CudaOps, IndexingIsExactAndChecked) {
  EMBER_SKIP_WITHOUT_GPU();
  Tensor x = rnd({6, 5});
  Tensor ix = tensor(std::vector<int64_t>{5, 0, 2, 2, -1, 3});
  Tensor g_ix = tensor(std::vector<int64_t>{0, 4, 4, 1, 2, 3, 0, 0, 1, 1, 2, 2}, {6, 2});
  expect_parity("index_select", [&](auto& v) { return index_select(v[0], 0, ix.to(v[0].device())); }, {x}, 1e-6);
  expect_parity("gather", [&](auto& v) { return gather(v[0], 1, g_ix.to(v[0].device())); }, {x}, 1e-6);
  expect_parity("gather transposed", [&](auto& v) { return gather(v[0].t(), 0, g_ix.t().contiguous().to(v[0].device()).slice(0, 0, 1)); }, {x}, 1e-6);
  expect_parity("scatter_add dup", [&](auto& v) { return scatter_add(v[0], 1, g_ix.to(v[0].device()), v[1]); },
                {x, rnd({6, 2}, kFloat32, true, 9)}, 0);
  expect_parity("index_add dup", [&](auto& v) { return index_add(v[0], 0, ix.to(v[0].device()), v[1]); },
                {x, rnd({6, 5}, kFloat32, true, 8)}, 0);
  expect_parity("one_hot", [](auto& v) { return one_hot(v[0], 7); }, {ix.slice(0, 0, 4)}, 0);
  expect_parity("cat/stack", [](auto& v) { return stack({cat({v[0], v[0]}, 1), cat({v[0], v[0]}, 1)}); }, {x}, 0);
  Tensor bad = tensor(std::vector<int64_t>{0, 6}).to(kGPU);
  try {
    index_select(x.detach().to(kGPU), 0, bad);
    FAIL() << "expected an IndexError";
  } catch (const IndexError& e) {
    EXPECT_NE(std::string(e.what()).find("index 6 is out of bounds for dim 0 with size 6"), std::string::npos) << e.what();
  }
}

TEST(CudaOps, SoftmaxAndLosses) {
  EMBER_SKIP_WITHOUT_GPU();
  Tensor logits = rnd({32, 10});
  Tensor target = tensor(std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6,
                                              7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2});
  expect_parity("softmax", [](auto& v) { return softmax(v[0], 1); }, {logits}, 1e-5);
  expect_parity("log_softmax", [](auto& v) { return log_softmax(v[0], 1); }, {logits}, 1e-5);
  expect_parity("cross_entropy", [&](auto& v) { return nn::cross_entropy(v[0], target.to(v[0].device())); }, {logits}, 1e-5);
  Tensor bad = full({32}, 10.0, kInt64).to(kGPU);
  EXPECT_THROW(nn::cross_entropy(logits.detach().to(kGPU), bad), IndexError);
}

TEST(CudaOps, RandomStreamsMatchTheCpuBitForBit) {
  EMBER_SKIP_WITHOUT_GPU();
  Generator a(1234), b(1234);
  Tensor cpu = rand({1000}, TensorOptions(kFloat32), &a), gpu = rand({1000}, TensorOptions(kFloat32).device(kGPU), &b);
  EXPECT_TRUE(equal(cpu, gpu.to(kCPU)));
  Tensor cpu64 = rand({1000}, TensorOptions(kFloat64), &a), gpu64 = rand({1000}, TensorOptions(kFloat64).device(kGPU), &b);
  EXPECT_TRUE(equal(cpu64, gpu64.to(kCPU)));
  Tensor x = ones({64, 64});
  Tensor mask_cpu = dropout(x, 0.3, true, &a), mask_gpu = dropout(x.to(kGPU), 0.3, true, &b);
  EXPECT_TRUE(equal(mask_cpu, mask_gpu.to(kCPU))) << "dropout masks differ for the same (seed, offset)";
  Tensor n_cpu = randn({1000}, TensorOptions(kFloat64), &a), n_gpu = randn({1000}, TensorOptions(kFloat64).device(kGPU), &b);
  EXPECT_TRUE(allclose(n_cpu, n_gpu.to(kCPU), 1e-14, 1e-14));  // log/cos may differ in the last bit
  EXPECT_EQ(a.get_state(), b.get_state());  // both streams advanced alike
}

TEST(CudaOps, MixedDevicesAreRefusedNamingBoth) {
  EMBER_SKIP_WITHOUT_GPU();
  try {
    add(ones({2}), ones({2}).to(kGPU));
    FAIL() << "expected a ValueError";
  } catch (const ValueError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("cpu"), std::string::npos) << m;
    EXPECT_NE(m.find("cuda:0"), std::string::npos) << m;
  }
}
