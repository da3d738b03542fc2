#include <algorithm>
#include <thread>

#include "io/zip.h"

namespace ember::io {

namespace {
constexpr uint64_t kBackgroundBytes = uint64_t{1} << 20;
}

BackgroundReads::BackgroundReads(const ZipReader& zip)
    : zip_(zip), max_pending_(std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4)) {}

BackgroundReads::~BackgroundReads() {
  for (auto& f : pending_)
    if (f.valid()) f.wait();  // only after a failure: finish() empties the queue
}

template <class F>
void BackgroundReads::run(uint64_t bytes, F task) {
  if (bytes < kBackgroundBytes) {
    task();
    return;
  }
  if (pending_.size() >= max_pending_) {
    std::future<void> oldest = std::move(pending_.front());
    pending_.pop_front();
    oldest.get();  // rethrows its failure
  }
  pending_.push_back(std::async(std::launch::async, std::move(task)));
}

void BackgroundReads::read(const ZipEntry& entry, void* dst, bool verify_crc) {
  run(entry.size, [this, &entry, dst, verify_crc] { zip_.read(entry, dst, verify_crc); });
}

void BackgroundReads::verify(const ZipEntry& entry, const void* data) {
  run(entry.size, [this, &entry, data] { zip_.verify(entry, data); });
}

void BackgroundReads::finish() {
  while (!pending_.empty()) {
    std::future<void> oldest = std::move(pending_.front());
    pending_.pop_front();
    oldest.get();
  }
}

}  // namespace ember::io
