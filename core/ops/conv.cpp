#include "core/ops/conv.h"

#include "core/autograd/node.h"
#include "core/backend/backend.h"
#include "core/ops/copy.h"
#include "core/ops/factories.h"
#include "core/ops/reduce.h"

#include "core/trace/trace.h"

namespace ember {

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride,
              Size2 padding, Size2 dilation, int64_t groups) {
  trace::OpScope traced;  // an op with an export rule (core/trace/trace.h)
  Tensor result = [&]() -> Tensor {
    if (input.dim() == 3)
      return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0);
    EMBER_CHECK_VALUE(input.dim() == 4, "conv2d: expected input [N, C, H, W], found shape ", input.sizes());
    EMBER_CHECK_VALUE(weight.dim() == 4, "conv2d: expected weight [OC, C/groups, KH, KW], found shape ", weight.sizes());
    check_same_device(input, weight, "conv2d");
    EMBER_CHECK_VALUE(input.dtype() == weight.dtype(), "conv2d: input is ", input.dtype(), " but weight is ", weight.dtype());
    EMBER_CHECK_VALUE(groups > 0 && input.size(1) % groups == 0 && weight.size(0) % groups == 0,
                      "conv2d: groups=", groups, " must divide input channels ", input.size(1),
                      " and output channels ", weight.size(0));
    EMBER_CHECK_VALUE(input.size(1) == weight.size(1) * groups, "conv2d: expected input with ",
                      weight.size(1) * groups, " channels (weight ", weight.sizes(), ", groups ", groups,
                      "), found ", input.size(1), " (input ", input.sizes(), ")");
    EMBER_CHECK_VALUE(stride.h > 0 && stride.w > 0 && dilation.h > 0 && dilation.w > 0 && padding.h >= 0 &&
                          padding.w >= 0, "conv2d: expected positive stride and dilation and non-negative padding");
    if (bias.defined())
      EMBER_CHECK_VALUE(bias.dim() == 1 && bias.size(0) == weight.size(0), "conv2d: expected bias of shape [",
                        weight.size(0), "], found ", bias.sizes());
    Conv2dParams p{stride.h, stride.w, padding.h, padding.w, dilation.h, dilation.w, groups};
    int64_t oh = (input.size(2) + 2 * p.pad_h - p.dilation_h * (weight.size(2) - 1) - 1) / p.stride_h + 1;
    int64_t ow = (input.size(3) + 2 * p.pad_w - p.dilation_w * (weight.size(3) - 1) - 1) / p.stride_w + 1;
    EMBER_CHECK_VALUE(oh > 0 && ow > 0, "conv2d: input ", input.sizes(), " is too small for kernel ",
                      weight.sizes(), " with this padding and dilation");
    Tensor x = input.detach().contiguous(), w = weight.detach().contiguous();
    Tensor b = bias.defined() ? bias.detach().to(x.dtype()).contiguous() : Tensor();
    Tensor out = empty({x.size(0), w.size(0), oh, ow}, TensorOptions(x.dtype()).device(x.device()));
    backend_of(out).conv2d(out, x, w, b, p);
    bool has_bias = bias.defined();
    std::vector<Tensor> inputs{input, weight};
    if (has_bias) inputs.push_back(bias);
    bool need_input = input.requires_grad(), need_weight = weight.requires_grad();
    return autograd::record("ConvolutionBackward0", out, inputs, [=](const Tensor& g_in) {
      Tensor g = g_in.contiguous();
      Tensor gx, gw;  // skipped when not needed: the first layer's input rarely requires grad
      if (need_input) backend_of(g).conv2d_backward_input(gx = empty_like(x), g, w, p);
      if (need_weight && has_bias) {  // one pass over g for both (the cpu sums g's rows while they are in cache)
        Tensor gb = empty({w.size(0)}, TensorOptions(g.dtype()).device(g.device()));
        backend_of(g).conv2d_backward_weight_bias(gw = empty_like(w), gb, g, x, p);
        return std::vector<Tensor>{gx, gw, gb};
      }
      if (need_weight) backend_of(g).conv2d_backward_weight(gw = empty_like(w), g, x, p);
      std::vector<Tensor> grads{gx, gw};
      if (has_bias) grads.push_back(sum(g, {0, 2, 3}));
      return grads;
    }, {x, w});
  }();
  return !traced.recording() ? result : traced.done("Conv", bias.defined() ? std::vector<Tensor>{input, weight, bias} : std::vector<Tensor>{input, weight}, result, {{"kernel_shape", {weight.size(2), weight.size(3)}}, {"strides", {stride.h, stride.w}}, {"pads", {padding.h, padding.w, padding.h, padding.w}}, {"dilations", {dilation.h, dilation.w}}, {"group", groups}});
}

}  // namespace ember
