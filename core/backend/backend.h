// The one interface a device implements: memory plus the kernels the ops layer calls.
//
// Kernels are dumb: shapes are already checked and broadcast by core/ops, outputs are allocated by
// the caller, and no kernel records autograd. Unless a kernel says otherwise, inputs may have any
// strides (broadcast inputs have stride 0) and outputs are written through their own strides.
// The CPU backend (backend/cpu) is the reference; a new backend starts from a copy of its header.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/tensor.h"

namespace ember {

enum class UnaryOp {
  Neg, Exp, Log, Sqrt, Rsqrt, Abs, Sign, Relu, Sigmoid, Tanh, Gelu, Softplus, Erf,
  LeakyRelu,  // a = negative slope
  Clamp,      // a = min, b = max (use +-inf for none)
  PowScalar,  // a = exponent
  AddScalar,  // x + a
  MulScalar,  // x * a
  RSubScalar, // a - x
};

enum class BinaryOp {
  Add,  // a + alpha*b, alpha = param
  Sub,  // a - alpha*b
  Mul, Div, Pow, Maximum, Minimum,
  Eq, Ne, Lt, Le, Gt, Ge,  // output dtype bool
  // Gradients of activations, so each activation's math sits in one kernel file:
  ReluBackward,       // (grad, x): x > 0 ? grad : 0
  LeakyReluBackward,  // (grad, x): x > 0 ? grad : param*grad
  GeluBackward,       // (grad, x): grad * d/dx gelu(x)
  SigmoidBackward,    // (grad, y): grad * y * (1 - y)
  TanhBackward,       // (grad, y): grad * (1 - y*y)
  SoftplusBackward,   // (grad, x): grad * sigmoid(x)
};

enum class ReduceOp { Sum, Prod, Max, Min };

struct UnaryParams {
  double a = 0, b = 0;
};

struct Conv2dParams {
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;
};

struct Pool2dParams {
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  bool count_include_pad = true;  // avg pooling only
};

// One Adam/AdamW update, PyTorch's (1.13) arithmetic: g = grad (negated if maximize, plus
// weight_decay * param unless decoupled); param *= 1 - lr * weight_decay if decoupled;
// m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2; v_max = max(v_max, v) if amsgrad;
// param -= step_size * m / (sqrt(v or v_max) / bias_correction2_sqrt + eps).
struct AdamStep {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool decoupled_weight_decay = false, amsgrad = false, maximize = false;
  double step_size = 0, bias_correction2_sqrt = 1;  // lr / (1 - beta1^t), sqrt(1 - beta2^t)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* ptr, size_t nbytes) = 0;

  // dst = src converted to dst's dtype; src has dst's shape (possibly through stride-0 dims).
  virtual void copy(const Tensor& dst, const Tensor& src) = 0;
  virtual void fill(const Tensor& dst, double value) = 0;

  // Elementwise, all operands of out's shape. Compute dtype = out's dtype (inputs match it),
  // except comparisons, whose inputs share a dtype and whose output is bool.
  virtual void unary(UnaryOp op, const Tensor& out, const Tensor& in, UnaryParams p) = 0;
  virtual void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b,
                      double param) = 0;
  // out = cond ? a : b (cond bool).
  virtual void where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) = 0;
  // out = out + value * a * b (divide: a / b), all of out's shape and dtype.
  virtual void addcmul(const Tensor& out, const Tensor& a, const Tensor& b, double value,
                       bool divide) = 0;

  // Reduces `in` over the dims with reduce_mask[d] true into `out` (in's rank, size 1 there).
  // Floating sums accumulate in double.
  virtual void reduce(ReduceOp op, const Tensor& out, const Tensor& in,
                      const std::vector<bool>& reduce_mask) = 0;
  // Max or min over `dim` with the index of the first extreme (NaN counts as the extreme).
  // values and indices (int64) have in's rank with size 1 at dim.
  virtual void arg_reduce(bool is_max, const Tensor& values, const Tensor& indices,
                          const Tensor& in, int64_t dim) = 0;

  // out[b] = a[b] @ b[b] for 3-D a [B,M,K], b [B,K,N], out [B,M,N] contiguous. a and b may have
  // either row- or column-major inner matrices (a transpose is folded into the GEMM).
  virtual void matmul(const Tensor& out, const Tensor& a, const Tensor& b) = 0;

  // Indexing along `dim`; index is int64. gather/scatter_add: index has out's/src's shape.
  virtual void gather(const Tensor& out, const Tensor& in, int64_t dim, const Tensor& index) = 0;
  virtual void scatter_add(const Tensor& out, int64_t dim, const Tensor& index,
                           const Tensor& src) = 0;
  virtual void index_select(const Tensor& out, const Tensor& in, int64_t dim,
                            const Tensor& index) = 0;
  virtual void index_add(const Tensor& out, int64_t dim, const Tensor& index,
                         const Tensor& src) = 0;

  // Convolution on contiguous NCHW tensors; weight [OC, C/groups, KH, KW]; bias [OC] or undefined.
  virtual void conv2d(const Tensor& out, const Tensor& input, const Tensor& weight,
                      const Tensor& bias, const Conv2dParams& p) = 0;
  virtual void conv2d_backward_input(const Tensor& grad_input, const Tensor& grad_out,
                                     const Tensor& weight, const Conv2dParams& p) = 0;
  virtual void conv2d_backward_weight(const Tensor& grad_weight, const Tensor& grad_out,
                                      const Tensor& input, const Conv2dParams& p) = 0;
  // conv2d_backward_weight, and grad_bias [OC] = grad_out summed over N, H and W (the bias's
  // gradient). A backend may fuse the two passes over grad_out; this default makes both.
  virtual void conv2d_backward_weight_bias(const Tensor& grad_weight, const Tensor& grad_bias,
                                           const Tensor& grad_out, const Tensor& input,
                                           const Conv2dParams& p);

  // Pooling on contiguous NCHW tensors. indices (int64) hold h*W + w within each input plane.
  virtual void max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& input,
                          const Pool2dParams& p) = 0;
  virtual void max_pool2d_backward(const Tensor& grad_input, const Tensor& grad_out,
                                   const Tensor& indices, const Pool2dParams& p) = 0;
  virtual void avg_pool2d(const Tensor& out, const Tensor& input, const Pool2dParams& p) = 0;
  virtual void avg_pool2d_backward(const Tensor& grad_input, const Tensor& grad_out,
                                   const Pool2dParams& p) = 0;

  // Batch normalization on contiguous [N, C, S] tensors (the dims after C flattened into S),
  // per channel; mean, var, invstd, weight, bias are [C] of the input's dtype.
  // stats: the batch's mean and biased variance.
  virtual void batch_norm_stats(const Tensor& mean, const Tensor& var, const Tensor& input) = 0;
  // out = (input - mean) * invstd * weight + bias; weight and bias may be undefined (1 and 0).
  virtual void batch_norm_apply(const Tensor& out, const Tensor& input, const Tensor& mean,
                                const Tensor& invstd, const Tensor& weight, const Tensor& bias) = 0;
  // The gradients of apply for grad_out. training: mean and invstd are this batch's statistics,
  // so grad_input includes their dependence on the input. Undefined outputs are not computed.
  virtual void batch_norm_backward(const Tensor& grad_input, const Tensor& grad_weight,
                                   const Tensor& grad_bias, const Tensor& grad_out,
                                   const Tensor& input, const Tensor& mean, const Tensor& invstd,
                                   const Tensor& weight, bool training) = 0;
  // relu(batch_norm) fused (ops' batch_norm_relu): apply with max(y, 0) taken as y is written
  // (ReLU's rule: y > 0 ? y : 0), and the backward of both for grad_out. The ReLU's mask is
  // output > 0 for the fused op's `output`, which is exactly where the normalized value
  // (x - mean) * invstd * weight + bias was positive: a backend may read it from `output` or
  // recompute it from the input and the affine terms with its apply's own arithmetic (the CPU
  // does: a pass over one tensor fewer each way). A backend may fuse the passes; these defaults
  // make them separately, reading `output`.
  virtual void batch_norm_apply_relu(const Tensor& out, const Tensor& input, const Tensor& mean,
                                     const Tensor& invstd, const Tensor& weight, const Tensor& bias);
  virtual void batch_norm_relu_backward(const Tensor& grad_input, const Tensor& grad_weight,
                                        const Tensor& grad_bias, const Tensor& grad_out,
                                        const Tensor& output, const Tensor& input, const Tensor& mean,
                                        const Tensor& invstd, const Tensor& weight, const Tensor& bias,
                                        bool training);
  // Whether batch_norm_relu_backward reads `output` (the default does; the CPU does not): when it
  // does not, the fused op keeps no output for it, and batch_norm_relu_max_pool2x2 need not
  // write one.
  virtual bool batch_norm_relu_backward_reads_output() const { return true; }
  // max_pool2d (2x2, stride 2, no padding) of batch_norm_apply_relu, input [N, C, H, W] ->
  // pooled and indices [N, C, H/2, W/2] (rounded down), the same bits as the two ops. `output`
  // [N, C, H, W], the un-pooled activations, is written when defined (the op asks for it when
  // batch_norm_relu_backward reads it), and may be undefined otherwise, so that a backend can
  // pool the activations as it computes them. The default runs the two ops.
  virtual void batch_norm_relu_max_pool2x2(const Tensor& pooled, const Tensor& indices, const Tensor& output,
                                           const Tensor& input, const Tensor& mean, const Tensor& invstd,
                                           const Tensor& weight, const Tensor& bias);
  // Its backward for grad_pooled: max_pool2d_backward by `indices` into the activations' gradient,
  // then batch_norm_relu_backward (`output` as the forward kept it, or undefined; input and
  // grad_input [N, C, H, W], grad_input undefined when not wanted). The default runs the two; a
  // backend may feed the pool's gradient to the batch norm's passes directly (the CPU does).
  virtual void batch_norm_relu_max_pool2x2_backward(const Tensor& grad_input, const Tensor& grad_weight,
                                                    const Tensor& grad_bias, const Tensor& grad_pooled,
                                                    const Tensor& indices, const Tensor& output, const Tensor& input,
                                                    const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                                                    const Tensor& bias, bool training);

  // Fused optimizer updates on contiguous tensors of one float dtype, all updated in place
  // (max_exp_avg_sq only with amsgrad).
  virtual void adam_step(const AdamStep& s, const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                         const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq) = 0;

  // Philox streams (see core/random/philox.h) at counter `offset` with key `seed`, element i
  // drawing from counter offset + i (the 4 words of one counter feed one element).
  virtual void uniform(const Tensor& out, double lo, double hi, uint64_t seed, uint64_t offset) = 0;
  virtual void normal(const Tensor& out, double mean, double std, uint64_t seed,
                      uint64_t offset) = 0;
  // `value` where the draw (probability p) succeeds, 0 elsewhere: 1 for torch.bernoulli, 1/(1-p)
  // for a dropout mask, so that the mask needs no second pass to scale it.
  virtual void bernoulli(const Tensor& out, double p, uint64_t seed, uint64_t offset, double value) = 0;
};

// The backend of a device; throws for a device this build cannot use.
Backend& backend(Device device);
inline Backend& backend_of(const Tensor& t) { return backend(t.device()); }

}  // namespace ember
