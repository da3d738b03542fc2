// PyTorch-like printing: tensor([[1.0000, 2.5000], ...], dtype=torch.float64, requires_grad=True).
// Floats print as "1." when all values are integral, with 4 decimals otherwise, and in scientific
// notation when the magnitudes span more than 1e3 (or pass 1e8 / fall under 1e-4), as PyTorch.
// Tensors of over 1000 elements show 3 items at each edge of every dim.
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>

#include "core/autograd/node.h"

namespace ember {

namespace {

struct Formatter {
  bool floating = false, integral = true, sci = false, is_bool = false;
  size_t width = 1;

  std::string format(double v) const {
    char buf[64];
    if (is_bool) return v != 0 ? "True" : "False";
    if (!floating) {
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    } else if (std::isnan(v)) {
      return "nan";
    } else if (std::isinf(v)) {
      return v > 0 ? "inf" : "-inf";
    } else if (sci) {
      std::snprintf(buf, sizeof buf, "%.4e", v);
    } else if (integral) {
      std::snprintf(buf, sizeof buf, "%.0f.", v);
    } else {
      std::snprintf(buf, sizeof buf, "%.4f", v);
    }
    return buf;
  }
  std::string padded(double v) const {
    std::string s = format(v);
    return std::string(width > s.size() ? width - s.size() : 0, ' ') + s;
  }
};

Formatter make_formatter(const std::vector<double>& values, DType dtype) {
  Formatter f;
  f.floating = is_floating(dtype);
  f.is_bool = dtype == kBool;
  double lo = INFINITY, hi = 0;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    if (v != std::floor(v)) f.integral = false;
    double a = std::abs(v);
    if (a != 0) lo = std::min(lo, a);
    hi = std::max(hi, a);
  }
  if (f.floating && lo != INFINITY)
    f.sci = hi / lo > 1000.0 || hi > 1e8 || lo < 1e-4;
  if (f.floating && f.integral && hi >= 1e8) f.sci = true;
  for (double v : values) f.width = std::max(f.width, f.format(v).size());
  return f;
}

// Element indices to show along a dim of size n.
std::vector<int64_t> shown(int64_t n, bool summarize) {
  std::vector<int64_t> idx;
  if (summarize && n > 6) {
    for (int64_t i = 0; i < 3; ++i) idx.push_back(i);
    idx.push_back(-1);  // the "..." marker
    for (int64_t i = n - 3; i < n; ++i) idx.push_back(i);
  } else {
    for (int64_t i = 0; i < n; ++i) idx.push_back(i);
  }
  return idx;
}

void print_dim(std::ostream& os, const Tensor& t, const Formatter& f, bool summarize, size_t indent) {
  if (t.dim() == 0) {
    os << f.padded(t.item());
    return;
  }
  os << '[';
  auto idx = shown(t.size(0), summarize);
  for (size_t k = 0; k < idx.size(); ++k) {
    if (k > 0) {
      os << ',';
      if (t.dim() == 1) os << ' ';
      else os << std::string(t.dim() - 1, '\n') << std::string(indent + 1, ' ');
    }
    if (idx[k] < 0) os << (t.dim() == 1 ? std::string(f.width > 3 ? f.width - 3 : 0, ' ') + "..." : "...");
    else print_dim(os, t.select(0, idx[k]), f, summarize, indent + 1);
  }
  os << ']';
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  Tensor c = t.detach().to(kCPU);
  bool summarize = c.numel() > 1000;
  std::vector<double> values;
  if (summarize) {  // format width from the shown values only
    std::function<void(const Tensor&)> collect = [&](const Tensor& s) {
      if (s.dim() == 0) { values.push_back(s.item()); return; }
      for (int64_t i : shown(s.size(0), true)) if (i >= 0) collect(s.select(0, i));
    };
    collect(c);
  } else {
    values = c.to_vector<double>();
  }
  Formatter f = make_formatter(values, c.dtype());
  os << "tensor(";
  if (c.numel() == 0) {
    os << "[]";
    if (c.dim() != 1) {
      os << ", size=(";
      for (int64_t i = 0; i < c.dim(); ++i) os << (i ? ", " : "") << c.size(i);
      os << (c.dim() == 1 ? ",)" : ")");
    }
  } else {
    print_dim(os, c, f, summarize, 7);
  }
  if (t.dtype() != kFloat32 && t.dtype() != kInt64 && t.dtype() != kBool) os << ", dtype=torch." << t.dtype();
  if (!t.device().is_cpu()) os << ", device='" << t.device() << "'";
  if (t.grad_fn()) os << ", grad_fn=<" << t.grad_fn()->name << '>';
  else if (t.requires_grad()) os << ", requires_grad=True";
  return os << ')';
}

std::string to_string(const Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

}  // namespace ember
