// Indexing along one dim on a device. Indices are checked before any write (one kernel finds the
// first bad position, the host reads it back and throws IndexError naming the index, as the CPU
// does). Accumulating kernels give each thread a set of outputs it alone writes and add in index
// order, so duplicates sum deterministically and exactly as on the CPU, without atomics.
#include "core/backend/cuda/cuda_backend.h"
#include "core/backend/cuda/launch.cuh"
#include "core/ops/factories.h"

namespace ember::cuda {

namespace {

__global__ void first_bad_index(const int64_t* ix, int64_t n, int64_t limit, unsigned long long* first) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    if (ix[i] < -limit || ix[i] >= limit) atomicMin(first, static_cast<unsigned long long>(i));
}

void check_indices(const Tensor& index, int64_t limit, const char* op, int64_t dim) {
  int64_t n = index.numel();
  if (n == 0) return;
  DeviceContext& ctx = context_of(index);
  Tensor first = empty({1}, TensorOptions(kInt64).device(index.device()));
  EMBER_CUDA_CHECK(cudaMemsetAsync(first.data(), 0xff, sizeof(int64_t), ctx.stream));
  first_bad_index<<<grid_for(n), kThreads, 0, ctx.stream>>>(ptr<const int64_t>(index), n, limit,
                                                              ptr<unsigned long long>(first));
  check_launch("index check");
  unsigned long long at = 0;
  EMBER_CUDA_CHECK(cudaMemcpyAsync(&at, first.data(), sizeof at, cudaMemcpyDeviceToHost, ctx.stream));
  EMBER_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  if (at == ~0ULL) return;
  int64_t bad = 0;
  EMBER_CUDA_CHECK(cudaMemcpy(&bad, ptr<const int64_t>(index) + at, sizeof bad, cudaMemcpyDeviceToHost));
  throw IndexError(str(op, ": index ", bad, " is out of bounds for dim ", dim, " with size ", limit));
}

__device__ inline int64_t wrap(int64_t i, int64_t n) { return i < 0 ? i + n : i; }

// A shape with one operand's strides, for kernels that rebuild coordinates.
struct Layout {
  int nd;
  int64_t sizes[kMaxDims];
  int64_t a[kMaxDims], b[kMaxDims];  // two operands' strides
};

Layout layout(const Shape& sizes, const Shape& a, const Shape& b, const char* op) {
  EMBER_CHECK_VALUE(static_cast<int>(sizes.size()) <= kMaxDims, op, " on CUDA takes at most ", kMaxDims,
                    " dims, found ", sizes.size());
  Layout l{static_cast<int>(sizes.size()), {}, {}, {}};
  for (size_t d = 0; d < sizes.size(); ++d) l.sizes[d] = sizes[d], l.a[d] = a[d], l.b[d] = b[d];
  return l;
}

template <class B>
struct GatherArgs {
  B* out;
  const B* in;
  const int64_t* ix;
  int64_t n, dim, dim_size;
  Layout l;  // out's sizes; a: in's strides
};

template <class B>
__global__ void gather_kernel(GatherArgs<B> g) {
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < g.n; e += int64_t{gridDim.x} * blockDim.x) {
    int64_t linear = e, off = 0;
    for (int d = g.l.nd - 1; d >= 0; --d) {
      int64_t c = linear % g.l.sizes[d];
      linear /= g.l.sizes[d];
      off += (d == g.dim ? wrap(g.ix[e], g.dim_size) : c) * g.l.a[d];
    }
    g.out[e] = g.in[off];
  }
}

template <class T>
struct ScatterArgs {
  T* out;
  const T* src;
  const int64_t* ix;
  int64_t lines, dim, len, out_dim_size;
  Layout l;  // index's sizes; a: out's strides, b: src's strides
};

// One thread per line along `dim` of the index: the outputs a line writes are its own.
template <class T>
__global__ void scatter_add_kernel(ScatterArgs<T> s) {
  for (int64_t line = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; line < s.lines;
       line += int64_t{gridDim.x} * blockDim.x) {
    int64_t linear = line, out_base = 0, src_base = 0, ix_base = 0, ix_stride = 1, ix_step = 1;
    for (int d = s.l.nd - 1; d >= 0; --d) {
      if (d == s.dim) {
        ix_step = ix_stride;
        ix_stride *= s.l.sizes[d];
        continue;
      }
      int64_t c = linear % s.l.sizes[d];
      linear /= s.l.sizes[d];
      out_base += c * s.l.a[d];
      src_base += c * s.l.b[d];
      ix_base += c * ix_stride;
      ix_stride *= s.l.sizes[d];
    }
    for (int64_t k = 0; k < s.len; ++k) {
      int64_t at = wrap(s.ix[ix_base + k * ix_step], s.out_dim_size);
      s.out[out_base + at * s.l.a[s.dim]] += s.src[src_base + k * s.l.b[s.dim]];
    }
  }
}

template <class B>
struct IndexSelect {
  B* out;
  const B* in;
  const int64_t* ix;
  int64_t n, len, inner;
  __device__ void operator()(const int64_t (&o)[1]) const {
    int64_t e = o[0], j = e % inner, i = (e / inner) % n, outer = e / (inner * n);
    out[e] = in[(outer * len + wrap(ix[i], len)) * inner + j];
  }
};

template <class T>
struct IndexAddArgs {
  T* out;
  const T* src;
  const int64_t* ix;
  int64_t outer, n, len, inner;
};

// One thread per (outer, inner) column, adding the index's rows in order.
template <class T>
__global__ void index_add_kernel(IndexAddArgs<T> a) {
  int64_t columns = a.outer * a.inner;
  for (int64_t c = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; c < columns; c += int64_t{gridDim.x} * blockDim.x) {
    int64_t o = c / a.inner, j = c % a.inner;
    for (int64_t i = 0; i < a.n; ++i)
      a.out[(o * a.len + wrap(a.ix[i], a.len)) * a.inner + j] += a.src[(o * a.n + i) * a.inner + j];
  }
}

struct Blocks {  // a contiguous tensor seen as [outer, len, inner] around `dim`
  int64_t outer = 1, len = 1, inner = 1;
  Blocks(const Shape& s, int64_t dim) {
    for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d) (d < dim ? outer : d == dim ? len : inner) *= s[d];
  }
};

}  // namespace

void CudaBackend::gather(const Tensor& out, const Tensor& in, int64_t dim, const Tensor& index) {
  check_indices(index, in.size(dim), "gather", dim);
  if (out.numel() == 0) return;
  by_element_size(in.element_size(), "gather", [&](auto tag) {
    using B = decltype(tag);
    GatherArgs<B> g{ptr<B>(out), ptr<const B>(in), ptr<const int64_t>(index), out.numel(), dim, in.size(dim),
                    layout(out.sizes(), in.strides(), in.strides(), "gather")};
    gather_kernel<B><<<grid_for(g.n), kThreads, 0, stream_of(out)>>>(g);
    check_launch("gather");
  });
}

void CudaBackend::scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  check_indices(index, out.size(dim), "scatter_add", dim);
  if (index.numel() == 0) return;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    ScatterArgs<T> s{ptr<T>(out), ptr<const T>(src), ptr<const int64_t>(index), index.numel() / index.size(dim),
                     dim, index.size(dim), out.size(dim), layout(index.sizes(), out.strides(), src.strides(), "scatter_add")};
    scatter_add_kernel<T><<<grid_for(s.lines), kThreads, 0, stream_of(out)>>>(s);
    check_launch("scatter_add");
  };
  EMBER_CHECK_VALUE(out.dtype() != kBool, "scatter_add: dtype ", out.dtype(), " is not supported");
  EMBER_CUDA_SWITCH_COMPUTE(out.dtype(), "scatter_add", run(T{}));
}

void CudaBackend::index_select(const Tensor& out, const Tensor& in, int64_t dim, const Tensor& index) {
  check_indices(index, in.size(dim), "index_select", dim);
  Blocks b(in.sizes(), dim);
  by_element_size(in.element_size(), "index_select", [&](auto tag) {
    using B = decltype(tag);
    for_each_element<1>(out.sizes(), {&out},
                        IndexSelect<B>{ptr<B>(out), ptr<const B>(in), ptr<const int64_t>(index), index.numel(), b.len, b.inner},
                        "index_select");
  });
}

void CudaBackend::index_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  check_indices(index, out.size(dim), "index_add", dim);
  Blocks b(out.sizes(), dim);
  if (b.outer * b.inner == 0 || index.numel() == 0) return;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    IndexAddArgs<T> a{ptr<T>(out), ptr<const T>(src), ptr<const int64_t>(index), b.outer, index.numel(), b.len, b.inner};
    index_add_kernel<T><<<grid_for(b.outer * b.inner), kThreads, 0, stream_of(out)>>>(a);
    check_launch("index_add");
  };
  EMBER_CHECK_VALUE(out.dtype() != kBool, "index_add: dtype ", out.dtype(), " is not supported");
  EMBER_CUDA_SWITCH_COMPUTE(out.dtype(), "index_add", run(T{}));
}

}  // namespace ember::cuda
