#include "train/progress.h"

#include <unistd.h>

#include <algorithm>

namespace ember::train {

ProgressBar::ProgressBar(std::FILE* out) : out_(out), live_(out && isatty(fileno(out))) {}

void ProgressBar::step(const ProgressState& s) {
  if (!live_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && s.batch != s.batches) return;
  last_draw_ = now;
  constexpr int kWidth = 24;
  int filled = static_cast<int>(kWidth * std::min(s.batch, s.batches) / std::max<int64_t>(s.batches, 1));
  double eta = s.steps_per_second > 0 ? static_cast<double>(std::max<int64_t>(s.steps - s.step, 0)) / s.steps_per_second : 0;
  std::fprintf(out_, "\r\033[Kepoch %lld/%lld [%s%s] %lld/%lld loss %.4f acc %.3f %.1f steps/s ETA %d:%02d",
               static_cast<long long>(s.epoch + 1), static_cast<long long>(s.epochs), std::string(filled, '#').c_str(),
               std::string(kWidth - filled, '.').c_str(), static_cast<long long>(s.batch), static_cast<long long>(s.batches),
               s.loss, s.accuracy, s.steps_per_second, static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
  std::fflush(out_);
}

void ProgressBar::line(const std::string& text) {
  if (live_ || !out_) return;
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

void ProgressBar::message(const std::string& text) {
  if (!out_) return;
  if (live_) std::fprintf(out_, "\r\033[K");
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

}  // namespace ember::train
