#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

namespace ember::io {

namespace {

using json = nlohmann::ordered_json;  // keeps the header's key order
constexpr uint64_t kMaxHeader = 100'000'000;

struct DTypeName {
  const char* name;
  DType dtype;
};
const DTypeName kNames[] = {{"F64", kFloat64}, {"F32", kFloat32}, {"F16", kFloat16}, {"BF16", kBFloat16}, {"I64", kInt64},
                            {"I32", kInt32},   {"I16", kInt16},   {"I8", kInt8},     {"U8", kUInt8},      {"BOOL", kBool},
                            {"C64", kComplex64}, {"U16", kUInt16},   {"U32", kUInt32}, {"U64", kUInt64},
                            {"F8_E4M3", kFloat8E4M3FN}, {"F8_E5M2", kFloat8E5M2}};
const char* kKnownButUnsupported[] = {"F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "F4", "F6_E2M3", "F6_E3M2"};

const char* safetensors_name(DType t) {
  for (const DTypeName& n : kNames)
    if (n.dtype == t) return n.name;
  throw ValueError(str("save as safetensors: the format has no dtype for ", t, " (save it in PyTorch's format)"));
}

[[noreturn]] void fail(const std::string& file, const std::string& kind, const std::string& detail) {
  throw ValueError(str(file, ": invalid safetensors file: ", kind, ": ", detail));
}

uint64_t read_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

}  // namespace

bool looks_like_safetensors(const ByteSource& source) {
  if (source.size() < 9) return false;
  uint8_t head[9];
  source.read(0, head, 9, "the safetensors header");
  uint64_t n = read_u64(head);
  return head[8] == '{' && n <= source.size() - 8;
}

Value load_safetensors(std::shared_ptr<ByteSource> source, const LoadOptions& options) {
  const std::string file = source->name();
  uint64_t size = source->size();
  if (size < 8) fail(file, "HeaderTooSmall", str("the file has ", size, " bytes, fewer than the 8-byte header length"));
  uint8_t len_bytes[8];
  source->read(0, len_bytes, 8, "the header length");
  uint64_t n = read_u64(len_bytes);
  if (n > kMaxHeader) fail(file, "HeaderTooLarge", str("header length ", n, " exceeds ", kMaxHeader));
  if (n > size - 8) fail(file, "InvalidHeaderLength", str("header of ", n, " bytes runs past the end of the ", size, "-byte file"));
  std::string text(n, '\0');
  source->read(8, text.data(), n, "the JSON header");
  // Duplicate top-level keys are an error (the parser would silently keep the last).
  std::set<std::string> top_keys;
  std::string duplicate;
  int depth = 0;
  json header;
  try {
    header = json::parse(text, [&](int d, json::parse_event_t event, json& parsed) {
      if (event == json::parse_event_t::object_start) ++depth;
      if (event == json::parse_event_t::object_end) --depth;
      if (event == json::parse_event_t::key && d == 1 && !top_keys.insert(parsed.get<std::string>()).second)
        duplicate = parsed.get<std::string>();
      return true;
    });
  } catch (const json::exception& e) {
    fail(file, "InvalidHeaderDeserialization", e.what());
  }
  if (!duplicate.empty()) fail(file, "InvalidHeaderDeserialization", str("duplicate key '", duplicate, "'"));
  if (!header.is_object()) fail(file, "InvalidHeaderDeserialization", "the header is not a JSON object");

  Dict metadata;
  std::vector<Entry> entries;
  for (auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) fail(file, "InvalidHeaderDeserialization", "__metadata__ is not an object");
      for (auto& [k, v] : info.items()) {
        if (!v.is_string()) fail(file, "InvalidHeaderDeserialization", str("__metadata__['", k, "'] is not a string"));
        metadata.insert(k, v.get<std::string>());
      }
      continue;
    }
    if (!info.is_object() || !info.contains("dtype") || !info["dtype"].is_string() || !info.contains("shape") ||
        !info["shape"].is_array() || !info.contains("data_offsets") || !info["data_offsets"].is_array() ||
        info["data_offsets"].size() != 2)
      fail(file, "InvalidHeaderDeserialization", str("tensor '", name, "' needs dtype, shape and data_offsets [begin, end]"));
    Entry e{name, kFloat32, {}, 0, 0};
    std::string dt = info["dtype"];
    bool found = false;
    for (const DTypeName& d : kNames)
      if (dt == d.name) e.dtype = d.dtype, found = true;
    if (!found) {
      for (const char* k : kKnownButUnsupported)
        if (dt == k) throw ValueError(str(file, ": tensor '", name, "' has dtype ", dt, ", which ember does not support"));
      fail(file, "InvalidHeaderDeserialization", str("tensor '", name, "' has unknown dtype '", dt, "'"));
    }
    for (const json& d : info["shape"]) {
      if (!d.is_number_unsigned()) fail(file, "InvalidHeaderDeserialization", str("tensor '", name, "': shape entries must be non-negative integers"));
      e.shape.push_back(static_cast<int64_t>(d.get<uint64_t>()));
      if (e.shape.back() < 0) fail(file, "ValidationOverflow", str("tensor '", name, "': dimension too large"));
    }
    for (const json& o : info["data_offsets"])
      if (!o.is_number_unsigned()) fail(file, "InvalidHeaderDeserialization", str("tensor '", name, "': offsets must be non-negative integers"));
    e.begin = info["data_offsets"][0].get<uint64_t>();
    e.end = info["data_offsets"][1].get<uint64_t>();
    entries.push_back(std::move(e));
  }
  // Offsets must tile [0, buffer end) in order.
  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries) by_offset.push_back(&e);
  std::stable_sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expected = 0;
  for (const Entry* e : by_offset) {
    if (e->begin != expected || e->end < e->begin) fail(file, "InvalidOffset(" + e->name + ")",
                                                        str("data_offsets [", e->begin, ", ", e->end, ") should start at ", expected));
    unsigned __int128 numel = 1;
    for (int64_t d : e->shape) {
      numel *= static_cast<uint64_t>(d);
      if (numel > (static_cast<unsigned __int128>(1) << 62)) fail(file, "ValidationOverflow", str("tensor '", e->name, "' is too large"));
    }
    unsigned __int128 nbytes = numel * element_size(e->dtype);
    if (nbytes != e->end - e->begin)
      fail(file, "TensorInvalidInfo", str("tensor '", e->name, "' of shape ", e->shape, " and dtype ", dtype_name(e->dtype), " needs ",
                                          static_cast<uint64_t>(nbytes), " bytes, its offsets span ", e->end - e->begin));
    expected = e->end;
  }
  if (8 + n + expected != size)
    fail(file, "MetadataIncompleteBuffer", str("the tensors cover ", expected, " bytes after the header, the file has ", size - 8 - n));

  Dict out(true);
  uint64_t data_start = 8 + n;
  for (const Entry& e : entries) {  // header order, as the reference's Python API returns them
    uint64_t nbytes = e.end - e.begin;
    Storage storage;
    std::shared_ptr<void> keepalive;
    const uint8_t* borrowed = nullptr;
    if (options.mmap_ && (data_start + e.begin) % element_size(e.dtype) == 0)
      borrowed = source->borrow(data_start + e.begin, nbytes, keepalive);
    if (borrowed) {
      storage = Storage::borrow(const_cast<uint8_t*>(borrowed), nbytes, kCPU, keepalive);
    } else {
      storage = Storage::allocate(nbytes);
      source->read(data_start + e.begin, storage.data(), nbytes, "tensor '" + e.name + "'");
    }
    out.insert(e.name, Tensor::make(storage, e.shape, contiguous_strides(e.shape), 0, e.dtype));
  }
  if (!metadata.empty()) {
    out.attributes = std::make_shared<Dict>();
    out.attributes->insert("__metadata__", Value(std::move(metadata)));
  }
  return Value(std::move(out));
}

namespace {

json to_json(const Value& v);  // non-tensor leaves, stored as text in __metadata__

void flatten(const Value& v, const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& tensors, Dict& metadata,
             bool& nested) {
  if (v.is_tensor()) {
    tensors.emplace_back(prefix, v.to_tensor());
  } else if (v.is_dict()) {
    for (const auto& [k, item] : v.dict()) {
      std::string key = k.is_string() ? k.str() : std::to_string(k.to_int());
      if (!prefix.empty()) nested = true;
      flatten(item, prefix.empty() ? key : prefix + "." + key, tensors, metadata, nested);
    }
  } else if (v.is_list() || v.is_tuple()) {
    const auto& items = v.is_list() ? v.list() : v.tuple();
    nested = true;
    for (size_t i = 0; i < items.size(); ++i)
      flatten(items[i], prefix.empty() ? std::to_string(i) : prefix + "." + std::to_string(i), tensors, metadata, nested);
  } else {
    EMBER_CHECK_VALUE(!prefix.empty(), "save as safetensors: expected a dict of tensors, found ", v.type_name());
    metadata.insert(prefix, to_json(v).dump());
  }
}

json to_json(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::None: return nullptr;
    case Value::Kind::Bool: return v.to_bool();
    case Value::Kind::Int: return v.to_int();
    case Value::Kind::Double: return v.to_double();
    case Value::Kind::String: return v.to_string();
    case Value::Kind::Size: return v.torch_size();
    case Value::Kind::Device: return v.torch_device();
    case Value::Kind::DType: return v.torch_dtype();
    default: throw ValueError(str("save as safetensors: cannot store a ", v.type_name(), " as metadata"));
  }
}

}  // namespace

void save_safetensors(const Value& value, ByteSink& sink, std::vector<std::string>* notes) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  Dict metadata;
  bool nested = false;
  flatten(value, "", tensors, metadata, nested);
  if (value.is_dict() && value.dict().attributes)
    if (const Value* m = value.dict().attributes->find("__metadata__"); m && m->is_dict())
      for (const auto& [k, v] : m->dict()) metadata.insert(k, v.is_string() ? v.to_string() : to_json(v).dump());
  std::set<std::string> names;
  for (const auto& [name, t] : tensors)
    EMBER_CHECK_VALUE(names.insert(name).second, "save as safetensors: two tensors flatten to the key '", name, "'");
  // Reference writer layout: largest alignment first, then by name; contiguous offsets.
  std::stable_sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) {
    size_t ea = a.second.element_size(), eb = b.second.element_size();
    return ea != eb ? ea > eb : a.first < b.first;
  });
  int views = 0;
  json header = json::object();
  if (!metadata.empty()) {
    json m = json::object();
    for (const auto& [k, v] : metadata) m[k.str()] = v.to_string();
    header["__metadata__"] = m;
  }
  // nlohmann's object sorts keys; build the text by hand to keep buffer order.
  std::string text = "{";
  if (!metadata.empty()) text += "\"__metadata__\":" + header["__metadata__"].dump();
  uint64_t offset = 0;
  std::vector<Tensor> payload;
  for (const auto& [name, t] : tensors) {
    Tensor c = t.detach().to(kCPU).contiguous();
    if (t.storage_offset() != 0 || !t.is_contiguous() || t.nbytes() != t.storage().nbytes()) ++views;
    json info = {{"dtype", safetensors_name(c.dtype())}, {"shape", c.sizes()}, {"data_offsets", {offset, offset + c.nbytes()}}};
    if (text.size() > 1) text += ",";
    text += json(name).dump() + ":{\"dtype\":" + info["dtype"].dump() + ",\"shape\":" + info["shape"].dump() +
            ",\"data_offsets\":" + info["data_offsets"].dump() + "}";
    offset += c.nbytes();
    payload.push_back(c);
  }
  text += "}";
  while (text.size() % 8) text += ' ';  // the buffer starts 8-byte aligned
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * i));
  sink.write(len, 8);
  sink.write(text.data(), text.size());
  for (const Tensor& t : payload) sink.write(t.data(), t.nbytes());
  if (notes) {
    if (nested) notes->push_back("nested keys were flattened with '.' (safetensors holds a flat dict of tensors)");
    if (views) notes->push_back(str(views, " tensor view(s) were written as independent copies (safetensors has no shared storage)"));
    if (!metadata.empty()) notes->push_back(str(metadata.size(), " non-tensor value(s) were stored as JSON text in __metadata__"));
  }
}

}  // namespace ember::io
