// One node of a Graph, run with ember's ops (jit/interpreter.cpp lists each op's semantics).
#pragma once

#include <string>
#include <vector>

#include "jit/graph.h"

namespace ember::jit {

bool is_supported(const std::string& op);
// The node's first output from its inputs (absent optional inputs are undefined tensors).
Tensor run_node(const Node& node, const std::vector<Tensor>& inputs);

}  // namespace ember::jit
