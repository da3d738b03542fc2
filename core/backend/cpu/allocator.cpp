// CPU memory: a caching allocator.
//
// Training allocates the same activation and gradient sizes every step. Returning those blocks
// to the OS and faulting fresh pages in again costs far more than the arithmetic on them (here a
// fresh 12.8 MB buffer costs ~30 ms in page faults, a reused one nothing), so freed blocks are
// kept in per-size free lists and handed out again. Sizes are rounded (to 64 B below 1 MiB, to
// 64 KiB above) so that similar requests share blocks; the cache holds at most kMaxCachedBytes,
// and an allocation that fails empties the cache and tries once more. Blocks are 64-byte aligned.
//
// Blocks of 2 MiB and more are 2 MiB aligned and asked to be backed by transparent huge pages:
// the first touch of a fresh 400 MB checkpoint then costs ~200 faults instead of ~100,000 (a
// load into fresh memory, as on every restart, went from ~1.5 s to a fraction of that here).
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"

#ifdef __linux__
#include <sys/mman.h>
#endif
#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace ember::cpu {

namespace {

constexpr size_t kMaxCachedBytes = size_t{2} << 30;
constexpr size_t kHugePage = size_t{2} << 20;

size_t rounded(size_t nbytes) {
  size_t unit = nbytes < (size_t{1} << 20) ? 64 : (size_t{1} << 16);
  return (nbytes + unit - 1) / unit * unit;
}

class BlockCache {
 public:
  void* take(size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(size);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    cached_ -= size;
    return p;
  }
  // Keeps the block if the cache has room; returns false if the caller must free it.
  bool give(void* p, size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_ + size > kMaxCachedBytes) return false;
    free_[size].push_back(p);
    cached_ += size;
    return true;
  }
  void release_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, blocks] : free_)
      for (void* p : blocks) std::free(p);
    free_.clear();
    cached_ = 0;
  }
  ~BlockCache() { release_all(); }

 private:
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0;
};

void* fresh_block(size_t size) {
  if (size < kHugePage) return std::aligned_alloc(64, size);
  void* p = nullptr;
  if (::posix_memalign(&p, kHugePage, size) != 0) return nullptr;
#ifdef MADV_HUGEPAGE
  ::madvise(p, size, MADV_HUGEPAGE);  // a hint: without it the block still works, only slower to fault in
#endif
  return p;
}

// Memory that is not a tensor's still comes from malloc: above all Eigen's GEMM packing buffers
// (~0.1-2 MB, allocated and freed in every matrix product). glibc's defaults hand such blocks back
// to the OS (trimming the heap top, or munmap) and fault them in again on the next call, which cost
// a third of the mlp training step here. Keeping them in the heap is what a training loop wants;
// this is done once, when the first CPU block is allocated.
void keep_freed_heap_memory() {
#ifdef __GLIBC__
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);   // blocks up to 32 MiB come from the heap...
  ::mallopt(M_TRIM_THRESHOLD, 512 << 20);  // ...and up to 512 MiB of free heap top is kept
#endif
}

BlockCache& cache() {
  static BlockCache* instance = [] {
    keep_freed_heap_memory();
    return new BlockCache();  // never destroyed: storages may outlive statics
  }();
  return *instance;
}

}  // namespace

void* CpuBackend::allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  size_t size = rounded(nbytes);
  if (void* p = cache().take(size)) return p;
  void* p = fresh_block(size);
  if (!p) {
    cache().release_all();
    p = fresh_block(size);
  }
  if (!p) throw Error(str("out of memory: could not allocate ", nbytes, " bytes on the cpu"));
  return p;
}

void CpuBackend::deallocate(void* ptr, size_t nbytes) {
  if (!ptr) return;
  size_t size = rounded(nbytes);
  if (!cache().give(ptr, size)) std::free(ptr);
}

void empty_cache() { cache().release_all(); }

}  // namespace ember::cpu
