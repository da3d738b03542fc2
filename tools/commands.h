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

// Thrown for bad command lines.
struct UsageError {
  std::string message;
};

}  // namespace ember::tools
