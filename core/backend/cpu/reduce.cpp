// Reductions on the CPU. The input is viewed as [kept..., reduced...]; each output element reduces
// its runs in a fixed order, so results never depend on the thread count. Floating sums accumulate
// in double, a contiguous run in 16 interleaved lanes (which vectorize) added up at the end of the
// run. Reducing leading dims of a contiguous tensor (a bias gradient) streams rows instead.
#include <cmath>
#include <limits>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/strided_loop.h"

namespace ember::cpu {

namespace {

template <class T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

template <class T>
struct Reducer {
  ReduceOp op;
  Acc<T> init() const {
    switch (op) {
      case ReduceOp::Sum: return 0;
      case ReduceOp::Prod: return 1;
      case ReduceOp::Max: return std::numeric_limits<Acc<T>>::lowest();
      case ReduceOp::Min: return std::numeric_limits<Acc<T>>::max();
    }
    return 0;
  }
  // NaN propagates through max/min as PyTorch does.
  Acc<T> step(Acc<T> acc, T x) const {
    Acc<T> v = static_cast<Acc<T>>(x);
    switch (op) {
      case ReduceOp::Sum: return acc + v;
      case ReduceOp::Prod: return acc * v;
      case ReduceOp::Max: return (v > acc || v != v) && acc == acc ? v : acc;
      case ReduceOp::Min: return (v < acc || v != v) && acc == acc ? v : acc;
    }
    return acc;
  }
  // acc stepped through run[0..n): for floating sums, lane l takes elements l, l + 16, ... (the
  // sequential chain would cost an add's latency per element: a conv bias gradient ran at ~1
  // element per ns).
  Acc<T> run(Acc<T> acc, const T* x, int64_t n) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (op == ReduceOp::Sum && n >= 32) {
        double lanes[16] = {};
        int64_t i = 0;
        for (; i + 16 <= n; i += 16)
          for (int l = 0; l < 16; ++l) lanes[l] += static_cast<double>(x[i + l]);
        for (; i < n; ++i) acc += static_cast<double>(x[i]);
        for (double v : lanes) acc += v;
        return acc;
      }
    }
    for (int64_t i = 0; i < n; ++i) acc = step(acc, x[i]);
    return acc;
  }
};

// Kept dims first, reduced dims last: the order in which each output reads its run.
Tensor kept_then_reduced(const Tensor& in, const std::vector<bool>& mask) {
  Shape sizes, strides;
  for (int pass = 0; pass < 2; ++pass)
    for (int64_t d = 0; d < in.dim(); ++d)
      if (mask[d] == (pass == 1)) {
        sizes.push_back(in.size(d));
        strides.push_back(in.stride(d));
      }
  return Tensor::make(in.storage(), sizes, strides, in.storage_offset(), in.dtype());
}

template <class T>
void reduce_typed(ReduceOp op, const Tensor& out, const Tensor& in, const std::vector<bool>& mask) {
  Reducer<T> r{op};
  int64_t kept = out.numel(), len = kept == 0 ? 0 : in.numel() / std::max<int64_t>(kept, 1);
  T* o = static_cast<T*>(out.data());  // out is contiguous (allocated by the ops layer)
  // Fast path: contiguous input reduced over its leading dims -> accumulate whole rows.
  int64_t lead = 0;
  while (lead < in.dim() && mask[lead]) ++lead;
  bool leading_only = lead > 0;
  for (int64_t d = lead; d < in.dim(); ++d) leading_only = leading_only && !mask[d];
  if (leading_only && in.is_contiguous() && kept > 1) {
    const T* x = static_cast<const T*>(in.data());
    parallel_for(0, kept, 1024, [&](int64_t lo, int64_t hi) {
      const int64_t width = hi - lo;
      std::vector<Acc<T>> acc(width, r.init());
      Acc<T>* a = acc.data();
      for (int64_t row = 0; row < len; ++row) {
        const T* xr = x + row * kept + lo;
        if (op == ReduceOp::Sum) {  // a loop of its own, which vectorizes (step's switch does not)
          for (int64_t j = 0; j < width; ++j) a[j] += static_cast<Acc<T>>(xr[j]);
        } else {
          for (int64_t j = 0; j < width; ++j) a[j] = r.step(a[j], xr[j]);
        }
      }
      for (int64_t j = lo; j < hi; ++j) o[j] = static_cast<T>(acc[j - lo]);
    });
    return;
  }
  // Fast path: contiguous input whose kept dims form one block between reduced ones, seen as
  // [outer, kept, inner] (BatchNorm statistics over N, H, W of NCHW): no reordering copy.
  int64_t first_kept = 0, last_kept = in.dim() - 1;
  while (first_kept < in.dim() && mask[first_kept]) ++first_kept;
  while (last_kept >= 0 && mask[last_kept]) --last_kept;
  bool one_block = first_kept <= last_kept;
  for (int64_t d = first_kept; d <= last_kept && one_block; ++d) one_block = !mask[d];
  if (one_block && in.is_contiguous() && kept > 1) {
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < first_kept; ++d) outer *= in.size(d);
    for (int64_t d = last_kept + 1; d < in.dim(); ++d) inner *= in.size(d);
    const T* x = static_cast<const T*>(in.data());
    parallel_for(0, kept, std::max<int64_t>(1, 16384 / std::max<int64_t>(outer * inner, 1)), [&](int64_t lo, int64_t hi) {
      for (int64_t k = lo; k < hi; ++k) {
        Acc<T> acc = r.init();
        for (int64_t b = 0; b < outer; ++b) acc = r.run(acc, x + (b * kept + k) * inner, inner);
        o[k] = static_cast<T>(acc);
      }
    });
    return;
  }
  Tensor src = kept_then_reduced(in, mask);
  if (!src.is_contiguous()) src = src.contiguous();
  const T* x = static_cast<const T*>(src.data());
  parallel_for(0, kept, std::max<int64_t>(1, 16384 / std::max<int64_t>(len, 1)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t j = lo; j < hi; ++j) {
                   o[j] = static_cast<T>(r.run(r.init(), x + j * len, len));
                 }
               });
}

}  // namespace

void CpuBackend::reduce(ReduceOp op, const Tensor& out, const Tensor& in,
                        const std::vector<bool>& reduce_mask) {
  visit_compute(in.dtype(), "reduce", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      throw ValueError("reduce: bool tensors must be converted to an integer dtype first");
    } else {
      reduce_typed<T>(op, out, in, reduce_mask);
    }
  });
}

void CpuBackend::arg_reduce(bool is_max, const Tensor& values, const Tensor& indices,
                            const Tensor& in, int64_t dim) {
  std::vector<bool> mask(in.dim(), false);
  mask[dim] = true;
  Tensor src = kept_then_reduced(in, mask).contiguous();
  int64_t len = in.size(dim), kept = values.numel();
  visit_compute(in.dtype(), "max/min", [&](auto tag) {
    using T = decltype(tag);
    const T* x = static_cast<const T*>(src.data());
    T* v = static_cast<T*>(values.data());
    int64_t* ix = static_cast<int64_t*>(indices.data());
    parallel_for(0, kept, 256, [&](int64_t lo, int64_t hi) {
      for (int64_t j = lo; j < hi; ++j) {
        const T* run = x + j * len;
        int64_t best = 0;
        for (int64_t i = 1; i < len; ++i) {
          T cur = run[best];
          if (cur != cur) break;  // NaN is the extreme
          if (run[i] != run[i] || (is_max ? run[i] > cur : run[i] < cur)) best = i;
        }
        v[j] = run[best];
        ix[j] = best;
      }
    });
  });
}

}  // namespace ember::cpu
