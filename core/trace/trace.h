// The hook through which ops with an export rule tell a tracer (jit::trace) what they computed.
//
// Each such op opens an OpScope first and returns through done() when recording():
//   Tensor relu(const Tensor& x) {
//     trace::OpScope traced;
//     Tensor result = <the op>;
//     return !traced.recording() ? result : traced.done("Relu", {x}, result);
//   }
// (recording() first, so that the inputs and attributes are only built while tracing).
// Ops nest (linear reshapes, conv2d calls itself on a 3-D input): only the outermost op is
// recorded. When no tracer is active (always, outside jit::trace) done() only returns its result.
// Op names and attributes follow ONNX (opset 17), which is what jit/ exports.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ember::trace {

using Attributes = nlohmann::json;

class Tracer {
 public:
  virtual ~Tracer() = default;
  virtual void record(const std::string& op, const std::vector<Tensor>& inputs, const Tensor& output, const Attributes& attrs) = 0;
};

// The tracer of this thread, or nullptr.
Tracer* active();
// Installs `t` (nullptr removes it); returns the previous one.
Tracer* set_active(Tracer* t);

class OpScope {
 public:
  OpScope();
  ~OpScope();
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;
  // True when a tracer is active and this is the outermost op.
  bool recording() const;
  // Records the op (call only when recording()); returns `output`.
  Tensor done(const char* op, const std::vector<Tensor>& inputs, Tensor output, Attributes attrs = Attributes::object());
};

}  // namespace ember::trace
