#include "core/storage.h"

#include <atomic>

#include "core/backend/backend.h"
#include "core/error.h"

namespace ember {

struct Storage::Impl {
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  std::shared_ptr<void> owner;  // set for borrowed memory
  bool borrowed = false;
  std::atomic<uint64_t> version{0};
  std::string saved_location;

  ~Impl() {
    if (!borrowed && data) backend(device).deallocate(data, nbytes);
  }
};

Storage Storage::allocate(size_t nbytes, Device device) {
  Storage s;
  s.impl_ = std::make_shared<Impl>();
  s.impl_->device = device;
  s.impl_->data = backend(device).allocate(nbytes);
  s.impl_->nbytes = nbytes;
  return s;
}

Storage Storage::borrow(void* data, size_t nbytes, Device device, std::shared_ptr<void> owner) {
  Storage s;
  s.impl_ = std::make_shared<Impl>();
  s.impl_->data = data;
  s.impl_->nbytes = nbytes;
  s.impl_->device = device;
  s.impl_->owner = std::move(owner);
  s.impl_->borrowed = true;
  return s;
}

void* Storage::data() const { return impl_ ? impl_->data : nullptr; }
size_t Storage::nbytes() const { return impl_ ? impl_->nbytes : 0; }
Device Storage::device() const { return impl_ ? impl_->device : kCPU; }
bool Storage::is_borrowed() const { return impl_ && impl_->borrowed; }

uint64_t Storage::version() const { return impl_ ? impl_->version.load(std::memory_order_relaxed) : 0; }
void Storage::bump_version() const {
  if (impl_) impl_->version.fetch_add(1, std::memory_order_relaxed);
}

const std::string& Storage::saved_location() const {
  static const std::string none;
  return impl_ ? impl_->saved_location : none;
}

void Storage::set_saved_location(std::string location) const {
  if (impl_) impl_->saved_location = std::move(location);
}

}  // namespace ember
