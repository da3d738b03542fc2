#include "dist/store_file.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

#include "core/error.h"
#include "dist/process_group.h"

namespace ember::dist {

void publish(const std::string& path, const std::string& bytes) {
  std::filesystem::path target(path);
  std::error_code ec;
  std::filesystem::create_directories(target.parent_path(), ec);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    EMBER_CHECK(out.good(), "dist: cannot write ", tmp, " (", bytes.size(), " bytes) in the rendezvous directory");
  }
  std::filesystem::rename(tmp, target, ec);
  EMBER_CHECK(!ec, "dist: cannot rename ", tmp, " to ", path, ": ", ec.message());
}

std::string await(const std::string& path, size_t size, std::chrono::milliseconds timeout, const std::string& what) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string found = "no such file";
  for (;;) {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::ostringstream content;
      content << in.rdbuf();
      std::string bytes = content.str();
      if (bytes.size() == size) return bytes;
      found = std::to_string(bytes.size()) + " bytes";
    }
    if (std::chrono::steady_clock::now() >= deadline)
      throw PeerError(str("dist: waited ", timeout.count(), " ms for ", what, " in ", path, ": expected ", size,
                          " bytes, found ", found));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace ember::dist
