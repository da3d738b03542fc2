#include "core/threads.h"

#include <atomic>

#include <Eigen/Core>

#include "core/error.h"

namespace ember {

namespace {
std::atomic<int> num_threads{1};
// Eigen would otherwise default to every core for its GEMMs; ember's default is one thread.
const bool eigen_threads_set = (Eigen::setNbThreads(1), true);
}

void set_num_threads(int n) {
  EMBER_CHECK_VALUE(n >= 1, "set_num_threads: expected n >= 1, found ", n);
  num_threads = n;
  Eigen::setNbThreads(n);
}

int get_num_threads() { return num_threads; }

}  // namespace ember
