// The `ember` command end to end: output, JSON, exit statuses, and bad input.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ember.h"
#include "support/temp_dir.h"

using namespace ember;
namespace fs = std::filesystem;

namespace {

struct CliResult {
  int status;
  std::string out, err;
};

CliResult ember_cmd(const std::string& args) {
  fs::path err_file = ember::testing::temp_path("cli_stderr");
  std::string cmd = std::string(EMBER_BIN_DIR "/ember ") + args + " 2>" + err_file.string();
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  int raw = pclose(pipe);
  std::ifstream e(err_file);
  std::string err((std::istreambuf_iterator<char>(e)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(WIFEXITED(raw)) << "ember " << args << " died from a signal";
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, out, err};
}

fs::path temp(const std::string& name) {
  return ember::testing::temp_path(name);
}

const std::string kFixtures = EMBER_FIXTURES_DIR "/pytorch-1.13/";

}  // namespace

TEST(EmberCli, InspectShowsSharingAndTotals) {
  CliResult r = ember_cmd("inspect " + kFixtures + "views_slice.pt");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("torch-zip, 1 storage(s), 40 B of tensor data"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("shares storage 0 with root[0]"), std::string::npos) << r.out;
}

TEST(EmberCli, InspectJsonWithValues) {
  CliResult r = ember_cmd("inspect " + kFixtures + "dtypes.pt --json --values");
  ASSERT_EQ(r.status, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["format"], "torch-zip");
  EXPECT_EQ(j["object"]["type"], "ordered_dict");
  for (const auto& item : j["object"]["items"]) {
    const auto& t = item[1];
    EXPECT_EQ(t["type"], "tensor");
    EXPECT_EQ(t["values"].size(), t["shape"][0].get<size_t>()) << item[0];
    if (t["dtype"] == "bool") EXPECT_TRUE(t["values"][0].is_boolean());
  }
  CliResult optim = ember_cmd("inspect " + kFixtures + "optim_adam.pt --json");
  nlohmann::json o = nlohmann::json::parse(optim.out);
  EXPECT_TRUE(o["object"]["items"][0][1]["items"][0][0].is_number_integer());  // int keys stay ints
}

TEST(EmberCli, ConvertRoundTripAndDiff) {
  fs::path st = temp("model.safetensors"), back = temp("back.pt");
  CliResult c1 = ember_cmd("convert " + kFixtures + "checkpoint.pt " + st.string());
  EXPECT_EQ(c1.status, 0) << c1.err;
  EXPECT_NE(c1.err.find("flattened"), std::string::npos) << c1.err;  // it says so
  EXPECT_EQ(io::detect_format(st.string()), "safetensors");
  EXPECT_EQ(ember_cmd("convert " + kFixtures + "model_state_dict.pt " + back.string() + " --to pt").status, 0);
  CliResult same = ember_cmd("diff " + kFixtures + "model_state_dict.pt " + back.string());
  EXPECT_EQ(same.status, 0) << same.out;
  CliResult differ = ember_cmd("diff " + kFixtures + "optim_sgd_momentum.pt " + kFixtures + "optim_adam.pt");
  EXPECT_EQ(differ.status, 1);
  EXPECT_NE(differ.out.find("root['param_groups']"), std::string::npos) << differ.out;
  // --atol tolerates small differences.
  io::Value a = io::Dict(), b = io::Dict();
  a["w"] = tensor({1.0, 2.0});
  b["w"] = tensor({1.0, 2.001});
  io::save(a, temp("a.pt").string());
  io::save(b, temp("b.pt").string());
  EXPECT_EQ(ember_cmd("diff " + temp("a.pt").string() + " " + temp("b.pt").string()).status, 1);
  EXPECT_EQ(ember_cmd("diff " + temp("a.pt").string() + " " + temp("b.pt").string() + " --atol 0.01").status, 0);
}

TEST(EmberCli, BadInputExitsTwoWithOneLine) {
  std::ifstream in(kFixtures + "checkpoint.pt", std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t len : {size_t{0}, size_t{3}, size_t{100}, bytes.size() / 2, bytes.size() - 30}) {
    fs::path p = temp("cut.pt");
    std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(len));
    CliResult r = ember_cmd("inspect " + p.string());
    EXPECT_EQ(r.status, 2) << len;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("cut.pt"), std::string::npos) << r.err;
  }
  EXPECT_EQ(ember_cmd("inspect /nonexistent.pt").status, 2);
  EXPECT_EQ(ember_cmd("inspect " + kFixtures + "torchscript_module.pt").status, 2);
  EXPECT_EQ(ember_cmd("frobnicate").status, 2);
  EXPECT_EQ(ember_cmd("diff onlyone.pt").status, 2);
}

TEST(EmberCli, PlotDrawsEveryRun) {
  fs::path a = temp("run_a"), b = temp("run_b");
  fs::create_directories(a);
  fs::create_directories(b);
  for (const fs::path& d : {a, b}) {
    std::ofstream m(d / "metrics.jsonl");
    for (int s = 1; s <= 5; ++s) m << "{\"kind\":\"train\",\"step\":" << s * 10 << ",\"epoch\":1,\"loss\":" << 1.0 / s << ",\"accuracy\":" << 0.1 * s << "}\n";
    m << "{\"kind\":\"eval\",\"step\":50,\"epoch\":1,\"test_loss\":0.3,\"test_accuracy\":0.8}\n";
  }
  fs::path svg = temp("curves.svg");
  CliResult r = ember_cmd("plot " + a.string() + " " + b.string() + " -o " + svg.string());
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream in(svg);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.rfind("<svg", 0), 0u);
  size_t lines = 0;
  for (size_t at = text.find("<polyline"); at != std::string::npos; at = text.find("<polyline", at + 1)) ++lines;
  EXPECT_EQ(lines, 4u);  // loss and accuracy of both runs
  EXPECT_EQ(ember_cmd("plot /nonexistent -o " + svg.string()).status, 2);
}

namespace {

// A checkpoint whose storages are tagged cuda:1, as a GPU run writes it.
fs::path gpu_checkpoint() {
  fs::path p = temp("gpu_saved.pt");
  Tensor w = arange(6, kFloat32).reshape({2, 3});
  w.storage().set_saved_location("cuda:1");
  io::Value v = io::Dict();
  v["w"] = w;
  v["step"] = 3;
  io::save(v, p.string());
  return p;
}

}  // namespace

// Tools read any file: a GPU checkpoint on a build without CUDA.
TEST(EmberCli, ToolsReadFilesSavedOnAGpu) {
  fs::path gpu = gpu_checkpoint();
  EXPECT_THROW(io::load(gpu.string()), ValueError);  // a user's plain load onto a missing device
  CliResult r = ember_cmd("inspect " + gpu.string());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("cuda:1"), std::string::npos) << r.out;
  r = ember_cmd("inspect --json " + gpu.string());
  ASSERT_EQ(r.status, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["storages"][0]["location"], "cuda:1");
  // convert keeps the location unless told otherwise.
  fs::path kept = temp("gpu_kept.pt"), moved = temp("gpu_moved.pt");
  ASSERT_EQ(ember_cmd("convert " + gpu.string() + " " + kept.string()).status, 0);
  EXPECT_THROW(io::load(kept.string()), ValueError);
  io::Value k = io::load(kept.string(), io::LoadOptions().keep_saved_locations());
  EXPECT_EQ(k.at("w").to_tensor().storage().saved_location(), "cuda:1");
  CliResult c = ember_cmd("convert " + gpu.string() + " " + moved.string() + " --map-location cpu");
  ASSERT_EQ(c.status, 0) << c.err;
  io::Value m = io::load(moved.string());  // plain load: now a CPU file
  EXPECT_EQ(m.at("w").to_tensor().to_vector<float>(), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  // diff compares values, wherever they were saved.
  EXPECT_EQ(ember_cmd("diff " + gpu.string() + " " + moved.string()).status, 0);
  io::Value changed = io::load(moved.string());
  changed["step"] = 4;
  io::save(changed, moved.string());
  CliResult d = ember_cmd("diff " + gpu.string() + " " + moved.string());
  EXPECT_EQ(d.status, 1);
  EXPECT_NE(d.out.find("root['step']: 3 vs 4"), std::string::npos) << d.out;
}

// An OrderedDict against a dict: the type difference, and then every item.
TEST(EmberCli, DiffOfOrderedDictAgainstDictComparesTheItems) {
  fs::path a = temp("od.pt"), b = temp("plain.pt");
  io::Dict od(true), plain;
  od.insert("x", Tensor(full({3}, 1.0)));
  od.insert("y", 1);
  plain.insert("x", Tensor(full({3}, 2.0)));
  plain.insert("y", 1);
  plain.insert("z", 5);
  io::save(io::Value(od), a.string());
  io::save(io::Value(plain), b.string());
  CliResult d = ember_cmd("diff " + a.string() + " " + b.string());
  EXPECT_EQ(d.status, 1);
  EXPECT_NE(d.out.find("root: type"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("root['x']: 3 of 3 values differ"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("root['z']: only in B"), std::string::npos) << d.out;
  EXPECT_EQ(d.out.find("root['y']"), std::string::npos) << d.out;
}
