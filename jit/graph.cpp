#include "jit/graph.h"

#include <sstream>
#include <unordered_map>

#include "core/autograd/grad_mode.h"
#include "io/serialize.h"
#include "jit/interpreter.h"

namespace ember::jit {

namespace {

constexpr const char* kFormat = "ember.graph";

nlohmann::json info_json(const ValueInfo& v) {
  return {{"name", v.name}, {"dtype", dtype_name(v.dtype)}, {"shape", v.shape}};
}

ValueInfo info_from(const nlohmann::json& j) {
  ValueInfo v;
  v.name = j.at("name").get<std::string>();
  v.dtype = parse_dtype(j.at("dtype").get<std::string>());
  v.shape = j.at("shape").get<std::vector<int64_t>>();
  return v;
}

}  // namespace

GraphModule::GraphModule(Graph graph) : graph_(std::move(graph)) {
  for (const Node& n : graph_.nodes)
    EMBER_CHECK_VALUE(is_supported(n.op), "graph: node '", n.name, "' has op '", n.op, "', which ember cannot run (opset ",
                      graph_.opset, ")");
}

std::vector<Tensor> GraphModule::forward(const std::vector<Tensor>& inputs) const {
  EMBER_CHECK_VALUE(inputs.size() == graph_.inputs.size(), "graph: expected ", graph_.inputs.size(), " inputs, found ", inputs.size());
  NoGradGuard no_grad;
  std::unordered_map<std::string, Tensor> env;
  for (const auto& [k, v] : graph_.initializers) env[k.str()] = v.to_tensor();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ValueInfo& info = graph_.inputs[i];
    const Tensor& x = inputs[i];
    bool ok = x.dim() == static_cast<int64_t>(info.shape.size());
    for (size_t d = 0; ok && d < info.shape.size(); ++d) ok = info.shape[d] < 0 || info.shape[d] == x.size(static_cast<int64_t>(d));
    std::ostringstream expected;
    for (size_t d = 0; d < info.shape.size(); ++d) expected << (d ? ", " : "") << (info.shape[d] < 0 ? std::string("batch") : std::to_string(info.shape[d]));
    EMBER_CHECK_VALUE(ok, "graph: input '", info.name, "' must have shape [", expected.str(), "], found ", x.sizes());
    EMBER_CHECK_VALUE(x.dtype() == info.dtype, "graph: input '", info.name, "' must be ", info.dtype, ", found ", x.dtype());
    env[info.name] = x;
  }
  for (const Node& n : graph_.nodes) {
    std::vector<Tensor> in;
    for (const std::string& name : n.inputs) {
      if (name.empty()) {
        in.emplace_back();
        continue;
      }
      auto it = env.find(name);
      EMBER_CHECK_VALUE(it != env.end(), "graph: node '", n.name, "' (", n.op, ") reads '", name,
                        "', which is no input, initializer or earlier node's output");
      in.push_back(it->second);
    }
    Tensor out = run_node(n, in);
    if (!n.outputs.empty()) env[n.outputs[0]] = out;
  }
  std::vector<Tensor> outputs;
  for (const ValueInfo& o : graph_.outputs) {
    auto it = env.find(o.name);
    EMBER_CHECK_VALUE(it != env.end(), "graph: output '", o.name, "' is never computed");
    outputs.push_back(it->second);
  }
  return outputs;
}

Tensor GraphModule::forward(const Tensor& input) const {
  EMBER_CHECK_VALUE(graph_.outputs.size() == 1, "graph: forward(Tensor) needs one output, the graph has ", graph_.outputs.size());
  return forward(std::vector<Tensor>{input})[0];
}

io::Value GraphModule::state_dict() const { return io::Value(graph_.initializers); }

void GraphModule::load_state_dict(const io::Value& state) {
  EMBER_CHECK_VALUE(state.is_dict(), "graph: expected a state dict, found ", state.type_name());
  for (auto& [k, v] : graph_.initializers) {
    EMBER_CHECK_VALUE(state.contains(k.str()), "graph: the state dict has no '", k.str(), "'");
    const io::Value& t = state.at(k.str());
    EMBER_CHECK_VALUE(t.is_tensor() && t.to_tensor().sizes() == v.to_tensor().sizes(), "graph: '", k.str(), "' must be a tensor of shape ",
                      v.to_tensor().sizes());
  }
  for (auto& [k, v] : graph_.initializers) v = io::Value(state.at(k.str()).to_tensor());
}

io::Value graph_to_value(const Graph& g) {
  nlohmann::json j;
  j["opset"] = g.opset;
  j["producer"] = g.producer;
  for (const auto& v : g.inputs) j["inputs"].push_back(info_json(v));
  for (const auto& v : g.outputs) j["outputs"].push_back(info_json(v));
  j["nodes"] = nlohmann::json::array();
  for (const Node& n : g.nodes) j["nodes"].push_back({{"op", n.op}, {"name", n.name}, {"inputs", n.inputs}, {"outputs", n.outputs}, {"attrs", n.attrs}});
  j["value_info"] = nlohmann::json::array();
  for (const auto& [name, v] : g.value_info) j["value_info"].push_back(info_json(v));
  io::Dict d;
  d.insert("format", std::string(kFormat));
  d.insert("version", int64_t{1});
  d.insert("graph", j.dump());
  d.insert("state_dict", io::Value(g.initializers));
  return io::Value(std::move(d));
}

bool is_graph_value(const io::Value& v) {
  return v.is_dict() && v.contains("format") && v.at("format").is_string() && v.at("format").to_string() == kFormat;
}

Graph graph_from_value(const io::Value& v, const std::string& where) {
  EMBER_CHECK_VALUE(is_graph_value(v), where, ": not a traced graph (expected a dict with format '", kFormat, "')");
  EMBER_CHECK_VALUE(v.contains("version") && v.at("version").to_int() == 1, where, ": unsupported traced-graph version");
  Graph g;
  try {
    nlohmann::json j = nlohmann::json::parse(v.at("graph").to_string());
    g.opset = j.value("opset", 17);
    g.producer = j.value("producer", std::string("ember"));
    for (const auto& x : j.at("inputs")) g.inputs.push_back(info_from(x));
    for (const auto& x : j.at("outputs")) g.outputs.push_back(info_from(x));
    for (const auto& x : j.at("nodes"))
      g.nodes.push_back({x.at("op").get<std::string>(), x.at("name").get<std::string>(), x.at("inputs").get<std::vector<std::string>>(),
                         x.at("outputs").get<std::vector<std::string>>(), x.at("attrs")});
    for (const auto& x : j.at("value_info")) {
      ValueInfo info = info_from(x);
      g.value_info[info.name] = info;
    }
  } catch (const nlohmann::json::exception& e) {
    throw ValueError(str(where, ": the graph description is malformed: ", e.what()));
  }
  const io::Value& state = v.at("state_dict");
  EMBER_CHECK_VALUE(state.is_dict(), where, ": 'state_dict' must be a dict, found ", state.type_name());
  for (const auto& [k, t] : state.dict()) {
    EMBER_CHECK_VALUE(t.is_tensor(), where, ": state_dict['", k.str(), "'] is not a tensor");
    g.initializers.insert(k.str(), t);
  }
  return g;
}

void save_graph(const Graph& g, const std::string& path) { io::save(graph_to_value(g), path); }

Graph load_graph(const std::string& path) { return graph_from_value(io::load(path), path); }

std::string describe(const Graph& g) {
  std::ostringstream out;
  auto shape = [](const std::vector<int64_t>& s) {
    std::string r = "[";
    for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + (s[i] < 0 ? std::string("batch") : std::to_string(s[i]));
    return r + "]";
  };
  out << "graph (" << g.producer << ", opset " << g.opset << "): " << g.nodes.size() << " nodes, " << g.initializers.size()
      << " initializers\n";
  for (const auto& v : g.inputs) out << "  input  " << v.name << ": " << v.dtype << " " << shape(v.shape) << "\n";
  for (const Node& n : g.nodes) {
    out << "  " << n.name << " = " << n.op << "(";
    for (size_t i = 0; i < n.inputs.size(); ++i) out << (i ? ", " : "") << n.inputs[i];
    out << ")";
    if (!n.attrs.empty()) out << " " << n.attrs.dump();
    if (auto it = g.value_info.find(n.outputs.empty() ? "" : n.outputs[0]); it != g.value_info.end())
      out << " -> " << it->second.dtype << " " << shape(it->second.shape);
    out << "\n";
  }
  for (const auto& v : g.outputs) out << "  output " << v.name << ": " << v.dtype << " " << shape(v.shape) << "\n";
  for (const auto& [k, v] : g.initializers) out << "  initializer " << k.str() << ": " << v.to_tensor().dtype() << " " << v.to_tensor().sizes() << "\n";
  return out.str();
}

}  // namespace ember::jit
