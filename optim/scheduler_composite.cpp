// OneCycleLR, SequentialLR and ReduceLROnPlateau.
#include <algorithm>
#include <cmath>
#include <limits>

#include "optim/scheduler.h"

namespace ember::optim {

namespace {
constexpr double kPi = 3.14159265358979323846;
io::Value doubles(const std::vector<double>& v) {
  io::List l;
  for (double x : v) l.push_back(x);
  return io::Value(std::move(l));
}
}  // namespace

// ---- OneCycleLR ----
namespace {
// Validates the options and records initial_lr, max_lr and min_lr in each group before the base
// class reads initial_lr (PyTorch does this before calling its base constructor too).
Optimizer& prepare_one_cycle(Optimizer& o, const OneCycleOptions& options, int64_t last_epoch) {
  EMBER_CHECK_VALUE(options.total_steps > 0, "OneCycleLR: expected a positive total_steps, found ", options.total_steps);
  EMBER_CHECK_VALUE(options.pct_start_ >= 0 && options.pct_start_ <= 1, "OneCycleLR: pct_start must be in [0, 1], found ",
                    options.pct_start_);
  EMBER_CHECK_VALUE(options.anneal_strategy_ == "cos" || options.anneal_strategy_ == "linear",
                    "OneCycleLR: anneal_strategy must be 'cos' or 'linear', found '", options.anneal_strategy_, "'");
  if (last_epoch == -1)
    for (ParamGroup& g : o.param_groups()) {
      double initial = options.max_lr / options.div_factor_;
      g.options.insert("initial_lr", initial);
      g.options.insert("max_lr", options.max_lr);
      g.options.insert("min_lr", initial / options.final_div_factor_);
    }
  return o;
}
}  // namespace

OneCycleLR::OneCycleLR(Optimizer& o, OneCycleOptions options, int64_t last_epoch)
    : LRScheduler(prepare_one_cycle(o, options, last_epoch), last_epoch), options_(std::move(options)) {
  double total = static_cast<double>(options_.total_steps), pct = options_.pct_start_;
  if (options_.three_phase_)
    phases_ = {{pct * total - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"},
               {2 * pct * total - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"},
               {total - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"}};
  else
    phases_ = {{pct * total - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"},
               {total - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"}};
  if (options_.cycle_momentum_) {
    const io::Dict& defaults = o.defaults();
    EMBER_CHECK_VALUE(defaults.contains("momentum") || defaults.contains("betas"),
                      "OneCycleLR: optimizer must support momentum with cycle_momentum enabled");
    use_beta1_ = defaults.contains("betas");
    if (last_epoch == -1)
      for (ParamGroup& g : o.param_groups()) {
        if (use_beta1_) {
          auto betas = g.options.at("betas").tuple();
          g.options.insert("betas", io::Tuple{{options_.max_momentum_, betas[1]}});
        } else {
          g.options.insert("momentum", options_.max_momentum_);
        }
        g.options.insert("max_momentum", options_.max_momentum_);
        g.options.insert("base_momentum", options_.base_momentum_);
      }
  }
  initial_step();
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (options_.anneal_strategy_ == "linear") return (end - start) * pct + start;
  double cos_out = std::cos(kPi * pct) + 1;
  return end + (start - end) / 2.0 * cos_out;
}

std::vector<double> OneCycleLR::get_lr() {
  double step = static_cast<double>(last_epoch_);
  EMBER_CHECK_VALUE(last_epoch_ <= options_.total_steps, "OneCycleLR: tried to step ", last_epoch_ + 1,
                    " times; the specified number of total steps is ", options_.total_steps);
  std::vector<double> lrs;
  for (ParamGroup& g : optimizer_.param_groups()) {
    double start_step = 0, lr = 0, momentum = 0;
    for (size_t i = 0; i < phases_.size(); ++i) {
      const Phase& p = phases_[i];
      if (step <= p.end_step || i == phases_.size() - 1) {
        double pct = (step - start_step) / (p.end_step - start_step);
        lr = anneal(g.number(p.start_lr), g.number(p.end_lr), pct);
        if (options_.cycle_momentum_) momentum = anneal(g.number(p.start_momentum), g.number(p.end_momentum), pct);
        break;
      }
      start_step = p.end_step;
    }
    lrs.push_back(lr);
    if (options_.cycle_momentum_) {
      if (use_beta1_) g.options.insert("betas", io::Tuple{{momentum, g.options.at("betas").tuple()[1]}});
      else g.options.insert("momentum", momentum);
    }
  }
  return lrs;
}

void OneCycleLR::save_fields(io::Dict& d) const {
  d.insert("total_steps", options_.total_steps);
  io::List phases;
  for (const Phase& p : phases_) {
    io::Dict ph;
    ph.insert("end_step", p.end_step);
    ph.insert("start_lr", p.start_lr);
    ph.insert("end_lr", p.end_lr);
    ph.insert("start_momentum", p.start_momentum);
    ph.insert("end_momentum", p.end_momentum);
    phases.push_back(io::Value(std::move(ph)));
  }
  d.insert("_schedule_phases", io::Value(std::move(phases)));
  // PyTorch 2's key. 1.13 keeps a bound method (anneal_func) here, which no file can carry safely:
  // it keeps the one its constructor chose, and 2.x reads this string.
  d.insert("_anneal_func_type", options_.anneal_strategy_);
  d.insert("cycle_momentum", options_.cycle_momentum_);
  d.insert("use_beta1", use_beta1_);
}

void OneCycleLR::load_fields(const io::Dict& d) {
  options_.total_steps = d.at("total_steps").to_int();
  for (const char* key : {"_anneal_func_type", "anneal_strategy"})  // PyTorch 2; ember before 0.1.1
    if (d.contains(key)) {
      std::string strategy = d.at(key).to_string();
      EMBER_CHECK_VALUE(strategy == "cos" || strategy == "linear", "OneCycleLR.load_state_dict: ", key, " must be 'cos' or 'linear', found '",
                        strategy, "'");
      options_.anneal_strategy_ = strategy;
    }
  options_.cycle_momentum_ = d.at("cycle_momentum").to_bool();
  if (d.contains("use_beta1")) use_beta1_ = d.at("use_beta1").to_bool();
  const io::List& phases = d.at("_schedule_phases").list();
  EMBER_CHECK_VALUE(phases.size() == phases_.size(), "OneCycleLR.load_state_dict: the state has ", phases.size(),
                    " phases, this scheduler ", phases_.size());
  for (size_t i = 0; i < phases.size(); ++i) phases_[i].end_step = phases[i].at("end_step").to_double();
}

// ---- SequentialLR ----
SequentialLR::SequentialLR(Optimizer& o, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<int64_t> milestones, int64_t last_epoch)
    : LRScheduler(o, -1), schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {
  EMBER_CHECK_VALUE(!schedulers_.empty(), "SequentialLR: expected at least one scheduler");
  EMBER_CHECK_VALUE(milestones_.size() == schedulers_.size() - 1, "SequentialLR: expects one milestone fewer than ",
                    "schedulers, got ", schedulers_.size(), " schedulers and ", milestones_.size(), " milestones");
  for (size_t i = 0; i < schedulers_.size(); ++i)
    EMBER_CHECK_VALUE(&schedulers_[i]->optimizer_ == &o, "SequentialLR: scheduler ", i, " belongs to another optimizer");
  last_epoch_ = last_epoch + 1;
  for (ParamGroup& g : o.param_groups()) g.set_lr(g.number("initial_lr"));
  for (auto& s : schedulers_) --s->last_epoch_;
  schedulers_[0]->initial_step();
  last_lr_ = schedulers_[0]->get_last_lr();
}

void SequentialLR::step() {
  ++last_epoch_;
  size_t idx = static_cast<size_t>(std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin());
  auto& s = schedulers_[idx];
  if (idx > 0 && milestones_[idx - 1] == last_epoch_) s->step_to(0);
  else s->step();
  last_lr_ = s->get_last_lr();
}

void SequentialLR::save_fields(io::Dict& d) const {
  io::List ms;
  for (int64_t m : milestones_) ms.push_back(m);
  d.insert("_milestones", io::Value(std::move(ms)));
}
void SequentialLR::load_fields(const io::Dict&) {}

io::Value SequentialLR::state_dict() const {
  io::Dict d;
  save_fields(d);
  d.insert("last_epoch", last_epoch_);
  d.insert("_last_lr", doubles(last_lr_));
  io::List inner;
  for (const auto& s : schedulers_) inner.push_back(s->state_dict());
  d.insert("_schedulers", io::Value(std::move(inner)));
  return io::Value(std::move(d));
}

void SequentialLR::load_state_dict(const io::Value& state) {
  const io::List& inner = state.at("_schedulers").list();
  EMBER_CHECK_VALUE(inner.size() == schedulers_.size(), "SequentialLR.load_state_dict: the state has ", inner.size(),
                    " schedulers, this one ", schedulers_.size());
  last_epoch_ = state.at("last_epoch").to_int();
  last_lr_.clear();
  for (const io::Value& v : state.at("_last_lr").list()) last_lr_.push_back(v.to_double());
  for (size_t i = 0; i < inner.size(); ++i) schedulers_[i]->load_state_dict(inner[i]);
}

// ---- ReduceLROnPlateau ----
ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options)
    : optimizer_(optimizer), o_(std::move(options)) {
  EMBER_CHECK_VALUE(o_.factor_ < 1.0, "ReduceLROnPlateau: factor should be < 1.0, found ", o_.factor_);
  EMBER_CHECK_VALUE(o_.mode_ == "min" || o_.mode_ == "max", "ReduceLROnPlateau: mode ", o_.mode_, " is unknown");
  EMBER_CHECK_VALUE(o_.threshold_mode_ == "rel" || o_.threshold_mode_ == "abs", "ReduceLROnPlateau: threshold mode ",
                    o_.threshold_mode_, " is unknown");
  best_ = o_.mode_ == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  for (const ParamGroup& g : optimizer_.param_groups()) last_lr_.push_back(g.lr());
}

bool ReduceLROnPlateau::is_better(double a, double best) const {
  if (o_.mode_ == "min" && o_.threshold_mode_ == "rel") return a < best * (1. - o_.threshold_);
  if (o_.mode_ == "min") return a < best - o_.threshold_;
  if (o_.threshold_mode_ == "rel") return a > best * (o_.threshold_ + 1.);
  return a > best + o_.threshold_;
}

void ReduceLROnPlateau::step(double metric) {
  ++last_epoch_;
  if (is_better(metric, best_)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > o_.patience_) {
    for (ParamGroup& g : optimizer_.param_groups()) {
      double old_lr = g.lr(), new_lr = std::max(old_lr * o_.factor_, o_.min_lr_);
      if (old_lr - new_lr > o_.eps_) g.set_lr(new_lr);
    }
    cooldown_counter_ = o_.cooldown_;
    num_bad_epochs_ = 0;
  }
  last_lr_.clear();
  for (const ParamGroup& g : optimizer_.param_groups()) last_lr_.push_back(g.lr());
}

io::Value ReduceLROnPlateau::state_dict() const {
  io::Dict d;
  d.insert("factor", o_.factor_);
  io::List min_lrs;
  for (size_t i = 0; i < optimizer_.param_groups().size(); ++i) min_lrs.push_back(o_.min_lr_);
  d.insert("min_lrs", io::Value(std::move(min_lrs)));
  d.insert("patience", o_.patience_);
  d.insert("verbose", false);
  d.insert("cooldown", o_.cooldown_);
  d.insert("cooldown_counter", cooldown_counter_);
  d.insert("mode", o_.mode_);
  d.insert("threshold", o_.threshold_);
  d.insert("threshold_mode", o_.threshold_mode_);
  d.insert("best", best_);
  d.insert("num_bad_epochs", num_bad_epochs_);
  d.insert("mode_worse", o_.mode_ == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity());
  d.insert("eps", o_.eps_);
  d.insert("last_epoch", last_epoch_);
  d.insert("_last_lr", doubles(last_lr_));
  return io::Value(std::move(d));
}

void ReduceLROnPlateau::load_state_dict(const io::Value& state) {
  o_.factor_ = state.at("factor").to_double();
  o_.patience_ = state.at("patience").to_int();
  o_.cooldown_ = state.at("cooldown").to_int();
  o_.mode_ = state.at("mode").to_string();
  o_.threshold_ = state.at("threshold").to_double();
  o_.threshold_mode_ = state.at("threshold_mode").to_string();
  o_.eps_ = state.at("eps").to_double();
  if (state.at("min_lrs").size() > 0) o_.min_lr_ = state.at("min_lrs").at_index(0).to_double();
  cooldown_counter_ = state.at("cooldown_counter").to_int();
  best_ = state.at("best").to_double();
  num_bad_epochs_ = state.at("num_bad_epochs").to_int();
  last_epoch_ = state.at("last_epoch").to_int();
}

}  // namespace ember::optim
