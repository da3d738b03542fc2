// Tracing any Module (Sequential, a user-written ResNet-style model, one with Embedding and
// LayerNorm) into a Graph that runs on its own with the same outputs, at another batch size too,
// saved and loaded without the class; and refusals that name the op.
#include <gtest/gtest.h>

#include "ember.h"
#include "jit/graph.h"
#include "jit/trace.h"
#include "jit/models.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

using namespace ember;
namespace fs = std::filesystem;

namespace {

Tensor example_for(const std::string& kind, int64_t batch, Generator& g) {
  if (kind == "tokens") return randint(0, 20, {batch, 6}, kInt64, &g);
  return randn({batch, 1, 28, 28}, kFloat32, &g);
}

std::shared_ptr<nn::Module> model_for(const std::string& kind) {
  if (kind == "mlp") return ember::testing::make_mlp();
  if (kind == "cnn") return ember::testing::make_cnn();
  if (kind == "resnet") return std::make_shared<ember::testing::TinyResNet>();
  return std::make_shared<ember::testing::TokenModel>();
}

}  // namespace

class Traced : public ::testing::TestWithParam<std::string> {};

TEST_P(Traced, RunsWithoutTheModuleGivingItsOutputsAtAnyBatchSizeAndSurvivesSaveAndLoad) {
  std::string kind = GetParam();
  manual_seed(3);
  auto model = model_for(kind);
  Generator g(9);
  std::string data_kind = kind == "tokens" ? "tokens" : "images";
  ember::testing::warm_up(*model, example_for(data_kind, 16, g));
  model->train();  // trace must switch to eval and back
  jit::Graph graph = jit::trace(*model, {example_for(data_kind, 2, g)});
  EXPECT_TRUE(model->is_training());
  EXPECT_EQ(graph.inputs[0].shape[0], -1) << "the batch should be symbolic";
  for (const auto& [name, p] : model->named_parameters()) EXPECT_TRUE(graph.initializers.contains(name)) << name;
  jit::GraphModule traced(graph);
  model->eval();
  for (int64_t batch : {1, 7}) {
    Tensor x = example_for(data_kind, batch, g);
    Tensor expected = model->forward(x), got = traced.forward(x);
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_LE(max(abs(sub(got, expected))).item(), 1e-6) << kind << " at batch " << batch;
  }
  fs::path file = ember::testing::temp_path("traced_" + kind + ".pt");
  jit::save_graph(graph, file.string());
  jit::GraphModule loaded(jit::load_graph(file.string()));  // no Module class involved
  Tensor x = example_for(data_kind, 3, g);
  EXPECT_EQ(loaded.forward(x).to_vector<float>(), traced.forward(x).to_vector<float>());
  io::Value raw = io::load(file.string());  // a torch.save file: graph text + state dict
  EXPECT_TRUE(raw.at("state_dict").is_dict());
  fs::remove(file);
}

INSTANTIATE_TEST_SUITE_P(Models, Traced, ::testing::Values("mlp", "cnn", "resnet", "tokens"));

class UsesExp : public nn::Module {
 public:
  UsesExp() : nn::Module("UsesExp") { fc = register_module("fc", std::make_shared<nn::Linear>(4, 4)); }
  Tensor forward(const Tensor& x) override { return add(exp(fc->forward(x)), x); }
  std::shared_ptr<nn::Linear> fc;
};

TEST(Trace, AnOpWithoutAnExportRuleIsNamed) {
  UsesExp m;
  std::string msg = error_of([&] { jit::trace(m, {randn({2, 4})}); });
  EXPECT_NE(msg.find("ExpBackward0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no export rule"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Add"), std::string::npos) << msg;
  EXPECT_TRUE(m.is_training());  // mode restored after the failure
}

TEST(Trace, ConstantsCreatedInForwardBecomeInitializersAndAFixedBatchIsSaid) {
  class Folds : public nn::Module {
   public:
    Folds() : nn::Module("Folds") {}
    Tensor forward(const Tensor& x) override { return mul(x.reshape({-1}), 2.0); }  // folds the batch away
  } m;
  jit::Graph g = jit::trace(m, {randn({3, 2})});
  EXPECT_EQ(g.inputs[0].shape, (std::vector<int64_t>{3, 2}));  // not symbolic: reshape mixed it
  jit::GraphModule traced(g);
  Tensor x = randn({3, 2});
  EXPECT_EQ(traced.forward(x).to_vector<float>(), mul(x.reshape({-1}), 2.0).to_vector<float>());
  std::string msg = error_of([&] { traced.forward(randn({4, 2})); });
  EXPECT_NE(msg.find("input 'input' must have shape [3, 2], found [4, 2]"), std::string::npos) << msg;
}

TEST(GraphFile, ACorruptOrForeignFileIsAClearError) {
  io::Dict d;
  d.insert("format", std::string("ember.graph"));
  d.insert("version", int64_t{1});
  d.insert("graph", std::string("{not json"));
  d.insert("state_dict", io::Value(io::Dict()));
  std::string msg = error_of([&] { jit::graph_from_value(io::Value(d), "x.pt"); });
  EXPECT_NE(msg.find("x.pt: the graph description is malformed"), std::string::npos) << msg;
  msg = error_of([&] { jit::graph_from_value(io::Value(io::Dict()), "y.pt"); });
  EXPECT_NE(msg.find("y.pt: not a traced graph"), std::string::npos) << msg;
  jit::Graph g;
  g.nodes.push_back({"NoSuchOp", "n0", {}, {"n0"}});
  msg = error_of([&] { jit::GraphModule m(g); });
  EXPECT_NE(msg.find("node 'n0' has op 'NoSuchOp'"), std::string::npos) << msg;
}
