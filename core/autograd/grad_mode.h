// Grad mode: whether ops record the tape. Thread-local, as in PyTorch.
#pragma once

namespace ember {

bool is_grad_enabled();
void set_grad_enabled(bool enabled);

// Turns recording off for its scope (torch.no_grad()). Independent of Module::train/eval.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Turns recording on for its scope (torch.enable_grad()).
class EnableGradGuard {
 public:
  EnableGradGuard();
  ~EnableGradGuard();
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace ember
