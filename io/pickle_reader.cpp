// The restricted unpickler. Opcodes follow Python's pickle (protocol <= 2 plus what torch files use).
#include <cstring>

#include "io/pickle.h"

namespace ember::io {

Item value_item(Value v) {
  Item i;
  i.value = std::move(v);
  return i;
}

std::vector<Item> tuple_items(const Item& item) {
  if (item.kind == Item::Kind::RawTuple) return item.items;
  std::vector<Item> out;
  for (const Value& v : item.value.tuple()) out.push_back(value_item(v));
  return out;
}

namespace {

// Opcode sets we implement; anything else is refused by name.
const char* opcode_name(uint8_t op) {
  switch (op) {
    case 0x81: return "NEWOBJ";
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 'P': return "PERSID";
    case 'I': return "INT";
    case 'L': return "LONG";
    case 'F': return "FLOAT";
    case 'S': return "STRING";
    case 'V': return "UNICODE";
    case 0x82: case 0x83: case 0x84: return "EXT";
    default: return nullptr;
  }
}

}  // namespace

Unpickler::Unpickler(const uint8_t* data, size_t size, std::string where, PersistentLoad persistent_load,
                     UnpicklerLimits limits)
    : data_(data), size_(size), where_(std::move(where)), persistent_load_(std::move(persistent_load)), limits_(limits) {}

void Unpickler::fail(const std::string& what) const { throw ValueError(str(where_, ": byte ", op_at_, ": ", what)); }

uint8_t Unpickler::byte() {
  if (pos_ >= size_) fail("truncated pickle: expected more data (no STOP opcode)");
  return data_[pos_++];
}

const uint8_t* Unpickler::take(size_t n, const char* what) {
  if (n > size_ - pos_) fail(str("truncated pickle: ", what, " needs ", n, " bytes, ", size_ - pos_, " remain"));
  const uint8_t* p = data_ + pos_;
  pos_ += n;
  return p;
}

std::string Unpickler::line(const char* what) {
  size_t start = pos_;
  while (pos_ < size_ && data_[pos_] != '\n') {
    if (pos_ - start > 512) fail(str(what, " is longer than 512 bytes"));
    ++pos_;
  }
  if (pos_ >= size_) fail(str("truncated pickle in ", what));
  std::string s(reinterpret_cast<const char*>(data_ + start), pos_ - start);
  ++pos_;
  return s;
}

void Unpickler::push(Item item) {
  if (stack_.size() >= limits_.max_stack) fail(str("pickle stack exceeds ", limits_.max_stack, " items"));
  stack_.push_back(std::move(item));
}

Item Unpickler::pop() {
  size_t floor = marks_.empty() ? 0 : marks_.back();
  if (stack_.size() <= floor) fail("pickle stack underflow");
  Item item = std::move(stack_.back());
  stack_.pop_back();
  in_hand_.push_back(item);
  return item;
}

std::vector<Item> Unpickler::pop_to_mark() {
  if (marks_.empty()) fail("MARK expected but none is open");
  size_t at = marks_.back();
  marks_.pop_back();
  std::vector<Item> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(at)),
                          std::make_move_iterator(stack_.end()));
  stack_.resize(at);
  in_hand_.insert(in_hand_.end(), items.begin(), items.end());
  return items;
}

namespace {

// A container element: a value, or a dtype global (which pickles as a bare global).
Value element_value(const Item& item, const std::function<void(const std::string&)>& fail) {
  if (item.kind == Item::Kind::Value) return item.value;
  if (item.kind == Item::Kind::Global && item.global->tag == GlobalTag::DTypeValue)
    return Value::torch_dtype(dtype_name(item.global->dtype));
  if (item.kind == Item::Kind::Storage) return Value::storage(item.storage->storage, item.storage->dtype);
  if (item.kind == Item::Kind::RawTuple) {  // a tuple of storages is a value; one holding a class is not
    Tuple t;
    for (const Item& i : item.items) {
      if (i.kind == Item::Kind::Global && i.global->tag != GlobalTag::DTypeValue)
        fail(str("a tuple holding global '", i.global->module, ".", i.global->name, "' inside a container is not supported"));
      t.items.push_back(element_value(i, fail));
    }
    return Value(std::move(t));
  }
  fail(str("global '", item.global->module, ".", item.global->name, "' cannot be stored in a container"));
  return Value();
}

Key dict_key(const Value& k, const std::function<void(const std::string&)>& fail) {
  if (k.is_string()) return Key(k.to_string());
  if (k.is_int()) return Key(k.to_int());
  fail(str("dict key of type ", k.type_name(), " is not supported (expected str or int)"));
  return Key(0);
}

}  // namespace

Item Unpickler::load(size_t offset) {
  pos_ = offset;
  stack_.clear();
  marks_.clear();
  memo_.clear();
  in_hand_.clear();
  try {
    Item result = run();
    memo_.clear();
    in_hand_.clear();
    return result;
  } catch (...) {
    break_cycles();
    throw;
  }
}

namespace {
// An item's values, and those of the items a raw tuple holds.
void release_item(Item& item) {
  release(item.value);
  for (Item& inner : item.items) release_item(inner);
}
}  // namespace

void Unpickler::break_cycles() {
  for (Item& item : stack_) release_item(item);
  for (auto& [k, item] : memo_) release_item(item);
  for (Item& item : in_hand_) release_item(item);
  stack_.clear();
  memo_.clear();
  in_hand_.clear();
}

Item Unpickler::run() {
  auto failf = [this](const std::string& what) { fail(what); };
  for (;;) {
    op_at_ = pos_;
    in_hand_.clear();  // the previous op succeeded: what it popped is on the stack again or dropped
    uint8_t op = byte();
    switch (op) {
      case 0x80: {  // PROTO
        uint8_t v = byte();
        if (v > 5) fail(str("unsupported pickle protocol ", static_cast<int>(v)));
        break;
      }
      case 0x95: take(8, "FRAME"); break;  // protocol 4 framing: no semantic effect
      case '.': {  // STOP
        if (stack_.size() != 1 || !marks_.empty()) fail(str("STOP with ", stack_.size(), " items on the stack (expected 1)"));
        return std::move(stack_.back());
      }
      case '(':
        if (marks_.size() >= limits_.max_marks) fail(str("more than ", limits_.max_marks, " nested MARKs"));
        marks_.push_back(stack_.size());
        break;
      case 'N': push(value_item(Value())); break;
      case 0x88: push(value_item(true)); break;
      case 0x89: push(value_item(false)); break;
      case 'K': push(value_item(static_cast<int64_t>(byte()))); break;
      case 'M': {
        const uint8_t* p = take(2, "BININT2");
        push(value_item(static_cast<int64_t>(p[0] | (p[1] << 8))));
        break;
      }
      case 'J': {
        const uint8_t* p = take(4, "BININT");
        int32_t v;
        std::memcpy(&v, p, 4);
        push(value_item(static_cast<int64_t>(v)));
        break;
      }
      case 0x8A: {  // LONG1
        uint8_t n = byte();
        const uint8_t* p = take(n, "LONG1");
        if (n > 8) {  // fits int64 only if the extra bytes are pure sign extension
          for (size_t i = 8; i < n; ++i)
            if (p[i] != ((p[7] & 0x80) ? 0xFF : 0x00)) fail("integer does not fit in 64 bits");
          n = 8;
        }
        uint64_t u = 0;
        for (size_t i = 0; i < n; ++i) u |= static_cast<uint64_t>(p[i]) << (8 * i);
        if (n > 0 && n < 8 && (p[n - 1] & 0x80)) u |= ~uint64_t{0} << (8 * n);  // sign-extend
        push(value_item(static_cast<int64_t>(u)));
        break;
      }
      case 'G': {  // BINFLOAT, big endian
        const uint8_t* p = take(8, "BINFLOAT");
        uint64_t u = 0;
        for (int i = 0; i < 8; ++i) u = (u << 8) | p[i];
        double d;
        std::memcpy(&d, &u, 8);
        push(value_item(d));
        break;
      }
      case 'X': case 'T': case 'U': case 0x8C: case 0x8D: {  // BINUNICODE, BINSTRING, SHORT_BINSTRING, SHORT_BINUNICODE, BINUNICODE8
        uint64_t n;
        if (op == 'U' || op == 0x8C) {
          n = byte();
        } else if (op == 0x8D) {
          const uint8_t* p = take(8, "BINUNICODE8 length");
          n = 0;
          for (int i = 7; i >= 0; --i) n = (n << 8) | p[i];
        } else {
          const uint8_t* p = take(4, "string length");
          n = p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint64_t>(p[3]) << 24);
        }
        if (n > size_ - pos_) fail(str("string of ", n, " bytes runs past the end (", size_ - pos_, " remain)"));
        const uint8_t* p = take(static_cast<size_t>(n), "string");
        push(value_item(std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n))));
        break;
      }
      case 'B': case 'C': case 0x8E: {  // BINBYTES, SHORT_BINBYTES, BINBYTES8 (protocol 3+)
        uint64_t n = 0;
        if (op == 'C') {
          n = byte();
        } else {
          const uint8_t* p = take(op == 'B' ? 4 : 8, "bytes length");
          for (int i = op == 'B' ? 3 : 7; i >= 0; --i) n = (n << 8) | p[i];
        }
        if (n > size_ - pos_) fail(str("bytes of length ", n, " run past the end (", size_ - pos_, " remain)"));
        const uint8_t* p = take(static_cast<size_t>(n), "bytes");
        push(value_item(Value::bytes(std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)))));
        break;
      }
      case ']': push(value_item(Value(List{}))); break;
      case '}': push(value_item(Value(Dict{}))); break;
      case ')': push(value_item(Value(Tuple{}))); break;
      case 0x85: case 0x86: case 0x87: case 't': {  // TUPLE1/2/3, TUPLE
        std::vector<Item> items;
        if (op == 't') {
          items = pop_to_mark();
        } else {
          size_t n = op - 0x84;
          for (size_t i = 0; i < n; ++i) items.insert(items.begin(), pop());
        }
        bool plain = true;
        for (const Item& i : items) plain = plain && (i.kind == Item::Kind::Value ||
                                                      (i.kind == Item::Kind::Global && i.global->tag == GlobalTag::DTypeValue));
        if (plain) {
          Tuple t;
          for (const Item& i : items) t.items.push_back(element_value(i, failf));
          push(value_item(Value(std::move(t))));
        } else {
          Item raw;
          raw.kind = Item::Kind::RawTuple;
          raw.items = std::move(items);
          push(std::move(raw));
        }
        break;
      }
      case 'a': case 'e': {  // APPEND, APPENDS
        std::vector<Item> items;
        if (op == 'a') items.push_back(pop());
        else items = pop_to_mark();
        if (stack_.empty()) fail("APPEND with no list on the stack");
        Item& target = stack_.back();
        if (target.kind != Item::Kind::Value || !target.value.is_list()) fail("APPEND to something that is not a list");
        for (const Item& i : items) target.value.list().push_back(element_value(i, failf));
        break;
      }
      case 's': case 'u': {  // SETITEM, SETITEMS
        std::vector<Item> items;
        if (op == 's') {
          Item v = pop(), k = pop();
          items = {k, v};
        } else {
          items = pop_to_mark();
        }
        if (items.size() % 2) fail("SETITEMS with an odd number of items");
        if (stack_.empty()) fail("SETITEM with no dict on the stack");
        Item& target = stack_.back();
        if (target.kind != Item::Kind::Value || !target.value.is_dict()) fail("SETITEM on something that is not a dict");
        for (size_t i = 0; i < items.size(); i += 2)
          target.value.dict().insert(dict_key(element_value(items[i], failf), failf), element_value(items[i + 1], failf));
        break;
      }
      case 'c': {  // GLOBAL
        std::string module = line("GLOBAL module"), name = line("GLOBAL name");
        Item g;
        g.kind = Item::Kind::Global;
        g.global = std::make_shared<Global>(resolve(module, name));
        push(std::move(g));
        break;
      }
      case 0x93: fail("STACK_GLOBAL (protocol 4) is not supported; torch.save writes protocol 2");
      case 'R': {  // REDUCE
        Item args = pop(), callable = pop();
        push(reduce(callable, args));
        break;
      }
      case 'b': {  // BUILD
        Item state = pop();
        if (stack_.empty()) fail("BUILD with nothing to build");
        build(stack_.back(), state);
        break;
      }
      case 'Q': {  // BINPERSID
        Item pid = pop();
        if (!persistent_load_) fail("persistent id in a pickle that may not reference storages");
        push(persistent_load_(tuple_items(pid)));
        break;
      }
      case 'q': case 'r': {  // BINPUT, LONG_BINPUT
        uint32_t index;
        if (op == 'q') {
          index = byte();
        } else {
          const uint8_t* p = take(4, "LONG_BINPUT");
          index = p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
        }
        if (stack_.empty()) fail("BINPUT with an empty stack");
        if (memo_.size() >= limits_.max_memo && !memo_.count(index)) fail(str("memo exceeds ", limits_.max_memo, " entries"));
        memo_[index] = stack_.back();
        break;
      }
      case 'h': case 'j': {  // BINGET, LONG_BINGET
        uint32_t index;
        if (op == 'h') {
          index = byte();
        } else {
          const uint8_t* p = take(4, "LONG_BINGET");
          index = p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
        }
        auto it = memo_.find(index);
        if (it == memo_.end()) fail(str("BINGET of memo entry ", index, ", which was never stored"));
        push(it->second);
        break;
      }
      case '0': pop(); break;  // POP
      case '1': pop_to_mark(); break;  // POP_MARK
      case '2': {  // DUP
        if (stack_.empty()) fail("DUP with an empty stack");
        push(stack_.back());
        break;
      }
      default: {
        const char* name = opcode_name(op);
        if (name) fail(str("pickle opcode ", name, " is not supported by ember's restricted loader"));
        fail(str("unknown pickle opcode 0x", "0123456789abcdef"[op >> 4], "0123456789abcdef"[op & 15]));
      }
    }
  }
}

}  // namespace ember::io
