#include "core/threads.h"

#include <atomic>

#include <Eigen/Core>

#include "core/error.h"

namespace ember {

namespace {
std::atomic<int> num_threads{1};
}

void set_num_threads(int n) {
  EMBER_CHECK_VALUE(n >= 1, "set_num_threads: expected n >= 1, found ", n);
  num_threads = n;
  Eigen::setNbThreads(n);
}

int get_num_threads() { return num_threads; }

}  // namespace ember
