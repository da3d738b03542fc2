// Python pickle (protocol 2), as torch.save's data.pkl uses it.
//
// Pickler emits opcodes. Unpickler is a restricted stack machine: it implements the opcodes of
// shared/docs/formats.md §3.1 (no NEWOBJ, no INST/OBJ), resolves GLOBAL only through a fixed
// allow-list of tags, and never executes anything: an unknown global is an error naming it.
// Every length is bounded by the bytes that remain, and the stack, mark stack and memo are capped.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/value.h"

namespace ember::io {

class Pickler {
 public:
  std::vector<uint8_t> bytes;
  void op(uint8_t code) { bytes.push_back(code); }
  void proto() {  // two push_backs: GCC 12 warns falsely about insert({...}) into an empty vector
    op(0x80);
    op(2);
  }
  void stop() { op('.'); }
  void none() { op('N'); }
  void boolean(bool b) { op(b ? 0x88 : 0x89); }
  void integer(int64_t v);
  void floating(double v);
  void string(const std::string& s);
  void global(const std::string& module, const std::string& name);
  void mark() { op('('); }
  // Builds a tuple of the last n items (n <= 3: TUPLEn; otherwise the caller must have marked).
  void tuple(size_t n);
  void empty_list() { op(']'); }
  void empty_dict() { op('}'); }
  void appends() { op('e'); }
  void setitems() { op('u'); }
  void reduce() { op('R'); }
  void build() { op('b'); }
  void binpersid() { op('Q'); }
  void memo_put(uint32_t index);
  void memo_get(uint32_t index);
};

// What a GLOBAL may name. Everything else is refused.
enum class GlobalTag {
  RebuildTensorV2, RebuildTensorV3, RebuildParameter, OrderedDict, Counter, TorchSize, TorchDevice, DTypeValue,
  StorageClass, UntypedStorage, CodecsEncode, Bytes,
};

struct Global {
  GlobalTag tag;
  std::string module, name;
  DType dtype = kFloat32;  // StorageClass and DTypeValue
};

// A storage named by a persistent id, shared by every tensor that views it.
struct StorageRef {
  std::string key;
  DType dtype;
  int64_t numel;  // elements of dtype
  std::string location;
  Storage storage;
};

// A stack item: a plain value, a global, a storage, or a tuple holding non-values.
struct Item {
  enum class Kind { Value, Global, Storage, RawTuple } kind = Kind::Value;
  Value value;
  std::shared_ptr<Global> global;
  std::shared_ptr<StorageRef> storage;
  std::vector<Item> items;
};

struct UnpicklerLimits {
  size_t max_stack = 1u << 20;
  size_t max_marks = 10000;
  size_t max_memo = 1u << 22;
};

class Unpickler {
 public:
  // persistent_load resolves a BINPERSID tuple to a storage item.
  using PersistentLoad = std::function<Item(const std::vector<Item>& pid)>;
  Unpickler(const uint8_t* data, size_t size, std::string where, PersistentLoad persistent_load,
            UnpicklerLimits limits = {});
  // Runs from `offset` to STOP; returns the result. next_offset() is the byte after STOP.
  // A failed load empties every container it built: a hostile pickle can build reference cycles
  // (l.append(l)), which would otherwise leak.
  Item load(size_t offset = 0);
  size_t next_offset() const { return pos_; }

 private:
  [[noreturn]] void fail(const std::string& what) const;
  Item run();
  void break_cycles();
  uint8_t byte();
  const uint8_t* take(size_t n, const char* what);
  std::string line(const char* what);
  void push(Item item);
  Item pop();
  std::vector<Item> pop_to_mark();
  Item reduce(const Item& callable, const Item& args);
  void build(Item& target, const Item& state);
  Global resolve(const std::string& module, const std::string& name) const;

  const uint8_t* data_;
  size_t size_, pos_ = 0, op_at_ = 0;
  std::string where_;
  PersistentLoad persistent_load_;
  UnpicklerLimits limits_;
  std::vector<Item> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, Item> memo_;
  // What the current op has popped (its values share their containers): if the op then fails, these
  // are neither on the stack nor in the memo, and break_cycles must still reach them.
  std::vector<Item> in_hand_;
};

// torch's typed storage classes: "FloatStorage" for float32, ...; false for other names.
const char* storage_class_name(DType dtype);
// Whether torch 2.x saves `dtype` through torch.UntypedStorage and _rebuild_tensor_v3 (uint16/32/64,
// float8): it has no typed storage class.
bool needs_untyped_storage(DType dtype);
bool storage_class_dtype(const std::string& name, DType& dtype);

// The items of a tuple-like item (a Value tuple or a RawTuple).
std::vector<Item> tuple_items(const Item& item);
Item value_item(Value v);

}  // namespace ember::io
