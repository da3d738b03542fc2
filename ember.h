// ember: everything a user needs.
#pragma once

#include "core/core.h"
