#include "jit/onnx/onnx_types.h"

#include <algorithm>
#include <cstring>

#include "core/ops/factories.h"

namespace ember::jit {

int onnx_dtype(DType t) {
  switch (t) {
    case kFloat32: return onnx::TensorProto::FLOAT;
    case kFloat64: return onnx::TensorProto::DOUBLE;
    case kInt64: return onnx::TensorProto::INT64;
    case kInt32: return onnx::TensorProto::INT32;
    case kUInt8: return onnx::TensorProto::UINT8;
    case kInt8: return onnx::TensorProto::INT8;
    case kBool: return onnx::TensorProto::BOOL;
    default: throw Error(str("ONNX: ember cannot write ", t, " tensors to ONNX"));
  }
}

DType ember_dtype(int onnx_type, const std::string& where) {
  switch (onnx_type) {
    case onnx::TensorProto::FLOAT: return kFloat32;
    case onnx::TensorProto::DOUBLE: return kFloat64;
    case onnx::TensorProto::INT64: return kInt64;
    case onnx::TensorProto::INT32: return kInt32;
    case onnx::TensorProto::UINT8: return kUInt8;
    case onnx::TensorProto::INT8: return kInt8;
    case onnx::TensorProto::BOOL: return kBool;
    default: throw ValueError(str(where, ": ONNX element type ", onnx_type, " is not supported (float, double, int64, int32, uint8, int8, bool are)"));
  }
}

void to_tensor_proto(const Tensor& t, const std::string& name, onnx::TensorProto& out) {
  out.set_name(name);
  out.set_data_type(onnx_dtype(t.dtype()));
  for (int64_t d : t.sizes()) out.add_dims(d);
  Tensor c = t.contiguous();
  out.set_raw_data(std::string(static_cast<const char*>(c.data()), c.nbytes()));
}

Tensor from_tensor_proto(const onnx::TensorProto& p, const std::string& where) {
  DType dtype = ember_dtype(p.data_type(), where);
  Shape shape;
  int64_t n = 1, span = 1;  // span: the product with zeros taken as ones, as the strides are
  for (int64_t d : p.dims()) {
    EMBER_CHECK_VALUE(d >= 0 && d < (int64_t{1} << 40) && d <= (int64_t{1} << 40) / span, where, ": invalid dimension ", d,
                      " at index ", shape.size(), ": expected sizes >= 0 whose product (zeros counted as ones) stays below 2^40,",
                      " found it after ", shape);
    shape.push_back(d);
    n *= d;
    span *= std::max<int64_t>(d, 1);
  }
  EMBER_CHECK_VALUE(p.data_location() != onnx::TensorProto::EXTERNAL, where, ": tensors stored in external files are not supported");
  // The data is checked against the shape before anything is allocated: a few bytes of file must
  // not make ember reserve the gigabytes their dims claim.
  size_t bytes = static_cast<size_t>(n) * element_size(dtype);
  Tensor t;
  auto typed = [&](const auto& field, auto tag) {
    using T = decltype(tag);
    EMBER_CHECK_VALUE(static_cast<int64_t>(field.size()) == n, where, ": expected ", n, " values, found ", field.size());
    t = empty(shape, dtype);
    T* dst = static_cast<T*>(t.data());
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(field.Get(static_cast<int>(i)));
  };
  if (p.has_raw_data()) {
    EMBER_CHECK_VALUE(p.raw_data().size() == bytes, where, ": expected ", bytes, " bytes of ", dtype, " data for shape ", shape,
                      ", found ", p.raw_data().size());
    t = empty(shape, dtype);
    std::memcpy(t.data(), p.raw_data().data(), bytes);
  } else if (dtype == kFloat32) {
    typed(p.float_data(), float{});
  } else if (dtype == kFloat64) {
    typed(p.double_data(), double{});
  } else if (dtype == kInt64) {
    typed(p.int64_data(), int64_t{});
  } else if (dtype == kInt32) {
    typed(p.int32_data(), int32_t{});
  } else {
    EMBER_CHECK_VALUE(n == 0, where, ": no data for ", dtype, " tensor of shape ", shape);
    t = empty(shape, dtype);
  }
  return t;
}

}  // namespace ember::jit
