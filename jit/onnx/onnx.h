// ONNX files: export a Graph (or a Module, traced on the way) and import one for eval-mode
// inference. Built with Debian's libonnx-dev (the ONNX schema's generated protobuf classes) and
// libprotobuf; without them onnx_available() is false and these functions throw saying so.
//
//   jit::export_onnx(*model, {example}, "model.onnx");   // opset 17, symbolic batch "batch"
//   jit::GraphModule m(jit::load_onnx("model.onnx"));     // ember's or torch.onnx.export's files
//
// Export: weights are initializers named by their state-dict keys; "Linear" becomes Gemm(transB=1)
// on 2-D inputs (else Transpose + MatMul + Add), "Gelu" the Erf form PyTorch exports. Import:
// opsets 13-17 of the default domain; Constant nodes become initializers; an op ember cannot run,
// another opset or domain, a truncated or corrupt file, or a node reading an undefined value is an
// error naming the node, its op and the opset.
#pragma once

#include <string>
#include <vector>

#include "jit/graph.h"
#include "nn/module.h"

namespace ember::jit {

bool onnx_available();
void export_onnx(const Graph& graph, const std::string& path);
void export_onnx(nn::Module& module, const std::vector<Tensor>& examples, const std::string& path);
Graph load_onnx(const std::string& path);
// The same from the file's bytes; `where` names them in errors.
Graph parse_onnx(const std::string& bytes, const std::string& where);
// True when the file's first bytes look like an ONNX ModelProto (field 1, ir_version, a varint).
bool looks_like_onnx(const std::string& path);

}  // namespace ember::jit
