// Reading torch.save files: the zip format, the legacy stream format, and the checks that make a
// loaded Value safe to walk.
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "core/backend/cuda/cuda.h"
#include "io/pickle.h"
#include "io/torch_format.h"
#include "io/zip.h"

namespace ember::io {

Device resolve_location(const std::string& location, const LoadOptions& options, const std::string& where) {
  if (options.map_location_) return (*options.map_location_)(location);
  if (location == "cpu" || options.keep_saved_locations_) return kCPU;
  Device d;
  try {
    d = Device(location);
  } catch (const ValueError&) {
    throw ValueError(str(where, ": storage saved on '", location, "', which ember cannot load; pass map_location \"cpu\""));
  }
  // As torch.load: a storage goes back to the device it was saved on, if this machine has it.
  EMBER_CHECK_VALUE(d.is_cpu() || d.index < cuda::device_count(), where, ": storage saved on ", location,
                    " but that device is not available here (",
                    cuda::is_available() ? str("this machine has ", cuda::device_count(), " CUDA device(s)")
                                         : cuda::unavailable_reason(),
                    "); load with LoadOptions().map_location(\"cpu\")");
  return d;
}

namespace {

void byteswap(void* data, size_t elsize, uint64_t n) {
  uint8_t* p = static_cast<uint8_t*>(data);
  for (uint64_t i = 0; i < n; ++i, p += elsize)
    for (size_t a = 0, b = elsize - 1; a < b; ++a, --b) std::swap(p[a], p[b]);
}

// ('storage', <class>, key, location, numel[, view_metadata]) -> validated pieces.
struct Pid {
  DType dtype;
  std::string key, location;
  int64_t numel;
};
Pid parse_pid(const std::vector<Item>& pid, const std::string& where) {
  auto bad = [&](const std::string& what) { return ValueError(str(where, ": malformed persistent id: ", what)); };
  if (pid.size() != 5 && pid.size() != 6) throw bad(str("expected 5 or 6 items, found ", pid.size()));
  if (pid[0].kind != Item::Kind::Value || !pid[0].value.is_string() || pid[0].value.to_string() != "storage")
    throw bad("the first item is not 'storage' (whole pickled modules are not supported)");
  if (pid[1].kind != Item::Kind::Global ||
      (pid[1].global->tag != GlobalTag::StorageClass && pid[1].global->tag != GlobalTag::UntypedStorage))
    throw bad("the second item is not a storage class");
  for (int i : {2, 3})
    if (pid[i].kind != Item::Kind::Value || !pid[i].value.is_string()) throw bad(str("item ", i, " is not a string"));
  if (pid[4].kind != Item::Kind::Value || !pid[4].value.is_int() || pid[4].value.to_int() < 0)
    throw bad("the element count is not a non-negative int");
  if (pid.size() == 6 && !(pid[5].kind == Item::Kind::Value && pid[5].value.is_none()))
    throw bad("legacy storage views (view_metadata) are not supported");
  return {pid[1].global->dtype, pid[2].value.to_string(), pid[3].value.to_string(), pid[4].value.to_int()};
}

}  // namespace

void check_value_shape(const Value& root, const std::string& where) {
  // Iterative DFS: on_path detects cycles; expanded[] counts tree nodes with sharing multiplied out.
  constexpr uint64_t kMaxExpanded = 50'000'000;
  std::unordered_map<const void*, uint64_t> expanded;
  std::unordered_set<const void*> on_path;
  struct Frame {
    const Value* v;
    size_t next = 0;
    uint64_t count = 1;
  };
  auto id = [](const Value& v) -> const void* {
    if (v.is_list()) return &v.list();
    if (v.is_tuple()) return &v.tuple();
    if (v.is_dict()) return &v.dict();
    return nullptr;
  };
  auto child = [](const Value& v, size_t i) -> const Value* {
    if (v.is_list()) return i < v.list().size() ? &v.list()[i] : nullptr;
    if (v.is_tuple()) return i < v.tuple().size() ? &v.tuple()[i] : nullptr;
    if (v.is_dict()) {  // the items, then the attributes' values (BUILD can put anything there)
      const Dict& d = v.dict();
      if (i < d.size()) return &(d.begin() + static_cast<std::ptrdiff_t>(i))->second;
      i -= d.size();
      if (d.attributes && i < d.attributes->size()) return &(d.attributes->begin() + static_cast<std::ptrdiff_t>(i))->second;
    }
    return nullptr;
  };
  if (!id(root)) return;
  std::vector<Frame> stack{{&root}};
  on_path.insert(id(root));
  while (!stack.empty()) {
    Frame& f = stack.back();
    const Value* c = child(*f.v, f.next++);
    if (!c) {
      uint64_t count = f.count;
      on_path.erase(id(*f.v));
      expanded[id(*f.v)] = count;
      stack.pop_back();
      if (!stack.empty()) stack.back().count = std::min(kMaxExpanded + 1, stack.back().count + count);
      EMBER_CHECK_VALUE(count <= kMaxExpanded, where, ": the loaded object expands to more than ", kMaxExpanded,
                        " values through shared references");
      continue;
    }
    const void* cid = id(*c);
    if (!cid) {
      ++f.count;
      continue;
    }
    EMBER_CHECK_VALUE(!on_path.count(cid), where, ": the object contains itself (a cyclic reference)");
    if (auto it = expanded.find(cid); it != expanded.end()) {
      f.count = std::min(kMaxExpanded + 1, f.count + it->second);
      continue;
    }
    EMBER_CHECK_VALUE(stack.size() < 1000, where, ": values nested deeper than 1000 levels");
    on_path.insert(cid);
    stack.push_back({c});
  }
}

bool is_torchscript_archive(const ZipReader& zip) {
  if (zip.entries().empty()) return false;
  const std::string& first = zip.entries()[0].name;
  std::string prefix = first.substr(0, first.find('/') + 1);
  for (const ZipEntry& e : zip.entries())
    if (e.name == prefix + "constants.pkl" || e.name == prefix + "bytecode.pkl" || e.name.rfind(prefix + "code/", 0) == 0)
      return true;
  return false;
}

Value load_torch_zip(std::shared_ptr<ByteSource> source, const LoadOptions& options) {
  ZipReader zip(source);
  const std::string file = source->name();
  EMBER_CHECK_VALUE(!zip.entries().empty(), file, ": empty zip archive, not a torch.save checkpoint");
  const std::string& first = zip.entries()[0].name;
  size_t slash = first.find('/');
  EMBER_CHECK_VALUE(slash != std::string::npos, file, ": zip record '", first, "' has no archive folder; not a torch.save checkpoint");
  std::string prefix = first.substr(0, slash + 1);
  bool verify = options.should_verify_crc();
  for (const ZipEntry& e : zip.entries())
    EMBER_CHECK_VALUE(e.name.rfind(prefix, 0) == 0, file, ": record '", e.name, "' is outside the archive folder '", prefix, "'");
  if (is_torchscript_archive(zip))
    throw ValueError(str(file, ": this is a TorchScript archive (torch.jit.save); load it with torch.jit.load or ",
                         "LibTorch, or re-export it with torch.save(model.state_dict())"));
  const ZipEntry* pkl = zip.find(prefix + "data.pkl");
  EMBER_CHECK_VALUE(pkl != nullptr, file, ": no '", prefix, "data.pkl' record: not a torch.save checkpoint");
  const ZipEntry* version = zip.find(prefix + ".data/version");
  if (!version) version = zip.find(prefix + "version");
  if (version) {
    std::string v = zip.read_string(*version, verify);
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
    EMBER_CHECK_VALUE(!v.empty() && v.size() < 10 && v.find_first_not_of("0123456789") == std::string::npos && std::stoll(v) > 0,
                      file, ": record '", version->name, "' holds '", v.substr(0, 20), "', expected a positive version");
  }
  bool big_endian = false;
  if (const ZipEntry* bo = zip.find(prefix + "byteorder")) {
    std::string order = zip.read_string(*bo, verify);
    EMBER_CHECK_VALUE(order == "little" || order == "big", file, ": byteorder record holds '", order.substr(0, 20), "'");
    big_endian = order == "big";
  }
  std::string pickle = zip.read_string(*pkl, verify);

  std::unordered_map<std::string, std::shared_ptr<StorageRef>> loaded;
  BackgroundReads reads(zip);  // declared after `loaded`: waits for its work before storages go
  auto persistent_load = [&](const std::vector<Item>& pid_items) {
    Pid pid = parse_pid(pid_items, file + ": " + pkl->name);
    Item item;
    item.kind = Item::Kind::Storage;
    if (auto it = loaded.find(pid.key); it != loaded.end()) {
      EMBER_CHECK_VALUE(it->second->dtype == pid.dtype, file, ": storage '", pid.key, "' is referenced as both ",
                        it->second->dtype, " and ", pid.dtype);
      item.storage = it->second;
      return item;
    }
    std::string record = prefix + "data/" + pid.key;
    const ZipEntry* e = zip.find(record);
    EMBER_CHECK_VALUE(e != nullptr, file, ": storage '", pid.key, "' has no record '", record, "'");
    size_t elsize = element_size(pid.dtype);
    EMBER_CHECK_VALUE(static_cast<uint64_t>(pid.numel) <= e->size / elsize && static_cast<uint64_t>(pid.numel) * elsize == e->size,
                      file, ": record '", record, "' holds ", e->size, " bytes, but its storage is ", pid.numel, " x ",
                      elsize, "-byte ", pid.dtype, " = ", static_cast<uint64_t>(pid.numel) * elsize);
    Device device = resolve_location(pid.location, options, file + ": storage '" + pid.key + "'");
    auto ref = std::make_shared<StorageRef>(StorageRef{pid.key, pid.dtype, pid.numel, pid.location, {}});
    std::shared_ptr<void> keepalive;
    const uint8_t* borrowed = nullptr;
    if (options.mmap_ && !big_endian && device.is_cpu() && e->data_offset % elsize == 0)
      borrowed = zip.source().borrow(e->data_offset, e->size, keepalive);
    if (borrowed) {
      if (verify) reads.verify(*e, borrowed);
      ref->storage = Storage::borrow(const_cast<uint8_t*>(borrowed), e->size, kCPU, keepalive);
    } else {
      Storage host = Storage::allocate(e->size, kCPU);
      // Plain CPU storages are filled in the background; byte swaps and device copies need the bytes now.
      if (big_endian || !device.is_cpu()) {
        zip.read(*e, host.data(), verify);
        if (big_endian && elsize > 1) byteswap(host.data(), elsize, static_cast<uint64_t>(pid.numel));
      } else {
        reads.read(*e, host.data(), verify);
      }
      ref->storage = host;
      if (!device.is_cpu())
        ref->storage = Tensor::make(host, {pid.numel}, {1}, 0, pid.dtype).to(device).storage();
    }
    if (options.keep_saved_locations_ && !options.map_location_ && pid.location != "cpu")
      ref->storage.set_saved_location(pid.location);
    loaded[pid.key] = ref;
    item.storage = ref;
    return item;
  };
  Unpickler unpickler(reinterpret_cast<const uint8_t*>(pickle.data()), pickle.size(), file + ": " + pkl->name, persistent_load);
  Item result = unpickler.load();
  if (result.kind == Item::Kind::Storage) result = value_item(Value::storage(result.storage->storage, result.storage->dtype));
  EMBER_CHECK_VALUE(result.kind == Item::Kind::Value, file, ": the pickled object is not a value ember can represent");
  try {
    check_value_shape(result.value, file);
    reads.finish();
  } catch (...) {
    release(result.value);
    throw;
  }
  if (verify) {  // every record's CRC, also those nothing referenced (.format_version, stray storages)
    std::unordered_set<std::string> checked{pkl->name};
    if (version) checked.insert(version->name);
    for (const auto& [key, ref] : loaded) checked.insert(prefix + "data/" + key);
    for (const ZipEntry& e : zip.entries())
      if (!checked.count(e.name) && !(e.name == prefix + "byteorder")) {
        std::vector<uint8_t> bytes(e.size);
        zip.read(e, bytes.data(), true);
      }
  }
  return result.value;
}

}  // namespace ember::io
