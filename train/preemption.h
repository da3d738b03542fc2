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
//
// Distributed runs (a group of size > 1: the constructor's, or dist::world()): ranks may see a
// forwarded signal at different steps, and a rank that stops alone leaves the others waiting in
// the next allreduce. So requested() is then a collective — the ranks agree (allreduce max) that
// any of them was asked — and must be called at the same points on every rank, as the loop above
// does once per step.
#pragma once

#include <signal.h>

#include "dist/process_group.h"

namespace ember::train {

// The exit status that asks a scheduler to run the same command again (sysexits.h EX_TEMPFAIL).
constexpr int kExitRequeue = 75;

class PreemptionGuard {
 public:
  explicit PreemptionGuard(dist::ProcessGroup* group = dist::world_or_null());
  ~PreemptionGuard();
  PreemptionGuard(const PreemptionGuard&) = delete;
  PreemptionGuard& operator=(const PreemptionGuard&) = delete;

  // True once SIGTERM, SIGINT or SIGUSR1 arrived while the guard was alive (on any rank).
  bool requested() const;
  // The signal that asked (this rank's, else SIGTERM when another rank was asked), or 0.
  int signal() const;
  // The status a preempted program returns: kExitRequeue.
  static int exit_status() { return kExitRequeue; }

 private:
  struct sigaction previous_[3];
  dist::ProcessGroup* group_;
  mutable bool agreed_ = false;  // a rank was asked: stays true without further collectives
};

}  // namespace ember::train
