// Helpers for the tests that talk to a live PyTorch (Debian's python3-torch under /usr/bin/python3);
// they skip, saying so, where it is absent.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#define EMBER_SKIP_WITHOUT_TORCH() \
  if (!torch_available()) GTEST_SKIP() << "/usr/bin/python3 cannot import torch (install python3-torch)"

inline bool torch_available() {
  static bool ok = std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
  return ok;
}

// Runs a shell command; returns its stdout and stderr, failing the test if it exits non-zero.
inline std::string run_command(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << cmd << "\n" << out;
  return out;
}

// The last line of a command's output (a script's JSON result after any warnings).
inline std::string last_line(std::string out) {
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out.substr(out.rfind('\n') + 1);
}
