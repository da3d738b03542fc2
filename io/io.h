// Umbrella header of io: values, datasets and the DataLoader.
#pragma once

#include "io/checkpoint_manager.h"
#include "io/data/dataset.h"
#include "io/data/fashion_mnist.h"
#include "io/data/idx.h"
#include "io/file.h"
#include "io/serialize.h"
#include "io/snapshot.h"
#include "io/value.h"
