// save / load: the torch.save / torch.load of ember.
//
//   io::Value ckpt = io::Dict();
//   ckpt["epoch"] = 3;
//   ckpt["model_state_dict"] = model.state_dict();
//   io::save(ckpt, "ckpt.pt");                       // PyTorch's zip format, written atomically
//   io::Value back = io::load("ckpt.pt");             // also reads files written by torch.save
//   io::load("model.safetensors");                    // the format is chosen by content, never by name
//
// Loading is weights-only: a fixed allow-list of globals, no code execution, every record's CRC-32
// verified, every size and offset checked against the file; bad input throws ValueError naming the
// file, record, byte offset or key path.
#pragma once

#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "io/value.h"

namespace ember::io {

enum class Format { Torch, Safetensors };

struct SaveOptions {
  Format format_ = Format::Torch;
  SaveOptions& format(Format f) { format_ = f; return *this; }
};

// Maps a storage's saved location ("cpu", "cuda:0", ...) to the device it loads on.
using MapLocation = std::function<Device(const std::string& saved_location)>;

struct LoadOptions {
  std::optional<MapLocation> map_location_;
  bool mmap_ = false;
  std::optional<bool> verify_crc_;  // default: on, except with mmap (reading every page defeats it)
  bool keep_saved_locations_ = false;

  // Everything onto one device: map_location("cpu").
  LoadOptions& map_location(Device device);
  // {from: to}, e.g. {{"cuda:1", "cuda:0"}}; locations not in the map load where they were saved.
  LoadOptions& map_location(std::map<std::string, std::string> mapping);
  LoadOptions& map_location(MapLocation fn);
  // Tensors borrow the file's pages (copy-on-write) instead of reading them.
  LoadOptions& mmap(bool on = true) { mmap_ = on; return *this; }
  LoadOptions& verify_crc(bool on) { verify_crc_ = on; return *this; }
  // For tools that read any file: every storage loads on the CPU, whatever device it was saved on
  // (even one this build or machine lacks), and remembers its saved location
  // (Storage::saved_location), which save() writes back. Ignored where a map_location is given.
  LoadOptions& keep_saved_locations(bool on = true) { keep_saved_locations_ = on; return *this; }
  bool should_verify_crc() const { return verify_crc_.value_or(!mmap_); }
};

// Saves atomically to `path` (temp file, fsync, rename, fsync of the directory).
void save(const Value& value, const std::string& path, const SaveOptions& options = {});
void save(const Value& value, std::ostream& out, const SaveOptions& options = {});
std::vector<uint8_t> save_to_bytes(const Value& value, const SaveOptions& options = {});

Value load(const std::string& path, const LoadOptions& options = {});
Value load(std::istream& in, const LoadOptions& options = {});
Value load_bytes(std::vector<uint8_t> bytes, const LoadOptions& options = {});

// What the first bytes say the file is: "torch-zip", "torch-legacy", "torchscript", "safetensors",
// or a reason it is none of them.
std::string detect_format(const std::string& path);

}  // namespace ember::io
