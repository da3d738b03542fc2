#include "core/autograd/gradcheck.h"

#include <cmath>

#include "core/autograd/grad_mode.h"
#include "core/ops/factories.h"

namespace ember {

namespace {

// Address of element `linear` (row-major order) of a float64 tensor with any strides.
double* element(const Tensor& t, int64_t linear) {
  int64_t off = 0;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    off += (linear % t.size(d)) * t.stride(d);
    linear /= t.size(d);
  }
  return static_cast<double*>(t.data()) + off;
}

std::vector<double> evaluate(const GradcheckFn& fn, const std::vector<Tensor>& inputs) {
  NoGradGuard no_grad;
  return fn(inputs).to_vector<double>();
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, GradcheckOptions o) {
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad())
      EMBER_CHECK_VALUE(t.dtype() == kFloat64, "gradcheck: expected float64 inputs, found ", t.dtype());
  Tensor out = fn(inputs);
  EMBER_CHECK_VALUE(out.requires_grad(), "gradcheck: the output does not require grad");
  int64_t n_out = out.numel();

  // analytic[i][e * n_out + j] = d out_j / d input_i[e], one backward per output element.
  std::vector<std::vector<double>> analytic(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined() && inputs[i].requires_grad()) analytic[i].assign(inputs[i].numel() * n_out, 0.0);
  for (int64_t j = 0; j < n_out; ++j) {
    for (const Tensor& t : inputs)
      if (t.defined()) t.set_grad(Tensor());
    Tensor seed = zeros(out.sizes(), out.dtype());
    static_cast<double*>(seed.data())[j] = 1.0;
    out.backward(seed, true);
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (analytic[i].empty()) continue;
      Tensor g = inputs[i].grad();
      if (!g.defined()) continue;  // no path: zero gradient
      std::vector<double> gv = g.to_vector<double>();
      for (size_t e = 0; e < gv.size(); ++e) analytic[i][e * n_out + j] = gv[e];
    }
  }
  for (const Tensor& t : inputs)
    if (t.defined()) t.set_grad(Tensor());

  for (size_t i = 0; i < inputs.size(); ++i) {
    if (analytic[i].empty()) continue;
    for (int64_t e = 0; e < inputs[i].numel(); ++e) {
      double* x = element(inputs[i], e);
      double saved = *x;
      *x = saved + o.eps;
      std::vector<double> plus = evaluate(fn, inputs);
      *x = saved - o.eps;
      std::vector<double> minus = evaluate(fn, inputs);
      *x = saved;
      for (int64_t j = 0; j < n_out; ++j) {
        double numeric = (plus[j] - minus[j]) / (2 * o.eps);
        double a = analytic[i][e * n_out + j];
        if (!(std::abs(a - numeric) <= o.atol + o.rtol * std::abs(numeric)))
          return {false, str("gradcheck: input ", i, " element ", e, ", output element ", j,
                             ": analytic ", a, " vs numeric ", numeric)};
      }
    }
  }
  return {true, ""};
}

}  // namespace ember
