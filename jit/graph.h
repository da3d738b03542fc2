// Graph: a model as data — nodes (ops with attributes) over named values — that runs without the
// C++ class that produced it, the counterpart of a traced TorchScript file.
//
//   jit::Graph g = jit::trace(*model, {example});   // records the forward, in eval mode
//   jit::GraphModule traced(g);
//   Tensor y = traced.forward(x);                   // same outputs as model->forward(x)
//   jit::save_graph(g, "model.traced.pt");          // a torch.save file: graph + state dict
//   jit::GraphModule again(jit::load_graph("model.traced.pt"));
//
// Ops are ONNX's (opset 17) with ONNX's semantics, plus two of ember's own that export expands
// ("Linear": y = x W^T + b on any rank; "Gelu", exact). Values are named: graph inputs
// ("input", "input_1", ...), initializers (parameters and buffers by their state-dict keys,
// constants "constant_N", shapes "Reshape_N_shape") and node outputs (the node's name). A shape's
// -1 is the symbolic batch dimension.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/value.h"

namespace ember::jit {

struct Node {
  std::string op;                    // "Conv", "Relu", "Linear", ...
  std::string name;                  // unique in the graph
  std::vector<std::string> inputs;   // value names; "" for an absent optional input
  std::vector<std::string> outputs;
  nlohmann::json attrs = nlohmann::json::object();  // ONNX attributes: ints, floats, lists, strings
};

struct ValueInfo {
  std::string name;
  DType dtype = kFloat32;
  std::vector<int64_t> shape;  // -1: the batch (symbolic)
};

struct Graph {
  std::vector<ValueInfo> inputs, outputs;
  std::vector<Node> nodes;
  io::Dict initializers;                        // name -> tensor, in order
  std::map<std::string, ValueInfo> value_info;  // every other value's dtype and shape, when known
  int64_t opset = 17;
  std::string producer = "ember";
};

// The ops a GraphModule runs (what load_onnx accepts).
const std::vector<std::string>& supported_ops();

class GraphModule {
 public:
  explicit GraphModule(Graph graph);  // throws naming the first node whose op is not supported
  std::vector<Tensor> forward(const std::vector<Tensor>& inputs) const;
  Tensor forward(const Tensor& input) const;  // one input, one output
  const Graph& graph() const { return graph_; }
  // The initializers: {name: tensor}, as a state dict.
  io::Value state_dict() const;
  void load_state_dict(const io::Value& state);  // same names and shapes, or an error naming the key

 private:
  Graph graph_;
};

// A graph as io::Value (what save_graph writes): {"format": "ember.graph", "version": 1,
// "graph": <JSON text of inputs, outputs, nodes, value_info>, "state_dict": {name: tensor}}.
io::Value graph_to_value(const Graph& g);
Graph graph_from_value(const io::Value& v, const std::string& where);
void save_graph(const Graph& g, const std::string& path);
Graph load_graph(const std::string& path);
// True when `v` is what graph_to_value writes.
bool is_graph_value(const io::Value& v);

// A readable listing: inputs, nodes with their inputs, outputs and attributes, initializers.
std::string describe(const Graph& g);

}  // namespace ember::jit
