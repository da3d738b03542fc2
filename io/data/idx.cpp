#include "io/data/idx.h"

#include <sys/stat.h>
#include <zlib.h>

#include <cstring>
#include <memory>

#include "core/ops/factories.h"

namespace ember::io {

namespace {
struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

// Reads up to n bytes; returns how many were read (gzread takes unsigned int counts).
size_t read_some(gzFile f, void* dst, size_t n, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, 1u << 30));
    int got = gzread(f, static_cast<char*>(dst) + done, chunk);
    if (got < 0) {
      int err = 0;
      const char* msg = gzerror(f, &err);
      throw ValueError(str(path, ": corrupt data after byte ", done, " of the payload (", msg, ")"));
    }
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return done;
}
}  // namespace

Tensor read_idx(const std::string& path) {
  GzFile f(gzopen(path.c_str(), "rb"));
  EMBER_CHECK_VALUE(f != nullptr, path, ": cannot open (", std::strerror(errno), ")");
  unsigned char magic[4];
  EMBER_CHECK_VALUE(read_some(f.get(), magic, 4, path) == 4, path, ": truncated: expected a 4-byte IDX header");
  EMBER_CHECK_VALUE(magic[0] == 0 && magic[1] == 0 && magic[2] == 0x08 && magic[3] >= 1 && magic[3] <= 4, path,
                    ": not an IDX file of uint8: expected magic 00 00 08 0N (N = 1..4 dims), found ",
                    static_cast<int>(magic[0]), " ", static_cast<int>(magic[1]), " ", static_cast<int>(magic[2]), " ",
                    static_cast<int>(magic[3]));
  Shape sizes;
  uint64_t total = 1;
  for (int d = 0; d < magic[3]; ++d) {
    unsigned char b[4];
    EMBER_CHECK_VALUE(read_some(f.get(), b, 4, path) == 4, path, ": truncated header: missing the size of dim ", d);
    uint32_t n = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
    sizes.push_back(n);
    total *= n;
    EMBER_CHECK_VALUE(total <= (uint64_t{1} << 34), path, ": header claims ", total, "+ elements, more than any dataset");
  }
  // deflate expands at most ~1032:1, so a header claiming more than that is lying: refuse it
  // before allocating.
  struct stat st {};
  uint64_t file_size = stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  EMBER_CHECK_VALUE(total <= file_size * 1100 + 4096, path, ": header claims ", total, " bytes of data ", sizes,
                    ", more than a ", file_size, "-byte file can hold");
  Tensor out = empty(sizes, kUInt8);
  size_t got = read_some(f.get(), out.data(), total, path);
  EMBER_CHECK_VALUE(got == total, path, ": truncated: the header ", sizes, " needs ", total, " bytes of data, found ", got);
  char extra;
  EMBER_CHECK_VALUE(read_some(f.get(), &extra, 1, path) == 0, path, ": ", "trailing data after the ", total,
                    " bytes the header ", sizes, " describes");
  return out;
}

}  // namespace ember::io
