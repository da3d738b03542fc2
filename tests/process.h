// Runs a program, reading its stdout and stderr line by line, and lets a test send it a signal when
// a line appears (SIGKILL mid-training, SIGTERM for preemption).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::vector<std::string> lines;
  bool has(const std::string& text) const {
    for (const auto& l : lines)
      if (l.find(text) != std::string::npos) return true;
    return false;
  }
};

// Runs argv; after each output line, if on_line returns a signal number (> 0), sends it once.
// on_spawn, if given, learns the child's pid as soon as it exists.
inline ProcessResult run_process(const std::vector<std::string>& argv, const std::function<int(const std::string&)>& on_line = {},
                                 const std::function<void(pid_t)>& on_spawn = {}) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  if (on_spawn) on_spawn(pid);
  ProcessResult r;
  FILE* in = fdopen(fds[0], "r");
  char* buf = nullptr;
  size_t cap = 0;
  bool signalled = false;
  while (getline(&buf, &cap, in) > 0) {
    std::string line(buf);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    r.lines.push_back(line);
    if (!signalled && on_line) {
      int sig = on_line(line);
      if (sig > 0) {
        kill(pid, sig);
        signalled = true;
      }
    }
  }
  free(buf);
  fclose(in);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}
