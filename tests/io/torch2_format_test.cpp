// Files in PyTorch 2.x's format that PyTorch 1.13 cannot write, hand-crafted from the published
// format by tests/fixtures/scripts/craft_torch2_files.py (each with a .json sidecar of its
// content): _rebuild_tensor_v3 over torch.UntypedStorage for uint16/32/64 and float8, the
// 7-argument _rebuild_tensor_v2, 2.x's extra records; and ember writing those dtypes back the way
// 2.x does. On the GPU machine, scripts/gpu-check checks them against a live PyTorch 2.11.
#include <cmath>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ember.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "support/error_of.h"

using namespace ember;
using nlohmann::json;

namespace {

const std::string kDir = std::string(EMBER_FIXTURES_DIR) + "/pytorch-2.x/";

json sidecar(const std::string& name) {
  std::ifstream in(kDir + name + ".json");
  return json::parse(in);
}

double number(const json& v) {
  if (v.is_string()) return v == "nan" ? NAN : v == "inf" ? INFINITY : std::stod(v.get<std::string>());
  return v.get<double>();
}

void expect_values(const Tensor& t, const json& want) {
  std::vector<double> got = t.to(kFloat64).to_vector<double>();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    double w = number(want[i]);
    if (std::isnan(w))
      EXPECT_TRUE(std::isnan(got[i])) << i;
    else
      EXPECT_EQ(got[i], w) << i;
  }
}

}  // namespace

TEST(Torch2Format, NewDtypesLoadThroughRebuildV3AndUntypedStorage) {
  io::Value v = io::load(kDir + "new_dtypes.pt");
  json want = sidecar("new_dtypes");
  for (auto& [key, spec] : want.items()) {
    SCOPED_TRACE(key);
    Tensor t = v.at(key).to_tensor();
    EXPECT_EQ(dtype_name(t.dtype()), spec["dtype"].get<std::string>());
    if (spec.contains("values")) expect_values(t, spec["values"]);
    if (spec.contains("codes")) {  // float8: the very bytes, too
      std::vector<uint8_t> bytes(static_cast<size_t>(t.numel()));
      std::memcpy(bytes.data(), t.contiguous().data(), bytes.size());
      EXPECT_EQ(bytes, spec["codes"].get<std::vector<uint8_t>>());
    }
    if (spec.contains("values_as_text")) {  // uint64 beyond double's 53 bits
      const uint64_t* p = static_cast<const uint64_t*>(t.contiguous().data());
      for (size_t i = 0; i < spec["values_as_text"].size(); ++i)
        EXPECT_EQ(std::to_string(p[i]), spec["values_as_text"][i].get<std::string>());
    }
    if (spec.contains("shares_storage_with")) {
      Tensor base = v.at(spec["shares_storage_with"].get<std::string>()).to_tensor();
      EXPECT_TRUE(t.storage().is_same(base.storage()));
      EXPECT_EQ(t.storage_offset(), spec["storage_offset"].get<int64_t>());
    }
  }
}

TEST(Torch2Format, SevenArgumentRebuildV2AndItsMetadata) {
  io::Value v = io::load(kDir + "v2_metadata.pt");
  json want = sidecar("v2_metadata");
  for (auto& [key, spec] : want.items()) {
    SCOPED_TRACE(key);
    Tensor t = v.at(key).to_tensor();
    EXPECT_EQ(t.sizes(), spec["shape"].get<Shape>());
    expect_values(t.reshape({-1}), spec["values"]);
  }
  std::string m = error_of([] { io::load(kDir + "v2_conj.pt"); });
  EXPECT_NE(m.find("conjugated"), std::string::npos) << m;
  EXPECT_NE(m.find("resolve_conj()"), std::string::npos) << m;
}

TEST(Torch2Format, EmberWritesTheNewDtypesAsTorchTwoDoes) {
  io::Value v = io::load(kDir + "new_dtypes.pt");
  std::vector<uint8_t> bytes = io::save_to_bytes(v);
  std::string text(bytes.begin(), bytes.end());
  // The pickle names 2.x's rebuild and the untyped storage, as torch.save does for these dtypes.
  EXPECT_NE(text.find("_rebuild_tensor_v3"), std::string::npos);
  EXPECT_NE(text.find("UntypedStorage"), std::string::npos);
  EXPECT_NE(text.find("float8_e4m3fn"), std::string::npos);
  io::Value back = io::load_bytes(bytes);
  for (const char* key : {"u16", "u16_tail", "u32", "u64", "f8_e4m3fn", "f8_e5m2"}) {
    Tensor a = v.at(key).to_tensor(), b = back.at(key).to_tensor();
    EXPECT_EQ(a.dtype(), b.dtype()) << key;
    EXPECT_TRUE(equal(a, b)) << key;
  }
  EXPECT_TRUE(back.at("u16_tail").to_tensor().storage().is_same(back.at("u16").to_tensor().storage()));
}

TEST(Torch2Format, NewDtypesGoToSafetensorsByTheirNames) {
  io::Value d = io::Dict();
  d["u16"] = tensor(std::vector<double>{1, 65535}, kUInt16);
  d["f8"] = tensor(std::vector<double>{1, -2}, kFloat8E5M2);
  io::VectorSink sink;
  io::save_safetensors(d, sink);
  std::string file(sink.bytes.begin(), sink.bytes.end());
  EXPECT_NE(file.find("\"U16\""), std::string::npos);
  EXPECT_NE(file.find("\"F8_E5M2\""), std::string::npos);
  io::Value back = io::load_bytes(sink.bytes);
  EXPECT_TRUE(equal(back.at("u16").to_tensor(), d.at("u16").to_tensor()));
  EXPECT_TRUE(equal(back.at("f8").to_tensor(), d.at("f8").to_tensor()));
}
