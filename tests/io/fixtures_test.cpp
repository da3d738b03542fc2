// Every file PyTorch 1.13 wrote (tests/fixtures/pytorch-1.13, copied from shared/fixtures) loads
// with exactly the content of its JSON sidecar: types, key order, dtypes, shapes, strides, storage
// offsets, requires_grad, values and storage sharing. The same for safetensors/basic.safetensors.
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ember.h"

using namespace ember;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kDir = EMBER_FIXTURES_DIR "/pytorch-1.13/";

json sidecar(const std::string& file) {
  std::ifstream in(file + ".json");
  return json::parse(in);
}

// Compares a loaded Value with the sidecar's typed tree; records each tensor's storage key.
void expect_matches(const io::Value& v, const json& node, const std::string& path,
                    std::map<std::string, const void*>& storage_of_key) {
  std::string type = node["type"];
  if (type == "tensor") {
    ASSERT_TRUE(v.is_tensor()) << path << ": expected a tensor, found " << v.type_name();
    const Tensor& t = v.to_tensor();
    EXPECT_EQ(dtype_name(t.dtype()), node["dtype"].get<std::string>()) << path;
    EXPECT_EQ(t.sizes(), node["shape"].get<Shape>()) << path;
    EXPECT_EQ(t.strides(), node["stride"].get<Shape>()) << path;
    EXPECT_EQ(t.storage_offset(), node["storage_offset"].get<int64_t>()) << path;
    EXPECT_EQ(t.requires_grad(), node["requires_grad"].get<bool>()) << path;
    std::vector<double> got = t.to_vector<double>();
    const json& want = node["values"];
    ASSERT_EQ(got.size(), want.size()) << path;
    for (size_t i = 0; i < got.size(); ++i) {
      if (want[i].is_boolean()) EXPECT_EQ(got[i], want[i].get<bool>() ? 1.0 : 0.0) << path << "[" << i << "]";
      else if (t.dtype() == kInt64) EXPECT_EQ(t.to_vector<int64_t>()[i], want[i].get<int64_t>()) << path << "[" << i << "]";
      else EXPECT_EQ(got[i], want[i].get<double>()) << path << "[" << i << "]";
    }
    std::string key = node["storage_key"];
    auto [it, inserted] = storage_of_key.emplace(key, t.storage().id());
    EXPECT_EQ(it->second, t.storage().id()) << path << ": tensors with storage key " << key << " must share storage";
    return;
  }
  if (type == "dict" || type == "ordered_dict") {
    ASSERT_TRUE(v.is_dict()) << path << ": expected a dict, found " << v.type_name();
    EXPECT_EQ(v.dict().ordered(), type == "ordered_dict") << path;
    const json& items = node["items"];
    ASSERT_EQ(v.dict().size(), items.size()) << path;
    size_t i = 0;
    for (const auto& [k, item] : v.dict()) {
      const json& key = items[i]["key"];
      if (key["type"] == "str") EXPECT_EQ(k.str(), key["value"].get<std::string>()) << path;
      else EXPECT_EQ(k.to_int(), key["value"].get<int64_t>()) << path;
      expect_matches(item, items[i]["value"], path + "[" + k.repr() + "]", storage_of_key);
      ++i;
    }
    if (node.contains("attributes") && !node["attributes"].empty()) {
      ASSERT_TRUE(v.dict().attributes != nullptr) << path << ": attributes missing";
      for (auto& [name, attr] : node["attributes"].items())
        expect_matches(v.dict().attributes->at(name), attr, path + "." + name, storage_of_key);
    }
    return;
  }
  if (type == "list" || type == "tuple") {
    ASSERT_EQ(v.type_name(), type) << path;
    const auto& items = v.is_list() ? v.list() : v.tuple();
    ASSERT_EQ(items.size(), node["items"].size()) << path;
    for (size_t i = 0; i < items.size(); ++i) expect_matches(items[i], node["items"][i], path + "[" + std::to_string(i) + "]", storage_of_key);
    return;
  }
  if (type == "int") {
    ASSERT_TRUE(v.is_int()) << path;
    EXPECT_EQ(v.to_int(), node["value"].get<int64_t>()) << path;
    return;
  }
  if (type == "float") {
    ASSERT_TRUE(v.is_double()) << path;
    EXPECT_EQ(v.to_double(), node["value"].get<double>()) << path;
    return;
  }
  if (type == "str") {
    ASSERT_TRUE(v.is_string()) << path;
    EXPECT_EQ(v.to_string(), node["value"].get<std::string>()) << path;
    return;
  }
  if (type == "bool") {
    ASSERT_TRUE(v.is_bool()) << path;
    EXPECT_EQ(v.to_bool(), node["value"].get<bool>()) << path;
    return;
  }
  if (type == "none") {
    EXPECT_TRUE(v.is_none()) << path;
    return;
  }
  if (type == "torch.Size") {
    EXPECT_EQ(v.torch_size(), node["value"].get<Shape>()) << path;
    return;
  }
  if (type == "torch.device") {
    EXPECT_EQ(v.torch_device(), node["value"].get<std::string>()) << path;
    return;
  }
  if (type == "torch.dtype") {
    std::string want = node["value"];
    EXPECT_EQ(v.torch_dtype(), want) << path;
    return;
  }
  FAIL() << path << ": sidecar type " << type << " not handled";
}

std::vector<std::string> loadable_fixtures() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kDir)) {
    std::string name = e.path().filename().string();
    if (e.path().extension() == ".pt" && name != "torchscript_module.pt") out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

class PyTorchFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(PyTorchFixture, LoadsWithExactlyTheSidecarsContent) {
  std::string file = kDir + GetParam();
  json meta = sidecar(file);
  io::Value v = io::load(file);
  std::map<std::string, const void*> storages;
  expect_matches(v, meta["object"], "root", storages);
  if (meta.contains("storages")) EXPECT_EQ(storages.size(), meta["storages"].size());
}

TEST_P(PyTorchFixture, MmapLoadGivesTheSameContent) {
  std::string file = kDir + GetParam();
  io::Value v = io::load(file, io::LoadOptions().mmap());
  std::map<std::string, const void*> storages;
  expect_matches(v, sidecar(file)["object"], "root", storages);
}

std::string name_of(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param.substr(0, info.param.size() - 3);
  for (char& c : n)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}
INSTANTIATE_TEST_SUITE_P(Fixtures, PyTorchFixture, ::testing::ValuesIn(loadable_fixtures()), name_of);

TEST(PyTorchFixtures, TorchScriptIsRecognisedAndRefused) {
  try {
    io::load(kDir + "torchscript_module.pt");
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("TorchScript archive"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("state_dict"), std::string::npos) << e.what();
  }
  EXPECT_EQ(io::detect_format(kDir + "torchscript_module.pt"), "torchscript");
  EXPECT_EQ(io::detect_format(kDir + "legacy_format.pt"), "torch-legacy");
  EXPECT_EQ(io::detect_format(kDir + "checkpoint.pt"), "torch-zip");
}

TEST(PyTorchFixtures, ModelStateDictLoadsIntoTheSameSequential) {
  auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::BatchNorm1d>(8),
                                                std::make_shared<nn::ReLU>(), std::make_shared<nn::Dropout>(0.5),
                                                std::make_shared<nn::Linear>(8, 3));
  io::Value sd = io::load(kDir + "model_state_dict.pt");
  model->load_state_dict(sd);
  EXPECT_TRUE(equal(model->parameters()[0], sd.at("0.weight").to_tensor()));
  // And the same keys, shapes and dtypes as ember's own state_dict.
  io::Value mine = model->state_dict();
  EXPECT_EQ(mine.dict().string_keys(), sd.dict().string_keys());
}

TEST(Safetensors, BasicFixtureMatchesItsSidecar) {
  std::string file = EMBER_FIXTURES_DIR "/safetensors/basic.safetensors";
  json meta = sidecar(file);
  io::Value v = io::load(file);
  std::vector<std::string> order = meta["tensor_order_in_buffer"];
  std::vector<std::string> keys = v.dict().string_keys();
  std::sort(order.begin(), order.end());
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, order);
  for (auto& [name, info] : meta["tensors"].items()) {
    const Tensor& t = v.at(name).to_tensor();
    EXPECT_EQ(t.sizes(), info["shape"].get<Shape>()) << name;
    const json& want = info["values"];
    if (t.dtype() == kInt64) {
      EXPECT_EQ(t.to_vector<int64_t>(), want.get<std::vector<int64_t>>()) << name;
    } else {
      std::vector<double> got = t.to_vector<double>();
      ASSERT_EQ(got.size(), want.size()) << name;
      for (size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(got[i], want[i].is_boolean() ? (want[i].get<bool>() ? 1.0 : 0.0) : want[i].get<double>()) << name;
    }
  }
  EXPECT_EQ(v.dict().attributes->at("__metadata__").at("format").to_string(), "pt");
}

TEST(Safetensors, InvalidFilesAreRejectedWithTheReferenceErrors) {
  std::string dir = EMBER_FIXTURES_DIR "/safetensors/invalid/";
  std::ifstream in(dir + "expected_errors.json");
  json expected = json::parse(in);
  for (auto& [file, error] : expected.items()) {
    if (file[0] == '_') continue;
    try {
      io::load(dir + file);
      ADD_FAILURE() << file << " loaded";
    } catch (const ValueError& e) {
      std::string want = error;
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << file << ": " << e.what();
    }
  }
}

}  // namespace
