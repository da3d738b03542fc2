// ONNX tensors <-> ember tensors (float32/64, int32/64, uint8, int8, bool; raw or typed data).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

#include "core/tensor.h"

namespace ember::jit {

int onnx_dtype(DType t);
DType ember_dtype(int onnx_type, const std::string& where);
void to_tensor_proto(const Tensor& t, const std::string& name, onnx::TensorProto& out);
// Checks the payload's size against dims and dtype; `where` names the initializer or node.
Tensor from_tensor_proto(const onnx::TensorProto& p, const std::string& where);

}  // namespace ember::jit
