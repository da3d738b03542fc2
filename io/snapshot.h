// snapshot(value): a deep copy whose tensors live in fresh host memory, so that a background
// writer can save it while training changes the originals. Storage sharing is preserved (views of
// one storage still share one copy), so the file written is byte-identical to saving the original.
#pragma once

#include "io/value.h"

namespace ember::io {

Value snapshot(const Value& value);
// Bytes of tensor data a snapshot copies.
uint64_t snapshot_bytes(const Value& value);

}  // namespace ember::io
