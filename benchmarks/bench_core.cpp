// Core kernels: GEMM 128..1024, conv2d forward+backward at the Fashion-MNIST CNN's shapes
// (batch 128: 1->32 channels on 28x28 and 32->64 on 14x14, 3x3, padding 1), an elementwise
// chain, dropout, the Adam step, and batch norm + ReLU + max pool unfused and fused. Every benchmark checks its result against a reference before it is timed.
//
//   build/bin/bench_core [--benchmark_filter=Conv] [--threads=N]   (default 1 thread)
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "ember.h"

using namespace ember;

namespace {

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("benchmark validation failed: ") + what);
}

void BM_Matmul(benchmark::State& state) {
  int64_t n = state.range(0);
  Generator g(1);
  Tensor a = randn({n, n}, {}, &g), b = randn({n, n}, {}, &g);
  // Validate: (A B) x == A (B x) for a random vector, in float64.
  Tensor x = randn({n, 1}, kFloat64, &g);
  Tensor lhs = mm(mm(a, b).to(kFloat64), x), rhs = mm(a.to(kFloat64), mm(b.to(kFloat64), x));
  require(allclose(lhs, rhs, 1e-3, 1e-2), "matmul");
  for (auto _ : state) benchmark::DoNotOptimize(mm(a, b).data());
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * n * n, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}
BENCHMARK(BM_Matmul)->Arg(128)->Arg(256)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond);

// conv2d forward + backward (input and weight gradients), batch 128.
void BM_Conv2dForwardBackward(benchmark::State& state) {
  int64_t cin = state.range(0), cout = state.range(1), hw = state.range(2);
  Generator g(2);
  Tensor x = randn({128, cin, hw, hw}, {}, &g).requires_grad_();
  Tensor w = mul(randn({cout, cin, 3, 3}, {}, &g), 0.1).requires_grad_();
  Tensor b = zeros({cout}).requires_grad_();
  // Validate one output element against a direct sum over its 3x3 window (float64).
  {
    Tensor y = conv2d(x, w, b, 1, 1);
    Tensor patch = x.detach().select(0, 5).slice(1, 2, 5).slice(2, 3, 6).to(kFloat64);  // rows 2..4, cols 3..5
    double direct = sum(mul(patch, w.detach().select(0, 1).to(kFloat64))).item();
    require(std::abs(y.select(0, 5).select(0, 1).select(0, 3).select(0, 4).item() - direct) < 1e-3, "conv2d");
  }
  for (auto _ : state) {
    x.set_grad(Tensor());
    w.set_grad(Tensor());
    b.set_grad(Tensor());
    Tensor y = conv2d(x, w, b, 1, 1);
    sum(y).backward();
    benchmark::DoNotOptimize(w.grad().data());
  }
  double flops = 3 * 2.0 * 128 * cout * hw * hw * cin * 9;  // forward, grad input, grad weight
  state.counters["GFLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}
BENCHMARK(BM_Conv2dForwardBackward)->Args({1, 32, 28})->Args({32, 64, 14})->Unit(benchmark::kMillisecond);

// y = gelu(x * 0.5 + 1) - tanh(x), a typical unfused chain over 1M floats.
void BM_ElementwiseChain(benchmark::State& state) {
  Generator g(3);
  Tensor x = randn({1 << 20}, {}, &g);
  auto chain = [&] { return sub(gelu(add(mul(x, 0.5), 1.0)), tanh(x)); };
  {
    Tensor y = chain().to(kFloat64), xd = x.to(kFloat64);
    Tensor ref = sub(gelu(add(mul(xd, 0.5), 1.0)), tanh(xd));
    require(allclose(y, ref, 1e-5, 1e-5), "elementwise chain");
  }
  for (auto _ : state) benchmark::DoNotOptimize(chain().data());
  state.SetBytesProcessed(state.iterations() * (1 << 20) * 4 * 6);
}
BENCHMARK(BM_ElementwiseChain)->Unit(benchmark::kMillisecond);

// Dropout forward + backward at the cnn's [128, 3136] (p 0.25): the mask's Philox draws dominate.
void BM_Dropout(benchmark::State& state) {
  Generator g(4);
  Tensor x = randn({128, 3136}, {}, &g).requires_grad_();
  {
    Tensor y = dropout(x, 0.25, true, &g);
    double kept = mean(ne(y.detach(), 0.0).to(kFloat64)).item();
    require(std::abs(kept - 0.75) < 0.01, "dropout keeps 3/4 of the elements");
  }
  for (auto _ : state) {
    x.set_grad(Tensor());
    Tensor y = dropout(x, 0.25, true, &g);
    y.backward(ones_like(y));
    benchmark::DoNotOptimize(x.grad().data());
  }
  state.SetItemsProcessed(state.iterations() * 128 * 3136);
}
BENCHMARK(BM_Dropout)->Unit(benchmark::kMicrosecond);

// A contiguous float copy of the mlp's first weight ([512, 784], 1.6 MB): what DDP's gradient
// buckets and every clone() cost.
void BM_CopyContiguous(benchmark::State& state) {
  Generator g(7);
  Tensor src = randn({512, 784}, {}, &g), dst = empty({512, 784});
  dst.copy_(src);
  require(equal(dst, src), "the copy equals its source");
  for (auto _ : state) {
    dst.copy_(src);
    benchmark::DoNotOptimize(dst.data());
  }
  state.SetBytesProcessed(state.iterations() * 2 * src.nbytes());
}
BENCHMARK(BM_CopyContiguous)->Unit(benchmark::kMicrosecond);

// One Adam step over the mlp's 536k parameters (784*512 + 512*256 + 256*10 and biases).
void BM_AdamStep(benchmark::State& state) {
  Generator g(5);
  std::vector<Tensor> params;
  for (Shape shape : {Shape{512, 784}, Shape{512}, Shape{256, 512}, Shape{256}, Shape{10, 256}, Shape{10}}) {
    Tensor p = randn(shape, {}, &g).requires_grad_();
    p.set_grad(randn(shape, {}, &g));
    params.push_back(p);
  }
  optim::Adam opt(params, optim::AdamOptions(1e-3));
  {
    Tensor before = params[0].detach().clone();
    opt.step();  // the first step moves each weight by about lr (m / sqrt(v) = +-1)
    double moved = max(abs(sub(params[0].detach(), before))).item();
    require(moved > 0.9e-3 && moved < 1.1e-3, "adam's first step moves by lr");
  }
  int64_t n = 0;
  for (const Tensor& p : params) n += p.numel();
  for (auto _ : state) opt.step();
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_AdamStep)->Unit(benchmark::kMicrosecond);

// The cnn's first block after its convolution, [128, 32, 28, 28]: batch norm (training), ReLU and
// 2x2 max pooling, forward + backward: as three ops (arg 0), as batch_norm_relu and max_pool2d (1),
// or as the one op Sequential runs (2).
void BM_BatchNormReluMaxPool(benchmark::State& state) {
  const int64_t fusion = state.range(0);
  Generator g(6);
  Tensor x = randn({128, 32, 28, 28}, {}, &g).requires_grad_();
  Tensor w = ones({32}).requires_grad_(), b = zeros({32}).requires_grad_();
  auto block = [&] {
    if (fusion == 2) return batch_norm_relu_max_pool2d(x, Tensor(), Tensor(), w, b, true, 0.1, 1e-5);
    if (fusion == 1) return max_pool2d(batch_norm_relu(x, Tensor(), Tensor(), w, b, true, 0.1, 1e-5), 2);
    return max_pool2d(relu(batch_norm(x, Tensor(), Tensor(), w, b, true, 0.1, 1e-5)), 2);
  };
  Tensor upstream = randn({128, 32, 14, 14}, {}, &g);
  {
    Tensor y = block();
    require(y.sizes() == Shape{128, 32, 14, 14} && min(y).item() >= 0.0, "pooled ReLU outputs");
  }
  for (auto _ : state) {
    x.set_grad(Tensor());
    w.set_grad(Tensor());
    b.set_grad(Tensor());
    block().backward(upstream);
    benchmark::DoNotOptimize(x.grad().data());
  }
}
BENCHMARK(BM_BatchNormReluMaxPool)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

// The mlp's first hidden block, [128, 512]: BatchNorm1d (training) fused with its ReLU, forward +
// backward — the [N, C] layout, whose channels are the innermost dimension.
void BM_BatchNorm1dRelu(benchmark::State& state) {
  Generator g(8);
  Tensor x = randn({128, 512}, {}, &g).requires_grad_();
  Tensor w = ones({512}).requires_grad_(), b = zeros({512}).requires_grad_();
  Tensor upstream = randn({128, 512}, {}, &g);
  {
    Tensor y = batch_norm_relu(x, Tensor(), Tensor(), w, b, true, 0.1, 1e-5);
    require(min(y).item() >= 0.0 && max(y).item() > 0.0, "ReLU outputs");
  }
  for (auto _ : state) {
    x.set_grad(Tensor());
    w.set_grad(Tensor());
    b.set_grad(Tensor());
    batch_norm_relu(x, Tensor(), Tensor(), w, b, true, 0.1, 1e-5).backward(upstream);
    benchmark::DoNotOptimize(x.grad().data());
  }
  state.SetItemsProcessed(state.iterations() * x.numel());
}
BENCHMARK(BM_BatchNorm1dRelu)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  for (int i = 1; i < argc; ++i)
    if (!std::strncmp(argv[i], "--threads=", 10)) threads = std::atoi(argv[i] + 10);
  set_num_threads(threads);
  benchmark::AddCustomContext("ember_threads", std::to_string(threads));
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
