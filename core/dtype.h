// Element types and the conversions between every pair of them.
//
// float16 and bfloat16 are stored as 16-bit patterns (Half, BFloat16) and convert to and from float
// with round-to-nearest-even, as PyTorch does. Compute kernels work on float32, float64 and the
// integer types; float16/bfloat16/bool are storage types that convert on the way in and out.
// complex64/complex128 (interleaved real, imaginary) are storage-only: they are saved, loaded,
// viewed and copied (view_as_real gives their float parts), and every other op refuses them.
// PyTorch 2.x's uint16/uint32/uint64 and float8 (e4m3fn, e5m2) are storage types too: saved,
// loaded and converted to and from every other real dtype (as torch 2.x converts them), nothing else.
#pragma once

#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <type_traits>

namespace ember {

enum class DType : uint8_t {
  Float32, Float64, Float16, BFloat16, Int64, Int32, Int16, Int8, UInt8, Bool, Complex64, Complex128,
  UInt16, UInt32, UInt64, Float8E4M3FN, Float8E5M2,  // PyTorch 2.x's storage dtypes
};

constexpr DType kFloat32 = DType::Float32;
constexpr DType kFloat64 = DType::Float64;
constexpr DType kFloat16 = DType::Float16;
constexpr DType kBFloat16 = DType::BFloat16;
constexpr DType kInt64 = DType::Int64;
constexpr DType kInt32 = DType::Int32;
constexpr DType kInt16 = DType::Int16;
constexpr DType kInt8 = DType::Int8;
constexpr DType kUInt8 = DType::UInt8;
constexpr DType kBool = DType::Bool;
constexpr DType kComplex64 = DType::Complex64;
constexpr DType kComplex128 = DType::Complex128;
constexpr DType kUInt16 = DType::UInt16;
constexpr DType kUInt32 = DType::UInt32;
constexpr DType kUInt64 = DType::UInt64;
constexpr DType kFloat8E4M3FN = DType::Float8E4M3FN;
constexpr DType kFloat8E5M2 = DType::Float8E5M2;
constexpr int kNumDTypes = 17;

size_t element_size(DType t);
// PyTorch's spelling without the "torch." prefix: "float32", "int64", "bool", ...
const char* dtype_name(DType t);
// Parses "float32", "float", "torch.float32", "half", "long", ... Throws ValueError on anything else.
DType parse_dtype(const std::string& name);
bool is_floating(DType t);
bool is_integral(DType t);  // integers, bool excluded
bool is_complex(DType t);
// The dtype of a complex dtype's real and imaginary parts (float32 for complex64).
DType complex_part_dtype(DType t);
// The dtype PyTorch's type promotion gives a binary op on tensors of these dtypes.
DType promote_types(DType a, DType b);
std::ostream& operator<<(std::ostream& os, DType t);

// IEEE-754 binary16 bit pattern.
struct Half {
  uint16_t bits = 0;
  Half() = default;
  explicit Half(float f);
  operator float() const;
};

// The top 16 bits of a float32, rounded to nearest even.
struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  explicit BFloat16(float f);
  operator float() const;
};

// float8 e4m3fn (4 exponent bits, bias 7, 3 mantissa bits; no infinity, 0x7F/0xFF are NaN, the
// largest value 448) and e5m2 (IEEE-like: bias 15, 2 mantissa bits, infinities). Conversion from
// float rounds to nearest even; beyond the range e4m3fn gives NaN and e5m2 infinity, as PyTorch.
struct Float8E4M3FN {
  uint8_t bits = 0;
  Float8E4M3FN() = default;
  explicit Float8E4M3FN(float f);
  operator float() const;
};
struct Float8E5M2 {
  uint8_t bits = 0;
  Float8E5M2() = default;
  explicit Float8E5M2(float f);
  operator float() const;
};

// The storage-only float types, which convert through float.
template <class T>
constexpr bool is_narrow_float_v = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16> ||
                                   std::is_same_v<T, Float8E4M3FN> || std::is_same_v<T, Float8E5M2>;

// One value converted between element types, with the rules of convert_elements; for kernels that
// know both types at compile time.
template <class To, class From>
To convert_value(From v) {
  if constexpr (is_narrow_float_v<From>) {
    return convert_value<To>(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, bool>) {
    return static_cast<double>(v) != 0.0;  // NaN != 0 too, as PyTorch
  } else if constexpr (is_narrow_float_v<To>) {
    return To(static_cast<float>(v));
  } else {
    return static_cast<To>(v);
  }
}

// Converts n elements of `from` at src into `to` at dst (both contiguous). NaN -> bool is true,
// float -> int truncates toward zero as C++ (and PyTorch) do for in-range values.
void convert_elements(const void* src, DType from, void* dst, DType to, int64_t n);

[[noreturn]] void throw_complex_unsupported(DType t);

// Calls f(T{}) with T the C++ type stored for `t` (float, double, Half, BFloat16, int64_t, ...,
// bool). Complex dtypes throw: no arithmetic is defined on them.
template <class F>
decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::Float16: return f(Half{});
    case DType::BFloat16: return f(BFloat16{});
    case DType::Int64: return f(int64_t{});
    case DType::Int32: return f(int32_t{});
    case DType::Int16: return f(int16_t{});
    case DType::Int8: return f(int8_t{});
    case DType::UInt8: return f(uint8_t{});
    case DType::Bool: return f(bool{});
    case DType::UInt16: return f(uint16_t{});
    case DType::UInt32: return f(uint32_t{});
    case DType::UInt64: return f(uint64_t{});
    case DType::Float8E4M3FN: return f(Float8E4M3FN{});
    case DType::Float8E5M2: return f(Float8E5M2{});
    case DType::Complex64:
    case DType::Complex128: break;
  }
  throw_complex_unsupported(t);
}

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return kFloat32; }
template <> constexpr DType dtype_of<double>() { return kFloat64; }
template <> constexpr DType dtype_of<Half>() { return kFloat16; }
template <> constexpr DType dtype_of<BFloat16>() { return kBFloat16; }
template <> constexpr DType dtype_of<int64_t>() { return kInt64; }
template <> constexpr DType dtype_of<int32_t>() { return kInt32; }
template <> constexpr DType dtype_of<int16_t>() { return kInt16; }
template <> constexpr DType dtype_of<int8_t>() { return kInt8; }
template <> constexpr DType dtype_of<uint8_t>() { return kUInt8; }
template <> constexpr DType dtype_of<bool>() { return kBool; }
template <> constexpr DType dtype_of<uint16_t>() { return kUInt16; }
template <> constexpr DType dtype_of<uint32_t>() { return kUInt32; }
template <> constexpr DType dtype_of<uint64_t>() { return kUInt64; }
template <> constexpr DType dtype_of<Float8E4M3FN>() { return kFloat8E4M3FN; }
template <> constexpr DType dtype_of<Float8E5M2>() { return kFloat8E5M2; }

}  // namespace ember
