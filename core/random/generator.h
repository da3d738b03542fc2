// Generator: a Philox stream whose whole state is (seed, offset) — what a checkpoint stores.
//
// Every random op takes an optional Generator*; nullptr means default_generator(). An op that
// draws n elements reserves counters [offset, offset + n) and advances offset by n, so the state
// after a sequence of ops is independent of threads and devices.
#pragma once

#include <cstdint>
#include <mutex>

namespace ember {

struct GeneratorState {
  uint64_t seed = 0;
  uint64_t offset = 0;
  bool operator==(const GeneratorState& o) const { return seed == o.seed && offset == o.offset; }
};

class Generator {
 public:
  static constexpr uint64_t kDefaultSeed = 67280421310721ULL;  // PyTorch's default seed
  explicit Generator(uint64_t seed = kDefaultSeed) : state_{seed, 0} {}

  // Sets the seed and rewinds the stream to its start.
  void manual_seed(uint64_t seed);
  uint64_t seed() const;
  GeneratorState get_state() const;
  void set_state(const GeneratorState& state);
  // Reserves n counters and returns the first.
  uint64_t reserve(uint64_t n);

 private:
  mutable std::mutex mutex_;
  GeneratorState state_;
};

// The process-wide generator used when an op is given none.
Generator& default_generator();
// Seeds the default generator (torch.manual_seed).
void manual_seed(uint64_t seed);

}  // namespace ember
