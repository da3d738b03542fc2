#include "train/metrics_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "io/file.h"

namespace ember::train {

MetricsLog::MetricsLog(std::string path) : path_(std::move(path)) {}

MetricsLog::~MetricsLog() {
  if (fd_ >= 0) ::close(fd_);
}

void MetricsLog::append(const nlohmann::json& row) {
  if (path_.empty()) {  // a rank other than 0 of a distributed run: rank 0 writes the file
    ++rows_;
    return;
  }
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    EMBER_CHECK(fd_ >= 0, "cannot open ", path_, " for appending: ", std::strerror(errno));
  }
  std::string line = row.dump() + "\n";  // one write(2) per row: a kill tears at most the last row
  ssize_t n = ::write(fd_, line.data(), line.size());
  EMBER_CHECK(n == static_cast<ssize_t>(line.size()), path_, ": write failed: ", n < 0 ? std::strerror(errno) : "short write");
  ++rows_;
}

void MetricsLog::sync() {
  if (fd_ >= 0) EMBER_CHECK(::fsync(fd_) == 0, path_, ": fsync failed: ", std::strerror(errno));
}

void MetricsLog::truncate(int64_t rows) {
  EMBER_CHECK_VALUE(rows >= 0, "MetricsLog: cannot keep ", rows, " rows");
  if (fd_ >= 0) ::close(fd_);  // the file is replaced; the next row opens the new one
  fd_ = -1;
  rows_ = 0;
  if (path_.empty()) {
    rows_ = rows;
    return;
  }
  if (!std::filesystem::exists(path_)) return;
  std::ifstream in(path_);
  std::string text, line;
  for (; rows_ < rows && std::getline(in, line) && !in.eof(); ++rows_) text += line + "\n";
  io::AtomicFile out(path_);
  out.write(text.data(), text.size());
  out.commit();
}

void MetricsLog::load_state_dict(const io::Value& state) {
  EMBER_CHECK_VALUE(state.is_int(), "MetricsLog: expected the row count (an int), found ", state.type_name());
  truncate(state.to_int());
}

}  // namespace ember::train
