#include "train/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "core/error.h"

namespace ember::train {

namespace {

std::string holder_text() {
  char host[256] = "?";
  gethostname(host, sizeof host - 1);
  char when[64];
  std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return str("pid ", ::getpid(), " on host ", host, " since ", when, "\n");
}

std::string read_all(int fd) {
  std::string text;
  char buf[512];
  ssize_t n;
  while ((n = pread(fd, buf, sizeof buf, static_cast<off_t>(text.size()))) > 0 && text.size() < 4096) text.append(buf, n);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text;
}

}  // namespace

RunLock::RunLock(const std::string& run_dir) : path_(run_dir + "/.lock") {
  std::error_code ec;
  std::filesystem::create_directories(run_dir, ec);
  EMBER_CHECK(!ec, "cannot create run directory ", run_dir, ": ", ec.message());
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  EMBER_CHECK(fd_ >= 0, "cannot open the run-directory lock ", path_, ": ", std::strerror(errno));
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string holder = err == EWOULDBLOCK ? read_all(fd_) : "";
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw Error(str("run directory ", run_dir, " is in use by ", holder.empty() ? "another process" : holder,
                      " (it holds ", path_, "); wait for it to finish, stop it, or use another run directory"));
    throw Error(str("cannot lock ", path_, ": ", std::strerror(err)));
  }
  std::string text = holder_text();
  if (ftruncate(fd_, 0) != 0 || pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    // The lock is held either way; the text is only informative.
  }
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace ember::train
