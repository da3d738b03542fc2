// make_strided_index, host only (included by strided_index.h).
#pragma once

#include "core/error.h"

namespace ember::cuda {

template <int N>
StridedIndex<N> make_strided_index(const Shape& sizes, const std::array<Shape, N>& strides) {
  StridedIndex<N> ix;
  int nd = 0;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == 1) continue;
    bool merge = nd > 0;
    for (int k = 0; k < N && merge; ++k) merge = ix.strides[k][nd - 1] == strides[k][d] * sizes[d];
    if (merge) {
      ix.sizes[nd - 1] *= sizes[d];
      for (int k = 0; k < N; ++k) ix.strides[k][nd - 1] = strides[k][d];
      continue;
    }
    EMBER_CHECK_VALUE(nd < kMaxDims, "CUDA kernels take tensors of at most ", kMaxDims,
                      " dims after merging contiguous ones; found shape ", sizes);
    ix.sizes[nd] = sizes[d];
    for (int k = 0; k < N; ++k) ix.strides[k][nd] = strides[k][d];
    ++nd;
  }
  ix.ndim = nd;
  return ix;
}

}  // namespace ember::cuda
