// ember: everything a user needs.
#pragma once

#include "core/core.h"
#include "io/io.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "dist/dist.h"
#include "train/train.h"
