#include "io/file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace ember::io {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

class FileSource : public ByteSource {
 public:
  explicit FileSource(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw ValueError(str(path, ": cannot open: ", errno_text(errno)));
    struct stat st {};
    if (fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      int err = errno;
      ::close(fd_);
      throw ValueError(str(path, ": not a regular file", S_ISDIR(st.st_mode) ? " (a directory)" : "",
                           err ? ": " + errno_text(err) : ""));
    }
    size_ = static_cast<uint64_t>(st.st_size);
  }
  ~FileSource() override { ::close(fd_); }
  uint64_t size() const override { return size_; }
  void read(uint64_t offset, void* dst, uint64_t n, const std::string& what) const override {
    EMBER_CHECK_VALUE(offset <= size_ && n <= size_ - offset, path_, ": truncated: ", what, " needs bytes [", offset,
                      ", ", offset + n, ") but the file has ", size_);
    uint64_t done = 0;
    while (done < n) {
      ssize_t got = ::pread(fd_, static_cast<char*>(dst) + done, std::min<uint64_t>(n - done, 1u << 30),
                            static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) throw ValueError(str(path_, ": read error at byte ", offset + done, " (", what, "): ",
                                         got < 0 ? errno_text(errno) : "unexpected end of file"));
      done += static_cast<uint64_t>(got);
    }
  }
  std::string name() const override { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

struct Mapping {
  void* addr = nullptr;
  size_t length = 0;
  ~Mapping() {
    if (addr && length) munmap(addr, length);
  }
};

class MappedSource : public ByteSource {
 public:
  explicit MappedSource(const std::string& path) : path_(path), mapping_(std::make_shared<Mapping>()) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw ValueError(str(path, ": cannot open: ", errno_text(errno)));
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      throw ValueError(str(path, ": not a regular file"));
    }
    mapping_->length = static_cast<size_t>(st.st_size);
    if (mapping_->length > 0) {
      // Private and writable: a tensor that borrows these pages may be modified in place, and the
      // changes go to private copies, never to the file.
      void* addr = mmap(nullptr, mapping_->length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
      int err = errno;
      ::close(fd);
      if (addr == MAP_FAILED) throw ValueError(str(path, ": mmap failed: ", errno_text(err)));
      mapping_->addr = addr;
    } else {
      ::close(fd);
    }
  }
  uint64_t size() const override { return mapping_->length; }
  void read(uint64_t offset, void* dst, uint64_t n, const std::string& what) const override {
    EMBER_CHECK_VALUE(offset <= size() && n <= size() - offset, path_, ": truncated: ", what, " needs bytes [", offset,
                      ", ", offset + n, ") but the file has ", size());
    if (n) std::memcpy(dst, static_cast<const uint8_t*>(mapping_->addr) + offset, n);
  }
  const uint8_t* borrow(uint64_t offset, uint64_t n, std::shared_ptr<void>& keepalive) const override {
    if (offset > size() || n > size() - offset) return nullptr;
    keepalive = mapping_;
    return static_cast<const uint8_t*>(mapping_->addr) + offset;
  }
  std::string name() const override { return path_; }

 private:
  std::string path_;
  std::shared_ptr<Mapping> mapping_;
};

class MemorySource : public ByteSource {
 public:
  MemorySource(std::vector<uint8_t> bytes, std::string name)
      : bytes_(std::make_shared<std::vector<uint8_t>>(std::move(bytes))), name_(std::move(name)) {}
  uint64_t size() const override { return bytes_->size(); }
  void read(uint64_t offset, void* dst, uint64_t n, const std::string& what) const override {
    EMBER_CHECK_VALUE(offset <= size() && n <= size() - offset, name_, ": truncated: ", what, " needs bytes [", offset,
                      ", ", offset + n, ") but there are ", size());
    if (n) std::memcpy(dst, bytes_->data() + offset, n);
  }
  std::string name() const override { return name_; }

 private:
  std::shared_ptr<std::vector<uint8_t>> bytes_;
  std::string name_;
};

}  // namespace

std::shared_ptr<ByteSource> open_file(const std::string& path) { return std::make_shared<FileSource>(path); }
std::shared_ptr<ByteSource> map_file(const std::string& path) { return std::make_shared<MappedSource>(path); }
std::shared_ptr<ByteSource> memory_source(std::vector<uint8_t> bytes, std::string name) {
  return std::make_shared<MemorySource>(std::move(bytes), std::move(name));
}

void VectorSink::write(const void* data, uint64_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  bytes.insert(bytes.end(), p, p + n);
}

void StreamSink::write(const void* data, uint64_t n) {
  os_.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
  EMBER_CHECK(os_.good(), "save: writing to the stream failed after ", pos_, " bytes");
  pos_ += n;
}

// ---- AtomicFile ----

namespace {
constexpr size_t kBufferBytes = size_t{4} << 20;
std::atomic<uint64_t> temp_counter{0};

std::pair<std::string, std::string> split_path(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}
}  // namespace

bool is_atomic_temp_name(const std::string& filename) {
  return !filename.empty() && filename[0] == '.' && filename.find(".tmp-") != std::string::npos;
}

bool atomic_temp_writer_alive(const std::string& filename) {
  size_t at = filename.rfind(".tmp-");
  if (at == std::string::npos) return false;
  long pid = std::strtol(filename.c_str() + at + 5, nullptr, 10);
  if (pid <= 0 || pid == ::getpid()) return false;  // our own leftovers are never in flight at start
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

AtomicFile::AtomicFile(const std::string& path) : path_(path) {
  auto [dir, base] = split_path(path);
  EMBER_CHECK_VALUE(!base.empty(), "save: '", path, "' names a directory, expected a file path");
  temp_ = dir + "/." + base + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(temp_counter++);
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(str("save to ", path, ": cannot create a temporary file in ", dir, ": ", errno_text(errno)));
  buffer_.reserve(kBufferBytes);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFile::fail(const std::string& what, int err) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(temp_.c_str());
  committed_ = true;  // nothing left to clean up
  throw Error(str("save to ", path_, ": ", what, " failed after ", pos_, " bytes: ", errno_text(err),
                  "; the previous file (if any) is untouched"));
}

void AtomicFile::flush() {
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write", errno);
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
}

void AtomicFile::write(const void* data, uint64_t n) {
  EMBER_CHECK(fd_ >= 0, "save to ", path_, ": write after commit");
  const uint8_t* p = static_cast<const uint8_t*>(data);
  if (buffer_.size() + n > kBufferBytes) flush();
  if (n >= kBufferBytes) {  // large payloads (tensor data) go straight to the file
    uint64_t done = 0;
    while (done < n) {
      ssize_t w = ::write(fd_, p + done, std::min<uint64_t>(n - done, 1u << 30));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) fail("write", errno);
      done += static_cast<uint64_t>(w);
    }
    start_writeback(pos_, n);
  } else {
    buffer_.insert(buffer_.end(), p, p + n);
  }
  pos_ += n;
}

// Starts writing [offset, offset + n) to the disk now instead of at commit(): the disk then works
// while the next records are copied and checksummed, and commit()'s fsync has little left to wait
// for. Only a hint (Linux); any error it meets surfaces in fsync.
void AtomicFile::start_writeback(uint64_t offset, uint64_t n) {
#ifdef __linux__
  ::sync_file_range(fd_, static_cast<off_t>(offset), static_cast<off_t>(n), SYNC_FILE_RANGE_WRITE);
#else
  (void)offset, (void)n;
#endif
}

void AtomicFile::commit() {
  flush();
  if (::fsync(fd_) != 0) fail("fsync", errno);
  if (::close(fd_) != 0) {
    fd_ = -1;
    fail("close", errno);
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), path_.c_str()) != 0) fail("rename", errno);
  committed_ = true;
  auto [dir, base] = split_path(path_);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {  // make the rename itself durable
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace ember::io
