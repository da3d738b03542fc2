#include "core/tensor.h"

#include "core/autograd/node.h"

namespace ember {

Tensor Tensor::make(Storage storage, Shape sizes, Shape strides, int64_t offset, DType dtype) {
  EMBER_CHECK(sizes.size() == strides.size(), "tensor: ", sizes.size(), " sizes but ",
              strides.size(), " strides");
  EMBER_CHECK(offset >= 0, "tensor: negative storage offset ", offset);
  if (numel_of(sizes) > 0) {
    int64_t last = offset;
    for (size_t i = 0; i < sizes.size(); ++i) {
      EMBER_CHECK(strides[i] >= 0, "tensor: negative stride ", strides[i]);
      last += (sizes[i] - 1) * strides[i];
    }
    size_t needed = static_cast<size_t>(last + 1) * ember::element_size(dtype);
    EMBER_CHECK(needed <= storage.nbytes(), "tensor: view of sizes ", sizes, ", strides ",
                strides, " and offset ", offset, " needs ", needed, " bytes, the storage has ",
                storage.nbytes());
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->offset = offset;
  impl->sizes = std::move(sizes);
  impl->strides = std::move(strides);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

int64_t Tensor::size(int64_t d) const { return sizes()[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return strides()[wrap_dim(d, dim(), "stride")]; }

void* Tensor::data() const {
  auto* impl = checked();
  return static_cast<char*>(impl->storage.data()) + impl->offset * ember::element_size(impl->dtype);
}

double Tensor::item() const { return item<double>(); }

template <class T>
T Tensor::item() const {
  EMBER_CHECK_VALUE(numel() == 1, "item: expected a tensor with one element, found shape ", sizes());
  if (!device().is_cpu()) return detach().to(kCPU).item<T>();  // waits for the device, as PyTorch
  T out;
  convert_elements(data(), dtype(), &out, dtype_of<T>(), 1);
  return out;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  if (!device().is_cpu()) return detach().to(kCPU).to_vector<T>();
  Tensor c = contiguous();
  std::vector<T> out(static_cast<size_t>(numel()));
  if constexpr (std::is_same_v<T, bool>) {
    std::vector<uint8_t> bytes(out.size());
    convert_elements(c.data(), dtype(), bytes.data(), kBool, numel());
    for (size_t i = 0; i < out.size(); ++i) out[i] = bytes[i] != 0;
  } else {
    convert_elements(c.data(), dtype(), out.data(), dtype_of<T>(), numel());
  }
  return out;
}

#define EMBER_INSTANTIATE_ACCESSORS(T)                  \
  template T Tensor::item<T>() const;                   \
  template std::vector<T> Tensor::to_vector<T>() const;
EMBER_INSTANTIATE_ACCESSORS(float)
EMBER_INSTANTIATE_ACCESSORS(double)
EMBER_INSTANTIATE_ACCESSORS(int64_t)
EMBER_INSTANTIATE_ACCESSORS(int32_t)
EMBER_INSTANTIATE_ACCESSORS(int16_t)
EMBER_INSTANTIATE_ACCESSORS(int8_t)
EMBER_INSTANTIATE_ACCESSORS(uint8_t)
EMBER_INSTANTIATE_ACCESSORS(bool)
#undef EMBER_INSTANTIATE_ACCESSORS

Tensor& Tensor::requires_grad_(bool value) {
  auto* impl = checked();
  if (value)
    EMBER_CHECK_VALUE(is_floating(impl->dtype), "requires_grad_: only floating-point tensors can ",
                      "require gradients, found dtype ", impl->dtype);
  if (!value)
    EMBER_CHECK_VALUE(impl->grad_fn == nullptr, "requires_grad_(false) on a non-leaf tensor: ",
                      "use detach() to get a tensor without history");
  impl->requires_grad = value;
  return *this;
}

Tensor Tensor::grad() const {
  auto* impl = checked();
  return impl->grad ? Tensor(impl->grad) : Tensor();
}

void Tensor::set_grad(const Tensor& g) const {
  auto* impl = checked();
  if (g.defined())
    EMBER_CHECK_VALUE(g.sizes() == impl->sizes, "set_grad: expected a gradient of shape ",
                      impl->sizes, ", found ", g.sizes());
  impl->grad = g.impl_ptr();
}

void Tensor::register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) const {
  TensorImpl* impl = checked();
  EMBER_CHECK_VALUE(impl->requires_grad && !impl->grad_fn,
                    "register_post_accumulate_grad_hook: expected a leaf that requires grad");
  impl->post_accumulate_grad_hooks.push_back(std::move(hook));
}

void Tensor::retain_grad() const {
  auto* impl = checked();
  EMBER_CHECK_VALUE(impl->requires_grad, "retain_grad: the tensor does not require grad");
  if (impl->grad_fn) impl->retains_grad = true;  // leaves keep their grad anyway
}

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  autograd::run_backward(*this, gradient, retain_graph);
}

Tensor Tensor::detach() const {
  auto* impl = checked();
  return make(impl->storage, impl->sizes, impl->strides, impl->offset, impl->dtype);
}

}  // namespace ember
