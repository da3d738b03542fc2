#include "core/device.h"

#include <cctype>

#include "core/error.h"

namespace ember {

Device::Device(const std::string& spec) {
  auto fail = [&]() {
    return ValueError(ember::str("invalid device '", spec, "': expected 'cpu', 'cuda' or 'cuda:N'"));
  };
  if (spec == "cpu") return;
  if (spec.rfind("cuda", 0) != 0) throw fail();
  type = DeviceType::CUDA;
  index = 0;
  if (spec.size() == 4) return;
  if (spec[4] != ':' || spec.size() == 5 || spec.size() > 9) throw fail();
  int value = 0;
  for (size_t i = 5; i < spec.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(spec[i]))) throw fail();
    value = value * 10 + (spec[i] - '0');
  }
  index = value;
}

std::string Device::str() const {
  return is_cpu() ? "cpu" : "cuda:" + std::to_string(index);
}

std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.str(); }

}  // namespace ember
