// safetensors (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of JSON,
// then the tensors' bytes.
//
// Reading validates as the reference implementation does, in its order: file >= 8 bytes; N <= 100 MB
// (checked before allocating); 8 + N within the file; UTF-8 JSON of the right types with known dtypes
// and no duplicate keys; offsets that tile the buffer from 0 without gaps or overlaps; byte sizes that
// match shape x dtype; and a buffer that ends exactly at the end of the file. Errors carry the
// reference's error names (HeaderTooLarge, InvalidOffset(name), ...).
//
// The result is an OrderedDict name -> tensor; __metadata__ (strings) goes to its attributes.
// Writing flattens nested dicts with '.', materialises views (safetensors has no sharing) and stores
// non-tensor leaves as JSON text in __metadata__.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "io/file.h"
#include "io/serialize.h"

namespace ember::io {

Value load_safetensors(std::shared_ptr<ByteSource> source, const LoadOptions& options);
// `notes` receives what the conversion changed (flattened keys, materialised views, metadata).
void save_safetensors(const Value& value, ByteSink& sink, std::vector<std::string>* notes = nullptr);
bool looks_like_safetensors(const ByteSource& source);

}  // namespace ember::io
