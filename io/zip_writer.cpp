#include <cstring>
#include <future>

#include "core/error.h"
#include "core/threads.h"
#include "io/zip.h"

namespace ember::io {

namespace {

void put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
void put32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put64(std::vector<uint8_t>& b, uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
constexpr uint64_t kMax32 = 0xFFFFFFFF;

}  // namespace

void ZipWriter::add(const std::string& name, const void* data, uint64_t size) {
  uint64_t offset = sink_.position();
  // Large records: the CRC is computed on another thread while the bytes are written, and follows
  // them in a data descriptor (as PyTorch's own writer does); readers take it from the central
  // directory. Small records carry it in the local header.
  bool overlap = size >= (uint64_t{1} << 20) && get_num_threads() > 1;
  std::future<uint32_t> pending;
  uint32_t crc = 0;
  if (overlap) pending = std::async(std::launch::async, [data, size] { return crc32_of(data, size); });
  else crc = crc32_of(data, size);
  bool big = size >= kMax32;
  std::vector<uint8_t> h;
  put32(h, 0x04034b50);
  put16(h, big ? 45 : 20);            // version needed
  put16(h, overlap ? 0x0808 : 0x0800);  // UTF-8 names; bit 3: CRC in a data descriptor
  put16(h, 0);                        // STORED
  put32(h, 0);                        // time, date
  put32(h, crc);
  put32(h, big ? static_cast<uint32_t>(kMax32) : static_cast<uint32_t>(size));
  put32(h, big ? static_cast<uint32_t>(kMax32) : static_cast<uint32_t>(size));
  put16(h, static_cast<uint16_t>(name.size()));
  uint64_t fixed = 30 + name.size() + (big ? 20 : 0) + 4;  // header, name, zip64 extra, FB header
  uint16_t pad = static_cast<uint16_t>((64 - (offset + fixed) % 64) % 64);
  put16(h, static_cast<uint16_t>((big ? 20 : 0) + 4 + pad));
  h.insert(h.end(), name.begin(), name.end());
  if (big) {
    put16(h, 0x0001);
    put16(h, 16);
    put64(h, size);
    put64(h, size);
  }
  put16(h, 0x4246);  // "FB": padding so the payload starts 64-byte aligned
  put16(h, pad);
  h.insert(h.end(), pad, 'Z');
  sink_.write(h.data(), h.size());
  sink_.write(data, size);
  if (overlap) {
    crc = pending.get();
    std::vector<uint8_t> descriptor;
    put32(descriptor, 0x08074b50);
    put32(descriptor, crc);
    if (big) {
      put64(descriptor, size);
      put64(descriptor, size);
    } else {
      put32(descriptor, static_cast<uint32_t>(size));
      put32(descriptor, static_cast<uint32_t>(size));
    }
    sink_.write(descriptor.data(), descriptor.size());
  }
  written_.push_back({name, offset, size, crc});
}

void ZipWriter::finish() {
  uint64_t cd_offset = sink_.position();
  std::vector<uint8_t> cd;
  for (const Written& w : written_) {
    bool big_size = w.size >= kMax32, big_offset = w.offset >= kMax32;
    std::vector<uint8_t> extra;
    if (big_size || big_offset) {
      put16(extra, 0x0001);
      put16(extra, static_cast<uint16_t>((big_size ? 16 : 0) + (big_offset ? 8 : 0)));
      if (big_size) {
        put64(extra, w.size);
        put64(extra, w.size);
      }
      if (big_offset) put64(extra, w.offset);
    }
    put32(cd, 0x02014b50);
    put16(cd, 45);  // made by
    put16(cd, big_size || big_offset ? 45 : 20);
    put16(cd, 0x0800);
    put16(cd, 0);
    put32(cd, 0);
    put32(cd, w.crc);
    put32(cd, big_size ? static_cast<uint32_t>(kMax32) : static_cast<uint32_t>(w.size));
    put32(cd, big_size ? static_cast<uint32_t>(kMax32) : static_cast<uint32_t>(w.size));
    put16(cd, static_cast<uint16_t>(w.name.size()));
    put16(cd, static_cast<uint16_t>(extra.size()));
    put16(cd, 0);  // comment
    put16(cd, 0);  // disk
    put16(cd, 0);  // internal attributes
    put32(cd, 0);  // external attributes
    put32(cd, big_offset ? static_cast<uint32_t>(kMax32) : static_cast<uint32_t>(w.offset));
    cd.insert(cd.end(), w.name.begin(), w.name.end());
    cd.insert(cd.end(), extra.begin(), extra.end());
  }
  sink_.write(cd.data(), cd.size());
  uint64_t z64_offset = sink_.position(), count = written_.size(), cd_size = cd.size();
  std::vector<uint8_t> tail;
  put32(tail, 0x06064b50);  // zip64 end of central directory, always written as PyTorch does
  put64(tail, 44);
  put16(tail, 45);
  put16(tail, 45);
  put32(tail, 0);
  put32(tail, 0);
  put64(tail, count);
  put64(tail, count);
  put64(tail, cd_size);
  put64(tail, cd_offset);
  put32(tail, 0x07064b50);  // zip64 locator
  put32(tail, 0);
  put64(tail, z64_offset);
  put32(tail, 1);
  put32(tail, 0x06054b50);  // classic end of central directory
  put16(tail, 0);
  put16(tail, 0);
  put16(tail, static_cast<uint16_t>(std::min<uint64_t>(count, 0xFFFF)));
  put16(tail, static_cast<uint16_t>(std::min<uint64_t>(count, 0xFFFF)));
  put32(tail, static_cast<uint32_t>(std::min<uint64_t>(cd_size, kMax32)));
  put32(tail, static_cast<uint32_t>(std::min<uint64_t>(cd_offset, kMax32)));
  put16(tail, 0);
  sink_.write(tail.data(), tail.size());
}

}  // namespace ember::io
