// The scheduler base and the single-curve schedulers. Formulas are written in the order PyTorch
// 1.13 evaluates them, so the lr sequences agree to the last bits.
#include "optim/scheduler.h"

#include <algorithm>
#include <cmath>

namespace ember::optim {

namespace {
io::Value doubles(const std::vector<double>& v) {
  io::List l;
  for (double x : v) l.push_back(x);
  return io::Value(std::move(l));
}
std::vector<double> doubles_of(const io::Value& v) {
  std::vector<double> out;
  for (const io::Value& x : v.list()) out.push_back(x.to_double());
  return out;
}
constexpr double kPi = 3.14159265358979323846;
}  // namespace

LRScheduler::LRScheduler(Optimizer& optimizer, int64_t last_epoch) : optimizer_(optimizer), last_epoch_(last_epoch) {
  for (size_t i = 0; i < optimizer.param_groups().size(); ++i) {
    ParamGroup& g = optimizer.param_groups()[i];
    if (last_epoch == -1) {
      if (!g.options.contains("initial_lr")) g.options.insert("initial_lr", g.options.at("lr"));
    } else {
      EMBER_CHECK_VALUE(g.options.contains("initial_lr"), "scheduler: param 'initial_lr' is not specified in param_groups[",
                        i, "] when resuming (last_epoch ", last_epoch, ")");
    }
    base_lrs_.push_back(g.number("initial_lr"));
  }
}

void LRScheduler::initial_step() {
  step_count_ = 0;
  step();
}

std::vector<double> LRScheduler::group_lrs() const {
  std::vector<double> out;
  for (const ParamGroup& g : optimizer_.param_groups()) out.push_back(g.lr());
  return out;
}

void LRScheduler::apply(const std::vector<double>& lrs) {
  for (size_t i = 0; i < lrs.size(); ++i) optimizer_.param_groups()[i].set_lr(lrs[i]);
  last_lr_ = group_lrs();
}

void LRScheduler::step() {
  ++step_count_;
  ++last_epoch_;
  apply(get_lr());
}

void LRScheduler::step_to(int64_t epoch) {
  ++step_count_;
  last_epoch_ = epoch;
  auto closed = closed_form_lr();
  apply(closed ? *closed : get_lr());
}

io::Value LRScheduler::state_dict() const {
  io::Dict d;
  save_fields(d);
  d.insert("base_lrs", doubles(base_lrs_));
  d.insert("last_epoch", last_epoch_);
  d.insert("verbose", false);
  d.insert("_step_count", step_count_);
  d.insert("_get_lr_called_within_step", false);
  d.insert("_last_lr", doubles(last_lr_));
  return io::Value(std::move(d));
}

void LRScheduler::load_state_dict(const io::Value& state) {
  const io::Dict& d = state.dict();
  std::vector<double> base = doubles_of(d.at("base_lrs"));
  EMBER_CHECK_VALUE(base.size() == base_lrs_.size(), "scheduler.load_state_dict: the state has ", base.size(),
                    " base_lrs, the optimizer has ", base_lrs_.size(), " param groups");
  load_fields(d);
  base_lrs_ = base;
  last_epoch_ = d.at("last_epoch").to_int();
  step_count_ = d.at("_step_count").to_int();
  last_lr_ = doubles_of(d.at("_last_lr"));
}

// ---- StepLR ----
StepLR::StepLR(Optimizer& o, int64_t step_size, double gamma, int64_t last_epoch)
    : LRScheduler(o, last_epoch), step_size_(step_size), gamma_(gamma) {
  EMBER_CHECK_VALUE(step_size > 0, "StepLR: step_size must be positive, found ", step_size);
  initial_step();
}
std::vector<double> StepLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) return lrs;
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}
std::optional<std::vector<double>> StepLR::closed_form_lr() const {
  std::vector<double> out;
  for (double b : base_lrs_) out.push_back(b * std::pow(gamma_, static_cast<double>(last_epoch_ / step_size_)));
  return out;
}
void StepLR::save_fields(io::Dict& d) const {
  d.insert("step_size", step_size_);
  d.insert("gamma", gamma_);
}
void StepLR::load_fields(const io::Dict& d) {
  step_size_ = d.at("step_size").to_int();
  gamma_ = d.at("gamma").to_double();
}

// ---- MultiStepLR ----
MultiStepLR::MultiStepLR(Optimizer& o, std::vector<int64_t> milestones, double gamma, int64_t last_epoch)
    : LRScheduler(o, last_epoch), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  initial_step();
}
std::vector<double> MultiStepLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  auto hits = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  if (hits == 0) return lrs;
  for (double& lr : lrs) lr *= std::pow(gamma_, static_cast<double>(hits));
  return lrs;
}
std::optional<std::vector<double>> MultiStepLR::closed_form_lr() const {
  auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  std::vector<double> out;
  for (double b : base_lrs_) out.push_back(b * std::pow(gamma_, static_cast<double>(passed)));
  return out;
}
void MultiStepLR::save_fields(io::Dict& d) const {
  io::Dict counts;  // PyTorch keeps a Counter {milestone: times} and indexes it with any epoch
  counts.set_counter(true);
  for (int64_t m : milestones_) counts.insert(m, counts.contains(m) ? counts.at(m).to_int() + 1 : int64_t{1});
  d.insert("milestones", io::Value(std::move(counts)));
  d.insert("gamma", gamma_);
}
void MultiStepLR::load_fields(const io::Dict& d) {
  milestones_.clear();
  for (const auto& [k, v] : d.at("milestones").dict())
    for (int64_t i = 0; i < v.to_int(); ++i) milestones_.push_back(k.to_int());
  std::sort(milestones_.begin(), milestones_.end());
  gamma_ = d.at("gamma").to_double();
}

// ---- ExponentialLR ----
ExponentialLR::ExponentialLR(Optimizer& o, double gamma, int64_t last_epoch) : LRScheduler(o, last_epoch), gamma_(gamma) {
  initial_step();
}
std::vector<double> ExponentialLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0) return lrs;
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}
std::optional<std::vector<double>> ExponentialLR::closed_form_lr() const {
  std::vector<double> out;
  for (double b : base_lrs_) out.push_back(b * std::pow(gamma_, static_cast<double>(last_epoch_)));
  return out;
}
void ExponentialLR::save_fields(io::Dict& d) const { d.insert("gamma", gamma_); }
void ExponentialLR::load_fields(const io::Dict& d) { gamma_ = d.at("gamma").to_double(); }

// ---- CosineAnnealingLR ----
CosineAnnealingLR::CosineAnnealingLR(Optimizer& o, int64_t T_max, double eta_min, int64_t last_epoch)
    : LRScheduler(o, last_epoch), T_max_(T_max), eta_min_(eta_min) {
  EMBER_CHECK_VALUE(T_max > 0, "CosineAnnealingLR: T_max must be positive, found ", T_max);
  initial_step();
}
std::vector<double> CosineAnnealingLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  double T = static_cast<double>(T_max_), e = static_cast<double>(last_epoch_);
  if (last_epoch_ == 0) return lrs;
  for (size_t i = 0; i < lrs.size(); ++i) {
    double base = base_lrs_[i];
    if (step_count_ == 1 && last_epoch_ > 0)
      lrs[i] = eta_min_ + (base - eta_min_) * (1 + std::cos(e * kPi / T)) / 2;
    else if ((last_epoch_ - 1 - T_max_) % (2 * T_max_) == 0)
      lrs[i] = lrs[i] + (base - eta_min_) * (1 - std::cos(kPi / T)) / 2;
    else
      lrs[i] = (1 + std::cos(kPi * e / T)) / (1 + std::cos(kPi * (e - 1) / T)) * (lrs[i] - eta_min_) + eta_min_;
  }
  return lrs;
}
std::optional<std::vector<double>> CosineAnnealingLR::closed_form_lr() const {
  std::vector<double> out;
  for (double b : base_lrs_)
    out.push_back(eta_min_ + (b - eta_min_) * (1 + std::cos(kPi * static_cast<double>(last_epoch_) / static_cast<double>(T_max_))) / 2);
  return out;
}
void CosineAnnealingLR::save_fields(io::Dict& d) const {
  d.insert("T_max", T_max_);
  d.insert("eta_min", eta_min_);
}
void CosineAnnealingLR::load_fields(const io::Dict& d) {
  T_max_ = d.at("T_max").to_int();
  eta_min_ = d.at("eta_min").to_double();
}

// ---- LinearLR ----
LinearLR::LinearLR(Optimizer& o, double start_factor, double end_factor, int64_t total_iters, int64_t last_epoch)
    : LRScheduler(o, last_epoch), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
  EMBER_CHECK_VALUE(start_factor > 0.0 && start_factor <= 1.0, "LinearLR: start_factor must be in (0, 1], found ", start_factor);
  EMBER_CHECK_VALUE(end_factor >= 0.0 && end_factor <= 1.0, "LinearLR: end_factor must be in [0, 1], found ", end_factor);
  initial_step();
}
std::vector<double> LinearLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0) {
    for (double& lr : lrs) lr *= start_factor_;
    return lrs;
  }
  if (last_epoch_ > total_iters_) return lrs;
  for (double& lr : lrs)
    lr *= 1. + (end_factor_ - start_factor_) /
                   (static_cast<double>(total_iters_) * start_factor_ + static_cast<double>(last_epoch_ - 1) * (end_factor_ - start_factor_));
  return lrs;
}
std::optional<std::vector<double>> LinearLR::closed_form_lr() const {
  std::vector<double> out;
  for (double b : base_lrs_)
    out.push_back(b * (start_factor_ + (end_factor_ - start_factor_) * static_cast<double>(std::min(total_iters_, last_epoch_)) /
                                           static_cast<double>(total_iters_)));
  return out;
}
void LinearLR::save_fields(io::Dict& d) const {
  d.insert("start_factor", start_factor_);
  d.insert("end_factor", end_factor_);
  d.insert("total_iters", total_iters_);
}
void LinearLR::load_fields(const io::Dict& d) {
  start_factor_ = d.at("start_factor").to_double();
  end_factor_ = d.at("end_factor").to_double();
  total_iters_ = d.at("total_iters").to_int();
}

}  // namespace ember::optim
