// The zip container of torch.save files: STORED records, 64-byte aligned payloads, zip64.
//
// The reader takes sizes, CRCs and offsets from the central directory (torch's local headers carry
// zeros there), the payload offset from the local header's own name and extra lengths, and uses the
// zip64 records whenever a classic field is saturated. It refuses to read compressed records, and refuses duplicate
// names, names with "..", and any offset or size outside the file, naming the record and byte offset.
#pragma once

#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "io/crc32.h"
#include "io/file.h"

namespace ember::io {

struct ZipEntry {
  std::string name;
  uint64_t local_header_offset = 0;
  uint64_t data_offset = 0;  // payload start
  uint64_t size = 0;
  uint32_t crc32 = 0;
  uint16_t method = 0;
};

class ZipReader {
 public:
  explicit ZipReader(std::shared_ptr<ByteSource> source);
  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const;
  // Reads the payload into dst (entry.size bytes). verify_crc: throws if the CRC-32 differs.
  void read(const ZipEntry& entry, void* dst, bool verify_crc) const;
  std::string read_string(const ZipEntry& entry, bool verify_crc) const;
  void verify(const ZipEntry& entry, const void* data) const;  // CRC check of bytes already read
  const ByteSource& source() const { return *source_; }
  std::shared_ptr<ByteSource> source_ptr() const { return source_; }

 private:
  void check_crc(const ZipEntry& entry, uint32_t crc) const;
  std::shared_ptr<ByteSource> source_;
  std::vector<ZipEntry> entries_;
};

// Reads records and checks their CRCs on worker threads while the caller goes on (unpickling,
// allocating the next storages). Fresh memory is faulted in and checksummed on several cores at
// once, so a verified load costs about max(read, checksum) / threads instead of their sum.
// Records under 1 MiB are handled at once; beyond get_num_threads() in flight the caller waits for
// the oldest; with 1 thread (the default) everything runs on the caller's thread.
// finish() waits for all and throws the first failure; the destructor waits too, so `dst` and the
// bytes being checked must outlive this object.
class BackgroundReads {
 public:
  explicit BackgroundReads(const ZipReader& zip);
  ~BackgroundReads();
  BackgroundReads(const BackgroundReads&) = delete;
  BackgroundReads& operator=(const BackgroundReads&) = delete;
  void read(const ZipEntry& entry, void* dst, bool verify_crc);
  void verify(const ZipEntry& entry, const void* data);  // bytes already in memory (mmap)
  void finish();

 private:
  template <class F>
  void run(uint64_t bytes, F task);
  void wait_oldest();
  const ZipReader& zip_;
  std::deque<std::future<void>> pending_;
  size_t max_pending_;
};

// Writes STORED records whose payloads start at multiples of 64 (an "FB" padding extra, as
// PyTorch's writer does), then the central directory with zip64 records. With more than one
// thread (set_num_threads), records of 1 MiB and more get their CRC-32 computed on a second thread
// while they are written, followed by a data descriptor.
class ZipWriter {
 public:
  explicit ZipWriter(ByteSink& sink) : sink_(sink) {}
  void add(const std::string& name, const void* data, uint64_t size);
  void finish();

 private:
  struct Written {
    std::string name;
    uint64_t offset, size;
    uint32_t crc;
  };
  ByteSink& sink_;
  std::vector<Written> written_;
};

}  // namespace ember::io
