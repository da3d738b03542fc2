// The legacy (pre-1.6) torch.save stream: five pickles back to back — the magic number, the
// protocol version 1001, sys_info, the object, the sorted storage keys — then for each key an int64
// element count and the raw elements. Read for compatibility; ember never writes it.
#include <cstring>
#include <unordered_map>

#include "io/pickle.h"
#include "io/torch_format.h"

namespace ember::io {

namespace {
const uint8_t kLegacyMagic[] = {0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E};
}

Value load_torch_legacy(std::shared_ptr<ByteSource> source, const LoadOptions& options) {
  const std::string file = source->name();
  std::vector<uint8_t> bytes(source->size());
  source->read(0, bytes.data(), bytes.size(), "the legacy stream");
  EMBER_CHECK_VALUE(bytes.size() >= sizeof kLegacyMagic && std::memcmp(bytes.data(), kLegacyMagic, sizeof kLegacyMagic) == 0,
                    file, ": not a legacy torch.save stream (magic number missing)");
  size_t pos = sizeof kLegacyMagic;
  auto next_pickle = [&](const char* what, Unpickler::PersistentLoad pl) {
    Unpickler u(bytes.data(), bytes.size(), file + " (" + what + ")", std::move(pl));
    Item item = u.load(pos);
    pos = u.next_offset();
    return item;
  };
  Item protocol = next_pickle("protocol version", nullptr);
  EMBER_CHECK_VALUE(protocol.kind == Item::Kind::Value && protocol.value.is_int() && protocol.value.to_int() == 1001, file,
                    ": unsupported legacy protocol version");
  Item sys_info = next_pickle("sys_info", nullptr);
  if (sys_info.kind == Item::Kind::Value && sys_info.value.contains("little_endian"))
    EMBER_CHECK_VALUE(sys_info.value.at("little_endian").to_bool(), file, ": big-endian legacy files are not supported");

  std::unordered_map<std::string, std::shared_ptr<StorageRef>> storages;
  auto persistent_load = [&](const std::vector<Item>& pid) {
    EMBER_CHECK_VALUE(pid.size() == 6 && pid[0].kind == Item::Kind::Value && pid[0].value.is_string() &&
                          pid[0].value.to_string() == "storage" && pid[1].kind == Item::Kind::Global &&
                          pid[1].global->tag == GlobalTag::StorageClass && pid[2].kind == Item::Kind::Value &&
                          pid[2].value.is_string() && pid[3].kind == Item::Kind::Value && pid[3].value.is_string() &&
                          pid[4].kind == Item::Kind::Value && pid[4].value.is_int() && pid[4].value.to_int() >= 0,
                      file, ": malformed legacy persistent id (whole pickled modules are not supported)");
    EMBER_CHECK_VALUE(pid[5].kind == Item::Kind::Value && pid[5].value.is_none(), file,
                      ": legacy storage views (view_metadata) are not supported");
    std::string key = pid[2].value.to_string();
    Item item;
    item.kind = Item::Kind::Storage;
    auto& ref = storages[key];
    if (!ref) {
      DType dtype = pid[1].global->dtype;
      int64_t numel = pid[4].value.to_int();
      EMBER_CHECK_VALUE(static_cast<uint64_t>(numel) <= bytes.size() / element_size(dtype), file, ": storage '", key,
                        "' claims ", numel, " elements, more than the file holds");
      resolve_location(pid[3].value.to_string(), options, file + ": storage '" + key + "'");
      ref = std::make_shared<StorageRef>(StorageRef{key, dtype, numel, pid[3].value.to_string(),
                                                    Storage::allocate(static_cast<size_t>(numel) * element_size(dtype))});
    }
    item.storage = ref;
    return item;
  };
  Item object = next_pickle("object", persistent_load);
  Item keys = next_pickle("storage keys", nullptr);
  EMBER_CHECK_VALUE(keys.kind == Item::Kind::Value && keys.value.is_list(), file, ": legacy storage key list missing");
  for (const Value& k : keys.value.list()) {
    const std::string& key = k.to_string();
    auto it = storages.find(key);
    EMBER_CHECK_VALUE(it != storages.end(), file, ": storage '", key, "' has data but is not referenced");
    StorageRef& ref = *it->second;
    EMBER_CHECK_VALUE(pos + 8 <= bytes.size(), file, ": truncated: storage '", key, "' header at byte ", pos);
    int64_t count;
    std::memcpy(&count, bytes.data() + pos, 8);
    pos += 8;
    EMBER_CHECK_VALUE(count == ref.numel, file, ": storage '", key, "' has ", count, " elements at byte ", pos - 8,
                      ", its persistent id says ", ref.numel);
    uint64_t nbytes = static_cast<uint64_t>(count) * element_size(ref.dtype);
    EMBER_CHECK_VALUE(nbytes <= bytes.size() - pos, file, ": truncated: storage '", key, "' needs ", nbytes, " bytes at byte ",
                      pos, ", ", bytes.size() - pos, " remain");
    std::memcpy(ref.storage.data(), bytes.data() + pos, nbytes);
    pos += nbytes;
  }
  EMBER_CHECK_VALUE(keys.value.list().size() == storages.size(), file, ": ", storages.size(), " storages are referenced but ",
                    keys.value.list().size(), " have data");
  EMBER_CHECK_VALUE(object.kind == Item::Kind::Value, file, ": the pickled object is not a value ember can represent");
  try {
    check_value_shape(object.value, file);
  } catch (...) {
    release(object.value);
    throw;
  }
  return object.value;
}

}  // namespace ember::io
