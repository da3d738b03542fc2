#include "jit/trace.h"

#include <unordered_map>

#include "core/autograd/grad_mode.h"
#include "core/autograd/node.h"
#include "core/ops/factories.h"
#include "core/trace/trace.h"

namespace ember::jit {

namespace {

class Recorder : public trace::Tracer {
 public:
  Recorder(nn::Module& module, Graph& graph) : graph_(graph) {
    for (const auto& [name, p] : module.named_parameters()) known_params_[p.impl()] = {name, p};
    for (const auto& [name, b] : module.named_buffers()) known_params_[b.impl()] = {name, b};
  }

  void add_input(const Tensor& t, const std::string& name) {
    bind(t, name, true);
    graph_.inputs.push_back(info(name, t, true));
  }

  std::string output_name(const Tensor& t) const {
    auto it = names_.find(t.impl());
    EMBER_CHECK(it != names_.end(), "trace: an output of forward was not computed by a traced op (",
                t.grad_fn() ? t.grad_fn()->name : "no grad_fn", ")");
    return it->second;
  }
  bool batched(const std::string& name) const { return batched_.count(name) && batched_.at(name); }
  ValueInfo info_of(const Tensor& t) const { return info(output_name(t), t, batched(output_name(t))); }

  void record(const std::string& op_in, const std::vector<Tensor>& inputs, const Tensor& output, const trace::Attributes& attrs_in) override {
    std::string op = op_in;
    nlohmann::json attrs = attrs_in;
    EMBER_CHECK(!(op == "BatchNormalization" && attrs.value("training", false)),
                "trace: batch_norm runs in training mode (batch statistics); trace runs modules in eval mode, "
                "and a functional batch_norm call must pass training=false and running statistics");
    attrs.erase("training");
    if (op == "Add" || op == "Sub") {
      EMBER_CHECK(attrs.value("alpha", 1.0) == 1.0, "trace: ", op, " with alpha != 1 has no export rule");
      attrs.erase("alpha");
    }
    std::string name = op + "_" + std::to_string(graph_.nodes.size());
    Node node{op, name, {}, {name}, attrs};
    for (const Tensor& t : inputs) node.inputs.push_back(t.defined() ? name_of(t, op) : "");
    bool batch = !node.inputs.empty() && !node.inputs[0].empty() && batched(node.inputs[0]);
    if (op == "Gather") batch = batched(node.inputs[1]);  // embedding: the indices carry the batch
    if (op == "AdaptiveAveragePool") rewrite_adaptive_pool(node, inputs[0]);
    if (op == "Flatten") rewrite_flatten(node, inputs[0], output, batch);
    if (op == "Reshape") reshape_shape_input(node, inputs[0], output, batch);
    if (op == "Concat" && attrs.value("axis", 0) == 0) fixed_batch();
    graph_.nodes.push_back(node);
    bind(output, name, batch);
    graph_.value_info[name] = info(name, output, batch);
  }

 private:
  static ValueInfo info(const std::string& name, const Tensor& t, bool batch) {
    ValueInfo v{name, t.dtype(), std::vector<int64_t>(t.sizes().begin(), t.sizes().end())};
    if (batch && !v.shape.empty()) v.shape[0] = -1;
    return v;
  }

  void bind(const Tensor& t, const std::string& name, bool batch) {
    names_[t.impl()] = name;
    keep_.push_back(t);  // keeps the address from being reused by a later tensor
    batched_[name] = batch;
  }

  // The name of an op's input: a value seen before, a parameter or buffer, or a new constant.
  std::string name_of(const Tensor& t, const std::string& consumer) {
    if (auto it = names_.find(t.impl()); it != names_.end()) return it->second;
    if (auto it = known_params_.find(t.impl()); it != known_params_.end()) {
      graph_.initializers.insert(it->second.first, it->second.second.detach());
      bind(t, it->second.first, false);
      return it->second.first;
    }
    if (t.grad_fn())
      throw Error(str("trace: ", consumer, " (node ", graph_.nodes.size(), ") uses a tensor computed by ", t.grad_fn()->name,
                      ", an operation with no export rule; only ops listed in jit::supported_ops() can be traced"));
    std::string name = "constant_" + std::to_string(constants_++);
    graph_.initializers.insert(name, t.detach().clone());
    bind(t, name, false);
    return name;
  }

  Tensor shape_constant(Node& node, std::vector<int64_t> shape) {
    std::string name = node.name + "_shape";
    Tensor s = tensor(shape);
    graph_.initializers.insert(name, s);
    node.inputs.push_back(name);
    return s;
  }

  void reshape_shape_input(Node& node, const Tensor& in, const Tensor& out, bool& batch) {
    std::vector<int64_t> shape(out.sizes().begin(), out.sizes().end());
    if (batch && !shape.empty() && in.dim() > 0 && shape[0] == in.size(0))
      shape[0] = 0;  // ONNX: copy the input's dim 0, the symbolic batch
    else if (batch)
      fixed_batch(), batch = false;
    node.attrs = nlohmann::json::object();
    shape_constant(node, shape);
  }

  void rewrite_flatten(Node& node, const Tensor& in, const Tensor& out, bool& batch) {
    int64_t axis = node.attrs.value("axis", 1), end = node.attrs.value("end", in.dim() - 1);
    if (axis == 1 && end == in.dim() - 1) {  // torch's flatten(1) is ONNX's Flatten(axis=1)
      node.attrs = {{"axis", 1}};
      return;
    }
    node.op = "Reshape";
    reshape_shape_input(node, in, out, batch);
  }

  void rewrite_adaptive_pool(Node& node, const Tensor& in) {
    auto out = node.attrs["output_size"].get<std::vector<int64_t>>();
    int64_t h = in.size(-2), w = in.size(-1);
    if (out[0] == 1 && out[1] == 1) {
      node.op = "GlobalAveragePool";
      node.attrs = nlohmann::json::object();
    } else if (h % out[0] == 0 && w % out[1] == 0) {  // equal windows: a plain average pool
      node.op = "AveragePool";
      node.attrs = {{"kernel_shape", {h / out[0], w / out[1]}}, {"strides", {h / out[0], w / out[1]}}};
    }
  }

  // An op mixed the batch into another dimension: the graph is for the example's batch size only.
  void fixed_batch() { fixed_ = true; }

 public:
  bool fixed_ = false;

 private:
  Graph& graph_;
  std::unordered_map<const TensorImpl*, std::pair<std::string, Tensor>> known_params_;
  std::unordered_map<const TensorImpl*, std::string> names_;
  std::map<std::string, bool> batched_;
  std::vector<Tensor> keep_;
  int constants_ = 0;
};

// Installs the recorder for its lifetime, restoring the module's mode and the previous tracer.
class Session {
 public:
  Session(nn::Module& m, Recorder& r) : module_(m), was_training_(m.is_training()), previous_(trace::set_active(&r)) { m.eval(); }
  ~Session() {
    trace::set_active(previous_);
    module_.train(was_training_);
  }

 private:
  nn::Module& module_;
  bool was_training_;
  trace::Tracer* previous_;
};

}  // namespace

Graph trace(nn::Module& module, const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& fn,
            const std::vector<Tensor>& examples) {
  EMBER_CHECK_VALUE(!examples.empty(), "trace: expected at least one example input");
  Graph g;
  Recorder recorder(module, g);
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < examples.size(); ++i) {
    // A float input requires grad while tracing, so that anything computed from it by an op
    // without an export rule carries a grad_fn and is refused rather than frozen as a constant.
    Tensor x = examples[i].is_floating_point() ? examples[i].detach().clone().requires_grad_() : examples[i].detach().clone();
    recorder.add_input(x, i == 0 ? "input" : "input_" + std::to_string(i));
    inputs.push_back(x);
  }
  std::vector<Tensor> outputs;
  {
    EnableGradGuard grad;
    Session session(module, recorder);
    outputs = fn(inputs);
  }
  for (const Tensor& out : outputs) g.outputs.push_back(recorder.info_of(out));
  if (recorder.fixed_) {  // the batch is not symbolic anywhere
    for (auto* list : {&g.inputs, &g.outputs})
      for (size_t i = 0; i < list->size(); ++i) {
        const Tensor& t = list == &g.inputs ? inputs[i] : outputs[i];
        (*list)[i].shape.assign(t.sizes().begin(), t.sizes().end());
      }
    for (auto& [name, v] : g.value_info)
      if (!v.shape.empty() && v.shape[0] == -1) v.shape[0] = inputs[0].dim() > 0 ? inputs[0].size(0) : 1;
  }
  return g;
}

Graph trace(nn::Module& module, const std::vector<Tensor>& examples) {
  EMBER_CHECK_VALUE(examples.size() == 1, "trace: a Module's forward takes one input, found ", examples.size(),
                    " examples; pass a function for several");
  return trace(module, [&](const std::vector<Tensor>& in) { return std::vector<Tensor>{module.forward(in[0])}; }, examples);
}

}  // namespace ember::jit
