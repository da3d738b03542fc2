// Umbrella header of nn: Module, layers, losses, init, containers, the registry.
#pragma once

#include "nn/containers.h"
#include "nn/conv.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/linear.h"
#include "nn/loss.h"
#include "nn/model_file.h"
#include "nn/module.h"
#include "nn/normalization.h"
#include "nn/registry.h"
