#include "core/dtype.h"

#include <cmath>
#include <limits>

#include "core/error.h"

namespace ember {

namespace {
uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
}  // namespace

// float -> binary16 with round-to-nearest-even, covering subnormals, overflow to inf and NaN.
Half::Half(float f) {
  uint32_t x = float_bits(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t abs = x & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) {  // inf or NaN
    bits = static_cast<uint16_t>(sign | (abs > 0x7F800000u ? 0x7E00u : 0x7C00u));
    return;
  }
  if (abs >= 0x477FF000u) {  // rounds to >= 65520: overflow to inf
    bits = static_cast<uint16_t>(sign | 0x7C00u);
    return;
  }
  if (abs < 0x38800000u) {  // below the smallest normal half (2^-14): subnormal or zero
    // Adding 0.5 shifts the value so that float's own rounding produces the half subnormal bits.
    float shifted = bits_float(abs) + 0.5f;
    bits = static_cast<uint16_t>(sign | (float_bits(shifted) - 0x3F000000u));
    return;
  }
  uint32_t mant_odd = (abs >> 13) & 1u;
  abs += 0xC8000FFFu + mant_odd;  // re-bias exponent (-112 << 23) and round to nearest even
  bits = static_cast<uint16_t>(sign | (abs >> 13));
}

Half::operator float() const {
  uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  uint32_t exp = (bits >> 10) & 0x1Fu;
  uint32_t mant = bits & 0x3FFu;
  if (exp == 0x1F) return bits_float(sign | 0x7F800000u | (mant << 13));
  if (exp == 0) {  // zero or subnormal: mant * 2^-24
    float v = static_cast<float>(mant) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return bits_float(sign | ((exp + 112) << 23) | (mant << 13));
}

BFloat16::BFloat16(float f) {
  uint32_t x = float_bits(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) {
    bits = static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN, sign kept
    return;
  }
  uint32_t rounding = 0x7FFFu + ((x >> 16) & 1u);
  bits = static_cast<uint16_t>((x + rounding) >> 16);
}

BFloat16::operator float() const { return bits_float(static_cast<uint32_t>(bits) << 16); }

size_t element_size(DType t) {
  switch (t) {
    case DType::Complex128: return 16;
    case DType::Float64: case DType::Int64: case DType::Complex64: return 8;
    case DType::Float32: case DType::Int32: return 4;
    case DType::Float16: case DType::BFloat16: case DType::Int16: return 2;
    default: return 1;
  }
}

const char* dtype_name(DType t) {
  static const char* names[] = {"float32", "float64", "float16", "bfloat16", "int64",    "int32",
                                "int16",   "int8",    "uint8",   "bool",     "complex64", "complex128"};
  return names[static_cast<int>(t)];
}

DType parse_dtype(const std::string& raw) {
  std::string name = raw.rfind("torch.", 0) == 0 ? raw.substr(6) : raw;
  for (int i = 0; i < kNumDTypes; ++i)
    if (name == dtype_name(static_cast<DType>(i))) return static_cast<DType>(i);
  if (name == "float") return kFloat32;
  if (name == "double") return kFloat64;
  if (name == "half") return kFloat16;
  if (name == "long") return kInt64;
  if (name == "int") return kInt32;
  if (name == "short") return kInt16;
  if (name == "cfloat") return kComplex64;
  if (name == "cdouble") return kComplex128;
  throw ValueError(str("unknown dtype '", raw, "': expected one of float32, float64, float16, ",
                       "bfloat16, int64, int32, int16, int8, uint8, bool, complex64, complex128"));
}

bool is_floating(DType t) {
  return t == kFloat32 || t == kFloat64 || t == kFloat16 || t == kBFloat16;
}
bool is_integral(DType t) { return !is_floating(t) && t != kBool && !is_complex(t); }
bool is_complex(DType t) { return t == kComplex64 || t == kComplex128; }
DType complex_part_dtype(DType t) {
  EMBER_CHECK_VALUE(is_complex(t), "complex_part_dtype: ", t, " is not a complex dtype");
  return t == kComplex64 ? kFloat32 : kFloat64;
}

void throw_complex_unsupported(DType t) {
  throw ValueError(str("dtype ", t, ": ember stores, loads and copies complex tensors but computes nothing on them ",
                       "(view_as_real gives their float parts)"));
}

std::ostream& operator<<(std::ostream& os, DType t) { return os << dtype_name(t); }

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (is_complex(a) || is_complex(b)) throw_complex_unsupported(is_complex(a) ? a : b);
  if (a == kBool) return b;
  if (b == kBool) return a;
  bool fa = is_floating(a), fb = is_floating(b);
  if (fa != fb) return fa ? a : b;  // float wins over integer, whatever the sizes
  if (fa) {
    // float16 + bfloat16 -> float32, as PyTorch
    if (element_size(a) == element_size(b)) return kFloat32;
    return element_size(a) > element_size(b) ? a : b;
  }
  // uint8 with a signed type: the signed one if wider, else int16 (PyTorch's rule)
  if (a == kUInt8 || b == kUInt8) {
    DType other = a == kUInt8 ? b : a;
    return other == kInt8 ? kInt16 : other;
  }
  return element_size(a) > element_size(b) ? a : b;
}

void convert_elements(const void* src, DType from, void* dst, DType to, int64_t n) {
  if (from == to) {
    std::memcpy(dst, src, static_cast<size_t>(n) * element_size(from));
    return;
  }
  if (is_complex(to) && !is_complex(from)) {  // real -> complex: imaginary parts 0, as PyTorch
    DType part = complex_part_dtype(to);
    size_t part_size = element_size(part);
    char* d = static_cast<char*>(dst);
    const char* s = static_cast<const char*>(src);
    std::memset(dst, 0, static_cast<size_t>(n) * element_size(to));
    for (int64_t i = 0; i < n; ++i) convert_elements(s + i * element_size(from), from, d + i * 2 * part_size, part, 1);
    return;
  }
  if (is_complex(from)) throw ValueError(str("cannot convert ", from, " to ", to, ": ember converts complex tensors to nothing else"));
  visit_dtype(from, [&](auto from_tag) {
    using From = decltype(from_tag);
    visit_dtype(to, [&](auto to_tag) {
      using To = decltype(to_tag);
      const From* s = static_cast<const From*>(src);
      To* d = static_cast<To*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = convert_value<To>(s[i]);
    });
  });
}

}  // namespace ember
