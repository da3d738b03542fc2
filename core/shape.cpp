#include "core/shape.h"

#include "core/error.h"

namespace ember {

int64_t numel_of(const Shape& sizes) {
  int64_t n = 1;
  for (int64_t s : sizes) n *= s;
  return n;
}

Shape contiguous_strides(const Shape& sizes) {
  Shape strides(sizes.size());
  int64_t running = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    strides[i] = running;
    running *= std::max<int64_t>(sizes[i], 1);
  }
  return strides;
}

bool is_contiguous_layout(const Shape& sizes, const Shape& strides) {
  int64_t expected = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    if (sizes[i] == 0) return true;
    if (sizes[i] != 1 && strides[i] != expected) return false;
    expected *= sizes[i];
  }
  return true;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t n = std::max<int64_t>(ndim, 1);
  EMBER_CHECK_INDEX(dim >= -n && dim < n, op, ": dim ", dim, " out of range: expected a dim in [",
                    -n, ", ", n - 1, "] for a tensor with ", ndim, " dims");
  return dim < 0 ? dim + n : dim;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t sa = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t sb = i < n - b.size() ? 1 : b[i - (n - b.size())];
    EMBER_CHECK_VALUE(sa == sb || sa == 1 || sb == 1, op, ": expected shapes that broadcast, found ",
                      a, " and ", b, " (dim ", i, ": ", sa, " vs ", sb, ")");
    out[i] = sa == 1 ? sb : sa;
  }
  return out;
}

Shape broadcast_strides(const Shape& sizes, const Shape& strides, const Shape& target) {
  Shape out(target.size(), 0);
  size_t lead = target.size() - sizes.size();
  for (size_t i = 0; i < sizes.size(); ++i)
    out[lead + i] = sizes[i] == 1 && target[lead + i] != 1 ? 0 : strides[i];
  return out;
}

Shape infer_size(const Shape& requested, int64_t numel, const char* op) {
  Shape out = requested;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      EMBER_CHECK_VALUE(infer_at < 0, op, ": only one dim can be -1, found shape ", requested);
      infer_at = static_cast<int64_t>(i);
    } else {
      EMBER_CHECK_VALUE(out[i] >= 0, op, ": invalid size ", out[i], " in shape ", requested);
      known *= out[i];
    }
  }
  if (infer_at >= 0) {
    EMBER_CHECK_VALUE(known != 0 && numel % known == 0, op, ": shape ", requested,
                      " is invalid for input of size ", numel);
    out[infer_at] = numel / known;
  }
  EMBER_CHECK_VALUE(numel_of(out) == numel, op, ": shape ", requested,
                    " is invalid for input of size ", numel);
  return out;
}

std::ostream& operator<<(std::ostream& os, const Shape& s) {
  os << '[';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  return os << ']';
}

}  // namespace ember
