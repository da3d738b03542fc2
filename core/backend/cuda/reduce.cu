// Reductions on a device, in a fixed order so that a run repeated gives the same bits.
//
// The input is read as [kept..., reduced...] through two strided indices (no reordering copy).
// A long reduction gives each output a block of kReduceThreads threads: thread t folds elements
// t, t + kReduceThreads, ... and the block combines the partial results in a fixed tree. A short
// one gives each output a thread that folds its run in order. Floating sums accumulate in
// double, as on the CPU, so the two backends agree to rounding of the last step.
#include <limits>

#include "core/backend/cuda/cuda_backend.h"
#include "core/backend/cuda/launch.cuh"

namespace ember::cuda {

namespace {

constexpr int kReduceThreads = 256;
constexpr int64_t kBlockPerOutputFrom = 64;  // run length from which a block serves one output

template <class T>
struct Reducer {
  ReduceOp op;
  __device__ Acc<T> init() const {
    switch (op) {
      case ReduceOp::Sum: return 0;
      case ReduceOp::Prod: return 1;
      case ReduceOp::Max: return std::numeric_limits<Acc<T>>::lowest();
      default: return std::numeric_limits<Acc<T>>::max();
    }
  }
  // NaN propagates through max/min as PyTorch does (and the CPU backend).
  __device__ Acc<T> combine(Acc<T> acc, Acc<T> v) const {
    switch (op) {
      case ReduceOp::Sum: return acc + v;
      case ReduceOp::Prod: return acc * v;
      case ReduceOp::Max: return (v > acc || v != v) && acc == acc ? v : acc;
      default: return (v < acc || v != v) && acc == acc ? v : acc;
    }
  }
};

template <class T>
struct ReduceArgs {
  T* out;
  const T* in;
  int64_t kept, len;
  StridedIndex<1> kept_ix, reduced_ix;
  Reducer<T> r;
  __device__ T at(int64_t j_offset, int64_t i) const {
    int64_t off[1];
    reduced_ix.offsets(i, off);
    return in[j_offset + off[0]];
  }
  __device__ int64_t base(int64_t j) const {
    int64_t off[1];
    kept_ix.offsets(j, off);
    return off[0];
  }
};

template <class T>
__global__ void reduce_thread_per_output(ReduceArgs<T> a) {
  for (int64_t j = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; j < a.kept; j += int64_t{gridDim.x} * blockDim.x) {
    int64_t b = a.base(j);
    Acc<T> acc = a.r.init();
    for (int64_t i = 0; i < a.len; ++i) acc = a.r.combine(acc, static_cast<Acc<T>>(a.at(b, i)));
    a.out[j] = static_cast<T>(acc);
  }
}

template <class T>
__global__ void reduce_block_per_output(ReduceArgs<T> a) {
  __shared__ Acc<T> partial[kReduceThreads];
  for (int64_t j = blockIdx.x; j < a.kept; j += gridDim.x) {
    int64_t b = a.base(j);
    Acc<T> acc = a.r.init();
    for (int64_t i = threadIdx.x; i < a.len; i += kReduceThreads) acc = a.r.combine(acc, static_cast<Acc<T>>(a.at(b, i)));
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int width = kReduceThreads / 2; width > 0; width /= 2) {
      if (threadIdx.x < width) partial[threadIdx.x] = a.r.combine(partial[threadIdx.x], partial[threadIdx.x + width]);
      __syncthreads();
    }
    if (threadIdx.x == 0) a.out[j] = static_cast<T>(partial[0]);
    __syncthreads();
  }
}

// The kept and reduced dims of `in` as two strided indices (each over one operand: in).
void split_dims(const Tensor& in, const std::vector<bool>& mask, StridedIndex<1>& kept, StridedIndex<1>& reduced,
                int64_t& kept_n, int64_t& len) {
  Shape ks, kst, rs, rst;
  for (int64_t d = 0; d < in.dim(); ++d) {
    (mask[d] ? rs : ks).push_back(in.size(d));
    (mask[d] ? rst : kst).push_back(in.stride(d));
  }
  kept = make_strided_index<1>(ks, {kst});
  reduced = make_strided_index<1>(rs, {rst});
  kept_n = numel_of(ks);
  len = numel_of(rs);
}

template <class T>
void reduce_typed(ReduceOp op, const Tensor& out, const Tensor& in, const std::vector<bool>& mask) {
  if constexpr (std::is_same_v<T, bool>) {
    throw ValueError("reduce: bool tensors must be converted to an integer dtype first");
  } else {
    ReduceArgs<T> a{ptr<T>(out), ptr<const T>(in), 0, 0, {}, {}, Reducer<T>{op}};
    split_dims(in, mask, a.kept_ix, a.reduced_ix, a.kept, a.len);
    if (a.kept == 0) return;
    cudaStream_t s = stream_of(out);
    if (a.len >= kBlockPerOutputFrom) {
      unsigned blocks = static_cast<unsigned>(std::min<int64_t>(a.kept, 1 << 20));
      reduce_block_per_output<T><<<blocks, kReduceThreads, 0, s>>>(a);
    } else {
      reduce_thread_per_output<T><<<grid_for(a.kept), kThreads, 0, s>>>(a);
    }
    check_launch("reduce");
  }
}

template <class T>
struct ArgReduceArgs {
  T* values;
  int64_t* indices;
  const T* in;
  int64_t kept, len, stride;  // stride of the reduced dim
  StridedIndex<1> kept_ix;
  bool is_max;
};

// One thread per output, first extreme wins and NaN counts as the extreme: the CPU's loop.
template <class T>
__global__ void arg_reduce_kernel(ArgReduceArgs<T> a) {
  for (int64_t j = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; j < a.kept; j += int64_t{gridDim.x} * blockDim.x) {
    int64_t off[1];
    a.kept_ix.offsets(j, off);
    const T* run = a.in + off[0];
    int64_t best = 0;
    for (int64_t i = 1; i < a.len; ++i) {
      T cur = run[best * a.stride], v = run[i * a.stride];
      if (cur != cur) break;
      if (v != v || (a.is_max ? v > cur : v < cur)) best = i;
    }
    a.values[j] = run[best * a.stride];
    a.indices[j] = best;
  }
}

template <class T>
void arg_reduce_typed(bool is_max, const Tensor& values, const Tensor& indices, const Tensor& in, int64_t dim) {
  std::vector<bool> mask(in.dim(), false);
  mask[dim] = true;
  StridedIndex<1> reduced;
  ArgReduceArgs<T> a{ptr<T>(values), ptr<int64_t>(indices), ptr<const T>(in), 0, 0, in.stride(dim), {}, is_max};
  split_dims(in, mask, a.kept_ix, reduced, a.kept, a.len);
  if (a.kept == 0) return;
  arg_reduce_kernel<T><<<grid_for(a.kept), kThreads, 0, stream_of(in)>>>(a);
  check_launch("max/min");
}

}  // namespace

void CudaBackend::reduce(ReduceOp op, const Tensor& out, const Tensor& in, const std::vector<bool>& reduce_mask) {
  EMBER_CUDA_SWITCH_COMPUTE(in.dtype(), "reduce", reduce_typed<T>(op, out, in, reduce_mask));
}

void CudaBackend::arg_reduce(bool is_max, const Tensor& values, const Tensor& indices, const Tensor& in, int64_t dim) {
  EMBER_CUDA_SWITCH_COMPUTE(in.dtype(), "max/min", arg_reduce_typed<T>(is_max, values, indices, in, dim));
}

}  // namespace ember::cuda
