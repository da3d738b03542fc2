// Round trips through real PyTorch: ember writes -> torch.load reads; torch.save writes -> ember
// reads. Runs when /usr/bin/python3 can import torch (Debian python3-torch) and skips otherwise.
#include <cstdio>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ember.h"
#include "support/python.h"
#include "support/temp_dir.h"

using namespace ember;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

json run_python(const std::string& args) {
  return json::parse(last_line(run_command("/usr/bin/python3 " EMBER_SOURCE_DIR "/tests/io/torch_interop.py " + args)));
}

// Compares a Value with a description printed by torch_interop.py.
void expect_matches(const io::Value& v, const json& d, const std::string& path, std::map<int64_t, const void*>& storages) {
  std::string type = d["type"];
  if (type == "tensor") {
    ASSERT_TRUE(v.is_tensor()) << path;
    const Tensor& t = v.to_tensor();
    EXPECT_EQ(dtype_name(t.dtype()), d["dtype"].get<std::string>()) << path;
    EXPECT_EQ(t.sizes(), d["shape"].get<Shape>()) << path;
    EXPECT_EQ(t.strides(), d["stride"].get<Shape>()) << path;
    EXPECT_EQ(t.storage_offset(), d["storage_offset"].get<int64_t>()) << path;
    EXPECT_EQ(t.requires_grad(), d["requires_grad"].get<bool>()) << path;
    EXPECT_EQ(t.to_vector<double>(), d["values"].get<std::vector<double>>()) << path;
    auto [it, inserted] = storages.emplace(d["storage"].get<int64_t>(), t.storage().id());
    EXPECT_EQ(it->second, t.storage().id()) << path << ": storage sharing differs";
    return;
  }
  if (type == "dict" || type == "ordered_dict") {
    ASSERT_TRUE(v.is_dict()) << path;
    EXPECT_EQ(v.dict().ordered(), type == "ordered_dict") << path;
    ASSERT_EQ(v.dict().size(), d["items"].size()) << path;
    size_t i = 0;
    for (const auto& [k, item] : v.dict()) {
      const json& key = d["items"][i][0];
      if (key["type"] == "str") EXPECT_EQ(k.str(), key["value"].get<std::string>()) << path;
      else EXPECT_EQ(k.to_int(), key["value"].get<int64_t>()) << path;
      expect_matches(item, d["items"][i][1], path + "[" + k.repr() + "]", storages);
      ++i;
    }
    return;
  }
  if (type == "list" || type == "tuple") {
    ASSERT_EQ(v.type_name(), type) << path;
    ASSERT_EQ(v.size(), d["items"].size()) << path;
    for (size_t i = 0; i < v.size(); ++i) expect_matches(v.at_index(i), d["items"][i], path + "[" + std::to_string(i) + "]", storages);
    return;
  }
  if (type == "int") {
    EXPECT_EQ(v.to_int(), d["value"].get<int64_t>()) << path;
    return;
  }
  if (type == "float") {
    EXPECT_EQ(v.to_double(), d["value"].get<double>()) << path;
    return;
  }
  if (type == "bool") {
    EXPECT_EQ(v.to_bool(), d["value"].get<bool>()) << path;
    return;
  }
  if (type == "str") {
    EXPECT_EQ(v.to_string(), d["value"].get<std::string>()) << path;
    return;
  }
  if (type == "none") {
    EXPECT_TRUE(v.is_none()) << path;
    return;
  }
  if (type == "torch.Size") {
    EXPECT_EQ(v.torch_size(), d["value"].get<Shape>()) << path;
    return;
  }
  if (type == "torch.device") {
    EXPECT_EQ(v.torch_device(), d["value"].get<std::string>()) << path;
    return;
  }
  if (type == "torch.dtype") {
    EXPECT_EQ(v.torch_dtype(), d["value"].get<std::string>()) << path;
    return;
  }
  FAIL() << path << ": " << type;
}

fs::path temp(const std::string& name) {
  return ember::testing::temp_path(name);
}

}  // namespace

TEST(PythonInterop, EmberWritesTorchLoadReads) {
  EMBER_SKIP_WITHOUT_TORCH();
  manual_seed(5);
  Tensor v = randn({10});
  auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::BatchNorm1d>(4));
  optim::Adam opt(model->parameters(), optim::AdamOptions(0.01));
  sum(model->forward(randn({5, 3}))).backward();
  opt.step();
  io::Value ckpt = io::Dict();
  ckpt["v"] = v;
  ckpt["v_view"] = v.slice(0, 2, 8, 2);
  ckpt["t"] = randn({3, 4}).t();
  ckpt["clone"] = v.clone();
  ckpt["half"] = randn({3}).to(kFloat16);
  ckpt["bf16"] = randn({3}).to(kBFloat16);
  ckpt["mask"] = tensor(std::vector<bool>{true, false});
  ckpt["scalar"] = scalar_tensor(2.5, kFloat64);
  ckpt["empty"] = zeros({0, 3});
  ckpt["epoch"] = 4;
  ckpt["loss"] = 0.25;
  ckpt["tup"] = io::Tuple{{1, 2.0, "x"}};
  ckpt["none"] = io::Value();
  ckpt["model"] = model->state_dict();
  ckpt["opt"] = opt.state_dict();
  ckpt["size"] = io::Value::torch_size({2, 3});
  ckpt["dtype"] = io::Value::torch_dtype("float16");
  ckpt[7] = "int key";
  fs::path p = temp("ember_written.pt");
  io::save(ckpt, p.string());
  std::map<int64_t, const void*> storages;
  expect_matches(ckpt, run_python("read " + p.string()), "root", storages);
  // Without floats, PyTorch 1.13's weights_only=True reader loads it too.
  io::Value plain = io::Dict();
  plain["w"] = model->state_dict();
  plain["step"] = 3;
  fs::path q = temp("weights_only.pt");
  io::save(plain, q.string());
  std::map<int64_t, const void*> s2;
  expect_matches(plain, run_python("read " + q.string() + " weights_only"), "root", s2);
}

// Records of 1 MiB and more are written with their CRC in a data descriptor when the CRC runs on
// a second thread (more than one thread), in the local header otherwise: torch.load reads both.
TEST(PythonInterop, TorchLoadReadsLargeRecordsWrittenEitherWay) {
  EMBER_SKIP_WITHOUT_TORCH();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    io::Value ckpt = io::Dict();
    ckpt["big"] = randn({270000});  // 1.08 MB
    ckpt["small"] = randn({5});
    fs::path p = temp("ember_large_" + std::to_string(threads) + ".pt");
    io::save(ckpt, p.string());
    set_num_threads(1);
    std::map<int64_t, const void*> storages;
    expect_matches(ckpt, run_python("read " + p.string()), "root", storages);
  }
}

TEST(PythonInterop, TorchSaveWritesEmberReads) {
  EMBER_SKIP_WITHOUT_TORCH();
  fs::path p = temp("torch_written.pt");
  json expected = run_python("write " + p.string());
  std::map<int64_t, const void*> storages;
  expect_matches(io::load(p.string()), expected, "root", storages);
}
