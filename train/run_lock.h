// RunLock: one process at a time on a run directory.
//
// Takes an exclusive flock(2) on RUN_DIR/.lock for the lock's lifetime and writes the holder's
// pid and host into it. A second process (or a second RunLock in the same process) gets an Error
// naming the holder, and touches nothing. The kernel drops a flock when its process dies — also
// by SIGKILL or a power cut — so a lock left by a killed run never blocks the restart; the file's
// text is only there to tell who holds it.
#pragma once

#include <string>

namespace ember::train {

class RunLock {
 public:
  explicit RunLock(const std::string& run_dir);  // creates the directory if needed
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace ember::train
