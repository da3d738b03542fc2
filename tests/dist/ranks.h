// Starting the ranks of a distributed test program, directly or under `ember launch`.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "io/serialize.h"
#include "support/temp_dir.h"

// The multi-process tests need the Gloo group; without it they say so and skip.
#ifndef EMBER_HAVE_GLOO
#define EMBER_SKIP_WITHOUT_GLOO() GTEST_SKIP() << "built without Gloo (apt-get install libgloo-dev, then rebuild)"
#else
#define EMBER_SKIP_WITHOUT_GLOO() (void)0
#endif

namespace ember::testing {

inline std::string bin(const std::string& name) { return std::string(EMBER_BIN_DIR) + "/" + name; }

// An empty directory for one test's ranks, removed with the test process (support/temp_dir.h).
inline std::string fresh_dir(const std::string& name) { return fresh_temp_dir(name).string(); }

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct RankResult {
  int exit_code = -1;  // -1: killed by a signal, or still running at the deadline (then killed)
  std::string output;  // stdout and stderr
  double seconds = 0;
};

// Starts `argv` as ranks 0..n-1 with the rendezvous environment (store: a fresh directory under
// `dir`), `env` added to every rank and `per_rank_env[r]` to rank r; waits up to `limit_s`.
inline std::vector<RankResult> run_ranks(const std::vector<std::string>& argv, int n, const std::string& dir,
                                         const std::map<std::string, std::string>& env = {},
                                         const std::vector<std::map<std::string, std::string>>& per_rank_env = {},
                                         double limit_s = 120) {
  std::string store = dir + "/store";
  std::filesystem::create_directories(store);
  std::vector<pid_t> pids;
  auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < n; ++r) {
    std::string log = dir + "/rank-" + std::to_string(r) + ".log";
    pid_t pid = fork();
    if (pid == 0) {
      FILE* f = std::fopen(log.c_str(), "w");
      dup2(fileno(f), STDOUT_FILENO);
      dup2(fileno(f), STDERR_FILENO);
      setenv("RANK", std::to_string(r).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(n).c_str(), 1);
      setenv("EMBER_STORE", store.c_str(), 1);
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      if (r < static_cast<int>(per_rank_env.size()))
        for (const auto& [k, v] : per_rank_env[static_cast<size_t>(r)]) setenv(k.c_str(), v.c_str(), 1);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    pids.push_back(pid);
  }
  std::vector<RankResult> results(static_cast<size_t>(n));
  int left = n;
  while (left > 0) {
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (int r = 0; r < n; ++r) {
      if (!pids[static_cast<size_t>(r)]) continue;
      int status = 0;
      if (elapsed > limit_s) kill(pids[static_cast<size_t>(r)], SIGKILL);
      if (waitpid(pids[static_cast<size_t>(r)], &status, WNOHANG) == pids[static_cast<size_t>(r)]) {
        pids[static_cast<size_t>(r)] = 0;
        --left;
        auto& res = results[static_cast<size_t>(r)];
        res.exit_code = WIFEXITED(status) && elapsed <= limit_s ? WEXITSTATUS(status) : -1;
        res.seconds = elapsed;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (int r = 0; r < n; ++r) results[static_cast<size_t>(r)].output = read_text(dir + "/rank-" + std::to_string(r) + ".log");
  return results;
}

// `ember launch [launch_args] -- argv`, its output in dir/launch.log; returns its exit status.
inline int launch(const std::vector<std::string>& launch_args, const std::vector<std::string>& argv, const std::string& dir,
                  const std::map<std::string, std::string>& env = {}) {
  std::string cmd;
  for (const auto& [k, v] : env) cmd += k + "='" + v + "' ";
  cmd += "'" + bin("ember") + "' launch";
  for (const auto& a : launch_args) cmd += " '" + a + "'";
  cmd += " --";
  for (const auto& a : argv) cmd += " '" + a + "'";
  cmd += " >>'" + dir + "/launch.log' 2>&1";
  int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace ember::testing
