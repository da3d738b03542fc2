// REDUCE and BUILD for the allow-listed globals: tensors rebuilt over their storages (bounds
// checked without overflow), parameters, OrderedDict, Counter, torch.Size/device, bytes.
#include "io/pickle.h"

namespace ember::io {

namespace {

bool is_global(const Item& i, GlobalTag tag) { return i.kind == Item::Kind::Global && i.global->tag == tag; }

// Checked a * b + c for non-negative int64s; false on overflow.
bool mul_add(int64_t a, int64_t b, int64_t c, int64_t& out) {
  __int128 r = static_cast<__int128>(a) * b + c;
  if (r > INT64_MAX) return false;
  out = static_cast<int64_t>(r);
  return true;
}

// UTF-8 text whose code points are all < 256 -> the raw bytes (Python's str.encode('latin1')).
std::string latin1_bytes(const std::string& utf8) {
  std::string out;
  for (size_t i = 0; i < utf8.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if ((c & 0xE0) == 0xC0 && i + 1 < utf8.size()) {
      out += static_cast<char>(((c & 0x1F) << 6) | (static_cast<unsigned char>(utf8[++i]) & 0x3F));
    } else {
      throw ValueError("bytes object: a character outside latin-1");
    }
  }
  return out;
}

}  // namespace

Item Unpickler::reduce(const Item& callable, const Item& args_item) {
  if (callable.kind != Item::Kind::Global) fail("REDUCE on something that is not an allow-listed global");
  if (args_item.kind != Item::Kind::RawTuple && !(args_item.kind == Item::Kind::Value && args_item.value.is_tuple()))
    fail("REDUCE arguments are not a tuple");
  std::vector<Item> args = tuple_items(args_item);
  const Global& g = *callable.global;
  auto arg_value = [&](size_t i, const char* what) -> const Value& {
    if (i >= args.size() || args[i].kind != Item::Kind::Value) fail(str(g.name, ": argument ", i, " (", what, ") is missing or malformed"));
    return args[i].value;
  };
  switch (g.tag) {
    case GlobalTag::RebuildTensorV2:
    case GlobalTag::RebuildTensorV3: {
      bool v3 = g.tag == GlobalTag::RebuildTensorV3;
      if (args.size() < (v3 ? 7u : 6u)) fail(str(g.name, ": expected at least ", v3 ? 7 : 6, " arguments, found ", args.size()));
      if (args[0].kind != Item::Kind::Storage) fail(str(g.name, ": argument 0 is not a storage"));
      const StorageRef& s = *args[0].storage;
      DType dtype = s.dtype;
      int64_t storage_numel = s.numel;
      if (v3) {
        if (!is_global(args[6], GlobalTag::DTypeValue)) fail(str(g.name, ": argument 6 is not a dtype"));
        dtype = args[6].global->dtype;
        int64_t nbytes = s.numel * static_cast<int64_t>(element_size(s.dtype));
        storage_numel = nbytes / static_cast<int64_t>(element_size(dtype));
      }
      int64_t offset = arg_value(1, "storage_offset").to_int();
      Shape sizes, strides;
      for (const Value& v : arg_value(2, "size").tuple()) sizes.push_back(v.to_int());
      for (const Value& v : arg_value(3, "stride").tuple()) strides.push_back(v.to_int());
      if (sizes.size() != strides.size()) fail(str("tensor with ", sizes.size(), " sizes but ", strides.size(), " strides"));
      if (offset < 0) fail(str("tensor with negative storage offset ", offset));
      int64_t numel = 1, last = offset;
      for (size_t i = 0; i < sizes.size(); ++i) {
        if (sizes[i] < 0 || strides[i] < 0) fail(str("tensor with negative size or stride: size ", sizes, ", stride ", strides));
        if (!mul_add(numel, sizes[i], 0, numel)) fail(str("tensor size ", sizes, " overflows"));
      }
      if (numel > 0) {
        for (size_t i = 0; i < sizes.size(); ++i)
          if (!mul_add(sizes[i] - 1, strides[i], last, last)) fail(str("tensor strides ", strides, " overflow"));
        if (last >= storage_numel)
          fail(str("tensor (offset ", offset, ", size ", sizes, ", stride ", strides, ") reaches element ", last,
                   " of storage '", s.key, "', which has ", storage_numel));
      }
      // torch 2.x's optional metadata dict (v2's 7th, v3's 8th argument) holds the conj/neg bits of
      // a lazily conjugated or negated view; ember has no such views, so refuse rather than misread.
      size_t meta_at = v3 ? 7 : 6;
      if (args.size() > meta_at && args[meta_at].kind == Item::Kind::Value && args[meta_at].value.is_dict()) {
        for (const char* bit : {"conj", "neg"}) {
          const Dict& meta = args[meta_at].value.dict();
          if (meta.contains(bit) && meta.at(bit).is_bool() && meta.at(bit).to_bool())
            fail(str(g.name, ": the tensor is a lazily ", bit == std::string("conj") ? "conjugated" : "negated",
                     " view (metadata {'", bit, "': True}), which ember cannot represent; save ",
                     bit == std::string("conj") ? "x.resolve_conj()" : "x.resolve_neg()", " instead"));
        }
      }
      Tensor t = Tensor::make(s.storage, sizes, strides, offset, dtype);
      bool requires_grad = arg_value(4, "requires_grad").is_bool() && arg_value(4, "requires_grad").to_bool();
      if (requires_grad && is_floating(dtype)) t.impl()->requires_grad = true;
      return value_item(Value(t));
    }
    case GlobalTag::RebuildParameter: {
      const Value& t = arg_value(0, "tensor");
      if (!t.is_tensor()) fail("_rebuild_parameter: argument 0 is not a tensor");
      bool requires_grad = arg_value(1, "requires_grad").to_bool();
      if (is_floating(t.to_tensor().dtype())) t.to_tensor().impl()->requires_grad = requires_grad;
      return value_item(Value::parameter(t.to_tensor()));
    }
    case GlobalTag::OrderedDict: {
      Dict d(true);
      if (!args.empty()) {  // Python 2 era: OrderedDict([[k, v], ...])
        for (const Value& pair : arg_value(0, "items").is_list() ? arg_value(0, "items").list() : arg_value(0, "items").tuple()) {
          const std::vector<Value>& kv = pair.is_list() ? pair.list() : pair.tuple();
          if (kv.size() != 2) fail("OrderedDict item is not a (key, value) pair");
          if (!kv[0].is_string() && !kv[0].is_int()) fail("OrderedDict key is not a str or int");
          d.insert(kv[0].is_string() ? Key(kv[0].to_string()) : Key(kv[0].to_int()), kv[1]);
        }
      }
      return value_item(Value(std::move(d)));
    }
    case GlobalTag::Counter: {  // Counter() or Counter({key: count, ...})
      Dict d;
      d.set_counter(true);
      if (!args.empty()) {
        const Value& items = arg_value(0, "counts");
        if (!items.is_dict()) fail("Counter argument is not a dict");
        for (const auto& [k, v] : items.dict()) d.insert(k, v);
      }
      return value_item(Value(std::move(d)));
    }
    case GlobalTag::TorchSize: {
      Shape sizes;
      for (const Value& v : arg_value(0, "sizes").tuple()) sizes.push_back(v.to_int());
      return value_item(Value::torch_size(sizes));
    }
    case GlobalTag::TorchDevice: {
      std::string type = arg_value(0, "type").to_string();
      if (args.size() > 1 && args[1].kind == Item::Kind::Value && args[1].value.is_int())
        type += ":" + std::to_string(args[1].value.to_int());
      return value_item(Value::torch_device(type));
    }
    case GlobalTag::CodecsEncode: {  // _codecs.encode(text, 'latin1'): how protocol 2 spells bytes
      if (args.size() > 1 && !(arg_value(1, "encoding").is_string() && arg_value(1, "encoding").to_string() == "latin1"))
        fail("_codecs.encode with an encoding other than 'latin1'");
      return value_item(Value::bytes(latin1_bytes(arg_value(0, "text").to_string())));
    }
    case GlobalTag::Bytes:  // bytes(): b''
      if (!args.empty()) fail("bytes() with arguments is not supported");
      return value_item(Value::bytes(""));
    default: break;
  }
  fail(str("'", g.module, ".", g.name, "' cannot be called"));
}

void Unpickler::build(Item& target, const Item& state) {
  if (target.kind == Item::Kind::Value && target.value.is_dict() && target.value.dict().ordered()) {
    // OrderedDict attributes, e.g. a state_dict's _metadata.
    if (state.kind != Item::Kind::Value || !state.value.is_dict()) fail("BUILD on an OrderedDict with a non-dict state");
    Dict& d = target.value.dict();
    if (!d.attributes) d.attributes = std::make_shared<Dict>();
    for (const auto& [k, v] : state.value.dict()) d.attributes->insert(k, v);
    return;
  }
  if (target.kind == Item::Kind::Value && target.value.is_tensor()) {
    // Tensor/Parameter state: (None, dict) or a dict of python attributes; only empty ones are accepted.
    bool empty = state.kind == Item::Kind::Value &&
                 (state.value.is_none() || (state.value.is_dict() && state.value.dict().empty()) ||
                  (state.value.is_tuple() && std::all_of(state.value.tuple().begin(), state.value.tuple().end(), [](const Value& v) {
                     return v.is_none() || (v.is_dict() && v.dict().empty());
                   })));
    if (!empty) fail("BUILD on a tensor with Python attributes is not supported");
    return;
  }
  fail("BUILD on an object that is not an OrderedDict or a tensor");
}

}  // namespace ember::io
