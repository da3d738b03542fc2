// ember: inspect, convert and compare checkpoint files; plot training curves.
//
// Any unreadable, truncated, corrupted or hostile input exits with status 2 and one line on stderr
// saying what is wrong and where; `diff` exits 1 when the files differ.
#include <cstdio>
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include "tools/commands.h"

namespace {

const char* kUsage =
    "usage: ember <command> ...\n"
    "  inspect FILE [--json [--values]]   show what a checkpoint holds (keys, dtypes, shapes, shared storage)\n"
    "  convert IN OUT [--to pt|safetensors] [--map-location cpu]\n"
    "                                     rewrite a checkpoint in the other format (tensors keep their\n"
    "                                     saved device unless --map-location says otherwise)\n"
    "  diff A B [--atol X]                compare two checkpoints value by value (exit 1 if they differ)\n"
    "  plot RUN_DIR [RUN_DIR...] -o curves.svg   draw loss and accuracy from metrics.jsonl\n"
    "  export MODEL_FILE --example-shape 1,1,28,28 -o model.onnx\n"
    "                                     trace a model file (nn::save_model) or a traced graph and write\n"
    "                                     ONNX (opset 17, symbolic batch), or a traced graph with -o x.pt\n"
    "  infer MODEL.onnx|TRACED_FILE --input x.pt -o y.pt\n"
    "                                     run it in eval mode on the tensor(s) in x.pt, save the output(s)\n"
    "  launch -n N [--max-restarts K] [--grace S] -- PROGRAM ARGS...\n"
    "                                     run N processes of a distributed program; restart them all\n"
    "                                     (up to K times) when one fails, forward SIGTERM/SIGINT\n";

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n') c = ';';
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "inspect") return ember::tools::inspect(args);
    if (command == "convert") return ember::tools::convert(args);
    if (command == "diff") return ember::tools::diff(args);
    if (command == "plot") return ember::tools::plot(args);
    if (command == "launch") return ember::tools::launch(args);
    if (command == "export") return ember::tools::export_model(args);
    if (command == "infer") return ember::tools::infer(args);
    std::cerr << "ember: unknown command '" << command << "'\n" << kUsage;
    return 2;
  } catch (const ember::tools::UsageError& e) {
    std::cerr << "ember " << command << ": " << e.message << "\n" << kUsage;
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "ember " << command << ": error: out of memory\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ember " << command << ": error: " << one_line(e.what()) << "\n";
    return 2;
  }
}
