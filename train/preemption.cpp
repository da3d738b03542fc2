#include "train/preemption.h"

#include <unistd.h>

#include <atomic>

#include "core/error.h"
#include "core/ops/factories.h"

namespace ember::train {

namespace {

constexpr int kSignals[3] = {SIGTERM, SIGINT, SIGUSR1};
std::atomic<int> requested_signal{0};
std::atomic<bool> guard_alive{false};

void on_signal(int sig) {
  if (requested_signal.exchange(sig) != 0) _exit(128 + sig);  // the second signal: leave now
}

}  // namespace

PreemptionGuard::PreemptionGuard(dist::ProcessGroup* group) : group_(group) {
  EMBER_CHECK(!guard_alive.exchange(true), "PreemptionGuard: another guard is already alive in this process");
  requested_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &sa, &previous_[i]);
}

PreemptionGuard::~PreemptionGuard() {
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &previous_[i], nullptr);
  guard_alive = false;
}

bool PreemptionGuard::requested() const {
  bool mine = requested_signal.load() != 0;
  if (!group_ || group_->size() == 1) return mine;
  if (agreed_) return true;
  Tensor flag = zeros({1}, kUInt8);
  flag.data_ptr<uint8_t>()[0] = mine ? 1 : 0;
  group_->allreduce(flag, dist::ReduceOp::max);
  agreed_ = flag.data_ptr<uint8_t>()[0] != 0;
  return agreed_;
}

int PreemptionGuard::signal() const {
  int mine = requested_signal.load();
  return mine != 0 ? mine : (agreed_ ? SIGTERM : 0);
}

}  // namespace ember::train
