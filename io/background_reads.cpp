#include "core/threads.h"
#include "io/zip.h"

namespace ember::io {

namespace {
constexpr uint64_t kBackgroundBytes = uint64_t{1} << 20;
}

// As many reads in flight as ember may use threads (set_num_threads): none at 1, where every read
// runs on the caller's thread.
BackgroundReads::BackgroundReads(const ZipReader& zip)
    : zip_(zip), max_pending_(get_num_threads() > 1 ? static_cast<size_t>(get_num_threads()) : 0) {}

BackgroundReads::~BackgroundReads() {
  for (auto& f : pending_)
    if (f.valid()) f.wait();  // only after a failure: finish() empties the queue
}

template <class F>
void BackgroundReads::run(uint64_t bytes, F task) {
  if (bytes < kBackgroundBytes || max_pending_ == 0) {
    task();
    return;
  }
  if (pending_.size() >= max_pending_) wait_oldest();
  pending_.push_back(std::async(std::launch::async, std::move(task)));
}

void BackgroundReads::read(const ZipEntry& entry, void* dst, bool verify_crc) {
  run(entry.size, [this, &entry, dst, verify_crc] { zip_.read(entry, dst, verify_crc); });
}

void BackgroundReads::verify(const ZipEntry& entry, const void* data) {
  run(entry.size, [this, &entry, data] { zip_.verify(entry, data); });
}

void BackgroundReads::wait_oldest() {
  std::future<void> oldest = std::move(pending_.front());
  pending_.pop_front();
  oldest.get();  // rethrows its failure
}

void BackgroundReads::finish() {
  while (!pending_.empty()) wait_oldest();
}

}  // namespace ember::io
