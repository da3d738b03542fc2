// Progress output: a live bar on a terminal (loss, accuracy, steps/s, ETA), plain lines otherwise.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace fashion {

class Progress {
 public:
  Progress() : tty_(isatty(STDOUT_FILENO)) {}

  // Called every training step; draws at most 10 times a second on a terminal.
  void step(int64_t epoch, int64_t epochs, int64_t in_epoch, int64_t per_epoch, int64_t global, int64_t total,
            double loss, double acc, double steps_per_s) {
    if (!tty_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_draw_ < std::chrono::milliseconds(100) && in_epoch != per_epoch) return;
    last_draw_ = now;
    int width = 24, filled = static_cast<int>(width * in_epoch / std::max<int64_t>(per_epoch, 1));
    double eta = steps_per_s > 0 ? static_cast<double>(total - global) / steps_per_s : 0;
    std::printf("\r\033[Kepoch %lld/%lld [%s%s] %lld/%lld loss %.4f acc %.3f %.1f steps/s ETA %d:%02d",
                static_cast<long long>(epoch + 1), static_cast<long long>(epochs), std::string(filled, '#').c_str(),
                std::string(width - filled, '.').c_str(), static_cast<long long>(in_epoch), static_cast<long long>(per_epoch),
                loss, acc, steps_per_s, static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
    std::fflush(stdout);
  }

  // A plain progress line (not on a terminal), every --log-every steps.
  void line(const std::string& text) {
    if (tty_) return;
    std::printf("%s\n", text.c_str());
    std::fflush(stdout);
  }

  // A message that must be seen either way (it ends the bar's line first).
  void message(const std::string& text) {
    if (tty_) std::printf("\r\033[K");
    std::printf("%s\n", text.c_str());
    std::fflush(stdout);
  }

 private:
  bool tty_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace fashion
