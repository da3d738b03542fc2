#include "core/backend/cuda/caching_allocator.h"

#include <cstdio>

#include "core/error.h"

namespace ember::cuda {

size_t CachingAllocator::size_class(size_t nbytes) {
  constexpr size_t kSmallStep = 512, kLarge = size_t{1} << 20;
  if (nbytes == 0) return 0;
  if (nbytes <= kLarge) return (nbytes + kSmallStep - 1) / kSmallStep * kSmallStep;
  size_t power = kLarge;
  while (power * 2 < nbytes) power *= 2;  // power < nbytes <= 2 * power
  size_t step = power / 8;
  return (nbytes + step - 1) / step * step;
}

std::string format_bytes(size_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
  return buf;
}

CachingAllocator::CachingAllocator(RawMemory raw, std::string device_name)
    : raw_(std::move(raw)), device_name_(std::move(device_name)) {}

CachingAllocator::~CachingAllocator() {
  // Blocks still live belong to tensors that outlive the allocator (static tensors at exit);
  // the driver reclaims them with the process, so only the cache is released.
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cached_locked();
  } catch (...) {
  }
}

void* CachingAllocator::allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  const size_t size = size_class(nbytes);
  std::lock_guard<std::mutex> lock(mutex_);
  void* ptr = nullptr;
  auto it = cached_.find(size);
  if (it != cached_.end() && !it->second.empty()) {
    ptr = it->second.back();
    it->second.pop_back();
    cached_bytes_ -= size;
  } else {
    ptr = raw_.allocate(size);
    if (!ptr && cached_bytes_ > 0) {  // the cache may hold what the request needs, in other sizes
      release_cached_locked();
      ptr = raw_.allocate(size);
    }
    if (!ptr) {
      size_t free = raw_.device_free ? raw_.device_free() : 0;
      throw Error(str("CUDA out of memory on ", device_name_, ": tried to allocate ", format_bytes(nbytes),
                      " (", format_bytes(size), " rounded); tensors hold ", format_bytes(allocated_),
                      " and ember's caching allocator has reserved ", format_bytes(allocated_ + cached_bytes_),
                      free ? str("; the driver reports ", format_bytes(free), " free") : std::string(),
                      ". Free tensors, use a smaller batch, or call ember::cuda::empty_cache()"));
    }
    ++raw_allocations_;
  }
  live_.emplace(ptr, size);
  allocated_ += size;
  if (allocated_ > peak_) peak_ = allocated_;
  return ptr;
}

void CachingAllocator::deallocate(void* ptr) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(ptr);
  EMBER_CHECK(it != live_.end(), "CUDA allocator on ", device_name_, ": freeing a pointer it never allocated");
  size_t size = it->second;
  live_.erase(it);
  allocated_ -= size;
  cached_[size].push_back(ptr);
  cached_bytes_ += size;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  release_cached_locked();
}

void CachingAllocator::release_cached_locked() {
  for (auto& [size, blocks] : cached_)
    for (void* p : blocks) raw_.release(p);
  cached_.clear();
  cached_bytes_ = 0;
}

size_t CachingAllocator::allocated() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return allocated_;
}
size_t CachingAllocator::reserved() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return allocated_ + cached_bytes_;
}
size_t CachingAllocator::peak_allocated() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return peak_;
}
size_t CachingAllocator::raw_allocations() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return raw_allocations_;
}

}  // namespace ember::cuda
