// PreemptionGuard: SIGTERM, SIGINT and SIGUSR1 become a request that the training loop checks.
//
//   train::PreemptionGuard preemption;          // handlers installed for the guard's lifetime
//   for (...) {
//     if (preemption.requested()) { checkpointer.save(at); return train::kExitRequeue; }
//     ...
//   }
//
// Schedulers (Slurm, Kubernetes, spot instances) send SIGTERM some seconds before they kill a job;
// the loop saves the step it is at and exits with kExitRequeue (75, EX_TEMPFAIL: "temporary
// failure, run me again"), and the same command resumes. The library never exits on its own; the
// one exception is a *second* signal, which means "stop now": the handler then calls _exit(128 +
// signal) (the user asked twice; a save in flight is atomic, so nothing is lost).
// Only one guard may be alive at a time; the previous handlers come back when it is destroyed.
#pragma once

#include <signal.h>

namespace ember::train {

// The exit status that asks a scheduler to run the same command again (sysexits.h EX_TEMPFAIL).
constexpr int kExitRequeue = 75;

class PreemptionGuard {
 public:
  PreemptionGuard();
  ~PreemptionGuard();
  PreemptionGuard(const PreemptionGuard&) = delete;
  PreemptionGuard& operator=(const PreemptionGuard&) = delete;

  // True once SIGTERM, SIGINT or SIGUSR1 arrived while the guard was alive.
  bool requested() const;
  // The signal that asked, or 0.
  int signal() const;
  // The status a preempted program returns: kExitRequeue.
  static int exit_status() { return kExitRequeue; }

 private:
  struct sigaction previous_[3];
};

}  // namespace ember::train
