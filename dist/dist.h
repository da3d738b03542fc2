// Data parallelism: process groups (Gloo, NCCL), DistributedDataParallel, SyncBatchNorm, the rank seed. The launcher
// is `ember launch` (tools/launch.cpp); the sampler is DataLoaderOptions::distributed.
#pragma once

#include "dist/data_parallel.h"
#include "dist/process_group.h"
#include "dist/sync_batch_norm.h"
