// The CUDA allocator's bookkeeping, run on the CPU against fake allocation functions.
#include "core/backend/cuda/caching_allocator.h"

#include <cstdlib>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "core/error.h"

using namespace ember;
using cuda::CachingAllocator;

namespace {

// A device of `capacity` bytes on the host heap, counting what the driver would see.
struct FakeDevice {
  size_t capacity, used = 0;
  std::set<void*> live;
  explicit FakeDevice(size_t c) : capacity(c) {}
  cuda::RawMemory raw() {
    cuda::RawMemory r;
    r.allocate = [this](size_t n) -> void* {
      if (used + n > capacity) return nullptr;
      void* p = std::malloc(n);
      used += n;
      live.insert(p);
      sizes[p] = n;
      return p;
    };
    r.release = [this](void* p) {
      used -= sizes.at(p);
      live.erase(p);
      std::free(p);
    };
    r.device_free = [this] { return capacity - used; };
    return r;
  }
  std::map<void*, size_t> sizes;
};

}  // namespace

TEST(CudaAllocator, SizeClassesBoundTheSlack) {
  EXPECT_EQ(CachingAllocator::size_class(0), 0u);
  EXPECT_EQ(CachingAllocator::size_class(1), 512u);
  EXPECT_EQ(CachingAllocator::size_class(512), 512u);
  EXPECT_EQ(CachingAllocator::size_class(513), 1024u);
  EXPECT_EQ(CachingAllocator::size_class(1 << 20), size_t{1} << 20);
  for (size_t n : {size_t{1 << 20} + 1, size_t{3} << 20, size_t{100} << 20, (size_t{1} << 30) + 12345}) {
    size_t c = CachingAllocator::size_class(n);
    EXPECT_GE(c, n);
    EXPECT_LE(static_cast<double>(c), 1.125 * static_cast<double>(n) + 1) << n;
  }
}

TEST(CudaAllocator, FreedBlocksAreReusedWithoutTheDriver) {
  FakeDevice dev(size_t{64} << 20);
  CachingAllocator a(dev.raw(), "cuda:0");
  void* p = a.allocate(1000);
  EXPECT_EQ(a.allocated(), 1024u);
  a.deallocate(p);
  EXPECT_EQ(a.allocated(), 0u);
  EXPECT_EQ(a.reserved(), 1024u);  // kept for the next request
  void* q = a.allocate(900);       // same size class: the same block, no driver call
  EXPECT_EQ(q, p);
  EXPECT_EQ(a.raw_allocations(), 1u);
  a.deallocate(q);
  a.empty_cache();
  EXPECT_EQ(a.reserved(), 0u);
  EXPECT_TRUE(dev.live.empty());
}

TEST(CudaAllocator, ChurnKeepsCountersExact) {
  FakeDevice dev(size_t{256} << 20);
  CachingAllocator a(dev.raw(), "cuda:0");
  std::vector<std::pair<void*, size_t>> held;
  size_t expected = 0;
  uint64_t state = 12345;
  for (int i = 0; i < 5000; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    // A training step's sizes: a few shapes, requested again and again.
    const size_t sizes[] = {4, 1000, 4096, 50000, 401408, size_t{1} << 20, (size_t{3} << 20) + 7, 12345678};
    size_t n = sizes[(state >> 33) % 8];
    if (held.size() < 40 && (state & 1)) {
      held.push_back({a.allocate(n), CachingAllocator::size_class(n)});
      expected += held.back().second;
    } else if (!held.empty()) {
      size_t k = (state >> 8) % held.size();
      a.deallocate(held[k].first);
      expected -= held[k].second;
      held.erase(held.begin() + static_cast<long>(k));
    }
    ASSERT_EQ(a.allocated(), expected);
    ASSERT_GE(a.reserved(), a.allocated());
    ASSERT_EQ(a.reserved(), dev.used);  // everything reserved came from the driver, once
  }
  EXPECT_GE(a.peak_allocated(), expected);
  EXPECT_LE(a.raw_allocations(), 8u * 40u);  // the rest were served from the cache
  for (auto& [p, n] : held) a.deallocate(p);
}

TEST(CudaAllocator, OutOfMemoryEmptiesTheCacheAndRetries) {
  FakeDevice dev(size_t{4} << 20);
  CachingAllocator a(dev.raw(), "cuda:0");
  void* p = a.allocate(size_t{3} << 20);
  a.deallocate(p);  // cached: the device is now "full" of a free block
  void* q = a.allocate(size_t{2} << 20);  // another size class: must release the cached block first
  EXPECT_NE(q, nullptr);
  EXPECT_EQ(a.reserved(), CachingAllocator::size_class(size_t{2} << 20));
  a.deallocate(q);
}

TEST(CudaAllocator, OutOfMemorySaysWhatWasAskedAllocatedAndReserved) {
  FakeDevice dev(size_t{4} << 20);
  CachingAllocator a(dev.raw(), "cuda:0");
  void* p = a.allocate(size_t{3} << 20);
  try {
    a.allocate(size_t{2} << 20);
    FAIL() << "expected an out-of-memory error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("out of memory on cuda:0"), std::string::npos) << m;
    EXPECT_NE(m.find("tried to allocate 2.00 MiB"), std::string::npos) << m;
    EXPECT_NE(m.find("tensors hold 3.00 MiB"), std::string::npos) << m;
    EXPECT_NE(m.find("reserved 3.00 MiB"), std::string::npos) << m;
    EXPECT_NE(m.find("1.00 MiB free"), std::string::npos) << m;
  }
  EXPECT_EQ(a.allocated(), size_t{3} << 20);  // the failed request changed nothing
  a.deallocate(p);
}

TEST(CudaAllocator, FreeingAForeignPointerThrows) {
  FakeDevice dev(1 << 20);
  CachingAllocator a(dev.raw(), "cuda:0");
  int x = 0;
  EXPECT_THROW(a.deallocate(&x), Error);
}
