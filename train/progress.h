// ProgressBar: what a training loop shows a person. On a terminal, one live line redrawn at most
// ten times a second (epoch, a bar over the epoch's batches, loss, accuracy, steps/s, ETA); when
// stdout is a file or a pipe, plain lines only (line()), so logs stay readable.
//
//   train::ProgressBar bar;
//   bar.step({epoch, epochs, batch, batches, at.step, total_steps, loss, accuracy, steps_per_s});
//   if (at.step % 50 == 0) bar.line("step 50 loss 0.41");   // only when not on a terminal
//   bar.message("epoch 1/10: test accuracy 0.85");           // always seen
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace ember::train {

struct ProgressState {
  int64_t epoch = 0, epochs = 0;    // epoch: 0-based, shown 1-based
  int64_t batch = 0, batches = 0;   // within the epoch
  int64_t step = 0, steps = 0;      // global
  double loss = 0, accuracy = 0, steps_per_second = 0;
};

class ProgressBar {
 public:
  // Draws to `out`; `live` defaults to whether `out` is a terminal. nullptr: prints nothing (the
  // non-zero ranks of a distributed run).
  explicit ProgressBar(std::FILE* out = stdout);
  ProgressBar(std::FILE* out, bool live) : out_(out), live_(live) {}

  // Redraws the live line (on a terminal; throttled); nothing otherwise.
  void step(const ProgressState& s);
  // A plain progress line, written only when not on a terminal.
  void line(const std::string& text);
  // A line that must be seen either way (it clears the live line first).
  void message(const std::string& text);
  bool live() const { return live_; }

 private:
  std::FILE* out_;
  bool live_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace ember::train
