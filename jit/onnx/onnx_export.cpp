// Graph -> ONNX ModelProto (opset 17) through the ONNX schema's generated protobuf classes.
#include <onnx/onnx_pb.h>

#include <cmath>

#include "core/ops/factories.h"
#include "io/file.h"
#include "jit/onnx/onnx.h"
#include "jit/onnx/onnx_types.h"
#include "jit/trace.h"

namespace ember::jit {

namespace {

void set_attribute(onnx::NodeProto& node, const std::string& key, const nlohmann::json& v) {
  onnx::AttributeProto* a = node.add_attribute();
  a->set_name(key);
  if (v.is_number_integer() || v.is_boolean()) {
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v.is_boolean() ? (v.get<bool>() ? 1 : 0) : v.get<int64_t>());
  } else if (v.is_number()) {
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v.get<float>());
  } else if (v.is_string()) {
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v.get<std::string>());
  } else if (v.is_array() && std::all_of(v.begin(), v.end(), [](const auto& x) { return x.is_number_integer(); })) {
    a->set_type(onnx::AttributeProto::INTS);
    for (const auto& x : v) a->add_ints(x.get<int64_t>());
  } else if (v.is_array()) {
    a->set_type(onnx::AttributeProto::FLOATS);
    for (const auto& x : v) a->add_floats(x.get<float>());
  } else {
    throw Error(str("export_onnx: attribute '", key, "' of ", node.op_type(), " '", node.name(), "' has no ONNX form: ", v.dump()));
  }
}

void set_value_info(onnx::ValueInfoProto& out, const ValueInfo& v) {
  out.set_name(v.name);
  auto* t = out.mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx_dtype(v.dtype));
  auto* shape = t->mutable_shape();
  for (int64_t d : v.shape) {
    auto* dim = shape->add_dim();
    if (d < 0) dim->set_dim_param("batch");
    else dim->set_dim_value(d);
  }
}

class Exporter {
 public:
  explicit Exporter(const Graph& g) : g_(g) {}

  onnx::ModelProto run() {
    onnx::ModelProto model;
    model.set_ir_version(8);
    model.set_producer_name(g_.producer);
    model.set_producer_version("0.1.0");
    auto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(17);
    graph_ = model.mutable_graph();
    graph_->set_name("ember");
    for (const auto& [k, v] : g_.initializers) add_initializer(k.str(), v.to_tensor());
    for (const auto& v : g_.inputs) set_value_info(*graph_->add_input(), v);
    for (const auto& v : g_.outputs) set_value_info(*graph_->add_output(), v);
    for (const auto& [name, v] : g_.value_info) set_value_info(*graph_->add_value_info(), v);
    for (const Node& n : g_.nodes) export_node(n);
    return model;
  }

 private:
  void add_initializer(const std::string& name, const Tensor& t) { to_tensor_proto(t, name, *graph_->add_initializer()); }

  onnx::NodeProto& add(const std::string& op, const std::string& name, const std::vector<std::string>& in, const std::string& out) {
    onnx::NodeProto* n = graph_->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : in) n->add_input(i);
    n->add_output(out);
    return *n;
  }

  std::string scalar(const std::string& name, double value, DType dtype) {
    add_initializer(name, full({}, value, dtype));
    return name;
  }

  int64_t rank_of(const std::string& value) const {
    if (auto it = g_.value_info.find(value); it != g_.value_info.end()) return static_cast<int64_t>(it->second.shape.size());
    for (const auto& v : g_.inputs)
      if (v.name == value) return static_cast<int64_t>(v.shape.size());
    return -1;
  }

  DType dtype_of(const std::string& value) const {
    if (auto it = g_.value_info.find(value); it != g_.value_info.end()) return it->second.dtype;
    for (const auto& v : g_.inputs)
      if (v.name == value) return v.dtype;
    return kFloat32;
  }

  void export_node(const Node& n) {
    const std::string& out = n.outputs.at(0);
    if (n.op == "Linear") {
      if (rank_of(n.inputs[0]) == 2) {
        auto& gemm = add("Gemm", n.name, n.inputs, out);
        set_attribute(gemm, "transB", 1);
        return;
      }
      add("Transpose", n.name + "_weight_t", {n.inputs[1]}, n.name + "_weight_t");
      add("MatMul", n.name + "_matmul", {n.inputs[0], n.name + "_weight_t"}, n.inputs.size() > 2 ? n.name + "_matmul" : out);
      if (n.inputs.size() > 2) add("Add", n.name + "_bias", {n.name + "_matmul", n.inputs[2]}, out);
      return;
    }
    if (n.op == "Gelu") {  // x * 0.5 * (1 + erf(x / sqrt(2))), as torch.onnx exports it
      DType t = dtype_of(n.inputs[0]);
      const std::string& x = n.inputs[0];
      add("Div", n.name + "_div", {x, scalar(n.name + "_sqrt2", std::sqrt(2.0), t)}, n.name + "_div");
      add("Erf", n.name + "_erf", {n.name + "_div"}, n.name + "_erf");
      add("Add", n.name + "_add", {n.name + "_erf", scalar(n.name + "_one", 1.0, t)}, n.name + "_add");
      add("Mul", n.name + "_mul", {x, n.name + "_add"}, n.name + "_mul");
      add("Mul", n.name, {n.name + "_mul", scalar(n.name + "_half", 0.5, t)}, out);
      return;
    }
    EMBER_CHECK(n.op != "AdaptiveAveragePool", "export_onnx: node '", n.name,
                "': adaptive average pooling to an output size that does not divide the input has no ONNX op");
    auto& node = add(n.op, n.name, n.inputs, out);
    for (const auto& [key, v] : n.attrs.items()) set_attribute(node, key, v);
  }

  const Graph& g_;
  onnx::GraphProto* graph_ = nullptr;
};

}  // namespace

bool onnx_available() { return true; }

void export_onnx(const Graph& graph, const std::string& path) {
  std::string bytes;
  EMBER_CHECK(Exporter(graph).run().SerializeToString(&bytes), "export_onnx: protobuf could not serialize the model");
  io::AtomicFile out(path);
  out.write(bytes.data(), bytes.size());
  out.commit();
}

void export_onnx(nn::Module& module, const std::vector<Tensor>& examples, const std::string& path) {
  export_onnx(trace(module, examples), path);
}

}  // namespace ember::jit
