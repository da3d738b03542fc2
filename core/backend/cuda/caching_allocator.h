// The CUDA backend's device memory: a caching allocator over a raw allocation function.
//
// cudaMalloc and cudaFree synchronize the device and cost tens of microseconds each; a training
// step frees and asks again for the same activation sizes every time. So freed blocks stay in
// per-size free lists and are handed out again; the device's memory goes back to the driver only
// through empty_cache() or when an allocation fails (the cache is emptied and the call retried
// once). Reuse is safe without events because each device has one stream: a block freed after a
// kernel was queued on it can only be reused by work queued after that kernel.
//
// Sizes are rounded to size classes (512 B steps below 1 MiB, eighth-steps of a power of two
// above: at most 12.5 % slack) so that similar requests share blocks. The allocation functions
// are parameters, so the bookkeeping is tested on a CPU with fake ones (tests/cuda).
// Thread-safe: tensors are freed from any thread (a data loader's, a communication thread).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace ember::cuda {

struct RawMemory {
  std::function<void*(size_t)> allocate;  // nullptr when the device is out of memory
  std::function<void(void*)> release;
  std::function<size_t()> device_free;    // bytes the driver reports free (0 when unknown)
};

class CachingAllocator {
 public:
  CachingAllocator(RawMemory raw, std::string device_name);
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // A block of at least nbytes (nullptr for 0). Throws ember::Error when the device has no room
  // even after the cache is emptied, saying how much was asked, allocated and reserved.
  void* allocate(size_t nbytes);
  // Returns a block from allocate() to the cache. Throws for a pointer it never handed out.
  void deallocate(void* ptr);
  // Gives every cached (free) block back to the driver.
  void empty_cache();

  size_t allocated() const;       // bytes in blocks held by tensors (rounded sizes)
  size_t reserved() const;        // allocated + cached: what the driver has given this allocator
  size_t peak_allocated() const;  // the most allocated() has been since construction
  size_t raw_allocations() const; // how many times the raw function was called (tests: reuse)

  // The size a request of nbytes is served with.
  static size_t size_class(size_t nbytes);

 private:
  void release_cached_locked();

  RawMemory raw_;
  std::string device_name_;
  mutable std::mutex mutex_;
  std::unordered_map<void*, size_t> live_;          // block -> its size class
  std::map<size_t, std::vector<void*>> cached_;     // size class -> free blocks
  size_t allocated_ = 0, cached_bytes_ = 0, peak_ = 0, raw_allocations_ = 0;
};

// "1.50 GiB", "512 B": sizes as an out-of-memory message states them.
std::string format_bytes(size_t bytes);

}  // namespace ember::cuda
