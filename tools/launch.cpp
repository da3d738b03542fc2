// ember launch -n N [--max-restarts K] [--grace SECONDS] -- PROGRAM ARGS...
//
// Starts N local processes of PROGRAM with the rendezvous environment dist::init_process_group()
// reads (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, EMBER_STORE, EMBER_RESTART_COUNT), as
// torchrun does. Each attempt meets in a fresh store directory, removed at the end.
// - SIGTERM/SIGINT to the launcher are forwarded (as SIGTERM) to every process, each in its own
//   process group so that a terminal's Ctrl-C reaches them once, through the launcher; the launcher
//   then waits for them (they checkpoint and exit) and exits 75 (train::kExitRequeue).
// - When one process fails (non-zero status or a signal), the others get SIGTERM, then SIGKILL
//   after the grace period; all N are started again, up to K times, and resume from the newest
//   committed checkpoint. After the last allowed failure the launcher exits with the failing
//   process's status (128 + signal for a signal).
// - 0 when every process exits 0.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "tools/commands.h"

namespace ember::tools {

namespace {

volatile sig_atomic_t forwarded_signal = 0;
void on_signal(int sig) { forwarded_signal = sig; }

struct LaunchOptions {
  int processes = 0;
  int max_restarts = 0;
  int grace_s = 30;
  std::vector<std::string> command;
};

int parse_int(const std::vector<std::string>& args, size_t& i, const std::string& flag) {
  if (i + 1 >= args.size()) throw UsageError{flag + " needs a number"};
  const std::string& v = args[++i];
  char* end = nullptr;
  long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end || x < 0 || x > 4096) throw UsageError{flag + " must be a non-negative integer, found '" + v + "'"};
  return static_cast<int>(x);
}

LaunchOptions parse(const std::vector<std::string>& args) {
  LaunchOptions o;
  size_t i = 0;
  for (; i < args.size() && args[i] != "--"; ++i) {
    if (args[i] == "-n" || args[i] == "--nproc") o.processes = parse_int(args, i, args[i]);
    else if (args[i] == "--max-restarts") o.max_restarts = parse_int(args, i, args[i]);
    else if (args[i] == "--grace") o.grace_s = parse_int(args, i, args[i]);
    else throw UsageError{"launch: unknown option '" + args[i] + "' (the program goes after --)"};
  }
  if (o.processes < 1) throw UsageError{"launch: -n N (N >= 1 processes) is required"};
  if (i + 1 >= args.size()) throw UsageError{"launch: expected -- PROGRAM ARGS... after the options"};
  o.command.assign(args.begin() + static_cast<long>(i) + 1, args.end());
  return o;
}

pid_t start(const LaunchOptions& o, int rank, const std::string& store, int attempt) {
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("launch: fork failed: ") + std::strerror(errno));
  if (pid > 0) return pid;
  setpgid(0, 0);
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  setenv("RANK", std::to_string(rank).c_str(), 1);
  setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
  setenv("WORLD_SIZE", std::to_string(o.processes).c_str(), 1);
  setenv("LOCAL_WORLD_SIZE", std::to_string(o.processes).c_str(), 1);
  setenv("EMBER_STORE", store.c_str(), 1);
  setenv("EMBER_RESTART_COUNT", std::to_string(attempt).c_str(), 1);
  std::vector<char*> argv;
  for (const auto& a : o.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  std::cerr << "ember launch: cannot run " << o.command[0] << ": " << std::strerror(errno) << "\n";
  _exit(127);
}

int exit_status(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
}

// Waits for every pid still in `alive` (non-zero), sending SIGKILL to those left after the grace.
void reap_all(std::vector<pid_t>& alive, int grace_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(grace_s);
  bool killed = false;
  for (;;) {
    bool any = false;
    for (pid_t& pid : alive) {
      if (pid == 0) continue;
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) pid = 0;
      else any = true;
    }
    if (!any) return;
    if (!killed && std::chrono::steady_clock::now() > deadline) {
      for (pid_t pid : alive)
        if (pid) kill(-pid, SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// One attempt: 0 when all finished, the failing status otherwise, -1 after a forwarded signal.
int run_attempt(const LaunchOptions& o, const std::string& store, int attempt) {
  std::vector<pid_t> pids;
  for (int r = 0; r < o.processes; ++r) pids.push_back(start(o, r, store, attempt));
  int finished = 0;
  bool forwarding = false;
  while (finished < o.processes) {
    if (forwarded_signal && !forwarding) {
      forwarding = true;
      for (pid_t pid : pids)
        if (pid) kill(-pid, SIGTERM);
    }
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);  // polled: a signal between check and wait is not lost
    if (pid == 0 || (pid < 0 && errno == EINTR)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (pid < 0) throw std::runtime_error(std::string("launch: waitpid failed: ") + std::strerror(errno));
    size_t rank = 0;
    while (rank < pids.size() && pids[rank] != pid) ++rank;
    if (rank == pids.size()) continue;
    pids[rank] = 0;
    ++finished;
    if (forwarding || forwarded_signal) continue;  // everyone is stopping on purpose
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
    std::cerr << "ember launch: rank " << rank << " " << describe(status) << "; stopping the other ranks\n";
    for (pid_t p : pids)
      if (p) kill(-p, SIGTERM);
    reap_all(pids, o.grace_s);
    return exit_status(status) == 0 ? 1 : exit_status(status);
  }
  return forwarding || forwarded_signal ? -1 : 0;
}

}  // namespace

int launch(const std::vector<std::string>& args) {
  LaunchOptions o = parse(args);
  struct sigaction sa {};
  sa.sa_handler = on_signal;  // the wait loop sees the flag and forwards the signal
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::string base = (std::filesystem::temp_directory_path() / "ember-launch-XXXXXX").string();
  if (!mkdtemp(base.data())) throw std::runtime_error("launch: cannot create a rendezvous directory under " +
                                                      std::filesystem::temp_directory_path().string() + ": " + std::strerror(errno));
  int result = 0;
  for (int attempt = 0;; ++attempt) {
    std::string store = base + "/attempt-" + std::to_string(attempt);
    std::filesystem::create_directories(store);
    result = run_attempt(o, store, attempt);
    if (result <= 0 || attempt >= o.max_restarts) break;
    std::cerr << "ember launch: restarting all " << o.processes << " processes (restart " << attempt + 1 << " of "
              << o.max_restarts << ")\n";
  }
  std::error_code ec;
  std::filesystem::remove_all(base, ec);
  if (result < 0) return 75;  // train::kExitRequeue: preempted, requeue the job
  return result;
}

}  // namespace ember::tools
