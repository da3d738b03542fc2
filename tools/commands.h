// The `ember` command's subcommands. Each returns the process exit status; errors are thrown and
// turned into one line on stderr with status 2 by main (tools/ember.cpp).
#pragma once

#include <string>
#include <vector>

namespace ember::tools {

// ember inspect FILE [--json [--values]]
int inspect(const std::vector<std::string>& args);
// ember convert IN OUT [--to pt|safetensors]
int convert(const std::vector<std::string>& args);
// ember diff A B [--atol X]
int diff(const std::vector<std::string>& args);
// ember plot RUN_DIR [RUN_DIR...] -o curves.svg
int plot(const std::vector<std::string>& args);

// ember launch -n N [--max-restarts K] [--grace S] -- PROGRAM ARGS...
int launch(const std::vector<std::string>& args);

// ember export MODEL_FILE [--example-shape 1,1,28,28 [--example-dtype int64]] -o model.onnx|graph.pt
int export_model(const std::vector<std::string>& args);
// ember infer MODEL.onnx|TRACED_FILE --input x.pt -o y.pt
int infer(const std::vector<std::string>& args);
// ember inspect model.onnx / traced graph: the graph's listing
int inspect_graph(const std::string& file);

// Thrown for bad command lines.
struct UsageError {
  std::string message;
};

}  // namespace ember::tools
