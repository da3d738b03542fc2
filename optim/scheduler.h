// Learning-rate schedulers producing PyTorch's lr sequences (the same recursive formulas as
// torch.optim.lr_scheduler in 1.13), with state dicts holding PyTorch's attribute names
// (base_lrs, last_epoch, _step_count, _last_lr, ...).
//
// Like PyTorch, constructing a scheduler performs its first step (last_epoch 0) and records
// `initial_lr` in each param group; call step() after each optimizer.step() (or epoch).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/stateful.h"
#include "optim/optimizer.h"

namespace ember::optim {

class LRScheduler : public io::Stateful {
 public:
  virtual ~LRScheduler() = default;
  void step();
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  io::Value state_dict() const override;
  void load_state_dict(const io::Value& state) override;

 protected:
  LRScheduler(Optimizer& optimizer, int64_t last_epoch);
  // Subclass constructors call this last, once their fields are set (PyTorch's _initial_step).
  void initial_step();
  // The next lrs from the current group lrs (the chainable form).
  virtual std::vector<double> get_lr() = 0;
  // The lrs at last_epoch from base_lrs alone, where a closed form exists (used by SequentialLR).
  virtual std::optional<std::vector<double>> closed_form_lr() const { return std::nullopt; }
  virtual void save_fields(io::Dict& d) const = 0;
  virtual void load_fields(const io::Dict& d) = 0;
  std::vector<double> group_lrs() const;
  void apply(const std::vector<double>& lrs);
  // Jumps to `epoch` with the closed form (PyTorch's deprecated step(epoch)).
  void step_to(int64_t epoch);

  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_;
  int64_t step_count_ = 0;
  std::vector<double> last_lr_;
  friend class SequentialLR;
};

// lr *= gamma every step_size steps.
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1, int64_t last_epoch = -1);

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;
  void save_fields(io::Dict& d) const override;
  void load_fields(const io::Dict& d) override;
  int64_t step_size_;
  double gamma_;
};

// lr *= gamma at each milestone (a milestone listed twice multiplies twice).
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1, int64_t last_epoch = -1);

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;
  void save_fields(io::Dict& d) const override;
  void load_fields(const io::Dict& d) override;
  std::vector<int64_t> milestones_;  // sorted, with repeats
  double gamma_;
};

class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma, int64_t last_epoch = -1);

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;
  void save_fields(io::Dict& d) const override;
  void load_fields(const io::Dict& d) override;
  double gamma_;
};

// Cosine from the base lr down to eta_min over T_max steps (and back, periodically).
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0.0, int64_t last_epoch = -1);

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;
  void save_fields(io::Dict& d) const override;
  void load_fields(const io::Dict& d) override;
  int64_t T_max_;
  double eta_min_;
};

// Linear warm-up: the factor goes from start_factor to end_factor over total_iters steps.
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0, int64_t total_iters = 5,
           int64_t last_epoch = -1);

 protected:
  std::vector<double> get_lr() override;
  std::optional<std::vector<double>> closed_form_lr() const override;
  void save_fields(io::Dict& d) const override;
  void load_fields(const io::Dict& d) override;
  double start_factor_, end_factor_;
  int64_t total_iters_;
};

struct OneCycleOptions {
  double max_lr;
  int64_t total_steps;
  double pct_start_ = 0.3;
  std::string anneal_strategy_ = "cos";  // or "linear"
  bool cycle_momentum_ = true;
  double base_momentum_ = 0.85, max_momentum_ = 0.95, div_factor_ = 25.0, final_div_factor_ = 1e4;
  bool three_phase_ = false;
  OneCycleOptions(double max_lr, int64_t total_steps) : max_lr(max_lr), total_steps(total_steps) {}
  OneCycleOptions& pct_start(double v) { pct_start_ = v; return *this; }
  OneCycleOptions& anneal_strategy(std::string v) { anneal_strategy_ = std::move(v); return *this; }
  OneCycleOptions& cycle_momentum(bool v) { cycle_momentum_ = v; return *this; }
  OneCycleOptions& base_momentum(double v) { base_momentum_ = v; return *this; }
  OneCycleOptions& max_momentum(double v) { max_momentum_ = v; return *this; }
  OneCycleOptions& div_factor(double v) { div_factor_ = v; return *this; }
  OneCycleOptions& final_div_factor(double v) { final_div_factor_ = v; return *this; }
  OneCycleOptions& three_phase(bool v) { three_phase_ = v; return *this; }
};

// The 1cycle policy: warm up to max_lr, anneal to max_lr / div_factor / final_div_factor, cycling
// momentum (or Adam's beta1) inversely. Stepping past total_steps throws.
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& optimizer, OneCycleOptions options, int64_t last_epoch = -1);

 protected:
  std::vector<double> get_lr() override;
  void save_fields(io::Dict& d) const override;
  void load_fields(const io::Dict& d) override;

 private:
  struct Phase {
    double end_step;
    const char *start_lr, *end_lr, *start_momentum, *end_momentum;
  };
  double anneal(double start, double end, double pct) const;
  OneCycleOptions options_;
  std::vector<Phase> phases_;
  bool use_beta1_ = false;
};

// Runs `schedulers` one after another, switching at `milestones`.
class SequentialLR : public LRScheduler {
 public:
  SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers, std::vector<int64_t> milestones,
               int64_t last_epoch = -1);
  void step();
  io::Value state_dict() const override;
  void load_state_dict(const io::Value& state) override;

 protected:
  std::vector<double> get_lr() override { return group_lrs(); }
  void save_fields(io::Dict& d) const override;
  void load_fields(const io::Dict& d) override;

 private:
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<int64_t> milestones_;
};

// Multiplies the lr by `factor` when a metric has stopped improving for `patience` steps.
struct ReduceLROnPlateauOptions {
  std::string mode_ = "min";  // or "max"
  double factor_ = 0.1;
  int64_t patience_ = 10;
  double threshold_ = 1e-4;
  std::string threshold_mode_ = "rel";  // or "abs"
  int64_t cooldown_ = 0;
  double min_lr_ = 0.0, eps_ = 1e-8;
  ReduceLROnPlateauOptions& mode(std::string v) { mode_ = std::move(v); return *this; }
  ReduceLROnPlateauOptions& factor(double v) { factor_ = v; return *this; }
  ReduceLROnPlateauOptions& patience(int64_t v) { patience_ = v; return *this; }
  ReduceLROnPlateauOptions& threshold(double v) { threshold_ = v; return *this; }
  ReduceLROnPlateauOptions& threshold_mode(std::string v) { threshold_mode_ = std::move(v); return *this; }
  ReduceLROnPlateauOptions& cooldown(int64_t v) { cooldown_ = v; return *this; }
  ReduceLROnPlateauOptions& min_lr(double v) { min_lr_ = v; return *this; }
  ReduceLROnPlateauOptions& eps(double v) { eps_ = v; return *this; }
};

class ReduceLROnPlateau : public io::Stateful {
 public:
  ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});
  void step(double metric);
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  io::Value state_dict() const override;
  void load_state_dict(const io::Value& state) override;

 private:
  bool is_better(double a, double best) const;
  Optimizer& optimizer_;
  ReduceLROnPlateauOptions o_;
  double best_;
  int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0, last_epoch_ = 0;
  std::vector<double> last_lr_;
};

}  // namespace ember::optim
