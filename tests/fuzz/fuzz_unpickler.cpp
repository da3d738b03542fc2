// libFuzzer target: the restricted unpickler on raw pickle bytes. Persistent ids resolve to a small
// float storage so tensor rebuilds (bounds and overflow checks) are reached.
#include <cstdint>

#include "io/pickle.h"
#include "io/torch_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ember::io;
  auto storage = std::make_shared<StorageRef>(StorageRef{"0", ember::kFloat32, 16, "cpu", ember::Storage::allocate(64)});
  try {
    Unpickler u(data, size, "fuzz", [&](const std::vector<Item>&) {
      Item i;
      i.kind = Item::Kind::Storage;
      i.storage = storage;
      return i;
    });
    Item result = u.load();
    if (result.kind == Item::Kind::Value) {
      try {
        check_value_shape(result.value, "fuzz");
      } catch (...) {
        release(result.value);
        throw;
      }
    }
  } catch (const ember::Error&) {
  }
  return 0;
}
