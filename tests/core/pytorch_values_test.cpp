// Every case of tests/fixtures/core_ops.json (recorded from PyTorch by
// tests/fixtures/scripts/record_core_ops.py) rebuilt with ember's ops: the outputs and the
// gradients of sum(output * seed) must match PyTorch's.
#include <fstream>
#include <functional>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ember.h"

using namespace ember;
using json = nlohmann::json;
using Inputs = std::vector<Tensor>;
using OpFn = std::function<Tensor(const Inputs&, const json&)>;

namespace {

Tensor decode(const json& j) {
  std::vector<double> values;
  for (const json& v : j["values"]) values.push_back(v.is_boolean() ? (v.get<bool>() ? 1.0 : 0.0) : v.get<double>());
  return tensor(values, j["shape"].get<Shape>(), parse_dtype(j["dtype"].get<std::string>()));
}

Shape dims(const json& a, const char* key) { return a[key].get<Shape>(); }

const std::map<std::string, OpFn>& ops() {
  static const std::map<std::string, OpFn> table = {
      {"add", [](const Inputs& x, const json& a) { return add(x[0], x[1], a["alpha"]); }},
      {"sub", [](const Inputs& x, const json&) { return x[0] - x[1]; }},
      {"mul", [](const Inputs& x, const json&) { return x[0] * x[1]; }},
      {"div", [](const Inputs& x, const json&) { return x[0] / x[1]; }},
      {"pow", [](const Inputs& x, const json&) { return pow(x[0], x[1]); }},
      {"pow_scalar", [](const Inputs& x, const json& a) { return pow(x[0], a["e"].get<double>()); }},
      {"maximum", [](const Inputs& x, const json&) { return maximum(x[0], x[1]); }},
      {"minimum", [](const Inputs& x, const json&) { return minimum(x[0], x[1]); }},
      {"neg", [](const Inputs& x, const json&) { return -x[0]; }},
      {"exp", [](const Inputs& x, const json&) { return exp(x[0]); }},
      {"log", [](const Inputs& x, const json&) { return log(x[0]); }},
      {"sqrt", [](const Inputs& x, const json&) { return sqrt(x[0]); }},
      {"rsqrt", [](const Inputs& x, const json&) { return rsqrt(x[0]); }},
      {"abs", [](const Inputs& x, const json&) { return abs(x[0]); }},
      {"clamp", [](const Inputs& x, const json& a) { return clamp(x[0], a["lo"], a["hi"]); }},
      {"relu", [](const Inputs& x, const json&) { return relu(x[0]); }},
      {"leaky_relu", [](const Inputs& x, const json& a) { return leaky_relu(x[0], a["slope"]); }},
      {"gelu", [](const Inputs& x, const json&) { return gelu(x[0]); }},
      {"sigmoid", [](const Inputs& x, const json&) { return sigmoid(x[0]); }},
      {"tanh", [](const Inputs& x, const json&) { return tanh(x[0]); }},
      {"softplus", [](const Inputs& x, const json&) { return softplus(x[0]); }},
      {"where", [](const Inputs& x, const json&) { return where(x[0], x[1], x[2]); }},
      {"add_float32", [](const Inputs& x, const json&) { return x[0] + x[1]; }},
      {"add_promote", [](const Inputs& x, const json&) { return x[0] + x[1]; }},
      {"div_int", [](const Inputs& x, const json&) { return x[0] / x[1]; }},
      {"sum_dims", [](const Inputs& x, const json& a) { return sum(x[0], dims(a, "dims"), a["keepdim"]); }},
      {"sum_all", [](const Inputs& x, const json&) { return sum(x[0]); }},
      {"mean_dims", [](const Inputs& x, const json& a) { return mean(x[0], dims(a, "dims"), a["keepdim"]); }},
      {"var_dims", [](const Inputs& x, const json& a) { return var(x[0], dims(a, "dims"), a["correction"]); }},
      {"var_biased", [](const Inputs& x, const json& a) { return var(x[0], dims(a, "dims"), a["correction"]); }},
      {"std_dims", [](const Inputs& x, const json& a) { return ember::std(x[0], dims(a, "dims"), a["correction"]); }},
      {"amax", [](const Inputs& x, const json& a) { return amax(x[0], dims(a, "dims"), a["keepdim"]); }},
      {"max_dim", [](const Inputs& x, const json& a) { return max(x[0], a["dim"], a["keepdim"]).values; }},
      {"argmax_dim", [](const Inputs& x, const json& a) { return argmax(x[0], a["dim"]); }},
      {"logsumexp", [](const Inputs& x, const json& a) { return logsumexp(x[0], dims(a, "dims"), a["keepdim"]); }},
      {"softmax", [](const Inputs& x, const json& a) { return softmax(x[0], a["dim"]); }},
      {"log_softmax", [](const Inputs& x, const json& a) { return log_softmax(x[0], a["dim"]); }},
      {"mm", [](const Inputs& x, const json&) { return mm(x[0], x[1]); }},
      {"mm_transposed", [](const Inputs& x, const json&) { return mm(x[0].t(), x[1].t()); }},
      {"bmm", [](const Inputs& x, const json&) { return bmm(x[0], x[1]); }},
      {"matmul_broadcast", [](const Inputs& x, const json&) { return matmul(x[0], x[1]); }},
      {"matmul_vec", [](const Inputs& x, const json&) { return matmul(x[0], x[1]); }},
      {"linear", [](const Inputs& x, const json&) { return linear(x[0], x[1], x[2]); }},
      {"mm_float32", [](const Inputs& x, const json&) { return mm(x[0], x[1]); }},
      {"gather", [](const Inputs& x, const json& a) { return gather(x[0], a["dim"], x[1]); }},
      {"index_select", [](const Inputs& x, const json& a) { return index_select(x[0], a["dim"], x[1]); }},
      {"scatter_add", [](const Inputs& x, const json& a) { return scatter_add(x[0], a["dim"], x[1], x[2]); }},
      {"embedding", [](const Inputs& x, const json&) { return embedding(x[0], x[1]); }},
      {"cat", [](const Inputs& x, const json& a) { return cat({x[0], x[1]}, a["dim"]); }},
      {"stack", [](const Inputs& x, const json& a) { return stack({x[0], x[1]}, a["dim"]); }},
      {"transpose_contiguous", [](const Inputs& x, const json&) { return x[0].transpose(0, 2).contiguous() * 2.0; }},
      {"one_hot", [](const Inputs& x, const json& a) { return one_hot(x[0], a["n"]); }},
      {"conv2d", [](const Inputs& x, const json& a) {
         return conv2d(x[0], x[1], x[2], a["stride"].get<int64_t>(), a["padding"].get<int64_t>(),
                       a["dilation"].get<int64_t>(), a["groups"]);
       }},
      {"max_pool2d", [](const Inputs& x, const json& a) {
         return max_pool2d(x[0], a["k"].get<int64_t>(), a["s"].get<int64_t>(), a["p"].get<int64_t>(), 1, a["ceil"]);
       }},
      {"avg_pool2d", [](const Inputs& x, const json& a) {
         return avg_pool2d(x[0], a["k"].get<int64_t>(), a["s"].get<int64_t>(), a["p"].get<int64_t>(), a["ceil"],
                           a["include"]);
       }},
      {"adaptive_avg_pool2d", [](const Inputs& x, const json& a) {
         return adaptive_avg_pool2d(x[0], {a["oh"].get<int64_t>(), a["ow"].get<int64_t>()});
       }},
      {"batch_norm_train", [](const Inputs& x, const json& a) {
         Tensor rm = zeros({3}, x[0].dtype()), rv = ones({3}, x[0].dtype());
         return batch_norm(x[0], rm, rv, x[1], x[2], true, a["momentum"], a["eps"]);
       }},
      {"layer_norm", [](const Inputs& x, const json& a) { return layer_norm(x[0], {4}, x[1], x[2], a["eps"]); }},
  };
  return table;
}

const json& cases() {
  static const json all = [] {
    std::ifstream in(EMBER_FIXTURES_DIR "/core_ops.json");
    return json::parse(in);
  }();
  return all["cases"];
}

// float64 cases should agree to rounding; float32 ones to float32 accumulation differences.
double tolerance(DType t) { return t == kFloat64 ? 1e-10 : 2e-5; }

void expect_close(const Tensor& got, const json& want, const std::string& what) {
  Tensor expected = decode(want);
  ASSERT_EQ(got.sizes(), expected.sizes()) << what;
  ASSERT_EQ(got.dtype(), expected.dtype()) << what;
  double tol = tolerance(got.dtype());
  EXPECT_TRUE(allclose(got, expected, tol, tol)) << what << "\n got " << got << "\nwant " << expected;
}

class PyTorchValues : public ::testing::TestWithParam<std::string> {};

TEST_P(PyTorchValues, OutputAndGradientsMatch) {
  const json* found = nullptr;
  for (const json& c : cases())
    if (c["name"] == GetParam()) found = &c;
  ASSERT_NE(found, nullptr);
  const json& c = *found;
  const std::string op = c["op"];
  ASSERT_TRUE(ops().count(op)) << "no ember op registered for " << op;
  Inputs inputs;
  for (const json& j : c["inputs"]) {
    Tensor x = decode(j);
    if (x.is_floating_point()) x.requires_grad_();
    inputs.push_back(x);
  }
  Tensor out = ops().at(op)(inputs, c["args"]);
  expect_close(out, c["output"], "output");
  if (!c.contains("grads")) return;
  sum(mul(out, decode(c["seed"]))).backward();
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (c["grads"][i].is_null()) continue;
    ASSERT_TRUE(inputs[i].grad().defined()) << "input " << i << " got no gradient";
    expect_close(inputs[i].grad(), c["grads"][i], "gradient of input " + std::to_string(i));
  }
}

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  for (const json& c : cases()) names.push_back(c["name"]);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, PyTorchValues, ::testing::ValuesIn(case_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
