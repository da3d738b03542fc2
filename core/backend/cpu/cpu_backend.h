// The CPU backend: Eigen for GEMM, im2col + GEMM for convolution, strided loops elsewhere.
// Contracts are those of core/backend/backend.h.
#pragma once

#include "core/backend/backend.h"

namespace ember::cpu {

// Returns every block the caching allocator holds to the OS.
void empty_cache();

class CpuBackend final : public Backend {
 public:
  void* allocate(size_t nbytes) override;
  void deallocate(void* ptr, size_t nbytes) override;

  void copy(const Tensor& dst, const Tensor& src) override;
  void fill(const Tensor& dst, double value) override;
  void unary(UnaryOp op, const Tensor& out, const Tensor& in, UnaryParams p) override;
  void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b,
              double param) override;
  void where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) override;
  void addcmul(const Tensor& out, const Tensor& a, const Tensor& b, double value,
               bool divide) override;

  void reduce(ReduceOp op, const Tensor& out, const Tensor& in,
              const std::vector<bool>& reduce_mask) override;
  void arg_reduce(bool is_max, const Tensor& values, const Tensor& indices, const Tensor& in,
                  int64_t dim) override;

  void matmul(const Tensor& out, const Tensor& a, const Tensor& b) override;

  void gather(const Tensor& out, const Tensor& in, int64_t dim, const Tensor& index) override;
  void scatter_add(const Tensor& out, int64_t dim, const Tensor& index,
                   const Tensor& src) override;
  void index_select(const Tensor& out, const Tensor& in, int64_t dim,
                    const Tensor& index) override;
  void index_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) override;

  void conv2d(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
              const Conv2dParams& p) override;
  void conv2d_backward_input(const Tensor& grad_input, const Tensor& grad_out,
                             const Tensor& weight, const Conv2dParams& p) override;
  void conv2d_backward_weight(const Tensor& grad_weight, const Tensor& grad_out,
                              const Tensor& input, const Conv2dParams& p) override;
  void conv2d_backward_weight_bias(const Tensor& grad_weight, const Tensor& grad_bias, const Tensor& grad_out,
                                   const Tensor& input, const Conv2dParams& p) override;

  void batch_norm_stats(const Tensor& mean, const Tensor& var, const Tensor& input) override;
  void batch_norm_apply(const Tensor& out, const Tensor& input, const Tensor& mean, const Tensor& invstd,
                        const Tensor& weight, const Tensor& bias) override;
  void batch_norm_backward(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                           const Tensor& grad_out, const Tensor& input, const Tensor& mean, const Tensor& invstd,
                           const Tensor& weight, bool training) override;
  void batch_norm_apply_relu(const Tensor& out, const Tensor& input, const Tensor& mean, const Tensor& invstd,
                             const Tensor& weight, const Tensor& bias) override;
  void batch_norm_relu_backward(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                                const Tensor& grad_out, const Tensor& output, const Tensor& input, const Tensor& mean,
                                const Tensor& invstd, const Tensor& weight, const Tensor& bias, bool training) override;
  bool batch_norm_relu_backward_reads_output() const override { return false; }
  void batch_norm_relu_max_pool2x2(const Tensor& pooled, const Tensor& indices, const Tensor& output, const Tensor& input,
                                   const Tensor& mean, const Tensor& invstd, const Tensor& weight, const Tensor& bias) override;
  void batch_norm_relu_max_pool2x2_backward(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                                            const Tensor& grad_pooled, const Tensor& indices, const Tensor& output,
                                            const Tensor& input, const Tensor& mean, const Tensor& invstd,
                                            const Tensor& weight, const Tensor& bias, bool training) override;
  void adam_step(const AdamStep& s, const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                 const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq) override;
  void max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& input,
                  const Pool2dParams& p) override;
  void max_pool2d_backward(const Tensor& grad_input, const Tensor& grad_out,
                           const Tensor& indices, const Pool2dParams& p) override;
  void avg_pool2d(const Tensor& out, const Tensor& input, const Pool2dParams& p) override;
  void avg_pool2d_backward(const Tensor& grad_input, const Tensor& grad_out,
                           const Pool2dParams& p) override;

  void uniform(const Tensor& out, double lo, double hi, uint64_t seed, uint64_t offset) override;
  void normal(const Tensor& out, double mean, double std, uint64_t seed, uint64_t offset) override;
  void bernoulli(const Tensor& out, double p, uint64_t seed, uint64_t offset, double value) override;
};

}  // namespace ember::cpu
