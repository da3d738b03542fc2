// Tensor: a cheap, shared handle to (storage, offset, sizes, strides, dtype, autograd slot).
//
// Copying a Tensor shares everything, as in PyTorch. Views (view, narrow, transpose, ...) share the
// storage and differ in offset/sizes/strides. Offsets and strides are in elements.
//
// Autograd: a tensor that requires grad and has no grad_fn is a leaf; backward() accumulates into
// the leaves' grad(). Results of recorded ops carry a grad_fn (see core/autograd/node.h).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/shape.h"
#include "core/storage.h"

namespace ember {

namespace autograd {
struct Node;
}
class Tensor;

struct TensorImpl {
  Storage storage;
  int64_t offset = 0;
  Shape sizes;
  Shape strides;
  DType dtype = kFloat32;
  // autograd slot
  bool requires_grad = false;
  bool retains_grad = false;  // a non-leaf whose grad backward() should keep
  std::shared_ptr<autograd::Node> grad_fn;
  std::shared_ptr<TensorImpl> grad;
  // Called once per backward pass, after this leaf's last gradient of the pass was accumulated
  // (see Tensor::register_post_accumulate_grad_hook).
  std::vector<std::function<void(const Tensor&)>> post_accumulate_grad_hooks;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  // A tensor viewing `storage`; validates that the view lies inside it.
  static Tensor make(Storage storage, Shape sizes, Shape strides, int64_t offset, DType dtype);

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  // Same handle (not merely equal values).
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // --- layout ---
  const Shape& sizes() const { return checked()->sizes; }
  const Shape& shape() const { return sizes(); }
  const Shape& strides() const { return checked()->strides; }
  int64_t size(int64_t dim) const;
  int64_t stride(int64_t dim) const;
  int64_t dim() const { return static_cast<int64_t>(sizes().size()); }
  int64_t numel() const { return numel_of(sizes()); }
  int64_t storage_offset() const { return checked()->offset; }
  DType dtype() const { return checked()->dtype; }
  Device device() const { return checked()->storage.device(); }
  const Storage& storage() const { return checked()->storage; }
  size_t element_size() const { return ember::element_size(dtype()); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * element_size(); }
  bool is_contiguous() const { return is_contiguous_layout(sizes(), strides()); }
  bool is_floating_point() const { return is_floating(dtype()); }

  // --- data (CPU) ---
  // Address of element 0 (storage data + offset).
  void* data() const;
  // Typed pointer; throws if T is not the tensor's dtype.
  template <class T>
  T* data_ptr() const {
    EMBER_CHECK_VALUE(dtype_of<T>() == dtype(), "data_ptr: expected dtype ", dtype_of<T>(),
                      ", found ", dtype());
    return static_cast<T*>(data());
  }
  // The value of a one-element tensor as a double (int64 beyond 2^53 loses precision: use item<T>).
  double item() const;
  template <class T>
  T item() const;
  // All elements in row-major order, converted to T.
  template <class T>
  std::vector<T> to_vector() const;

  // --- autograd ---
  bool requires_grad() const { return checked()->requires_grad; }
  // Marks a leaf as requiring grad. Only floating-point tensors can; a non-leaf cannot be unset.
  Tensor& requires_grad_(bool value = true);
  bool is_leaf() const { return checked()->grad_fn == nullptr; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return checked()->grad_fn; }
  // The accumulated gradient (undefined until a backward reaches this tensor).
  Tensor grad() const;
  void set_grad(const Tensor& g) const;
  // Keep the grad of a non-leaf during backward, as torch.Tensor.retain_grad.
  void retain_grad() const;
  // On a leaf that requires grad: `hook(leaf)` runs once in every backward pass that reaches the
  // leaf's graph, after the pass's last gradient for it was accumulated into grad() (or, when no
  // gradient flowed to it, once the pass knows none will). torch's hook of the same name; what
  // DistributedDataParallel uses to start a bucket's allreduce while backward goes on.
  void register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) const;
  // Backpropagates from this tensor. `gradient` may be omitted for a one-element tensor.
  // Without retain_graph the graph's saved state is freed; a second backward then throws.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;
  // Shares storage, has no history and does not require grad.
  Tensor detach() const;

  // --- views (share storage) ---
  Tensor view(const Shape& shape) const;
  Tensor reshape(const Shape& shape) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor t() const;  // transpose of a 2-D tensor
  Tensor permute(const Shape& dims) const;
  Tensor expand(const Shape& sizes) const;
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  // A complex tensor's float parts: shape [..., 2] (real, imaginary), sharing storage, as
  // torch.view_as_real; view_as_complex is the reverse (last dim 2, stride 1). No autograd.
  Tensor view_as_real() const;
  Tensor view_as_complex() const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor operator[](int64_t index) const { return select(0, index); }

  // --- copies and conversion ---
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(DType dtype) const;
  // A copy on `device` (this tensor itself if it is there), recorded by autograd: gradients flow
  // back to the source device. Copies to or from a GPU wait for it.
  Tensor to(Device device) const;
  Tensor cuda(int index = 0) const { return to(Device(DeviceType::CUDA, index)); }
  Tensor cpu() const { return to(kCPU); }
  // Copies src (broadcast to this shape, any dtype) into this tensor in place.
  Tensor& copy_(const Tensor& src);
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }

  // --- in-place arithmetic (for optimizers and initialisers; not recorded by autograd) ---
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& add_(double value);
  Tensor& sub_(const Tensor& other, double alpha = 1.0);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(double value);
  Tensor& div_(const Tensor& other);
  Tensor& div_(double value);
  Tensor& addcmul_(const Tensor& a, const Tensor& b, double value = 1.0);  // this += value*a*b
  Tensor& addcdiv_(const Tensor& a, const Tensor& b, double value = 1.0);  // this += value*a/b
  Tensor& clamp_(double lo, double hi);
  Tensor& masked_fill_(const Tensor& mask, double value);

  // --- common reductions as methods ---
  Tensor sum() const;
  Tensor sum(const Shape& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const Shape& dims, bool keepdim = false) const;

 private:
  TensorImpl* checked() const {
    EMBER_CHECK(impl_ != nullptr, "operation on an undefined tensor");
    return impl_.get();
  }
  std::shared_ptr<TensorImpl> impl_;
};

// PyTorch-like printing: tensor([[1.0000, 2.0000]], dtype=torch.float64, requires_grad=True)
std::ostream& operator<<(std::ostream& os, const Tensor& t);
std::string to_string(const Tensor& t);

}  // namespace ember
