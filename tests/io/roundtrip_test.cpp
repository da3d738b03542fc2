// save -> load round trips of every kind of value, to a path, a stream and bytes, in both formats.
#include <climits>
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

#include "ember.h"
#include "io/safetensors.h"
#include "io/zip.h"
#include "support/temp_dir.h"

using namespace ember;
namespace fs = std::filesystem;

namespace {

fs::path temp_path(const std::string& name) {
  return ember::testing::temp_path(name);
}

io::Value sample() {
  manual_seed(3);
  Tensor base = randn({10});
  io::Value v = io::Dict();
  v["base"] = base;
  v["view"] = base.slice(0, 2, 8, 2);  // offset 2, stride 2: shares base's storage
  v["transposed"] = randn({3, 4}).t();
  v["clone"] = base.clone();
  v["scalar"] = scalar_tensor(2.5, kFloat64);
  v["empty"] = zeros({0, 3});
  for (int i = 0; i < kNumDTypes; ++i) {
    DType t = static_cast<DType>(i);
    v[std::string("dtype_") + dtype_name(t)] = tensor({0, 1, 2, 3}, t);
  }
  v["param"] = ones({2}).requires_grad_();
  io::Dict inner(true);
  inner.insert(0, "int key");
  inner.insert("neg", int64_t{-7});
  inner.insert("min", int64_t{INT64_MIN});
  inner.insert("max", int64_t{INT64_MAX});
  inner.insert("pi", 3.141592653589793);
  inner.insert("inf", INFINITY);
  inner.insert("text", "naïve ✓");
  inner.insert("flags", io::List{true, false, io::Value()});
  inner.insert("tup", io::Tuple{{1, 2, 3, 4, 5}});
  inner.insert("pair", io::Tuple{{1.5, "a"}});
  inner.insert("size", io::Value::torch_size({2, 3}));
  inner.insert("device", io::Value::torch_device("cuda:1"));
  inner.insert("dtype", io::Value::torch_dtype("bfloat16"));
  inner.attributes = std::make_shared<io::Dict>();
  inner.attributes->insert("_metadata", io::Dict());
  v["nested"] = io::Value(std::move(inner));
  io::List many;
  for (int i = 0; i < 2500; ++i) many.push_back(i * 1000);  // more than one APPENDS batch
  v["many"] = many;
  return v;
}

void expect_same(const io::Value& a, const io::Value& b, const std::string& path) {
  ASSERT_EQ(a.type_name(), b.type_name()) << path;
  switch (a.kind()) {
    case io::Value::Kind::Tensor: {
      const Tensor &x = a.to_tensor(), &y = b.to_tensor();
      EXPECT_EQ(x.dtype(), y.dtype()) << path;
      EXPECT_EQ(x.sizes(), y.sizes()) << path;
      EXPECT_EQ(x.strides(), y.strides()) << path;
      EXPECT_EQ(x.storage_offset(), y.storage_offset()) << path;
      EXPECT_EQ(x.requires_grad(), y.requires_grad()) << path;
      EXPECT_TRUE(equal(x, y)) << path;
      break;
    }
    case io::Value::Kind::Double:
      EXPECT_EQ(a.to_double(), b.to_double()) << path;
      break;
    case io::Value::Kind::Int: EXPECT_EQ(a.to_int(), b.to_int()) << path; break;
    case io::Value::Kind::String: EXPECT_EQ(a.to_string(), b.to_string()) << path; break;
    case io::Value::Kind::Bool: EXPECT_EQ(a.to_bool(), b.to_bool()) << path; break;
    case io::Value::Kind::List:
    case io::Value::Kind::Tuple:
      ASSERT_EQ(a.size(), b.size()) << path;
      for (size_t i = 0; i < a.size(); ++i) expect_same(a.at_index(i), b.at_index(i), path + "[" + std::to_string(i) + "]");
      break;
    case io::Value::Kind::Dict:
      ASSERT_EQ(a.dict().string_keys(), b.dict().string_keys()) << path;
      EXPECT_EQ(a.dict().ordered(), b.dict().ordered()) << path;
      for (const auto& [k, v] : a.dict()) expect_same(v, b.dict().at(k), path + "[" + k.repr() + "]");
      EXPECT_EQ(a.dict().attributes != nullptr, b.dict().attributes != nullptr) << path;
      break;
    case io::Value::Kind::Size: EXPECT_EQ(a.torch_size(), b.torch_size()) << path; break;
    case io::Value::Kind::Device: EXPECT_EQ(a.torch_device(), b.torch_device()) << path; break;
    case io::Value::Kind::DType: EXPECT_EQ(a.torch_dtype(), b.torch_dtype()) << path; break;
    case io::Value::Kind::None: break;
  }
}

}  // namespace

TEST(RoundTrip, EveryKindOfValueThroughAPath) {
  io::Value v = sample();
  fs::path p = temp_path("sample.pt");
  io::save(v, p.string());
  io::Value back = io::load(p.string());
  expect_same(v, back, "root");
  // Views keep sharing; a clone does not.
  EXPECT_TRUE(back.at("view").to_tensor().storage().is_same(back.at("base").to_tensor().storage()));
  EXPECT_FALSE(back.at("clone").to_tensor().storage().is_same(back.at("base").to_tensor().storage()));
  EXPECT_EQ(back.at("view").to_tensor().storage_offset(), 2);
}

TEST(RoundTrip, StreamsBytesAndTheSameTensorTwice) {
  Tensor x = randn({4});
  io::Value v = io::List{x, x, x.narrow(0, 1, 2)};
  std::stringstream ss;
  io::save(v, ss);
  io::Value back = io::load(ss);
  EXPECT_TRUE(back.at_index(0).to_tensor().is_same(back.at_index(1).to_tensor()));  // one object, as torch.load
  EXPECT_TRUE(back.at_index(2).to_tensor().storage().is_same(back.at_index(0).to_tensor().storage()));
  io::Value from_bytes = io::load_bytes(io::save_to_bytes(v));
  expect_same(v, from_bytes, "bytes");
}

TEST(RoundTrip, ArchivePrefixFollowsTheFileName) {
  fs::path p = temp_path("my.ckpt.pth");
  io::save(io::Value(ones({1})), p.string());
  io::ZipReader zip(io::open_file(p.string()));
  EXPECT_EQ(zip.entries()[0].name, "my.ckpt/data.pkl");
  for (const io::ZipEntry& e : zip.entries()) EXPECT_EQ(e.data_offset % 64, 0u) << e.name;
  EXPECT_NE(zip.find("my.ckpt/version"), nullptr);
}

TEST(RoundTrip, FormatIsChosenByContentNotExtension) {
  io::Value v = io::Dict();
  v["w"] = randn({2, 2});
  for (const char* ext : {".pt", ".pth", ".pkl", ".ckpt", ".tar", ".bin", ".safetensors"}) {
    fs::path torch_file = temp_path(std::string("t") + ext), st_file = temp_path(std::string("s") + ext);
    io::save(v, torch_file.string());
    io::save(v, st_file.string(), io::SaveOptions().format(io::Format::Safetensors));
    EXPECT_TRUE(equal(io::load(torch_file.string()).at("w").to_tensor(), v.at("w").to_tensor())) << ext;
    EXPECT_TRUE(equal(io::load(st_file.string()).at("w").to_tensor(), v.at("w").to_tensor())) << ext;
  }
}

TEST(RoundTrip, SafetensorsFlattensAndSaysSo) {
  io::Value v = io::Dict();
  Tensor base = arange(0, 6).to(kFloat32);
  v["model"] = io::Dict();
  v["model"]["w"] = base.reshape({2, 3});
  v["model"]["w_t"] = base.reshape({2, 3}).t();
  v["epoch"] = 3;
  io::VectorSink sink;
  std::vector<std::string> notes;
  io::save_safetensors(v, sink, &notes);
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_NE(notes[0].find("flattened"), std::string::npos);
  io::Value back = io::load_bytes(sink.bytes);
  EXPECT_EQ(back.at("model.w_t").to_tensor().to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_TRUE(back.at("model.w_t").to_tensor().is_contiguous());
  EXPECT_EQ(back.dict().attributes->at("__metadata__").at("epoch").to_string(), "3");
  EXPECT_EQ(sink.bytes.size() % 8, 0u);  // header padded; 24+24 bytes of float data
}

TEST(RoundTrip, ModuleAndOptimizerStateDictsThroughAFile) {
  auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::BatchNorm1d>(8),
                                                std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(8, 2));
  optim::Adam opt(model->parameters(), optim::AdamOptions(0.01));
  sum(model->forward(randn({5, 4}))).backward();
  opt.step();
  io::Value ckpt = io::Dict();
  ckpt["model"] = model->state_dict();
  ckpt["optimizer"] = opt.state_dict();
  fs::path p = temp_path("ckpt.pt");
  io::save(ckpt, p.string());
  io::Value back = io::load(p.string());
  auto model2 = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::BatchNorm1d>(8),
                                                 std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(8, 2));
  model2->load_state_dict(back.at("model"));
  optim::Adam opt2(model2->parameters(), optim::AdamOptions(0.01));
  opt2.load_state_dict(back.at("optimizer"));
  EXPECT_TRUE(equal(model2->parameters()[0], model->parameters()[0]));
  EXPECT_EQ(back.at("model").dict().attributes->at("_metadata").at("1").at("version").to_int(), 2);
  EXPECT_TRUE(back.at("optimizer").at("param_groups").at_index(0).at("betas").is_tuple());
  EXPECT_TRUE(back.at("optimizer").at("state").contains(0));  // int keys survive
}
