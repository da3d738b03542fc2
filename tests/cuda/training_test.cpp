// Whole training steps on the GPU: the main job's models learn as on the CPU, a run repeated
// gives the same bits, checkpoints move between devices, and memory is accounted for. Skipped
// without a GPU.
#include "gpu.h"
#include "models.h"

using namespace ember;
using gpu_test::kGPU;

namespace {

struct Trained {
  std::shared_ptr<nn::Sequential> model;
  std::vector<double> losses;
};

// `steps` Adam steps of the main job's model on a fixed synthetic batch stream, on `device`.
Trained train_steps(const std::string& name, Device device, int steps, uint64_t seed = 0) {
  manual_seed(seed);
  Trained t{fashion::make_model(name), {}};
  t.model->to(device);
  optim::Adam opt(t.model->parameters(), optim::AdamOptions(1e-3));
  Generator data(99);
  for (int s = 0; s < steps; ++s) {
    Tensor images = rand({32, 1, 28, 28}, TensorOptions(), &data);
    Tensor labels = randint(0, 10, {32}, TensorOptions(kInt64), &data);
    Tensor logits = t.model->forward(fashion::model_input(name, images.to(device)));
    Tensor loss = nn::cross_entropy(logits, labels.to(device));
    opt.zero_grad();
    loss.backward();
    opt.step();
    t.losses.push_back(loss.item());
  }
  return t;
}

bool same_parameters(nn::Module& a, nn::Module& b, double tol) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    Tensor x = pa[i].second.detach().to(kCPU), y = pb[i].second.detach().to(kCPU);
    if (tol == 0 ? !equal(x, y) : !allclose(x, y, tol, tol)) {
      ADD_FAILURE() << "parameter " << pa[i].first << " differs";
      return false;
    }
  }
  return true;
}

}  // namespace

TEST(CudaTraining, RunTwiceGivesTheSameBits) {
  EMBER_SKIP_WITHOUT_GPU();
  for (const char* name : {"mlp", "cnn"}) {
    Trained a = train_steps(name, kGPU, 15), b = train_steps(name, kGPU, 15);
    EXPECT_EQ(a.losses, b.losses) << name;
    EXPECT_TRUE(same_parameters(*a.model, *b.model, 0)) << name;
  }
}

TEST(CudaTraining, LearnsAsOnTheCpu) {
  EMBER_SKIP_WITHOUT_GPU();
  for (const char* name : {"mlp", "cnn"}) {
    Trained cpu = train_steps(name, kCPU, 8), gpu = train_steps(name, kGPU, 8);
    for (size_t i = 0; i < cpu.losses.size(); ++i) EXPECT_NEAR(cpu.losses[i], gpu.losses[i], 2e-3) << name << " step " << i;
    EXPECT_TRUE(same_parameters(*cpu.model, *gpu.model, 2e-3)) << name;
  }
}

TEST(CudaTraining, ModuleAndOptimizerStateLiveOnTheDevice) {
  EMBER_SKIP_WITHOUT_GPU();
  Trained t = train_steps("cnn", kGPU, 1);
  for (auto& [name, p] : t.model->named_parameters()) EXPECT_EQ(p.device(), kGPU) << name;
  for (auto& [name, b] : t.model->named_buffers()) EXPECT_EQ(b.device(), kGPU) << name;
  t.model->to(kCPU);
  for (auto& [name, p] : t.model->named_parameters()) EXPECT_EQ(p.device(), kCPU) << name;
}

TEST(CudaTraining, GpuCheckpointEvaluatesOnTheCpu) {
  EMBER_SKIP_WITHOUT_GPU();
  Trained t = train_steps("cnn", kGPU, 5);
  std::string path = ::testing::TempDir() + "/ember_gpu_model.pt";
  io::save(t.model->state_dict(), path);
  auto cpu_model = fashion::make_model("cnn");
  cpu_model->load_state_dict(io::load(path, io::LoadOptions().map_location(kCPU)), true);
  auto gpu_again = fashion::make_model("cnn");
  gpu_again->to(kGPU);
  gpu_again->load_state_dict(io::load(path), true);  // saved on cuda:0: back onto cuda:0
  t.model->eval();
  cpu_model->eval();
  gpu_again->eval();
  NoGradGuard no_grad;
  Generator g(5);
  Tensor x = rand({16, 1, 28, 28}, TensorOptions(), &g);
  Tensor on_gpu = t.model->forward(x.to(kGPU)).to(kCPU), on_cpu = cpu_model->forward(x);
  EXPECT_TRUE(allclose(on_gpu, on_cpu, 1e-4, 1e-4));
  EXPECT_TRUE(equal(gpu_again->forward(x.to(kGPU)).to(kCPU), on_gpu));
}

TEST(CudaTraining, AllocatorReusesAndReleasesUnderChurn) {
  EMBER_SKIP_WITHOUT_GPU();
  cuda::synchronize();
  size_t before = cuda::memory_allocated();
  for (int round = 0; round < 50; ++round) {
    std::vector<Tensor> held;
    for (int64_t n : {1, 1000, 65536, 1 << 20, 3 << 20}) held.push_back(ones({n}, TensorOptions().device(kGPU)));
    EXPECT_GT(cuda::memory_allocated(), before);
  }
  EXPECT_EQ(cuda::memory_allocated(), before);
  EXPECT_GE(cuda::memory_reserved(), cuda::memory_allocated());
  size_t peak = cuda::max_memory_allocated();
  EXPECT_GE(peak, before + (size_t{4} << 20) * 4);
  cuda::empty_cache();
  EXPECT_EQ(cuda::memory_reserved(), cuda::memory_allocated());
}
