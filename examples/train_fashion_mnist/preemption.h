// Preemption: SIGTERM, SIGINT and SIGUSR1 set a flag that the training loop checks every step and
// inside evaluation; the program then saves a checkpoint of the current step and exits with
// kExitRequeue (75, EX_TEMPFAIL: "temporary failure, run me again"). A second signal exits at once.
#pragma once

namespace fashion {

constexpr int kExitRequeue = 75;

void install_preemption_handlers();
bool preemption_requested();
int preemption_signal();  // the signal that asked, or 0

}  // namespace fashion
