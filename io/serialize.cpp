#include "io/serialize.h"

#include <cstring>
#include <istream>
#include <iterator>

#include "io/file.h"
#include "io/safetensors.h"
#include "io/torch_format.h"
#include "io/zip.h"

namespace ember::io {

LoadOptions& LoadOptions::map_location(Device device) {
  map_location_ = [device](const std::string&) { return device; };
  return *this;
}

LoadOptions& LoadOptions::map_location(std::map<std::string, std::string> mapping) {
  map_location_ = [mapping](const std::string& saved) {
    auto it = mapping.find(saved);
    return Device(it == mapping.end() ? saved : it->second);
  };
  return *this;
}

LoadOptions& LoadOptions::map_location(MapLocation fn) {
  map_location_ = std::move(fn);
  return *this;
}

namespace {

const uint8_t kZipMagic[] = {0x50, 0x4B, 0x03, 0x04};
const uint8_t kLegacyMagic[] = {0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E};

enum class Detected { Zip, Legacy, Safetensors, Tar, JitPreview, Unknown };

Detected detect(const ByteSource& src) {
  uint8_t head[16] = {};
  uint64_t n = std::min<uint64_t>(src.size(), sizeof head);
  src.read(0, head, n, "the file header");
  if (n >= 4 && std::memcmp(head, kZipMagic, 4) == 0) return Detected::Zip;
  if (n >= sizeof kLegacyMagic && std::memcmp(head, kLegacyMagic, sizeof kLegacyMagic) == 0) return Detected::Legacy;
  if (n >= 8 && std::memcmp(head, "PYTORCH1", 8) == 0) return Detected::JitPreview;
  if (src.size() >= 262) {
    char ustar[5];
    src.read(257, ustar, 5, "the tar header");
    if (std::memcmp(ustar, "ustar", 5) == 0) return Detected::Tar;
  }
  if (looks_like_safetensors(src)) return Detected::Safetensors;
  return Detected::Unknown;
}

Value load_source(std::shared_ptr<ByteSource> src, const LoadOptions& options) {
  switch (detect(*src)) {
    case Detected::Zip: return load_torch_zip(src, options);
    case Detected::Legacy: return load_torch_legacy(src, options);
    case Detected::Safetensors: return load_safetensors(src, options);
    case Detected::Tar:
      throw ValueError(str(src->name(), ": a tar-based torch.save file from PyTorch 0.1.x, which ember does not read; ",
                           "re-save it with a recent PyTorch"));
    case Detected::JitPreview:
      throw ValueError(str(src->name(), ": a PYTORCH1 TorchScript preview container, which neither ember nor PyTorch reads"));
    case Detected::Unknown: break;
  }
  if (src->size() < 8)
    throw ValueError(str(src->name(), ": ", src->size(), " bytes is too small for any checkpoint format ",
                         "(as safetensors: HeaderTooSmall; a torch.save zip starts with PK\\3\\4)"));
  {  // a safetensors file whose header length is broken: let its reader say what is wrong
    uint8_t head[8];
    src->read(0, head, 8, "the file header");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | head[i];
    if (n > src->size() - 8 && src->size() > 8) {
      uint8_t b;
      src->read(8, &b, 1, "the header");
      if (b == '{') return load_safetensors(src, options);  // a safetensors file with a broken length: say so
    }
  }
  throw ValueError(str(src->name(), ": unrecognised file format: expected a torch.save zip archive (starts with PK\\3\\4), ",
                       "a legacy torch.save stream, or safetensors (", src->size(), " bytes)"));
}

std::string archive_prefix(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  size_t dot = base.rfind('.');
  std::string stem = dot == std::string::npos || dot == 0 ? base : base.substr(0, dot);
  return stem.empty() ? "archive" : stem;
}

void write_to(const Value& value, ByteSink& sink, const SaveOptions& options, const std::string& prefix) {
  if (options.format_ == Format::Safetensors) save_safetensors(value, sink);
  else save_torch(value, sink, prefix);
}

std::vector<uint8_t> read_all(std::istream& in) {
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EMBER_CHECK_VALUE(!in.bad(), "load: reading the stream failed");
  return bytes;
}

}  // namespace

void save(const Value& value, const std::string& path, const SaveOptions& options) {
  AtomicFile file(path);
  write_to(value, file, options, archive_prefix(path));
  file.commit();
}

void save(const Value& value, std::ostream& out, const SaveOptions& options) {
  StreamSink sink(out);
  write_to(value, sink, options, "archive");
}

std::vector<uint8_t> save_to_bytes(const Value& value, const SaveOptions& options) {
  VectorSink sink;
  write_to(value, sink, options, "archive");
  return std::move(sink.bytes);
}

Value load(const std::string& path, const LoadOptions& options) {
  return load_source(options.mmap_ ? map_file(path) : open_file(path), options);
}

Value load(std::istream& in, const LoadOptions& options) { return load_bytes(read_all(in), options); }

Value load_bytes(std::vector<uint8_t> bytes, const LoadOptions& options) {
  return load_source(memory_source(std::move(bytes)), options);
}

std::string detect_format(const std::string& path) {
  auto src = open_file(path);
  switch (detect(*src)) {
    case Detected::Zip: return is_torchscript_archive(ZipReader(src)) ? "torchscript" : "torch-zip";
    case Detected::Legacy: return "torch-legacy";
    case Detected::Safetensors: return "safetensors";
    default: return "unknown";
  }
}

}  // namespace ember::io
