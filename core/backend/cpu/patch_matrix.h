// The patch matrix of a 2-D convolution for one sample (im2col) and its adjoint (col2im).
//
// For a sample [C, H, W] and group g, col is [C/g*KH*KW, OH*OW]: row (c, ki, kj) holds, for every
// output position (y, x), the input value at (y*stride_h - pad_h + ki*dilation_h,
// x*stride_w - pad_w + kj*dilation_w), 0 in the padding. The convolution is then
//   forward:         Y_g   = W_g @ col        backward weight: dW_g += dY_g @ col^T
//   backward input:  dcol  = W_g^T @ dY_g     then scatter: dX_g = col2im(dcol)
// A PatchMatrix owns col and its working memory (from ember's caching allocator); one per thread.
#pragma once

#include "core/backend/backend.h"
#include "core/storage.h"

namespace ember::cpu {

struct ConvGeometry {
  int64_t n, c, h, w, oc, kh, kw, oh, ow, groups;
  int64_t cg() const { return c / groups; }
  int64_t ocg() const { return oc / groups; }
  int64_t patch() const { return cg() * kh * kw; }  // rows of col
  int64_t ohw() const { return oh * ow; }           // columns of col
};

template <class T>
class PatchMatrix {
 public:
  PatchMatrix(const ConvGeometry& g, const Conv2dParams& p);

  T* data() { return col_; }  // [patch, OH*OW], row-major, rows OH*OW apart

  // col = the patches of `sample`'s channels in `group` (sample: [C, H, W], contiguous).
  void gather(const T* sample, int64_t group);
  // The adjoint: grad_sample's channels in `group` = the sum, over every entry of col, into the
  // input position it was gathered from (the rest of grad_sample is left as it was).
  void scatter(T* grad_sample, int64_t group);

 private:
  // Stride 1 along W: the group's planes copied once into zero-bordered planes, so that every col
  // row is OH straight runs of OW values with no bounds to check.
  bool padded_path() const { return p_.stride_w == 1; }
  int64_t padded_w() const { return g_.w + 2 * p_.pad_w; }
  int64_t padded_plane() const { return (g_.h + 2 * p_.pad_h) * padded_w(); }

  ConvGeometry g_;
  Conv2dParams p_;
  Storage col_storage_, padded_storage_;
  T* col_;
  T* padded_ = nullptr;
  bool borders_zero_ = false;  // scatter leaves the padded planes' borders dirty
};

}  // namespace ember::cpu
