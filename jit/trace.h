// trace: records what a Module's forward computes into a Graph.
//
// The module runs once, in eval mode (its mode is restored after), with grad mode on. Every op
// with an export rule (core/trace/trace.h) becomes a node; parameters and buffers become
// initializers named by their state-dict keys; tensors created inside forward become constants.
// A tensor computed by an op without an export rule is refused: the error names that op (its
// autograd name, e.g. "ExpBackward0") and the op that consumed it. Data-dependent control flow is
// not seen (only the path the example takes is recorded), as with torch.jit.trace.
//
// The batch dimension (dim 0 of every input) is symbolic where the ops allow it: a Reshape that
// keeps dim 0 keeps it symbolic (ONNX's 0); one that folds the batch into another dim makes the
// graph fixed to the example's batch size (graph outputs then have concrete shapes).
#pragma once

#include <functional>
#include <vector>

#include "jit/graph.h"
#include "nn/module.h"

namespace ember::jit {

Graph trace(nn::Module& module, const std::vector<Tensor>& examples);
// A forward of several inputs: `fn` computes the outputs from the inputs using `module`'s
// parameters and buffers (and any ops with export rules).
Graph trace(nn::Module& module, const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& fn,
            const std::vector<Tensor>& examples);

}  // namespace ember::jit
