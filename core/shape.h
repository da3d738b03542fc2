// Shapes, strides and the small rules every op shares: dim wrapping, broadcasting, contiguity.
#pragma once

#include <cstdint>
#include <ostream>
#include <vector>

namespace ember {

using Shape = std::vector<int64_t>;

// Product of sizes (1 for a 0-dim shape).
int64_t numel_of(const Shape& sizes);
// Row-major strides for `sizes`.
Shape contiguous_strides(const Shape& sizes);
// True when sizes/strides describe row-major order (dims of size 1 may have any stride).
bool is_contiguous_layout(const Shape& sizes, const Shape& strides);
// Maps dim in [-ndim, ndim) to [0, ndim); throws IndexError naming `op` otherwise. A 0-dim tensor
// accepts dim 0 and -1, as PyTorch.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);
// The broadcast shape of a and b; throws ValueError naming `op` and both shapes when they clash.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Strides that read a tensor of (sizes, strides) as if expanded to `target` (0 for broadcast dims).
Shape broadcast_strides(const Shape& sizes, const Shape& strides, const Shape& target);
// Resolves one -1 in a requested view/reshape shape; throws ValueError if numel differs.
Shape infer_size(const Shape& requested, int64_t numel, const char* op);

// "[2, 3]"
std::ostream& operator<<(std::ostream& os, const Shape& s);

}  // namespace ember

namespace ember {

// A (height, width) pair for kernels, strides, padding: Size2(3) is (3, 3).
struct Size2 {
  int64_t h = 0, w = 0;
  Size2(int64_t v) : h(v), w(v) {}  // NOLINT: conv2d(x, w, b, 2) reads naturally
  Size2(int64_t h_, int64_t w_) : h(h_), w(w_) {}
  bool operator==(const Size2& o) const { return h == o.h && w == o.w; }
};

}  // namespace ember
