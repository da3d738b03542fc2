// Byte sources and sinks under the formats: files read with pread, memory, mmap'd files, and
// atomic file writes.
//
// AtomicFile writes "<dir>/.<name>.tmp-<pid>-<n>", fsyncs it, renames it over the target and fsyncs
// the directory: a reader sees the old file or the new one, never part of one. On any error the temp
// file is removed, the old file is untouched, and the error names the path and the reason.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace ember::io {

// Random-access bytes: a file, a buffer or a mapping.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Reads exactly n bytes at offset into dst; throws naming `what` if the source is shorter.
  virtual void read(uint64_t offset, void* dst, uint64_t n, const std::string& what) const = 0;
  // A pointer to [offset, offset + n) that stays valid while `keepalive` lives, or null if the
  // source cannot lend its bytes (then read() them).
  virtual const uint8_t* borrow(uint64_t offset, uint64_t n, std::shared_ptr<void>& keepalive) const {
    return nullptr;
  }
  // "file.pt", "<memory>", ...: for error messages.
  virtual std::string name() const = 0;
};

// Opens `path` for pread; throws ValueError naming the path if it cannot.
std::shared_ptr<ByteSource> open_file(const std::string& path);
// Maps `path` copy-on-write: borrowed pages may be written without touching the file.
std::shared_ptr<ByteSource> map_file(const std::string& path);
std::shared_ptr<ByteSource> memory_source(std::vector<uint8_t> bytes, std::string name = "<memory>");

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(const void* data, uint64_t n) = 0;
  virtual uint64_t position() const = 0;
};

class VectorSink : public ByteSink {
 public:
  void write(const void* data, uint64_t n) override;
  uint64_t position() const override { return bytes.size(); }
  std::vector<uint8_t> bytes;
};

class StreamSink : public ByteSink {
 public:
  explicit StreamSink(std::ostream& os) : os_(os) {}
  void write(const void* data, uint64_t n) override;
  uint64_t position() const override { return pos_; }

 private:
  std::ostream& os_;
  uint64_t pos_ = 0;
};

class AtomicFile : public ByteSink {
 public:
  explicit AtomicFile(const std::string& path);
  ~AtomicFile() override;  // an uncommitted file is removed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  void write(const void* data, uint64_t n) override;
  uint64_t position() const override { return pos_; }
  // fsync, rename over the target, fsync the directory.
  void commit();
  const std::string& temp_path() const { return temp_; }

 private:
  void flush();
  void start_writeback(uint64_t offset, uint64_t n);
  [[noreturn]] void fail(const std::string& what, int err);
  std::string path_, temp_;
  int fd_ = -1;
  uint64_t pos_ = 0;
  std::vector<uint8_t> buffer_;
  bool committed_ = false;
};

// True for the temp files AtomicFile creates (for cleaning up after a crash).
bool is_atomic_temp_name(const std::string& filename);
// True when such a temp file's writer (the pid in its name) is still running on this machine: its
// save may be in flight, and the file is not to be removed.
bool atomic_temp_writer_alive(const std::string& filename);

}  // namespace ember::io
