#include "core/dtype.h"

#include <algorithm>
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

namespace {

// An 8-bit float with `man` mantissa bits and exponent bias `bias`; `ieee` formats (e5m2) have
// infinities and NaNs in the top exponent, the others (e4m3fn) only the NaN 0x7F.
struct Fp8Format {
  int man, bias;
  bool ieee;
};
constexpr Fp8Format kE4M3FN{3, 7, false}, kE5M2{2, 15, true};

uint8_t fp8_encode(float f, Fp8Format fmt) {
  const uint8_t sign = std::signbit(f) ? 0x80 : 0;
  if (std::isnan(f)) return sign | 0x7F;
  const uint8_t overflow = fmt.ieee ? 0x7C : 0x7F;  // infinity, or e4m3fn's NaN
  if (std::isinf(f)) return sign | overflow;
  double a = std::fabs(static_cast<double>(f));
  if (a == 0) return sign;
  int e = 0;
  std::frexp(a, &e);
  e -= 1;                                  // a = m * 2^e with 1 <= m < 2
  e = std::max(e, 1 - fmt.bias);           // below the normal range: subnormal steps
  double q = std::nearbyint(std::ldexp(a, fmt.man - e));  // significand in units of the last bit, RNE
  if (q >= std::ldexp(1.0, fmt.man + 1)) q /= 2, e += 1;  // rounding carried into the exponent
  int exp_field = q >= std::ldexp(1.0, fmt.man) ? e + fmt.bias : 0;
  int code = (exp_field << fmt.man) | (static_cast<int>(q) & ((1 << fmt.man) - 1));
  int top = fmt.ieee ? (31 << fmt.man) : 0x7F;  // the first code past the finite range
  return sign | static_cast<uint8_t>(code >= top ? overflow : code);
}

float fp8_decode(uint8_t b, Fp8Format fmt) {
  const bool negative = b & 0x80;
  const int exp_field = (b & 0x7F) >> fmt.man, man = b & ((1 << fmt.man) - 1);
  float v;
  if (!fmt.ieee && (b & 0x7F) == 0x7F) {
    v = std::numeric_limits<float>::quiet_NaN();
  } else if (fmt.ieee && exp_field == (0x7F >> fmt.man)) {
    v = man ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else if (exp_field == 0) {
    v = static_cast<float>(std::ldexp(man, 1 - fmt.bias - fmt.man));
  } else {
    v = static_cast<float>(std::ldexp(man + (1 << fmt.man), exp_field - fmt.bias - fmt.man));
  }
  return negative ? -v : v;
}

}  // namespace

Float8E4M3FN::Float8E4M3FN(float f) : bits(fp8_encode(f, kE4M3FN)) {}
Float8E4M3FN::operator float() const { return fp8_decode(bits, kE4M3FN); }
Float8E5M2::Float8E5M2(float f) : bits(fp8_encode(f, kE5M2)) {}
Float8E5M2::operator float() const { return fp8_decode(bits, kE5M2); }

size_t element_size(DType t) {
  switch (t) {
    case DType::Complex128: return 16;
    case DType::Float64: case DType::Int64: case DType::Complex64: case DType::UInt64: return 8;
    case DType::Float32: case DType::Int32: case DType::UInt32: return 4;
    case DType::Float16: case DType::BFloat16: case DType::Int16: case DType::UInt16: return 2;
    default: return 1;
  }
}

const char* dtype_name(DType t) {
  static const char* names[] = {"float32", "float64", "float16", "bfloat16",      "int64",      "int32",
                                "int16",   "int8",    "uint8",   "bool",          "complex64",  "complex128",
                                "uint16",  "uint32",  "uint64",  "float8_e4m3fn", "float8_e5m2"};
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
                       "bfloat16, int64, int32, int16, int8, uint8, bool, complex64, complex128, uint16, uint32, ",
                       "uint64, float8_e4m3fn, float8_e5m2"));
}

bool is_floating(DType t) {
  return t == kFloat32 || t == kFloat64 || t == kFloat16 || t == kBFloat16 || t == kFloat8E4M3FN || t == kFloat8E5M2;
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
  for (DType t : {a, b})  // PyTorch 2.x defines no promotion for these either
    if (t == kUInt16 || t == kUInt32 || t == kUInt64 || t == kFloat8E4M3FN || t == kFloat8E5M2)
      throw ValueError(str("no type promotion between ", a, " and ", b, ": ", t,
                           " is a storage dtype in ember; convert it with .to() first"));
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
  if (n == 0) return;  // an empty tensor's data may be null, which memcpy must not be given
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
