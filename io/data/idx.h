// IDX files (the MNIST family's format), optionally gzip'd, read through zlib.
//
// Header: 2 zero bytes, a type byte (0x08 = uint8), the number of dims, then each dim as a
// big-endian u32, then the data. The data's size must equal the product of the dims exactly.
#pragma once

#include <string>

#include "core/tensor.h"

namespace ember::io {

// The whole file as a uint8 tensor of the header's shape. Throws ValueError naming the path for a
// missing file, a wrong magic, or data shorter or longer than the header says.
Tensor read_idx(const std::string& path);

}  // namespace ember::io
