// Convolution through cuDNN (its v7-style API, kept in cuDNN 9): forward, backward-data and
// backward-filter on contiguous NCHW tensors. Only deterministic algorithms are taken, so a run
// repeated on the same GPU gives the same bits; float32 runs on FMA math (no TF32) unless
// ember::cuda::set_allow_tf32(true). The algorithm for a geometry is chosen once from cuDNN's
// heuristics (the first that is deterministic, allowed and fits the workspace) and remembered.
#include <map>
#include <mutex>
#include <tuple>

#include "core/backend/cuda/context.h"
#include "core/backend/cuda/cuda.h"
#include "core/backend/cuda/cuda_backend.h"

namespace ember::cuda {

namespace {

enum class Pass { Forward, BackwardData, BackwardFilter };

// Descriptors of one convolution: x [N, C, H, W], w [OC, C/g, KH, KW], y [N, OC, OH, OW].
struct Descriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnDataType_t type;
  cudnnMathType_t math;

  Descriptors(const Tensor& x_t, const Tensor& w_t, const Tensor& y_t, const Conv2dParams& p) {
    type = x_t.dtype() == kFloat32 ? CUDNN_DATA_FLOAT : CUDNN_DATA_DOUBLE;
    math = x_t.dtype() == kFloat32 && !allow_tf32() ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
    auto i = [](int64_t v) { return static_cast<int>(v); };
    EMBER_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    EMBER_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    EMBER_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    EMBER_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
    EMBER_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, type, i(x_t.size(0)), i(x_t.size(1)),
                                                 i(x_t.size(2)), i(x_t.size(3))));
    EMBER_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, type, i(y_t.size(0)), i(y_t.size(1)),
                                                 i(y_t.size(2)), i(y_t.size(3))));
    EMBER_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, type, CUDNN_TENSOR_NCHW, i(w_t.size(0)), i(w_t.size(1)),
                                                 i(w_t.size(2)), i(w_t.size(3))));
    EMBER_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, i(p.pad_h), i(p.pad_w), i(p.stride_h), i(p.stride_w),
                                                      i(p.dilation_h), i(p.dilation_w), CUDNN_CROSS_CORRELATION, type));
    EMBER_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv, i(p.groups)));
    EMBER_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, math));
  }
  ~Descriptors() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;
};

using Key = std::tuple<int, int, int, bool, std::vector<int64_t>>;  // device, pass, dtype, tf32, geometry

Key key_of(Pass pass, const Tensor& x, const Tensor& w, const Conv2dParams& p) {
  std::vector<int64_t> g(x.sizes().begin(), x.sizes().end());
  g.insert(g.end(), w.sizes().begin(), w.sizes().end());
  g.insert(g.end(), {p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dilation_h, p.dilation_w, p.groups});
  return {x.device().index, static_cast<int>(pass), static_cast<int>(x.dtype()), allow_tf32(), g};
}

// Picks from cuDNN's ranked results the first usable one: succeeded, deterministic, of an allowed
// math type, within the workspace.
template <class Perf>
int pick(const Perf* perf, int count, cudnnMathType_t math, const char* what) {
  for (int i = 0; i < count; ++i) {
    bool math_ok = math == CUDNN_FMA_MATH ? perf[i].mathType == CUDNN_FMA_MATH || perf[i].mathType == CUDNN_DEFAULT_MATH
                                          : true;
    if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].determinism == CUDNN_DETERMINISTIC && math_ok &&
        perf[i].memory <= DeviceContext::kWorkspaceBytes)
      return static_cast<int>(perf[i].algo);
  }
  throw Error(str(what, ": cuDNN offers no deterministic algorithm for this convolution within a ",
                  DeviceContext::kWorkspaceBytes >> 20, " MiB workspace (", count, " candidates)"));
}

std::mutex cache_mutex;
std::map<Key, int> algorithms;

int algorithm(Pass pass, const Descriptors& d, DeviceContext& ctx, const Key& key) {
  {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = algorithms.find(key);
    if (it != algorithms.end()) return it->second;
  }
  int algo = 0, returned = 0;
  if (pass == Pass::Forward) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    EMBER_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(ctx.cudnn, d.x, d.w, d.conv, d.y,
                                                             CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf));
    algo = pick(perf, returned, d.math, "conv2d");
  } else if (pass == Pass::BackwardData) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    EMBER_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(ctx.cudnn, d.w, d.y, d.conv, d.x,
                                                                  CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, perf));
    algo = pick(perf, returned, d.math, "conv2d backward (input)");
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    EMBER_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
        ctx.cudnn, d.x, d.y, d.conv, d.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned, perf));
    algo = pick(perf, returned, d.math, "conv2d backward (weight)");
  }
  std::lock_guard<std::mutex> lock(cache_mutex);
  algorithms[key] = algo;
  return algo;
}

void check_float(const Tensor& t, const char* what) {
  EMBER_CHECK_VALUE(t.dtype() == kFloat32 || t.dtype() == kFloat64, what, ": expected a float32 or float64 tensor, found ",
                    t.dtype());
}

// alpha = 1 and beta = 0 in the type cuDNN wants for the data type.
struct Scale {
  float f1 = 1, f0 = 0;
  double d1 = 1, d0 = 0;
  const void* one(cudnnDataType_t t) const { return t == CUDNN_DATA_FLOAT ? static_cast<const void*>(&f1) : &d1; }
  const void* zero(cudnnDataType_t t) const { return t == CUDNN_DATA_FLOAT ? static_cast<const void*>(&f0) : &d0; }
};

}  // namespace

void CudaBackend::conv2d(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
                         const Conv2dParams& p) {
  check_float(out, "conv2d");
  if (out.numel() == 0) return;
  DeviceContext& ctx = context_of(out);
  Descriptors d(input, weight, out, p);
  auto algo = static_cast<cudnnConvolutionFwdAlgo_t>(algorithm(Pass::Forward, d, ctx, key_of(Pass::Forward, input, weight, p)));
  Scale s;
  EMBER_CUDNN_CHECK(cudnnConvolutionForward(ctx.cudnn, s.one(d.type), d.x, input.data(), d.w, weight.data(), d.conv, algo,
                                            ctx.workspace, DeviceContext::kWorkspaceBytes, s.zero(d.type), d.y, out.data()));
  if (!bias.defined()) return;
  cudnnTensorDescriptor_t b = nullptr;
  EMBER_CUDNN_CHECK(cudnnCreateTensorDescriptor(&b));
  cudnnStatus_t status = cudnnSetTensor4dDescriptor(b, CUDNN_TENSOR_NCHW, d.type, 1, static_cast<int>(bias.size(0)), 1, 1);
  if (status == CUDNN_STATUS_SUCCESS)
    status = cudnnAddTensor(ctx.cudnn, s.one(d.type), b, bias.data(), s.one(d.type), d.y, out.data());
  cudnnDestroyTensorDescriptor(b);
  EMBER_CUDNN_CHECK(status);
}

void CudaBackend::conv2d_backward_input(const Tensor& grad_input, const Tensor& grad_out, const Tensor& weight,
                                        const Conv2dParams& p) {
  check_float(grad_input, "conv2d backward");
  if (grad_input.numel() == 0) return;
  DeviceContext& ctx = context_of(grad_input);
  Descriptors d(grad_input, weight, grad_out, p);
  auto algo = static_cast<cudnnConvolutionBwdDataAlgo_t>(
      algorithm(Pass::BackwardData, d, ctx, key_of(Pass::BackwardData, grad_input, weight, p)));
  Scale s;
  EMBER_CUDNN_CHECK(cudnnConvolutionBackwardData(ctx.cudnn, s.one(d.type), d.w, weight.data(), d.y, grad_out.data(), d.conv,
                                                 algo, ctx.workspace, DeviceContext::kWorkspaceBytes, s.zero(d.type), d.x,
                                                 grad_input.data()));
}

void CudaBackend::conv2d_backward_weight(const Tensor& grad_weight, const Tensor& grad_out, const Tensor& input,
                                         const Conv2dParams& p) {
  check_float(grad_weight, "conv2d backward");
  if (grad_weight.numel() == 0) return;
  DeviceContext& ctx = context_of(grad_weight);
  Descriptors d(input, grad_weight, grad_out, p);
  auto algo = static_cast<cudnnConvolutionBwdFilterAlgo_t>(
      algorithm(Pass::BackwardFilter, d, ctx, key_of(Pass::BackwardFilter, input, grad_weight, p)));
  Scale s;
  EMBER_CUDNN_CHECK(cudnnConvolutionBackwardFilter(ctx.cudnn, s.one(d.type), d.x, input.data(), d.y, grad_out.data(), d.conv,
                                                   algo, ctx.workspace, DeviceContext::kWorkspaceBytes, s.zero(d.type), d.w,
                                                   grad_weight.data()));
}

}  // namespace ember::cuda
