// Elementwise CPU kernels: copy/convert, fill, unary and binary maps, where, addcmul.
// Each op's math is one lambda here; core/ops holds the shapes, dtypes and autograd.
#include <cmath>
#include <limits>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/strided_loop.h"

namespace ember::cpu {

namespace {

template <size_t N>
Operands<N> operands(const Shape& shape, std::array<const Tensor*, N> ts) {
  Operands<N> ops;
  for (size_t k = 0; k < N; ++k) {
    ops.ptrs[k] = static_cast<char*>(ts[k]->data());
    ops.byte_strides[k] = byte_strides_for(*ts[k], shape);
  }
  return ops;
}

// out[i] = f(in[i]) with out of type O and in of type I.
template <class O, class I, class F>
void map1(const Tensor& out, const Tensor& in, F f) {
  strided_loop<2>(out.sizes(), operands<2>(out.sizes(), {&out, &in}),
                  [&](std::array<char*, 2> p, std::array<int64_t, 2> s, int64_t n) {
                    O* o = reinterpret_cast<O*>(p[0]);
                    const I* x = reinterpret_cast<const I*>(p[1]);
                    if (s[0] == sizeof(O) && s[1] == sizeof(I)) {
                      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
                    } else {
                      for (int64_t i = 0; i < n; ++i)
                        *reinterpret_cast<O*>(p[0] + i * s[0]) =
                            f(*reinterpret_cast<const I*>(p[1] + i * s[1]));
                    }
                  });
}

// out[i] = f(a[i], b[i]).
template <class O, class I, class F>
void map2(const Tensor& out, const Tensor& a, const Tensor& b, F f) {
  strided_loop<3>(out.sizes(), operands<3>(out.sizes(), {&out, &a, &b}),
                  [&](std::array<char*, 3> p, std::array<int64_t, 3> s, int64_t n) {
                    if (s[0] == sizeof(O) && s[1] == sizeof(I) && s[2] == sizeof(I)) {
                      O* o = reinterpret_cast<O*>(p[0]);
                      const I* x = reinterpret_cast<const I*>(p[1]);
                      const I* y = reinterpret_cast<const I*>(p[2]);
                      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
                    } else if (s[0] == sizeof(O) && s[1] == sizeof(I) && s[2] == 0) {
                      O* o = reinterpret_cast<O*>(p[0]);
                      const I* x = reinterpret_cast<const I*>(p[1]);
                      const I y = *reinterpret_cast<const I*>(p[2]);
                      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y);
                    } else {
                      for (int64_t i = 0; i < n; ++i)
                        *reinterpret_cast<O*>(p[0] + i * s[0]) =
                            f(*reinterpret_cast<const I*>(p[1] + i * s[1]),
                              *reinterpret_cast<const I*>(p[2] + i * s[2]));
                    }
                  });
}

template <class T>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}
template <class T>
T softplus(T x) {  // log(1 + e^x) without overflow
  return x > T(20) ? x : std::log1p(std::exp(x));
}
constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

template <class T>
void unary_float(UnaryOp op, const Tensor& out, const Tensor& in, UnaryParams p) {
  const T a = static_cast<T>(p.a);
  switch (op) {
    case UnaryOp::Exp: return map1<T, T>(out, in, [](T x) { return std::exp(x); });
    case UnaryOp::Log: return map1<T, T>(out, in, [](T x) { return std::log(x); });
    case UnaryOp::Sqrt: return map1<T, T>(out, in, [](T x) { return std::sqrt(x); });
    case UnaryOp::Rsqrt: return map1<T, T>(out, in, [](T x) { return T(1) / std::sqrt(x); });
    case UnaryOp::Sigmoid: return map1<T, T>(out, in, [](T x) { return sigmoid(x); });
    case UnaryOp::Tanh: return map1<T, T>(out, in, [](T x) { return std::tanh(x); });
    case UnaryOp::Erf: return map1<T, T>(out, in, [](T x) { return std::erf(x); });
    case UnaryOp::Softplus: return map1<T, T>(out, in, [](T x) { return softplus(x); });
    case UnaryOp::Gelu:  // exact (erf) form, PyTorch's default
      return map1<T, T>(out, in, [](T x) { return x * T(0.5) * (T(1) + std::erf(x * T(kInvSqrt2))); });
    case UnaryOp::LeakyRelu: return map1<T, T>(out, in, [a](T x) { return x > T(0) ? x : x * a; });
    case UnaryOp::PowScalar: return map1<T, T>(out, in, [a](T x) { return std::pow(x, a); });
    default: break;
  }
  throw Error("unary: unhandled float op");
}

template <class T>
void unary_any(UnaryOp op, const Tensor& out, const Tensor& in, UnaryParams p) {
  const T a = static_cast<T>(p.a);
  switch (op) {
    case UnaryOp::Neg: return map1<T, T>(out, in, [](T x) { return static_cast<T>(-x); });
    case UnaryOp::Abs: return map1<T, T>(out, in, [](T x) { return x < T(0) ? static_cast<T>(-x) : x; });
    case UnaryOp::Sign: return map1<T, T>(out, in, [](T x) { return static_cast<T>((T(0) < x) - (x < T(0))); });
    case UnaryOp::Relu: return map1<T, T>(out, in, [](T x) { return x > T(0) ? x : T(0); });
    case UnaryOp::AddScalar: return map1<T, T>(out, in, [a](T x) { return static_cast<T>(x + a); });
    case UnaryOp::MulScalar: return map1<T, T>(out, in, [a](T x) { return static_cast<T>(x * a); });
    case UnaryOp::RSubScalar: return map1<T, T>(out, in, [a](T x) { return static_cast<T>(a - x); });
    case UnaryOp::Clamp: {
      // NaN bounds never happen: the ops layer passes +-inf (or the type's limits) for "none".
      double lo = p.a, hi = p.b;
      return map1<T, T>(out, in, [lo, hi](T x) {
        double v = static_cast<double>(x);
        return std::isnan(v) ? x : static_cast<T>(v < lo ? lo : (v > hi ? hi : v));
      });
    }
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) return unary_float<T>(op, out, in, p);
  throw ValueError(str("unary op expects a floating-point tensor, found ", out.dtype()));
}

template <class T>
void binary_typed(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, double param) {
  const T alpha = static_cast<T>(param);
  using B = bool;
  switch (op) {
    case BinaryOp::Add:
      if (param == 1.0) return map2<T, T>(out, a, b, [](T x, T y) { return static_cast<T>(x + y); });
      return map2<T, T>(out, a, b, [alpha](T x, T y) { return static_cast<T>(x + alpha * y); });
    case BinaryOp::Sub:
      if (param == 1.0) return map2<T, T>(out, a, b, [](T x, T y) { return static_cast<T>(x - y); });
      return map2<T, T>(out, a, b, [alpha](T x, T y) { return static_cast<T>(x - alpha * y); });
    case BinaryOp::Mul: return map2<T, T>(out, a, b, [](T x, T y) { return static_cast<T>(x * y); });
    case BinaryOp::Div: return map2<T, T>(out, a, b, [](T x, T y) { return static_cast<T>(x / y); });
    case BinaryOp::Maximum:
      return map2<T, T>(out, a, b, [](T x, T y) { return (x != x || x > y) ? x : y; });
    case BinaryOp::Minimum:
      return map2<T, T>(out, a, b, [](T x, T y) { return (x != x || x < y) ? x : y; });
    case BinaryOp::Eq: return map2<B, T>(out, a, b, [](T x, T y) { return x == y; });
    case BinaryOp::Ne: return map2<B, T>(out, a, b, [](T x, T y) { return x != y; });
    case BinaryOp::Lt: return map2<B, T>(out, a, b, [](T x, T y) { return x < y; });
    case BinaryOp::Le: return map2<B, T>(out, a, b, [](T x, T y) { return x <= y; });
    case BinaryOp::Gt: return map2<B, T>(out, a, b, [](T x, T y) { return x > y; });
    case BinaryOp::Ge: return map2<B, T>(out, a, b, [](T x, T y) { return x >= y; });
    case BinaryOp::ReluBackward:
      return map2<T, T>(out, a, b, [](T g, T x) { return x > T(0) ? g : T(0); });
    default: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case BinaryOp::Pow: return map2<T, T>(out, a, b, [](T x, T y) { return std::pow(x, y); });
      case BinaryOp::LeakyReluBackward:
        return map2<T, T>(out, a, b, [alpha](T g, T x) { return x > T(0) ? g : g * alpha; });
      case BinaryOp::GeluBackward:
        return map2<T, T>(out, a, b, [](T g, T x) {
          T cdf = T(0.5) * (T(1) + std::erf(x * T(kInvSqrt2)));
          T pdf = T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
          return g * (cdf + x * pdf);
        });
      case BinaryOp::SigmoidBackward:
        return map2<T, T>(out, a, b, [](T g, T y) { return g * y * (T(1) - y); });
      case BinaryOp::TanhBackward:
        return map2<T, T>(out, a, b, [](T g, T y) { return g * (T(1) - y * y); });
      case BinaryOp::SoftplusBackward:
        return map2<T, T>(out, a, b, [](T g, T x) { return g * sigmoid(x); });
      default: break;
    }
  }
  throw ValueError(str("binary op expects a floating-point tensor, found ", a.dtype()));
}

}  // namespace

void CpuBackend::copy(const Tensor& dst, const Tensor& src) {
  if (is_complex(dst.dtype()) || is_complex(src.dtype())) {  // storage and copy only: part by part
    EMBER_CHECK_VALUE(is_complex(dst.dtype()), "copy: cannot convert ", src.dtype(), " to ", dst.dtype(),
                      ": ember converts complex tensors to nothing else");
    Tensor d = dst.view_as_real();
    if (src.dtype() == dst.dtype()) return copy(d, src.view_as_real().expand(d.sizes()));
    copy(d.select(-1, 0), src);  // real -> complex: imaginary parts 0, as PyTorch
    return fill(d.select(-1, 1), 0.0);
  }
  visit_dtype(dst.dtype(), [&](auto dst_tag) {
    visit_dtype(src.dtype(), [&](auto src_tag) {
      using D = decltype(dst_tag);
      using S = decltype(src_tag);
      map1<D, S>(dst, src, [](S x) { return convert_value<D>(x); });
    });
  });
}

void CpuBackend::fill(const Tensor& dst, double value) {
  if (is_complex(dst.dtype())) {  // value + 0i
    Tensor parts = dst.view_as_real();
    fill(parts.select(-1, 0), value);
    return fill(parts.select(-1, 1), 0.0);
  }
  visit_dtype(dst.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T v;
    convert_elements(&value, kFloat64, &v, dtype_of<T>(), 1);
    strided_loop<1>(dst.sizes(), operands<1>(dst.sizes(), {&dst}),
                    [&](std::array<char*, 1> p, std::array<int64_t, 1> s, int64_t n) {
                      for (int64_t i = 0; i < n; ++i) *reinterpret_cast<T*>(p[0] + i * s[0]) = v;
                    });
  });
}

void CpuBackend::unary(UnaryOp op, const Tensor& out, const Tensor& in, UnaryParams p) {
  visit_compute(out.dtype(), "unary", [&](auto tag) { unary_any<decltype(tag)>(op, out, in, p); });
}

void CpuBackend::binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b,
                        double param) {
  visit_compute(a.dtype(), "binary", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      // bool arithmetic is logical; compare as uint8
      throw ValueError("binary op on bool tensors: convert to an integer dtype first");
    } else {
      binary_typed<T>(op, out, a, b, param);
    }
  });
}

void CpuBackend::where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) {
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    strided_loop<4>(out.sizes(), operands<4>(out.sizes(), {&out, &cond, &a, &b}),
                    [&](std::array<char*, 4> p, std::array<int64_t, 4> s, int64_t n) {
                      for (int64_t i = 0; i < n; ++i)
                        *reinterpret_cast<T*>(p[0] + i * s[0]) =
                            *reinterpret_cast<const bool*>(p[1] + i * s[1])
                                ? *reinterpret_cast<const T*>(p[2] + i * s[2])
                                : *reinterpret_cast<const T*>(p[3] + i * s[3]);
                    });
  });
}

void CpuBackend::addcmul(const Tensor& out, const Tensor& a, const Tensor& b, double value,
                         bool divide) {
  visit_compute(out.dtype(), "addcmul", [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<T>(value);
    strided_loop<3>(out.sizes(), operands<3>(out.sizes(), {&out, &a, &b}),
                    [&](std::array<char*, 3> p, std::array<int64_t, 3> s, int64_t n) {
                      for (int64_t i = 0; i < n; ++i) {
                        T& o = *reinterpret_cast<T*>(p[0] + i * s[0]);
                        T x = *reinterpret_cast<const T*>(p[1] + i * s[1]);
                        T y = *reinterpret_cast<const T*>(p[2] + i * s[2]);
                        o = static_cast<T>(divide ? o + v * (x / y) : o + v * x * y);
                      }
                    });
  });
}

}  // namespace ember::cpu
