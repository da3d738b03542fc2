#include "core/ops/copy.h"

#include "core/autograd/grad_mode.h"
#include "core/autograd/node.h"
#include "core/backend/backend.h"
#include "core/ops/factories.h"

namespace ember {

void check_inplace(const Tensor& self, const char* op) {
  EMBER_CHECK(!(is_grad_enabled() && self.requires_grad()), op, ": in-place operation on a ",
              self.is_leaf() ? "leaf tensor" : "tensor of a recorded graph",
              " that requires grad; do it under NoGradGuard (as optimizers do) or use the "
              "out-of-place op");
  self.storage().bump_version();
}

void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  EMBER_CHECK_VALUE(a.device() == b.device(), op, ": expected all tensors on the same device, "
                    "found ", a.device(), " and ", b.device());
}

Tensor Tensor::clone() const {
  Tensor out = empty(sizes(), TensorOptions(dtype()).device(device()));
  backend_of(out).copy(out, *this);
  return autograd::record("CloneBackward0", out, {*this},
                          [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = empty(sizes(), TensorOptions(target).device(device()));
  backend_of(out).copy(out, *this);
  if (!is_floating(target)) return out;  // integer results carry no gradient
  return autograd::record("ToCopyBackward0", out, {*this}, [from = dtype()](const Tensor& g) {
    return std::vector<Tensor>{g.to(from)};
  });
}

Tensor Tensor::to(Device target) const {
  if (target == device()) return *this;
  Tensor out = empty(sizes(), TensorOptions(dtype()).device(target));
  // A device backend copies from host memory; the CPU side is always the host here.
  backend(target.is_cpu() ? device() : target).copy(out, *this);
  return autograd::record("ToCopyBackward0", out, {*this}, [from = device()](const Tensor& g) {
    return std::vector<Tensor>{g.to(from)};
  });
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace(*this, "copy_");
  EMBER_CHECK_VALUE(src.dim() <= dim(), "copy_: cannot copy shape ", src.sizes(), " into ",
                    sizes());
  broadcast_shapes(sizes(), src.sizes(), "copy_");  // validates; src must broadcast to self
  Tensor s = src.detach().expand(sizes());
  if (s.device() != device()) s = s.to(device());
  backend_of(*this).copy(*this, s);
  return *this;
}

Tensor& Tensor::fill_(double value) {
  check_inplace(*this, "fill_");
  backend_of(*this).fill(*this, value);
  return *this;
}

}  // namespace ember
