#include "core/ops/activation.h"

#include "core/autograd/node.h"
#include "core/ops/elementwise.h"

#include "core/trace/trace.h"

namespace ember {

using autograd::record;
using Grads = std::vector<Tensor>;

namespace {

// y = op(x); dy/dx applied by `grad_op` to (grad, saved), saved being x or y.
Tensor activation(const char* node, UnaryOp op, BinaryOp grad_op, const Tensor& x, double param,
                  bool save_output) {
  EMBER_CHECK_VALUE(is_floating(x.dtype()), node, ": expected a floating-point tensor, found ", x.dtype());
  Tensor out = unary_kernel(op, x, {param, 0}, x.dtype());
  Tensor saved = save_output ? out.detach() : x.detach();
  return record(node, out, {x}, [saved, grad_op, param](const Tensor& g) {
    return Grads{binary_kernel(grad_op, g, saved, param, "activation backward", g.dtype(), g.dtype())};
  }, {saved});
}

}  // namespace

Tensor relu(const Tensor& x) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    return activation("ReluBackward0", UnaryOp::Relu, BinaryOp::ReluBackward, x, 0, false);
  }();
  return !traced.recording() ? result : traced.done("Relu", {x}, result);
}
Tensor leaky_relu(const Tensor& x, double slope) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    return activation("LeakyReluBackward0", UnaryOp::LeakyRelu, BinaryOp::LeakyReluBackward, x, slope, false);
  }();
  return !traced.recording() ? result : traced.done("LeakyRelu", {x}, result, {{"alpha", slope}});
}
Tensor gelu(const Tensor& x) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    return activation("GeluBackward0", UnaryOp::Gelu, BinaryOp::GeluBackward, x, 0, false);
  }();
  return !traced.recording() ? result : traced.done("Gelu", {x}, result);
}
Tensor sigmoid(const Tensor& x) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    return activation("SigmoidBackward0", UnaryOp::Sigmoid, BinaryOp::SigmoidBackward, x, 0, true);
  }();
  return !traced.recording() ? result : traced.done("Sigmoid", {x}, result);
}
Tensor tanh(const Tensor& x) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    return activation("TanhBackward0", UnaryOp::Tanh, BinaryOp::TanhBackward, x, 0, true);
  }();
  return !traced.recording() ? result : traced.done("Tanh", {x}, result);
}
Tensor softplus(const Tensor& x) {
  return activation("SoftplusBackward0", UnaryOp::Softplus, BinaryOp::SoftplusBackward, x, 0, false);
}

}  // namespace ember
