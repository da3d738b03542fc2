// What torch.save writes comes back as it was: files written by PyTorch 1.13 from cases of its own
// test_serialization.py (bare storages shared with views, nn.Parameters outside a state dict,
// bytes, complex tensors and their views) load in ember, are written back, and both describe
// exactly as torch.load describes the original: type, dtype, shape, strides, offset, storage
// sharing, requires_grad and values (tests/fixtures/scripts/record_fidelity.py records them).
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ember.h"
#include "support/python.h"
#include "support/temp_dir.h"

using namespace ember;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kFixtures = EMBER_FIXTURES_DIR "/fidelity-1.13/";

json described_by_ember(const std::string& file) {
  return json::parse(run_command(EMBER_BIN_DIR "/ember inspect --json --values " + file))["object"];
}

json expected(const std::string& name) {
  std::ifstream in(kFixtures + name + ".pt.expected.json");
  return json::parse(in);
}

std::string written_back(const std::string& name) {
  std::string path = ember::testing::temp_path(name + ".pt").string();
  io::save(io::load(kFixtures + name + ".pt"), path);
  return path;
}

class Fidelity : public ::testing::TestWithParam<std::string> {};

TEST_P(Fidelity, EmberLoadsWhatTorchSaved) { EXPECT_EQ(described_by_ember(kFixtures + GetParam() + ".pt"), expected(GetParam())); }

TEST_P(Fidelity, EmberWritesItBackUnchanged) { EXPECT_EQ(described_by_ember(written_back(GetParam())), expected(GetParam())); }

TEST_P(Fidelity, TorchLoadsWhatEmberWroteBackAsTheOriginal) {
  EMBER_SKIP_WITHOUT_TORCH();
  std::string out = run_command("/usr/bin/python3 " EMBER_SOURCE_DIR "/tests/fixtures/scripts/record_fidelity.py describe " +
                        written_back(GetParam()));
  EXPECT_EQ(json::parse(out), expected(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(TestSerializationCases, Fidelity,
                         ::testing::Values("fidelity_storages", "fidelity_parameters", "fidelity_bytes", "fidelity_complex"),
                         [](const auto& i) { return i.param; });

}  // namespace

// The kinds themselves, in the API.
TEST(Fidelity, KindsAreDistinct) {
  io::Value v = io::load(kFixtures + "fidelity_bytes.pt");
  EXPECT_TRUE(v.at("binary").is_bytes());
  EXPECT_EQ(v.at("binary").to_bytes().size(), 256u);
  EXPECT_TRUE(v.at("text").is_string());
  EXPECT_EQ(v.at("empty").to_bytes(), "");
  io::Value p = io::load(kFixtures + "fidelity_parameters.pt");
  EXPECT_TRUE(p.at("p").is_parameter());
  EXPECT_TRUE(p.at("p").to_tensor().requires_grad());
  EXPECT_TRUE(p.at("frozen").is_parameter());
  EXPECT_FALSE(p.at("frozen").to_tensor().requires_grad());
  EXPECT_FALSE(p.at("grad_tensor").is_parameter());
  EXPECT_EQ(p.at("p").to_tensor().impl(), p.at("again").to_tensor().impl());  // one object, as in Python
  io::Value s = io::load(kFixtures + "fidelity_storages.pt");
  ASSERT_TRUE(s.at_index(4).is_storage());
  EXPECT_TRUE(s.at_index(4).storage().is_same(s.at_index(0).to_tensor().storage()));
  EXPECT_TRUE(s.at_index(7).at_index(0).storage().is_same(s.at_index(7).at_index(1).storage()));
  EXPECT_FALSE(s.at_index(7).at_index(0).storage().is_same(s.at_index(7).at_index(2).storage()));
  io::Value c = io::load(kFixtures + "fidelity_complex.pt");
  EXPECT_EQ(c.at("z").to_tensor().dtype(), kComplex64);
  EXPECT_EQ(c.at("w").to_tensor().dtype(), kComplex128);
  EXPECT_TRUE(c.at("z_t").to_tensor().storage().is_same(c.at("z").to_tensor().storage()));
}
