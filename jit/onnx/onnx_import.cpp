// ONNX ModelProto -> Graph: what torch.onnx.export (PyTorch 1.13, opsets 13-17) and ember write.
#include <onnx/onnx_pb.h>

#include <fstream>
#include <set>
#include <sstream>

#include "core/ops/factories.h"
#include "jit/interpreter.h"
#include "jit/onnx/onnx.h"
#include "jit/onnx/onnx_types.h"

namespace ember::jit {

namespace {

nlohmann::json attribute_json(const onnx::AttributeProto& a, const std::string& where) {
  switch (a.type()) {
    case onnx::AttributeProto::INT: return a.i();
    case onnx::AttributeProto::FLOAT: return a.f();
    case onnx::AttributeProto::STRING: return a.s();
    case onnx::AttributeProto::INTS: return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case onnx::AttributeProto::FLOATS: return std::vector<float>(a.floats().begin(), a.floats().end());
    default: throw ValueError(str(where, ": attribute '", a.name(), "' has a type (", a.type(), ") ember does not read"));
  }
}

ValueInfo value_info(const onnx::ValueInfoProto& v, const std::string& where) {
  ValueInfo info;
  info.name = v.name();
  EMBER_CHECK_VALUE(v.type().has_tensor_type(), where, ": '", v.name(), "' is not a tensor");
  const auto& t = v.type().tensor_type();
  info.dtype = ember_dtype(t.elem_type(), where + " '" + v.name() + "'");
  for (const auto& d : t.shape().dim()) info.shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
  return info;
}

}  // namespace

Graph load_onnx(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EMBER_CHECK_VALUE(in.good(), "load_onnx: cannot open ", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_onnx(buffer.str(), path);
}

Graph parse_onnx(const std::string& bytes, const std::string& path) {
  onnx::ModelProto model;
  EMBER_CHECK_VALUE(!bytes.empty() && model.ParseFromString(bytes) && model.has_graph(), "load_onnx: ", path,
                    " is not a valid ONNX model (truncated or corrupt protobuf, ", bytes.size(), " bytes)");
  int64_t opset = -1;
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  EMBER_CHECK_VALUE(opset >= 13 && opset <= 17, "load_onnx: ", path, " uses opset ", opset, " of the default domain; ember reads 13 to 17");
  const onnx::GraphProto& gp = model.graph();
  Graph g;
  g.opset = opset;
  g.producer = model.producer_name().empty() ? "unknown" : model.producer_name();
  std::set<std::string> defined;
  for (const auto& init : gp.initializer()) {
    g.initializers.insert(init.name(), from_tensor_proto(init, path + ": initializer '" + init.name() + "'"));
    defined.insert(init.name());
  }
  for (const auto& v : gp.input()) {
    if (defined.count(v.name())) continue;  // older exporters list initializers as inputs too
    g.inputs.push_back(value_info(v, path + ": input"));
    defined.insert(v.name());
  }
  for (const auto& v : gp.output()) g.outputs.push_back(value_info(v, path + ": output"));
  for (const auto& v : gp.value_info())
    if (v.type().has_tensor_type()) try {
        g.value_info[v.name()] = value_info(v, path);
      } catch (const ValueError&) {  // a value of a type ember cannot hold: its info is not needed to run
      }
  int index = 0;
  for (const auto& np : gp.node()) {
    std::string name = np.name().empty() ? np.op_type() + "_" + std::to_string(index) : np.name();
    ++index;
    std::string where = str(path, ": node '", name, "' (", np.op_type(), ", opset ", opset, ")");
    EMBER_CHECK_VALUE(np.domain().empty() || np.domain() == "ai.onnx", where, ": domain '", np.domain(), "' is not supported");
    if (np.op_type() == "Constant") {  // folded into an initializer
      EMBER_CHECK_VALUE(np.output_size() == 1 && np.attribute_size() == 1, where, ": expected one output and one value attribute");
      const auto& a = np.attribute(0);
      Tensor value;
      if (a.has_t()) value = from_tensor_proto(a.t(), where);
      else if (a.name() == "value_int") value = tensor(std::vector<int64_t>{a.i()}).reshape({});
      else if (a.name() == "value_ints") value = tensor(std::vector<int64_t>(a.ints().begin(), a.ints().end()));
      else if (a.name() == "value_float") value = tensor(std::vector<float>{a.f()}).reshape({});
      else throw ValueError(str(where, ": Constant with attribute '", a.name(), "' is not supported"));
      g.initializers.insert(np.output(0), value);
      defined.insert(np.output(0));
      continue;
    }
    EMBER_CHECK_VALUE(is_supported(np.op_type()), where, ": ember cannot run this op");
    Node n{np.op_type(), name, {}, {}, nlohmann::json::object()};
    for (const auto& i : np.input()) {
      EMBER_CHECK_VALUE(i.empty() || defined.count(i), where, ": reads '", i, "', which no input, initializer or earlier node defines");
      n.inputs.push_back(i);
    }
    EMBER_CHECK_VALUE(np.output_size() >= 1, where, ": has no output");
    for (const auto& o : np.output()) n.outputs.push_back(o);
    defined.insert(np.output(0));  // Dropout's optional mask output is never read by an eval graph
    for (const auto& a : np.attribute()) n.attrs[a.name()] = attribute_json(a, where);
    g.nodes.push_back(std::move(n));
  }
  for (const auto& o : g.outputs) EMBER_CHECK_VALUE(defined.count(o.name), "load_onnx: ", path, ": output '", o.name, "' is never computed");
  return g;
}

}  // namespace ember::jit
