// Indexing kernels along one dim. Indices are validated here, before any write, so a bad index
// throws IndexError and leaves the output untouched. Accumulating kernels (scatter_add,
// index_add) add in index order, so duplicates sum deterministically.
#include <cstring>

#include "core/backend/cpu/cpu_backend.h"
#include "core/threads.h"

namespace ember::cpu {

namespace {

void check_indices(const Tensor& index, int64_t limit, const char* op, int64_t dim) {
  const int64_t* ix = static_cast<const int64_t*>(index.data());
  for (int64_t i = 0; i < index.numel(); ++i)
    EMBER_CHECK_INDEX(ix[i] >= -limit && ix[i] < limit, op, ": index ", ix[i],
                      " is out of bounds for dim ", dim, " with size ", limit);
}

int64_t wrap(int64_t i, int64_t n) { return i < 0 ? i + n : i; }

// Offset (in elements) of the element at linear position `linear` of a contiguous tensor of
// `sizes`, read through `strides`, with coordinate `dim` replaced by `at`.
int64_t offset_of(int64_t linear, const Shape& sizes, const Shape& strides, int64_t dim,
                  int64_t at) {
  int64_t off = 0;
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
    int64_t c = linear % sizes[d];
    linear /= sizes[d];
    off += (d == dim ? at : c) * strides[d];
  }
  return off;
}

int64_t coordinate(int64_t linear, const Shape& sizes, int64_t dim) {
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d > dim; --d) linear /= sizes[d];
  return linear % sizes[dim];
}

struct Blocks {  // a contiguous tensor seen as [outer, len, inner] around `dim`
  int64_t outer = 1, len = 1, inner = 1;
  Blocks(const Shape& s, int64_t dim) {
    for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d)
      (d < dim ? outer : d == dim ? len : inner) *= s[d];
  }
};

}  // namespace

void CpuBackend::gather(const Tensor& out, const Tensor& in, int64_t dim, const Tensor& index) {
  check_indices(index, in.size(dim), "gather", dim);
  const int64_t* ix = static_cast<const int64_t*>(index.data());
  size_t es = in.element_size();
  const char* src = static_cast<const char*>(in.data());
  char* dst = static_cast<char*>(out.data());
  parallel_for(0, out.numel(), 4096, [&](int64_t lo, int64_t hi) {
    for (int64_t e = lo; e < hi; ++e) {
      int64_t at = wrap(ix[e], in.size(dim));
      std::memcpy(dst + e * es, src + offset_of(e, out.sizes(), in.strides(), dim, at) * es, es);
    }
  });
}

void CpuBackend::scatter_add(const Tensor& out, int64_t dim, const Tensor& index,
                             const Tensor& src) {
  check_indices(index, out.size(dim), "scatter_add", dim);
  const int64_t* ix = static_cast<const int64_t*>(index.data());
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
      T* o = static_cast<T*>(out.data());
      const T* s = static_cast<const T*>(src.data());
      for (int64_t e = 0; e < index.numel(); ++e) {
        int64_t at = wrap(ix[e], out.size(dim));
        o[offset_of(e, index.sizes(), out.strides(), dim, at)] +=
            s[offset_of(e, index.sizes(), src.strides(), dim, coordinate(e, index.sizes(), dim))];
      }
    } else {
      throw ValueError(str("scatter_add: dtype ", out.dtype(), " is not supported"));
    }
  });
}

void CpuBackend::index_select(const Tensor& out, const Tensor& in, int64_t dim,
                              const Tensor& index) {
  check_indices(index, in.size(dim), "index_select", dim);
  const int64_t* ix = static_cast<const int64_t*>(index.data());
  Blocks b(in.sizes(), dim);
  int64_t n = index.numel();
  size_t row = static_cast<size_t>(b.inner) * in.element_size();
  const char* src = static_cast<const char*>(in.data());
  char* dst = static_cast<char*>(out.data());
  parallel_for(0, b.outer * n, std::max<int64_t>(1, 65536 / std::max<size_t>(row, 1)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t k = lo; k < hi; ++k) {
                   int64_t o = k / n, i = k % n;
                   std::memcpy(dst + k * row, src + (o * b.len + wrap(ix[i], b.len)) * row, row);
                 }
               });
}

void CpuBackend::index_add(const Tensor& out, int64_t dim, const Tensor& index,
                           const Tensor& src) {
  check_indices(index, out.size(dim), "index_add", dim);
  const int64_t* ix = static_cast<const int64_t*>(index.data());
  Blocks b(out.sizes(), dim);
  int64_t n = index.numel();
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
      T* o = static_cast<T*>(out.data());
      const T* s = static_cast<const T*>(src.data());
      parallel_for(0, b.outer, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t ou = lo; ou < hi; ++ou)
          for (int64_t i = 0; i < n; ++i) {
            T* dst = o + (ou * b.len + wrap(ix[i], b.len)) * b.inner;
            const T* from = s + (ou * n + i) * b.inner;
            for (int64_t j = 0; j < b.inner; ++j) dst[j] += from[j];
          }
      });
    } else {
      throw ValueError(str("index_add: dtype ", out.dtype(), " is not supported"));
    }
  });
}

}  // namespace ember::cpu
