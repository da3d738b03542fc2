// Scratch space for tests that write files: one directory per test process under the system's
// temporary directory, removed with everything in it when the process exits. ctest runs each test
// in its own process; a test binary run directly runs all its tests in one process, so they share
// the directory and each names its own files or subdirectory (fresh_temp_dir). Left behind, runs
// of the suite had filled the disk (a collective test's checkpoints reach 640 MB);
// EMBER_KEEP_TEST_DIRS=1 keeps them for a post-mortem.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace ember::testing {

namespace detail {
struct ProcessTempDir {
  std::filesystem::path path;
  pid_t owner;
  ProcessTempDir()
      : path(std::filesystem::temp_directory_path() / ("ember-test-" + std::to_string(::getpid()))),
        owner(::getpid()) {
    std::filesystem::remove_all(path);  // a previous process with the same pid
    std::filesystem::create_directories(path);
  }
  ~ProcessTempDir() {
    // A forked child that exits normally runs this destructor too: only the creator removes.
    if (::getpid() != owner || std::getenv("EMBER_KEEP_TEST_DIRS")) return;
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};
}  // namespace detail

// <tmp>/ember-test-<pid>, created on first use.
inline const std::filesystem::path& process_temp_dir() {
  static detail::ProcessTempDir dir;
  return dir.path;
}

// A path for a file `name` in the process's directory (the directory exists; the file may not).
inline std::filesystem::path temp_path(const std::string& name) { return process_temp_dir() / name; }

// A path `name` in the process's directory with nothing there (removed if a test made it before):
// for what the code under test must create itself.
inline std::filesystem::path vacant_temp_path(const std::string& name) {
  std::filesystem::path p = process_temp_dir() / name;
  std::filesystem::remove_all(p);
  return p;
}

// An empty directory `name` in the process's directory (emptied if a test made it before).
inline std::filesystem::path fresh_temp_dir(const std::string& name) {
  std::filesystem::path d = vacant_temp_path(name);
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace ember::testing
