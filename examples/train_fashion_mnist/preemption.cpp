#include "preemption.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <initializer_list>

namespace fashion {

namespace {
std::atomic<int> requested{0};

void on_signal(int sig) {
  if (requested.exchange(sig) != 0) _exit(128 + sig);  // the second signal: leave now
}
}  // namespace

void install_preemption_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaction(sig, &sa, nullptr);
}

bool preemption_requested() { return requested.load() != 0; }
int preemption_signal() { return requested.load(); }

}  // namespace fashion
