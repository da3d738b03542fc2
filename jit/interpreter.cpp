// How a GraphModule runs each op: ONNX's semantics (opset 13-17) in terms of ember's ops.
// Inference only: eval-mode BatchNormalization, Dropout as identity.
#include <cmath>
#include <functional>
#include <map>

#include "core/autograd/grad_mode.h"
#include "core/ops/activation.h"
#include "core/ops/arithmetic.h"
#include "core/ops/conv.h"
#include "core/ops/factories.h"
#include "core/ops/indexing.h"
#include "core/ops/join.h"
#include "core/ops/linalg.h"
#include "core/ops/normalization.h"
#include "core/ops/pool.h"
#include "core/ops/softmax.h"
#include "jit/interpreter.h"

namespace ember::jit {

namespace {

using Inputs = std::vector<Tensor>;
using Kernel = std::function<Tensor(const Node&, const Inputs&)>;

std::vector<int64_t> ints(const Node& n, const char* key, std::vector<int64_t> fallback) {
  return n.attrs.contains(key) ? n.attrs[key].get<std::vector<int64_t>>() : fallback;
}
int64_t integer(const Node& n, const char* key, int64_t fallback) { return n.attrs.value(key, fallback); }
double real(const Node& n, const char* key, double fallback) { return n.attrs.value(key, fallback); }

std::vector<int64_t> values(const Tensor& t) { return t.to(kInt64).to_vector<int64_t>(); }

// ONNX pads [top, left, bottom, right]: ember pads symmetrically.
Size2 symmetric_pads(const Node& n) {
  auto p = ints(n, "pads", {0, 0, 0, 0});
  EMBER_CHECK_VALUE(p.size() == 4 && p[0] == p[2] && p[1] == p[3], n.op, " '", n.name, "': only symmetric 2-D pads are supported, found ",
                    nlohmann::json(p).dump());
  EMBER_CHECK_VALUE(n.attrs.value("auto_pad", std::string("NOTSET")) == "NOTSET", n.op, " '", n.name, "': auto_pad is not supported");
  return {p[0], p[1]};
}

Size2 pair(const std::vector<int64_t>& v, const Node& n, const char* what) {
  EMBER_CHECK_VALUE(v.size() == 2, n.op, " '", n.name, "': expected 2-D ", what, ", found ", nlohmann::json(v).dump());
  return {v[0], v[1]};
}

Tensor reshape_onnx(const Tensor& x, std::vector<int64_t> shape) {
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] == 0) shape[i] = x.size(static_cast<int64_t>(i));  // 0 copies the input's dim
  return x.reshape(Shape(shape.begin(), shape.end()));
}

Tensor erf_of(const Tensor& x) {
  Tensor c = x.contiguous().to(kFloat64);
  Tensor out = empty(c.sizes(), kFloat64);
  const double* in = c.data_ptr<double>();
  double* o = out.data_ptr<double>();
  for (int64_t i = 0; i < c.numel(); ++i) o[i] = std::erf(in[i]);
  return out.to(x.dtype());
}

Tensor gather_onnx(const Tensor& data, const Tensor& indices, int64_t axis) {
  if (axis < 0) axis += data.dim();
  if (indices.dim() == 0) return data.select(axis, indices.item<int64_t>() < 0 ? indices.item<int64_t>() + data.size(axis) : indices.item<int64_t>());
  if (axis == 0 && data.dim() == 2 && data.is_floating_point()) return embedding(data, indices);
  Shape shape(data.sizes().begin(), data.sizes().begin() + axis);
  shape.insert(shape.end(), indices.sizes().begin(), indices.sizes().end());
  shape.insert(shape.end(), data.sizes().begin() + axis + 1, data.sizes().end());
  return index_select(data, axis, indices.reshape({-1})).reshape(shape);
}

// Pad, mode "constant": pads [begin_0, begin_1, ..., end_0, end_1, ...] (non-negative).
Tensor pad_constant(const Node& n, const Inputs& in) {
  EMBER_CHECK_VALUE(n.attrs.value("mode", std::string("constant")) == "constant", "Pad '", n.name, "': only mode 'constant' is supported");
  std::vector<int64_t> pads = in.size() > 1 && in[1].defined() ? values(in[1]) : ints(n, "pads", {});
  const Tensor& x = in[0];
  EMBER_CHECK_VALUE(static_cast<int64_t>(pads.size()) == 2 * x.dim(), "Pad '", n.name, "': expected ", 2 * x.dim(), " pads, found ", pads.size());
  double value = in.size() > 2 && in[2].defined() ? in[2].item() : 0.0;
  Shape shape = x.sizes();
  bool none = true;
  for (int64_t d = 0; d < x.dim(); ++d) {
    int64_t b = pads[static_cast<size_t>(d)], e = pads[static_cast<size_t>(d + x.dim())];
    EMBER_CHECK_VALUE(b >= 0 && e >= 0, "Pad '", n.name, "': negative pads (cropping) are not supported");
    shape[static_cast<size_t>(d)] += b + e;
    none = none && b == 0 && e == 0;
  }
  if (none) return x;  // what torch.onnx emits before an AveragePool without padding
  Tensor out = full(shape, value, x.dtype());
  Tensor window = out;
  for (int64_t d = 0; d < x.dim(); ++d) window = window.narrow(d, pads[static_cast<size_t>(d)], x.size(d));
  window.copy_(x);
  return out;
}

const std::map<std::string, Kernel>& kernels() {
  static const std::map<std::string, Kernel> k = {
      {"Linear", [](const Node&, const Inputs& in) { return linear(in[0], in[1], in.size() > 2 ? in[2] : Tensor()); }},
      {"Gemm",
       [](const Node& n, const Inputs& in) {
         Tensor a = integer(n, "transA", 0) ? in[0].t() : in[0], b = integer(n, "transB", 0) ? in[1].t() : in[1];
         Tensor y = mul(mm(a, b), real(n, "alpha", 1.0));
         if (in.size() > 2 && in[2].defined()) y = add(y, mul(in[2], real(n, "beta", 1.0)));
         return y;
       }},
      {"MatMul", [](const Node&, const Inputs& in) { return matmul(in[0], in[1]); }},
      {"Conv",
       [](const Node& n, const Inputs& in) {
         return conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), pair(ints(n, "strides", {1, 1}), n, "strides"), symmetric_pads(n),
                       pair(ints(n, "dilations", {1, 1}), n, "dilations"), integer(n, "group", 1));
       }},
      {"BatchNormalization",
       [](const Node& n, const Inputs& in) { return batch_norm(in[0], in[3], in[4], in[1], in[2], false, 0.1, real(n, "epsilon", 1e-5)); }},
      {"LayerNormalization",
       [](const Node& n, const Inputs& in) {
         int64_t axis = integer(n, "axis", -1);
         if (axis < 0) axis += in[0].dim();
         Shape normalized(in[0].sizes().begin() + axis, in[0].sizes().end());
         return layer_norm(in[0], normalized, in[1], in.size() > 2 ? in[2] : Tensor(), real(n, "epsilon", 1e-5));
       }},
      {"Relu", [](const Node&, const Inputs& in) { return relu(in[0]); }},
      {"LeakyRelu", [](const Node& n, const Inputs& in) { return leaky_relu(in[0], real(n, "alpha", 0.01)); }},
      {"Gelu", [](const Node&, const Inputs& in) { return gelu(in[0]); }},
      {"Sigmoid", [](const Node&, const Inputs& in) { return sigmoid(in[0]); }},
      {"Tanh", [](const Node&, const Inputs& in) { return tanh(in[0]); }},
      {"Erf", [](const Node&, const Inputs& in) { return erf_of(in[0]); }},
      {"Neg", [](const Node&, const Inputs& in) { return neg(in[0]); }},
      {"Softmax", [](const Node& n, const Inputs& in) { return softmax(in[0], integer(n, "axis", -1)); }},
      {"LogSoftmax", [](const Node& n, const Inputs& in) { return log_softmax(in[0], integer(n, "axis", -1)); }},
      {"MaxPool",
       [](const Node& n, const Inputs& in) {
         Size2 kernel = pair(ints(n, "kernel_shape", {}), n, "kernel_shape");
         return max_pool2d(in[0], kernel, pair(ints(n, "strides", {1, 1}), n, "strides"), symmetric_pads(n),
                           pair(ints(n, "dilations", {1, 1}), n, "dilations"), integer(n, "ceil_mode", 0) != 0);
       }},
      {"AveragePool",
       [](const Node& n, const Inputs& in) {
         Size2 kernel = pair(ints(n, "kernel_shape", {}), n, "kernel_shape");
         return avg_pool2d(in[0], kernel, pair(ints(n, "strides", {1, 1}), n, "strides"), symmetric_pads(n), integer(n, "ceil_mode", 0) != 0,
                           integer(n, "count_include_pad", 0) != 0);
       }},
      {"GlobalAveragePool", [](const Node&, const Inputs& in) { return adaptive_avg_pool2d(in[0], {1, 1}); }},
      {"Flatten",
       [](const Node& n, const Inputs& in) {
         int64_t axis = integer(n, "axis", 1);
         if (axis < 0) axis += in[0].dim();
         int64_t outer = 1;
         for (int64_t d = 0; d < axis; ++d) outer *= in[0].size(d);
         return in[0].reshape({outer, outer ? in[0].numel() / outer : 0});
       }},
      {"Reshape", [](const Node&, const Inputs& in) { return reshape_onnx(in[0], values(in[1])); }},
      {"Add", [](const Node&, const Inputs& in) { return add(in[0], in[1]); }},
      {"Sub", [](const Node&, const Inputs& in) { return sub(in[0], in[1]); }},
      {"Mul", [](const Node&, const Inputs& in) { return mul(in[0], in[1]); }},
      {"Div", [](const Node&, const Inputs& in) { return div(in[0], in[1]); }},
      {"Concat", [](const Node& n, const Inputs& in) { return cat(in, integer(n, "axis", 0)); }},
      {"Gather", [](const Node& n, const Inputs& in) { return gather_onnx(in[0], in[1], integer(n, "axis", 0)); }},
      {"Shape",
       [](const Node&, const Inputs& in) { return tensor(std::vector<int64_t>(in[0].sizes().begin(), in[0].sizes().end())); }},
      {"Unsqueeze",
       [](const Node& n, const Inputs& in) {
         std::vector<int64_t> axes = in.size() > 1 ? values(in[1]) : ints(n, "axes", {});
         Tensor y = in[0];
         int64_t rank = y.dim() + static_cast<int64_t>(axes.size());
         for (int64_t& a : axes) a = a < 0 ? a + rank : a;
         std::sort(axes.begin(), axes.end());
         for (int64_t a : axes) y = y.unsqueeze(a);
         return y;
       }},
      {"Squeeze",
       [](const Node& n, const Inputs& in) {
         std::vector<int64_t> axes = in.size() > 1 ? values(in[1]) : ints(n, "axes", {});
         if (axes.empty()) return in[0].squeeze();
         for (int64_t& a : axes) a = a < 0 ? a + in[0].dim() : a;
         std::sort(axes.rbegin(), axes.rend());
         Tensor y = in[0];
         for (int64_t a : axes) y = y.squeeze(a);
         return y;
       }},
      {"Transpose",
       [](const Node& n, const Inputs& in) {
         std::vector<int64_t> perm = ints(n, "perm", {});
         if (perm.empty())
           for (int64_t d = in[0].dim() - 1; d >= 0; --d) perm.push_back(d);
         return in[0].permute(Shape(perm.begin(), perm.end())).contiguous();
       }},
      {"Pad", pad_constant},
      {"Identity", [](const Node&, const Inputs& in) { return in[0]; }},
      {"Dropout", [](const Node&, const Inputs& in) { return in[0]; }},  // eval mode
  };
  return k;
}

}  // namespace

const std::vector<std::string>& supported_ops() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& [name, k] : kernels()) v.push_back(name);
    return v;
  }();
  return names;
}

bool is_supported(const std::string& op) { return kernels().count(op) > 0; }

Tensor run_node(const Node& node, const std::vector<Tensor>& inputs) {
  auto it = kernels().find(node.op);
  EMBER_CHECK_VALUE(it != kernels().end(), "graph: node '", node.name, "' has op '", node.op, "', which ember cannot run");
  try {
    return it->second(node, inputs);
  } catch (const ValueError& e) {
    throw ValueError(str("graph: node '", node.name, "' (", node.op, "): ", e.what()));
  }
}

}  // namespace ember::jit
