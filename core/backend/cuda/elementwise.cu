// Elementwise CUDA kernels: unary and binary maps, where, addcmul. One kernel per element type
// with the op chosen by a switch inside it (uniform across threads, so it costs no divergence)
// keeps the number of instantiations, and the build, small. The math mirrors
// backend/cpu/elementwise.cpp line for line.
#include <type_traits>

#include "core/backend/cuda/cuda_backend.h"
#include "core/backend/cuda/launch.cuh"

namespace ember::cuda {

namespace {

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

template <class T>
__device__ T sigmoid(T x) {
  return T(1) / (T(1) + exp(-x));
}
template <class T>
__device__ T softplus(T x) {
  return x > T(20) ? x : log1p(exp(x));
}

// x < 0, false for unsigned types without comparing (nvcc warns that such a comparison is pointless).
template <class T>
__device__ bool below_zero(T x) {
  if constexpr (std::is_unsigned_v<T>) return false;
  else return x < T(0);
}

template <class T>
struct UnaryMap {
  T* out;
  const T* in;
  UnaryOp op;
  double a, b;
  __device__ void operator()(const int64_t (&o)[2]) const { out[o[0]] = apply(in[o[1]]); }
  __device__ T apply(T x) const {
    const T ta = static_cast<T>(a);
    switch (op) {
      case UnaryOp::Neg: return static_cast<T>(-x);
      case UnaryOp::Abs: return below_zero(x) ? static_cast<T>(-x) : x;
      case UnaryOp::Sign: return static_cast<T>((T(0) < x) - below_zero(x));
      case UnaryOp::Relu: return x > T(0) ? x : T(0);
      case UnaryOp::AddScalar: return static_cast<T>(x + ta);
      case UnaryOp::MulScalar: return static_cast<T>(x * ta);
      case UnaryOp::RSubScalar: return static_cast<T>(ta - x);
      case UnaryOp::Clamp: {
        double v = static_cast<double>(x);
        return v != v ? x : static_cast<T>(v < a ? a : (v > b ? b : v));
      }
      default: break;
    }
    if constexpr (std::is_floating_point_v<T>) {
      switch (op) {
        case UnaryOp::Exp: return exp(x);
        case UnaryOp::Log: return log(x);
        case UnaryOp::Sqrt: return sqrt(x);
        case UnaryOp::Rsqrt: return T(1) / sqrt(x);
        case UnaryOp::Sigmoid: return sigmoid(x);
        case UnaryOp::Tanh: return tanh(x);
        case UnaryOp::Erf: return erf(x);
        case UnaryOp::Softplus: return softplus(x);
        case UnaryOp::Gelu: return x * T(0.5) * (T(1) + erf(x * T(kInvSqrt2)));
        case UnaryOp::LeakyRelu: return x > T(0) ? x : x * ta;
        case UnaryOp::PowScalar: return pow(x, ta);
        default: break;
      }
    }
    return x;  // unreachable: the host checked the op against the dtype
  }
};

bool is_float_only(UnaryOp op) {
  switch (op) {
    case UnaryOp::Neg: case UnaryOp::Abs: case UnaryOp::Sign: case UnaryOp::Relu: case UnaryOp::AddScalar:
    case UnaryOp::MulScalar: case UnaryOp::RSubScalar: case UnaryOp::Clamp:
      return false;
    default:
      return true;
  }
}

bool is_comparison(BinaryOp op) {
  return op == BinaryOp::Eq || op == BinaryOp::Ne || op == BinaryOp::Lt || op == BinaryOp::Le ||
         op == BinaryOp::Gt || op == BinaryOp::Ge;
}

bool is_float_only(BinaryOp op) {
  return op == BinaryOp::Pow || op == BinaryOp::LeakyReluBackward || op == BinaryOp::GeluBackward ||
         op == BinaryOp::SigmoidBackward || op == BinaryOp::TanhBackward || op == BinaryOp::SoftplusBackward;
}

template <class T>
struct BinaryMap {
  T* out;
  const T* a;
  const T* b;
  BinaryOp op;
  double param;
  __device__ void operator()(const int64_t (&o)[3]) const { out[o[0]] = apply(a[o[1]], b[o[2]]); }
  __device__ T apply(T x, T y) const {
    const T alpha = static_cast<T>(param);
    switch (op) {
      case BinaryOp::Add: return param == 1.0 ? static_cast<T>(x + y) : static_cast<T>(x + alpha * y);
      case BinaryOp::Sub: return param == 1.0 ? static_cast<T>(x - y) : static_cast<T>(x - alpha * y);
      case BinaryOp::Mul: return static_cast<T>(x * y);
      case BinaryOp::Div: return static_cast<T>(x / y);
      case BinaryOp::Maximum: return (x != x || x > y) ? x : y;
      case BinaryOp::Minimum: return (x != x || x < y) ? x : y;
      case BinaryOp::ReluBackward: return y > T(0) ? x : T(0);
      default: break;
    }
    if constexpr (std::is_floating_point_v<T>) {
      switch (op) {
        case BinaryOp::Pow: return pow(x, y);
        case BinaryOp::LeakyReluBackward: return y > T(0) ? x : x * alpha;
        case BinaryOp::GeluBackward: {
          T cdf = T(0.5) * (T(1) + erf(y * T(kInvSqrt2)));
          T pdf = T(kInvSqrt2Pi) * exp(T(-0.5) * y * y);
          return x * (cdf + y * pdf);
        }
        case BinaryOp::SigmoidBackward: return x * y * (T(1) - y);
        case BinaryOp::TanhBackward: return x * (T(1) - y * y);
        case BinaryOp::SoftplusBackward: return x * sigmoid(y);
        default: break;
      }
    }
    return x;  // unreachable: the host checked the op against the dtype
  }
};

template <class T>
struct CompareMap {
  bool* out;
  const T* a;
  const T* b;
  BinaryOp op;
  __device__ void operator()(const int64_t (&o)[3]) const {
    T x = a[o[1]], y = b[o[2]];
    bool r = false;
    switch (op) {
      case BinaryOp::Eq: r = x == y; break;
      case BinaryOp::Ne: r = x != y; break;
      case BinaryOp::Lt: r = x < y; break;
      case BinaryOp::Le: r = x <= y; break;
      case BinaryOp::Gt: r = x > y; break;
      default: r = x >= y; break;
    }
    out[o[0]] = r;
  }
};

// where() moves raw elements: one instantiation per element size covers every dtype.
template <class Bits>
struct WhereMap {
  Bits* out;
  const bool* cond;
  const Bits* a;
  const Bits* b;
  __device__ void operator()(const int64_t (&o)[4]) const { out[o[0]] = cond[o[1]] ? a[o[2]] : b[o[3]]; }
};

template <class T>
struct AddcmulMap {
  T* out;
  const T* a;
  const T* b;
  T value;
  bool divide;
  __device__ void operator()(const int64_t (&o)[3]) const {
    T& r = out[o[0]];
    T x = a[o[1]], y = b[o[2]];
    r = static_cast<T>(divide ? r + value * (x / y) : r + value * x * y);
  }
};

template <class T>
void unary_typed(UnaryOp op, const Tensor& out, const Tensor& in, UnaryParams p) {
  if constexpr (!std::is_floating_point_v<T>)
    EMBER_CHECK_VALUE(!is_float_only(op), "unary op expects a floating-point tensor, found ", out.dtype());
  for_each_element<2>(out.sizes(), {&out, &in}, UnaryMap<T>{ptr<T>(out), ptr<const T>(in), op, p.a, p.b}, "unary");
}

template <class T>
void binary_typed(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, double param) {
  if constexpr (std::is_same_v<T, bool>) {
    throw ValueError("binary op on bool tensors: convert to an integer dtype first");
  } else {
    if (is_comparison(op)) {
      for_each_element<3>(out.sizes(), {&out, &a, &b}, CompareMap<T>{ptr<bool>(out), ptr<const T>(a), ptr<const T>(b), op},
                          "compare");
      return;
    }
    if constexpr (!std::is_floating_point_v<T>)
      EMBER_CHECK_VALUE(!is_float_only(op), "binary op expects a floating-point tensor, found ", a.dtype());
    for_each_element<3>(out.sizes(), {&out, &a, &b},
                        BinaryMap<T>{ptr<T>(out), ptr<const T>(a), ptr<const T>(b), op, param}, "binary");
  }
}

template <class T>
void addcmul_typed(const Tensor& out, const Tensor& a, const Tensor& b, double value, bool divide) {
  for_each_element<3>(out.sizes(), {&out, &a, &b},
                      AddcmulMap<T>{ptr<T>(out), ptr<const T>(a), ptr<const T>(b), static_cast<T>(value), divide},
                      "addcmul");
}

}  // namespace

void CudaBackend::unary(UnaryOp op, const Tensor& out, const Tensor& in, UnaryParams p) {
  EMBER_CUDA_SWITCH_COMPUTE(out.dtype(), "unary", unary_typed<T>(op, out, in, p));
}

void CudaBackend::binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, double param) {
  EMBER_CUDA_SWITCH_COMPUTE(a.dtype(), "binary", binary_typed<T>(op, out, a, b, param));
}

void CudaBackend::where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) {
  by_element_size(out.element_size(), "where", [&](auto tag) {
    using B = decltype(tag);
    for_each_element<4>(out.sizes(), {&out, &cond, &a, &b},
                        WhereMap<B>{ptr<B>(out), ptr<const bool>(cond), ptr<const B>(a), ptr<const B>(b)}, "where");
  });
}

void CudaBackend::addcmul(const Tensor& out, const Tensor& a, const Tensor& b, double value, bool divide) {
  EMBER_CUDA_SWITCH_COMPUTE(out.dtype(), "addcmul", addcmul_typed<T>(out, a, b, value, divide));
}

}  // namespace ember::cuda
