// PyTorch's torch.save formats (shared/docs/formats.md): the zip format read and written, the
// legacy (pre-1.6) stream format read, TorchScript archives recognised and refused.
#pragma once

#include <memory>
#include <string>

#include "io/file.h"
#include "io/serialize.h"

namespace ember::io {

// `prefix` is the archive's top folder ("archive" for streams, the file stem for paths).
void save_torch(const Value& value, ByteSink& sink, const std::string& prefix);
Value load_torch_zip(std::shared_ptr<ByteSource> source, const LoadOptions& options);
Value load_torch_legacy(std::shared_ptr<ByteSource> source, const LoadOptions& options);

class ZipReader;
// True for a torch.jit.save archive (constants.pkl, bytecode.pkl or code/ records under the
// archive's folder): decided from the zip directory alone, reading no record.
bool is_torchscript_archive(const ZipReader& zip);

// Throws unless the value is a finite tree no deeper than 1000 levels (pickles can build cycles
// and exponentially shared DAGs; nothing downstream should have to walk those).
void check_value_shape(const Value& value, const std::string& where);

// The device a storage saved at `location` loads on, or a ValueError saying to pass map_location.
Device resolve_location(const std::string& location, const LoadOptions& options, const std::string& where);

}  // namespace ember::io
