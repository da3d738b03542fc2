// What the side-by-side step runners share: a median and a millisecond clock.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace ember::bench {

using Clock = std::chrono::steady_clock;

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

inline double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

}  // namespace ember::bench
