// The unpickler's allow-list: the only globals a GLOBAL opcode may name (tensor and parameter
// rebuild, storage classes, OrderedDict, Counter, bytes, torch.Size/device/dtype), and the errors
// that name everything else — with what to do instead where there is something to do.
#include "io/pickle.h"

namespace ember::io {

namespace {

struct StorageName {
  const char* name;
  DType dtype;
};
const StorageName kStorages[] = {
    {"FloatStorage", kFloat32}, {"DoubleStorage", kFloat64}, {"HalfStorage", kFloat16}, {"BFloat16Storage", kBFloat16},
    {"LongStorage", kInt64},    {"IntStorage", kInt32},      {"ShortStorage", kInt16},  {"CharStorage", kInt8},
    {"ByteStorage", kUInt8},    {"BoolStorage", kBool},      {"ComplexFloatStorage", kComplex64},
    {"ComplexDoubleStorage", kComplex128}};

}  // namespace

bool needs_untyped_storage(DType dtype) {
  return dtype == kUInt16 || dtype == kUInt32 || dtype == kUInt64 || dtype == kFloat8E4M3FN || dtype == kFloat8E5M2;
}

const char* storage_class_name(DType dtype) {
  for (const StorageName& s : kStorages)
    if (s.dtype == dtype) return s.name;
  throw ValueError(str("no torch storage class for dtype ", dtype));
}

bool storage_class_dtype(const std::string& name, DType& dtype) {
  for (const StorageName& s : kStorages)
    if (name == s.name) {
      dtype = s.dtype;
      return true;
    }
  return false;
}

namespace {

bool is_untyped_storage(const std::string& module, const std::string& name) {
  return (module == "torch" || module == "torch.storage") &&
         (name == "UntypedStorage" || name == "_UntypedStorage" || name == "TypedStorage");
}

}  // namespace

Global Unpickler::resolve(const std::string& module, const std::string& name) const {
  auto is = [&](const char* m, const char* n) { return module == m && name == n; };
  if (is("torch._utils", "_rebuild_tensor_v2")) return {GlobalTag::RebuildTensorV2, module, name};
  if (is("torch._utils", "_rebuild_tensor_v3")) return {GlobalTag::RebuildTensorV3, module, name};
  if (is("torch._utils", "_rebuild_parameter")) return {GlobalTag::RebuildParameter, module, name};
  if (is("collections", "OrderedDict")) return {GlobalTag::OrderedDict, module, name};
  if (is("collections", "Counter")) return {GlobalTag::Counter, module, name};
  if (is("torch", "Size")) return {GlobalTag::TorchSize, module, name};
  if (is("torch", "device")) return {GlobalTag::TorchDevice, module, name};
  if (is("_codecs", "encode")) return {GlobalTag::CodecsEncode, module, name};
  if (is("__builtin__", "bytes") || is("builtins", "bytes")) return {GlobalTag::Bytes, module, name};  // b''

  DType storage_dtype;
  if ((module == "torch" || module == "torch.cuda") && storage_class_dtype(name, storage_dtype))
    return {GlobalTag::StorageClass, module, name, storage_dtype};
  if (is_untyped_storage(module, name)) return {GlobalTag::UntypedStorage, module, name, kUInt8};
  if (module == "torch") {
    try {
      DType d = parse_dtype(name);
      return {GlobalTag::DTypeValue, module, name, d};
    } catch (const ValueError&) {
    }
  }
  std::string full = module + "." + name;
  if (module.rfind("__torch__", 0) == 0)
    fail(str("global '", full, "': this is a TorchScript archive (torch.jit.save); load it with torch.jit.load / ",
             "LibTorch, or re-export with torch.save(model.state_dict())"));
  if (name.find("sparse") != std::string::npos || name.find("qtensor") != std::string::npos ||
      name.find("nested") != std::string::npos || name.find("meta_tensor") != std::string::npos ||
      name.find("wrapper_subclass") != std::string::npos || name == "_rebuild_from_type_v2" ||
      name.find("QInt") != std::string::npos ||
      name.find("QUInt") != std::string::npos || name.find("numpy") != std::string::npos)
    fail(str("global '", full, "': this kind of tensor (sparse, quantized, nested, meta, complex or a subclass) ",
             "is not supported by ember"));
  if (module.rfind("torch.nn", 0) == 0 || module == "__main__")
    fail(str("global '", full, "': the file holds a whole pickled module (torch.save(model)); ember loads state ",
             "dicts only: save model.state_dict() instead"));
  fail(str("refusing global '", full, "': it is not in ember's allow-list (tensors, storages, OrderedDict, Counter, ",
           "torch.Size/device/dtype); ember never executes code from a file"));
}

}  // namespace ember::io
