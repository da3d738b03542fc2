// Umbrella header of train: the resume protocol for any training loop — Checkpointer over
// Stateful components, PreemptionGuard, ProgressBar, MetricsLog, RunLock.
#pragma once

#include "train/checkpointer.h"
#include "train/metrics_log.h"
#include "train/preemption.h"
#include "train/progress.h"
#include "train/run_lock.h"
