#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "core/error.h"
#include "io/zip.h"

namespace ember::io {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEocdSig = 0x06054b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;

uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t u32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24); }
uint64_t u64(const uint8_t* p) { return u32(p) | (static_cast<uint64_t>(u32(p + 4)) << 32); }

}  // namespace

ZipReader::ZipReader(std::shared_ptr<ByteSource> source) : source_(std::move(source)) {
  const ByteSource& src = *source_;
  const std::string file = src.name();
  uint64_t size = src.size();
  EMBER_CHECK_VALUE(size >= 22, file, ": truncated zip: ", size, " bytes, too small for an end-of-central-directory record");
  // The EOCD is in the last 22 + 65535 bytes (its comment is at most 64 KiB).
  uint64_t tail_len = std::min<uint64_t>(size, 22 + 65535);
  std::vector<uint8_t> tail(tail_len);
  src.read(size - tail_len, tail.data(), tail_len, "the end-of-central-directory search");
  int64_t at = -1;
  for (int64_t i = static_cast<int64_t>(tail_len) - 22; i >= 0; --i)
    if (u32(&tail[i]) == kEocdSig) {
      at = i;
      break;
    }
  EMBER_CHECK_VALUE(at >= 0, file, ": not a zip archive or truncated: no end-of-central-directory record in the last ",
                    tail_len, " bytes");
  uint64_t eocd_offset = size - tail_len + static_cast<uint64_t>(at);
  const uint8_t* e = &tail[at];
  uint64_t count = u16(e + 10), cd_size = u32(e + 12), cd_offset = u32(e + 16);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    EMBER_CHECK_VALUE(eocd_offset >= 20, file, ": zip64 locator missing before the end record at byte ", eocd_offset);
    uint8_t loc[20];
    src.read(eocd_offset - 20, loc, 20, "the zip64 locator");
    EMBER_CHECK_VALUE(u32(loc) == kZip64LocatorSig, file, ": expected the zip64 locator at byte ", eocd_offset - 20);
    uint64_t z64 = u64(loc + 8);
    uint8_t rec[56];
    src.read(z64, rec, 56, "the zip64 end-of-central-directory record");
    EMBER_CHECK_VALUE(u32(rec) == kZip64EocdSig, file, ": bad zip64 end-of-central-directory signature at byte ", z64);
    count = u64(rec + 32);
    cd_size = u64(rec + 40);
    cd_offset = u64(rec + 48);
  }
  EMBER_CHECK_VALUE(cd_offset <= size && cd_size <= size - cd_offset, file, ": central directory [", cd_offset, ", ",
                    cd_offset + cd_size, ") lies outside the file (", size, " bytes)");
  EMBER_CHECK_VALUE(count <= cd_size / 46, file, ": central directory claims ", count, " records in ", cd_size, " bytes");
  std::vector<uint8_t> cd(cd_size);
  src.read(cd_offset, cd.data(), cd_size, "the central directory");
  std::unordered_set<std::string> names;
  uint64_t pos = 0;
  for (uint64_t i = 0; i < count; ++i) {
    EMBER_CHECK_VALUE(pos + 46 <= cd_size && u32(&cd[pos]) == kCentralSig, file, ": bad central directory record ", i,
                      " at byte ", cd_offset + pos);
    const uint8_t* h = &cd[pos];
    ZipEntry entry;
    entry.method = u16(h + 10);
    entry.crc32 = u32(h + 16);
    uint64_t csize = u32(h + 20), usize = u32(h + 24);
    uint16_t name_len = u16(h + 28), extra_len = u16(h + 30), comment_len = u16(h + 32);
    entry.local_header_offset = u32(h + 42);
    EMBER_CHECK_VALUE(pos + 46 + name_len + extra_len + comment_len <= cd_size, file, ": central directory record ", i,
                      " runs past the directory's end");
    entry.name.assign(reinterpret_cast<const char*>(h + 46), name_len);
    // zip64 extra: the saturated fields, in the order usize, csize, offset.
    for (uint64_t x = 0; x + 4 <= extra_len;) {
      const uint8_t* f = h + 46 + name_len + x;
      uint16_t id = u16(f), len = u16(f + 2);
      if (x + 4 + len > extra_len) break;
      if (id == 0x0001) {
        uint64_t k = 4;
        auto take = [&](uint64_t& field) {
          if (field == 0xFFFFFFFF) {
            EMBER_CHECK_VALUE(k + 8 <= 4u + len, file, ": record '", entry.name, "': short zip64 extra field");
            field = u64(f + k);
            k += 8;
          }
        };
        take(usize);
        take(csize);
        take(entry.local_header_offset);
      }
      x += 4 + len;
    }
    entry.size = usize;
    EMBER_CHECK_VALUE(entry.name.find("..") == std::string::npos && !entry.name.empty() && entry.name[0] != '/', file,
                      ": refusing zip record with unsafe name '", entry.name, "'");
    EMBER_CHECK_VALUE(names.insert(entry.name).second, file, ": duplicate zip record '", entry.name, "'");
    EMBER_CHECK_VALUE(entry.method != 0 || csize == usize, file, ": record '", entry.name, "' is stored but its sizes differ (", csize, " vs ",
                      usize, ")");
    uint8_t local[30];
    EMBER_CHECK_VALUE(entry.local_header_offset <= size - 30, file, ": record '", entry.name, "': local header offset ",
                      entry.local_header_offset, " is outside the file");
    src.read(entry.local_header_offset, local, 30, "the local header of '" + entry.name + "'");
    EMBER_CHECK_VALUE(u32(local) == kLocalSig, file, ": record '", entry.name, "': bad local header signature at byte ",
                      entry.local_header_offset);
    entry.data_offset = entry.local_header_offset + 30 + u16(local + 26) + u16(local + 28);
    EMBER_CHECK_VALUE(entry.data_offset <= size && entry.size <= size - entry.data_offset, file, ": truncated: record '",
                      entry.name, "' needs bytes [", entry.data_offset, ", ", entry.data_offset + entry.size,
                      ") but the file has ", size);
    entries_.push_back(std::move(entry));
    pos += 46 + name_len + extra_len + comment_len;
  }
}

const ZipEntry* ZipReader::find(const std::string& name) const {
  for (const ZipEntry& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

void ZipReader::verify(const ZipEntry& entry, const void* data) const { check_crc(entry, crc32_of(data, entry.size)); }

void ZipReader::check_crc(const ZipEntry& entry, uint32_t crc) const {
  EMBER_CHECK_VALUE(crc == entry.crc32, source_->name(), ": CRC-32 mismatch in record '", entry.name, "' (bytes ",
                    entry.data_offset, "..", entry.data_offset + entry.size, "): stored ", entry.crc32, ", computed ", crc,
                    "; the file is corrupt");
}

void ZipReader::read(const ZipEntry& entry, void* dst, bool verify_crc) const {
  // Compressed records are refused when read (not when listed), so an archive can still be told
  // apart (TorchScript compresses its code/ records) before anything is inflated.
  EMBER_CHECK_VALUE(entry.method == 0, source_->name(), ": record '", entry.name, "' is compressed (method ", entry.method,
                    "); torch.save writes stored records only");
  std::string what = "record '" + entry.name + "'";
  if (!verify_crc) {
    source_->read(entry.data_offset, dst, entry.size, what);
    return;
  }
  // Read in cache-sized pieces and checksum each while it is still in cache: the CRC then costs
  // little more than the copy, instead of a second trip through memory.
  constexpr uint64_t kPiece = uint64_t{256} << 10;
  uint8_t* out = static_cast<uint8_t*>(dst);
  uint32_t crc = 0;
  for (uint64_t done = 0; done < entry.size;) {
    uint64_t n = std::min(kPiece, entry.size - done);
    source_->read(entry.data_offset + done, out + done, n, what);
    crc = crc32_of(out + done, n, crc);
    done += n;
  }
  check_crc(entry, crc);
}

std::string ZipReader::read_string(const ZipEntry& entry, bool verify_crc) const {
  std::string s(entry.size, '\0');
  read(entry, s.data(), verify_crc);
  return s;
}

}  // namespace ember::io
