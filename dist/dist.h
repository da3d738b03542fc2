// Data parallelism: process groups (Gloo), DistributedDataParallel, the rank seed. The launcher
// is `ember launch` (tools/launch.cpp); the sampler is DataLoaderOptions::distributed.
#pragma once

#include "dist/data_parallel.h"
#include "dist/process_group.h"
