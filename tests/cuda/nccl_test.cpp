// The NCCL process group on one GPU (world size 1, what a single-GPU machine can run): every
// collective through NCCL itself on the device's stream, CPU tensors staged through the GPU, a
// tensor on another device refused by name, and DistributedDataParallel over it training a model
// on the GPU exactly as the plain model does. Skipped without a GPU or NCCL.
#include <gtest/gtest.h>

#include "cuda/gpu.h"
#include "ember.h"

using namespace ember;
using ember::gpu_test::kGPU;

namespace {

std::unique_ptr<dist::ProcessGroup> one_gpu_group() {
  dist::Rendezvous r;
  r.backend = "nccl";
  return dist::make_nccl_group(r);
}

}  // namespace

#define EMBER_SKIP_WITHOUT_NCCL()                                                            \
  do {                                                                                       \
    EMBER_SKIP_WITHOUT_GPU();                                                                \
    if (!dist::nccl_available()) GTEST_SKIP() << "no NCCL: " << dist::nccl_unavailable_reason(); \
  } while (0)

TEST(Nccl, CollectivesOfOneRankOnTheGpuAndStagedFromTheCpu) {
  EMBER_SKIP_WITHOUT_NCCL();
  auto g = one_gpu_group();
  EXPECT_EQ(g->backend(), "nccl");
  EXPECT_EQ(g->size(), 1);
  Tensor x = arange_floating(0, 1000, 1, TensorOptions(kFloat32)).to(kGPU);
  Tensor want = x.to(kCPU);
  g->allreduce(x, dist::ReduceOp::sum);
  EXPECT_TRUE(equal(x.to(kCPU), want));
  g->allreduce(x, dist::ReduceOp::average);
  EXPECT_TRUE(equal(x.to(kCPU), want));
  g->broadcast(x, 0);
  EXPECT_TRUE(equal(x.to(kCPU), want));
  Tensor gathered = g->allgather(x);
  EXPECT_EQ(gathered.device(), kGPU);
  EXPECT_EQ(gathered.sizes(), (Shape{1, 1000}));
  EXPECT_TRUE(equal(gathered[0].to(kCPU), want));
  Tensor on_cpu = tensor(std::vector<int64_t>{3, 1, 4});  // staged through the GPU and back
  g->allreduce(on_cpu, dist::ReduceOp::max);
  EXPECT_EQ(on_cpu.device(), kCPU);
  EXPECT_EQ(on_cpu.to_vector<int64_t>(), (std::vector<int64_t>{3, 1, 4}));
  EXPECT_EQ(g->broadcast_string("rank 0's text", 0), "rank 0's text");
  g->barrier();
  EXPECT_THROW(g->broadcast(x, 1), ValueError);
  if (cuda::device_count() > 1) {
    Tensor elsewhere = zeros({4}, TensorOptions(kFloat32).device(Device(DeviceType::CUDA, 1)));
    try {
      g->allreduce(elsewhere);
      ADD_FAILURE() << "a tensor on cuda:1 was accepted by rank 0 on cuda:0";
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("works on cuda:0"), std::string::npos) << e.what();
    }
  }
}

TEST(Nccl, DataParallelOnTheGpuTrainsAsThePlainModel) {
  EMBER_SKIP_WITHOUT_NCCL();
  auto g = one_gpu_group();
  auto make = [] {
    manual_seed(3);
    auto m = std::make_shared<nn::Sequential>();
    m->push_back(std::make_shared<nn::Linear>(20, 16));
    m->push_back(std::make_shared<nn::BatchNorm1d>(16));
    m->push_back(std::make_shared<nn::ReLU>());
    m->push_back(std::make_shared<nn::Linear>(16, 4));
    m->to(kGPU);
    return m;
  };
  auto plain = make(), wrapped = make();
  dist::DistributedDataParallel ddp(wrapped, *g);
  optim::SGD a(plain->parameters(), optim::SGDOptions(0.1)), b(wrapped->parameters(), optim::SGDOptions(0.1));
  Generator gen(5);
  for (int step = 0; step < 3; ++step) {
    Tensor x = randn({32, 20}, {}, &gen).to(kGPU);
    Tensor y = randint(0, 4, {32}, kInt64, &gen).to(kGPU);
    a.zero_grad();
    nn::cross_entropy(plain->forward(x), y).backward();
    a.step();
    b.zero_grad();
    nn::cross_entropy(ddp.forward(x), y).backward();
    b.step();
  }
  auto pa = plain->parameters(), pb = wrapped->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(equal(pa[i].to(kCPU), pb[i].to(kCPU))) << "parameter " << i;
}
