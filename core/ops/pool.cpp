#include "core/ops/pool.h"

#include "core/autograd/node.h"
#include "core/backend/backend.h"
#include "core/ops/factories.h"
#include "core/ops/join.h"
#include "core/ops/reduce.h"

#include "core/trace/trace.h"

namespace ember {

using autograd::record;
using Grads = std::vector<Tensor>;

namespace {

int64_t pooled_size(int64_t in, int64_t k, int64_t s, int64_t pad, int64_t dil, bool ceil_mode) {
  int64_t span = in + 2 * pad - dil * (k - 1) - 1;
  int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + pad) --out;  // the last window must start inside
  return out;
}

Pool2dParams params(const char* op, const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, Size2 dilation) {
  EMBER_CHECK_VALUE(x.dim() == 4, op, ": expected input [N, C, H, W], found shape ", x.sizes());
  if (stride.h == 0 && stride.w == 0) stride = kernel;
  EMBER_CHECK_VALUE(kernel.h > 0 && kernel.w > 0 && stride.h > 0 && stride.w > 0, op,
                    ": expected positive kernel and stride");
  EMBER_CHECK_VALUE(padding.h >= 0 && padding.w >= 0 && padding.h * 2 <= kernel.h && padding.w * 2 <= kernel.w,
                    op, ": padding (", padding.h, ", ", padding.w, ") should be at most half the kernel (",
                    kernel.h, ", ", kernel.w, ")");
  return {kernel.h, kernel.w, stride.h, stride.w, padding.h, padding.w, dilation.h, dilation.w, true};
}

Tensor alloc_out(const Tensor& x, const Pool2dParams& p, bool ceil_mode, DType dtype) {
  int64_t oh = pooled_size(x.size(2), p.kernel_h, p.stride_h, p.pad_h, p.dilation_h, ceil_mode);
  int64_t ow = pooled_size(x.size(3), p.kernel_w, p.stride_w, p.pad_w, p.dilation_w, ceil_mode);
  EMBER_CHECK_VALUE(oh > 0 && ow > 0, "pool2d: input ", x.sizes(), " is too small for the window");
  return empty({x.size(0), x.size(1), oh, ow}, TensorOptions(dtype).device(x.device()));
}

}  // namespace

PoolResult max_pool2d_with_indices(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding,
                                   Size2 dilation, bool ceil_mode) {
  if (x.dim() == 3) {
    PoolResult r = max_pool2d_with_indices(x.unsqueeze(0), kernel, stride, padding, dilation, ceil_mode);
    return {r.values.squeeze(0), r.indices.squeeze(0)};
  }
  Pool2dParams p = params("max_pool2d", x, kernel, stride, padding, dilation);
  Tensor in = x.detach().contiguous();
  Tensor out = alloc_out(in, p, ceil_mode, in.dtype());
  Tensor indices = empty(out.sizes(), TensorOptions(kInt64).device(x.device()));
  backend_of(in).max_pool2d(out, indices, in, p);
  out = record("MaxPool2DWithIndicesBackward0", out, {x}, [sizes = x.sizes(), indices, p](const Tensor& g) {
    Tensor gi = empty(sizes, TensorOptions(g.dtype()).device(g.device()));
    backend_of(g).max_pool2d_backward(gi, g.contiguous(), indices, p);
    return Grads{gi};
  });
  return {out, indices};
}

Tensor max_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, Size2 dilation, bool ceil_mode) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    return max_pool2d_with_indices(x, kernel, stride, padding, dilation, ceil_mode).values;
  }();
  return !traced.recording() ? result : traced.done("MaxPool", {x}, result, {{"kernel_shape", {kernel.h, kernel.w}}, {"strides", {stride.h ? stride.h : kernel.h, stride.w ? stride.w : kernel.w}}, {"pads", {padding.h, padding.w, padding.h, padding.w}}, {"dilations", {dilation.h, dilation.w}}, {"ceil_mode", ceil_mode ? 1 : 0}});
}

Tensor avg_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, bool ceil_mode,
                  bool count_include_pad) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    if (x.dim() == 3) return avg_pool2d(x.unsqueeze(0), kernel, stride, padding, ceil_mode, count_include_pad).squeeze(0);
    Pool2dParams p = params("avg_pool2d", x, kernel, stride, padding, 1);
    p.count_include_pad = count_include_pad;
    Tensor in = x.detach().contiguous();
    Tensor out = alloc_out(in, p, ceil_mode, in.dtype());
    backend_of(in).avg_pool2d(out, in, p);
    return record("AvgPool2DBackward0", out, {x}, [sizes = x.sizes(), p](const Tensor& g) {
      Tensor gi = empty(sizes, TensorOptions(g.dtype()).device(g.device()));
      backend_of(g).avg_pool2d_backward(gi, g.contiguous(), p);
      return Grads{gi};
    });
  }();
  return !traced.recording() ? result : traced.done("AveragePool", {x}, result, {{"kernel_shape", {kernel.h, kernel.w}}, {"strides", {stride.h ? stride.h : kernel.h, stride.w ? stride.w : kernel.w}}, {"pads", {padding.h, padding.w, padding.h, padding.w}}, {"ceil_mode", ceil_mode ? 1 : 0}, {"count_include_pad", count_include_pad ? 1 : 0}});
}

Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    EMBER_CHECK_VALUE(x.dim() == 3 || x.dim() == 4, "adaptive_avg_pool2d: expected [N, C, H, W] or [C, H, W], found ",
                      x.sizes());
    EMBER_CHECK_VALUE(output.h > 0 && output.w > 0, "adaptive_avg_pool2d: expected a positive output size");
    int64_t h = x.size(-2), w = x.size(-1);
    if (h % output.h == 0 && w % output.w == 0)  // equal windows: plain average pooling
      return avg_pool2d(x, {h / output.h, w / output.w});
    std::vector<Tensor> rows;
    for (int64_t i = 0; i < output.h; ++i) {
      int64_t h0 = i * h / output.h, h1 = ((i + 1) * h + output.h - 1) / output.h;
      std::vector<Tensor> cols;
      for (int64_t j = 0; j < output.w; ++j) {
        int64_t w0 = j * w / output.w, w1 = ((j + 1) * w + output.w - 1) / output.w;
        cols.push_back(mean(x.narrow(-2, h0, h1 - h0).narrow(-1, w0, w1 - w0), {-2, -1}));
      }
      rows.push_back(stack(cols, -1));
    }
    return stack(rows, -2);
  }();
  return !traced.recording() ? result : traced.done("AdaptiveAveragePool", {x}, result, {{"output_size", {output.h, output.w}}});
}

}  // namespace ember
