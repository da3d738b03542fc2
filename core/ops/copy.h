// Copies and conversions. Tensor::contiguous/clone/to/copy_/fill_ are defined in copy.cpp; this
// header holds the rule they share with the in-place arithmetic.
#pragma once

#include "core/tensor.h"

namespace ember {

// Called by every in-place write before it happens. Throws unless `self` may be modified in place:
// with grad mode on, a tensor that requires grad (a leaf parameter, or part of a recorded graph)
// cannot be, as in PyTorch. Then advances the version of self's storage, so that a backward step
// that saved these bytes refuses to use them.
void check_inplace(const Tensor& self, const char* op);
// Throws unless a and b live on the same device, naming the op and both devices.
void check_same_device(const Tensor& a, const Tensor& b, const char* op);

}  // namespace ember
