// float32 2-D convolutions through oneDNN's direct kernels, when the build has oneDNN
// (EMBER_BLAS=AUTO|ONEDNN finding libdnnl-dev): conv.cpp asks these first and runs its own
// im2col + GEMM when they return false.
//
// Why: oneDNN's direct convolutions work on channel-blocked layouts (nChw16c on AVX-512, nChw8c
// on AVX2) in registers, with no patch matrix. On the cnn's second layer ([128, 32, 14, 14] ->
// 64, 3x3) forward and both backward passes took 35 ms at 1 thread against im2col + GEMM's 52 ms
// (2026-12-02, Intel Xeon AVX-512, a scratch program), reorders to and from ember's NCHW
// included at ~3 ms. Tensors stay NCHW: each call reorders its operands into the blocked layout
// oneDNN chose and the result back.
//
// Contract (as the Backend's conv2d entry points): NCHW contiguous float32 tensors on the CPU,
// outputs overwritten. Taken when every tensor is float32, groups == 1 and the layer has at least
// kMinChannels input and output channels (oneDNN's blocked kernels gain nothing on a 1-channel
// input, and its backward-data kernel for one was 300x slower than im2col). Deterministic: for a
// fixed ember thread count the same inputs give the same bits, run after run (each primitive is
// created for, and run on, that many threads; its work split depends only on the shapes).
//
// EMBER_ONEDNN_CONV=0 in the environment, or set_onednn_convolutions(false), turns them off (for
// comparisons; the results then come from im2col + GEMM).
#pragma once

#include "core/backend/backend.h"

namespace ember::cpu {

constexpr int64_t kMinChannels = 16;

// Whether this build has oneDNN's convolutions and they are switched on.
bool onednn_convolutions();
void set_onednn_convolutions(bool on);

bool onednn_conv2d(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
                   const Conv2dParams& p);
bool onednn_conv2d_backward_input(const Tensor& grad_input, const Tensor& grad_out, const Tensor& weight,
                                  const Conv2dParams& p);
// grad_bias may be undefined (no bias gradient).
bool onednn_conv2d_backward_weight(const Tensor& grad_weight, const Tensor& grad_bias, const Tensor& grad_out,
                                   const Tensor& input, const Conv2dParams& p);

}  // namespace ember::cpu
