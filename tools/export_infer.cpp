// ember export / ember infer: ONNX and traced graphs from the command line.
#include <iostream>
#include <sstream>

#include "ember.h"
#include "jit/graph.h"
#include "jit/onnx/onnx.h"
#include "jit/trace.h"
#include "tools/commands.h"

namespace ember::tools {

namespace {

std::string take(const std::vector<std::string>& args, size_t& i, const std::string& flag) {
  if (i + 1 >= args.size()) throw UsageError{flag + " needs a value"};
  return args[++i];
}

Shape parse_shape(const std::string& text) {
  Shape s;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    char* end = nullptr;
    long long d = std::strtoll(part.c_str(), &end, 10);
    if (part.empty() || *end || d <= 0) throw UsageError{"--example-shape must be positive integers separated by commas, found '" + text + "'"};
    s.push_back(d);
  }
  if (s.empty()) throw UsageError{"--example-shape is empty"};
  return s;
}

// A saved traced graph, an ONNX file, or (for export) a model file traced with an example.
jit::Graph graph_of(const std::string& file, const Shape* example_shape, DType example_dtype) {
  if (jit::looks_like_onnx(file)) return jit::load_onnx(file);
  io::Value v = io::load(file);
  if (jit::is_graph_value(v)) return jit::graph_from_value(v, file);
  if (!example_shape) throw Error(file + ": a model file, not a graph: export it first (ember export FILE --example-shape ...)");
  std::shared_ptr<nn::Module> model = nn::load_model(file);
  Tensor example = example_dtype == kInt64 ? zeros(*example_shape, kInt64) : zeros(*example_shape, example_dtype);
  return jit::trace(*model, {example});
}

std::vector<Tensor> read_inputs(const std::string& file) {
  io::Value v = io::load(file);
  if (v.is_tensor()) return {v.to_tensor()};
  std::vector<Tensor> inputs;
  if (v.is_list() || v.is_tuple()) {
    for (const io::Value& x : v.is_list() ? v.list() : v.tuple()) {
      if (!x.is_tensor()) throw Error(file + ": expected a tensor, or a list or tuple of tensors, found a " + x.type_name() + " inside");
      inputs.push_back(x.to_tensor());
    }
    return inputs;
  }
  throw Error(file + ": expected a tensor, or a list or tuple of tensors, found " + v.type_name());
}

}  // namespace

int export_model(const std::vector<std::string>& args) {
  std::string file, out, shape_text, dtype_text = "float32";
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-o") out = take(args, i, "-o");
    else if (args[i] == "--example-shape") shape_text = take(args, i, "--example-shape");
    else if (args[i] == "--example-dtype") dtype_text = take(args, i, "--example-dtype");
    else if (!args[i].empty() && args[i][0] == '-') throw UsageError{"unknown option " + args[i]};
    else if (file.empty()) file = args[i];
    else throw UsageError{"expected one MODEL_FILE"};
  }
  if (file.empty() || out.empty()) throw UsageError{"expected MODEL_FILE and -o OUT"};
  Shape shape;
  if (!shape_text.empty()) shape = parse_shape(shape_text);
  jit::Graph g = graph_of(file, shape_text.empty() ? nullptr : &shape, parse_dtype(dtype_text));
  bool to_graph = out.size() > 3 && out.substr(out.size() - 3) == ".pt";
  if (to_graph) jit::save_graph(g, out);  // a traced graph (torch.save format) instead of ONNX
  else jit::export_onnx(g, out);
  std::cout << "wrote " << out << (to_graph ? " (traced graph)" : " (ONNX, opset 17)") << ": " << g.nodes.size() << " nodes, "
            << g.initializers.size() << " initializers\n";
  return 0;
}

int infer(const std::vector<std::string>& args) {
  std::string file, input, out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-o") out = take(args, i, "-o");
    else if (args[i] == "--input") input = take(args, i, "--input");
    else if (!args[i].empty() && args[i][0] == '-') throw UsageError{"unknown option " + args[i]};
    else if (file.empty()) file = args[i];
    else throw UsageError{"expected one MODEL"};
  }
  if (file.empty() || input.empty() || out.empty()) throw UsageError{"expected MODEL --input x.pt -o y.pt"};
  jit::GraphModule m(graph_of(file, nullptr, kFloat32));
  std::vector<Tensor> outputs = m.forward(read_inputs(input));
  if (outputs.size() == 1) {
    io::save(io::Value(outputs[0]), out);
  } else {
    io::Tuple tuple;
    for (const Tensor& t : outputs) tuple.items.push_back(io::Value(t));
    io::save(io::Value(std::move(tuple)), out);
  }
  std::cout << "wrote " << out << ": " << outputs.size() << " output(s), the first of shape " << outputs[0].sizes() << "\n";
  return 0;
}

int inspect_graph(const std::string& file) {
  std::cout << file << ": " << jit::describe(jit::looks_like_onnx(file) ? jit::load_onnx(file) : jit::load_graph(file));
  return 0;
}

}  // namespace ember::tools
