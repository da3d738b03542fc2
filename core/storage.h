// Storage: refcounted bytes on one device, owned or borrowed.
//
// Tensors are views into a Storage; copying a Storage handle shares the bytes. An owned storage
// frees its bytes through the device's allocator when the last handle goes; a borrowed one (pages
// of an mmap'd file, a caller's buffer) keeps its `owner` alive instead and never frees the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/device.h"

namespace ember {

class Storage {
 public:
  Storage() = default;

  // nbytes of uninitialised memory on `device`, 64-byte aligned.
  static Storage allocate(size_t nbytes, Device device = kCPU);
  // Wraps memory that lives as long as `owner` does (nullptr: the caller guarantees lifetime).
  static Storage borrow(void* data, size_t nbytes, Device device, std::shared_ptr<void> owner);

  bool defined() const { return impl_ != nullptr; }
  void* data() const;
  size_t nbytes() const;
  Device device() const;
  bool is_borrowed() const;
  // Identity of the underlying bytes: equal for handles that share them.
  const void* id() const { return impl_.get(); }
  bool is_same(const Storage& other) const { return impl_ == other.impl_; }
  long use_count() const { return impl_.use_count(); }
  // Advances on every in-place write to these bytes (through any view). Autograd remembers the
  // version of each tensor a backward step reads and refuses to run on modified data.
  uint64_t version() const;
  void bump_version() const;
  // The location a file recorded for these bytes ("cuda:1") when they were loaded onto the CPU
  // without being moved (io::LoadOptions().keep_saved_locations(), as ember's tools load files);
  // saving writes it back. Empty for every other storage.
  const std::string& saved_location() const;
  void set_saved_location(std::string location) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ember
