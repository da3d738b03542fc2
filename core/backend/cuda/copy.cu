// Copies on a device, between host and device, and fills.
//
// A same-dtype copy moves raw elements (one kernel per element size); a converting copy reads
// each element into a double or an int64 and writes it as the destination type, with the CPU's
// rules (NaN -> bool is true, float -> int truncates, float16/bfloat16 round to nearest even).
// Host <-> device copies go through a contiguous staging tensor where either side is strided or
// of another dtype, and wait for the stream: the host memory is ordinary pageable memory.
#include "core/autograd/grad_mode.h"
#include "core/backend/cuda/cuda_backend.h"
#include "core/backend/cuda/launch.cuh"
#include "core/ops/factories.h"

namespace ember::cuda {

namespace {

template <class B>
struct BitsCopy {
  B* dst;
  const B* src;
  __device__ void operator()(const int64_t (&o)[2]) const { dst[o[0]] = src[o[1]]; }
};

template <class B>
struct BitsFill {
  B* dst;
  B value;
  __device__ void operator()(const int64_t (&o)[1]) const { dst[o[0]] = value; }
};

// One element of any real dtype, as an integer or a double.
struct Scalar {
  double f;
  int64_t i;
  bool integral;
};

__device__ Scalar load(const char* p, DType t) {
  switch (t) {
    case DType::Float32: return {*reinterpret_cast<const float*>(p), 0, false};
    case DType::Float64: return {*reinterpret_cast<const double*>(p), 0, false};
    case DType::Float16: return {__half2float(*reinterpret_cast<const __half*>(p)), 0, false};
    case DType::BFloat16: return {__bfloat162float(*reinterpret_cast<const __nv_bfloat16*>(p)), 0, false};
    case DType::Int64: return {0, *reinterpret_cast<const int64_t*>(p), true};
    case DType::Int32: return {0, *reinterpret_cast<const int32_t*>(p), true};
    case DType::Int16: return {0, *reinterpret_cast<const int16_t*>(p), true};
    case DType::Int8: return {0, *reinterpret_cast<const int8_t*>(p), true};
    case DType::UInt8: return {0, *reinterpret_cast<const uint8_t*>(p), true};
    case DType::UInt16: return {0, *reinterpret_cast<const uint16_t*>(p), true};
    case DType::UInt32: return {0, *reinterpret_cast<const uint32_t*>(p), true};
    case DType::UInt64: return {0, static_cast<int64_t>(*reinterpret_cast<const uint64_t*>(p)), true};
    default: return {0, *reinterpret_cast<const bool*>(p) ? 1 : 0, true};  // Bool
  }
}

template <class T>
__device__ T as(const Scalar& v) {
  return v.integral ? static_cast<T>(v.i) : static_cast<T>(v.f);
}

__device__ void store(char* p, DType t, const Scalar& v) {
  switch (t) {
    case DType::Float32: *reinterpret_cast<float*>(p) = as<float>(v); break;
    case DType::Float64: *reinterpret_cast<double*>(p) = as<double>(v); break;
    case DType::Float16: *reinterpret_cast<__half*>(p) = __float2half_rn(as<float>(v)); break;
    case DType::BFloat16: *reinterpret_cast<__nv_bfloat16*>(p) = __float2bfloat16_rn(as<float>(v)); break;
    case DType::Int64: *reinterpret_cast<int64_t*>(p) = as<int64_t>(v); break;
    case DType::Int32: *reinterpret_cast<int32_t*>(p) = as<int32_t>(v); break;
    case DType::Int16: *reinterpret_cast<int16_t*>(p) = as<int16_t>(v); break;
    case DType::Int8: *reinterpret_cast<int8_t*>(p) = as<int8_t>(v); break;
    case DType::UInt8: *reinterpret_cast<uint8_t*>(p) = as<uint8_t>(v); break;
    case DType::UInt16: *reinterpret_cast<uint16_t*>(p) = as<uint16_t>(v); break;
    case DType::UInt32: *reinterpret_cast<uint32_t*>(p) = as<uint32_t>(v); break;
    case DType::UInt64: *reinterpret_cast<uint64_t*>(p) = v.integral ? static_cast<uint64_t>(v.i) : as<uint64_t>(v); break;
    default: *reinterpret_cast<bool*>(p) = v.integral ? v.i != 0 : v.f != 0.0; break;  // NaN != 0
  }
}

struct ConvertCopy {
  char* dst;
  const char* src;
  DType to, from;
  int64_t dst_size, src_size;
  __device__ void operator()(const int64_t (&o)[2]) const {
    store(dst + o[0] * dst_size, to, load(src + o[1] * src_size, from));
  }
};

void upload(const Tensor& dst, const Tensor& src);
void download(const Tensor& dst, const Tensor& src);

// dst = src, both on one device, src of dst's shape (possibly through stride-0 dims).
void device_copy(const Tensor& dst, const Tensor& src) {
  if (dst.dtype() == src.dtype()) {
    by_element_size(dst.element_size(), "copy", [&](auto tag) {
      using B = decltype(tag);
      for_each_element<2>(dst.sizes(), {&dst, &src}, BitsCopy<B>{ptr<B>(dst), ptr<const B>(src)}, "copy");
    });
    return;
  }
  EMBER_CHECK_VALUE(!is_complex(dst.dtype()) && !is_complex(src.dtype()), "copy: cannot convert ", src.dtype(), " to ",
                    dst.dtype(), " on ", dst.device(), ": ember converts complex tensors on the cpu only");
  auto is_fp8 = [](DType t) { return t == kFloat8E4M3FN || t == kFloat8E5M2; };
  if (is_fp8(dst.dtype()) || is_fp8(src.dtype())) {  // rare: converted on the host, by the CPU's rules
    NoGradGuard no_grad;
    Tensor host = empty(src.sizes(), TensorOptions(src.dtype()));
    download(host, src);
    return upload(dst, host.to(dst.dtype()));
  }
  for_each_element<2>(dst.sizes(), {&dst, &src},
                      ConvertCopy{ptr<char>(dst), ptr<const char>(src), dst.dtype(), src.dtype(),
                                  static_cast<int64_t>(dst.element_size()), static_cast<int64_t>(src.element_size())},
                      "copy");
}

bool dense(const Tensor& t) { return t.is_contiguous(); }

// Host (src) to device (dst).
void upload(const Tensor& dst, const Tensor& src) {
  NoGradGuard no_grad;
  Tensor host = src;
  if (host.dtype() != dst.dtype()) host = host.to(dst.dtype());
  if (!dense(host)) host = host.contiguous();
  Tensor target = dense(dst) ? dst : empty(dst.sizes(), TensorOptions(dst.dtype()).device(dst.device()));
  DeviceContext& ctx = context_of(dst);
  EMBER_CUDA_CHECK(cudaMemcpyAsync(target.data(), host.data(), host.nbytes(), cudaMemcpyHostToDevice, ctx.stream));
  if (!target.is_same(dst)) device_copy(dst, target);
  EMBER_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));  // the host buffer may go once we return
}

// Device (src) to host (dst).
void download(const Tensor& dst, const Tensor& src) {
  NoGradGuard no_grad;
  DeviceContext& ctx = context_of(src);
  Tensor staged = src;
  if (!dense(staged)) {
    staged = empty(src.sizes(), TensorOptions(src.dtype()).device(src.device()));
    device_copy(staged, src);
  }
  bool direct = dense(dst) && dst.dtype() == src.dtype();
  Tensor host = direct ? dst : empty(src.sizes(), TensorOptions(src.dtype()));
  EMBER_CUDA_CHECK(cudaMemcpyAsync(host.data(), staged.data(), staged.nbytes(), cudaMemcpyDeviceToHost, ctx.stream));
  EMBER_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  if (!direct) backend(kCPU).copy(dst, host);
}

}  // namespace

void* CudaBackend::allocate(size_t nbytes) { return cuda::allocator(device_).allocate(nbytes); }

void CudaBackend::deallocate(void* ptr, size_t) { cuda::allocator(device_).deallocate(ptr); }

void CudaBackend::copy(const Tensor& dst, const Tensor& src) {
  if (dst.numel() == 0) return;
  Device d = dst.device(), s = src.device();
  if (d == s) return device_copy(dst, src);
  if (s.is_cpu()) return upload(dst, src);
  if (d.is_cpu()) return download(dst, src);
  // Between two GPUs: through the host (rare; peer copies are not worth their setup here).
  Tensor host = empty(src.sizes(), TensorOptions(src.dtype()));
  download(host, src);
  upload(dst, host);
}

void CudaBackend::fill(const Tensor& dst, double value) {
  if (dst.numel() == 0) return;
  if (is_complex(dst.dtype())) {  // value + 0i
    Tensor parts = dst.view_as_real();
    fill(parts.select(-1, 0), value);
    return fill(parts.select(-1, 1), 0.0);
  }
  alignas(16) unsigned char bits[16] = {};
  convert_elements(&value, kFloat64, bits, dst.dtype(), 1);
  by_element_size(dst.element_size(), "fill", [&](auto tag) {
    using B = decltype(tag);
    B v;
    std::memcpy(&v, bits, sizeof(B));
    for_each_element<1>(dst.sizes(), {&dst}, BitsFill<B>{ptr<B>(dst), v}, "fill");
  });
}

}  // namespace ember::cuda
