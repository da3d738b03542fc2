#include "train/checkpointer.h"

#include <algorithm>
#include <filesystem>

#include "io/serialize.h"

namespace ember::train {

namespace fs = std::filesystem;

namespace {

const char* const kProtocolKeys[] = {"global_step", "epoch", "finished", "metrics_rows", "ember_version", "checkpoint",
                                     "world_size"};
constexpr const char* kEmberVersion = "0.1.0";

bool is_protocol_key(const std::string& key) {
  return std::find(std::begin(kProtocolKeys), std::end(kProtocolKeys), key) != std::end(kProtocolKeys);
}

// A loop variable as a component: saved as its value, assigned back on resume.
template <class T>
class Tracked : public io::Stateful {
 public:
  explicit Tracked(T& ref) : ref_(ref) {}
  io::Value state_dict() const override { return io::Value(ref_); }
  void load_state_dict(const io::Value& v) override {
    if constexpr (std::is_same_v<T, int64_t>) ref_ = v.to_int();
    else if constexpr (std::is_same_v<T, double>) ref_ = v.to_double();
    else if constexpr (std::is_same_v<T, bool>) ref_ = v.to_bool();
    else if constexpr (std::is_same_v<T, std::string>) ref_ = v.to_string();
    else if constexpr (std::is_same_v<T, io::List>) ref_ = v.list();
    else ref_ = v;
  }

 private:
  T& ref_;
};

io::Value generator_state(const Generator& g) {
  GeneratorState s = g.get_state();
  io::Dict d;
  d.insert("seed", static_cast<int64_t>(s.seed));
  d.insert("offset", static_cast<int64_t>(s.offset));
  return io::Value(std::move(d));
}

GeneratorState parse_generator_state(const io::Value& v, const std::string& where) {
  EMBER_CHECK_VALUE(v.is_dict() && v.contains("seed") && v.contains("offset") && v.at("seed").is_int() && v.at("offset").is_int(),
                    where, ": expected a generator state {'seed': int, 'offset': int}, found ", io::summary(v).substr(0, 120));
  return {static_cast<uint64_t>(v.at("seed").to_int()), static_cast<uint64_t>(v.at("offset").to_int())};
}

// A distributed run's generators keep their seeds (each rank's own) and take the offset.
GeneratorState restored(const Generator& g, GeneratorState saved, bool keep_seed) {
  if (keep_seed) saved.seed = g.get_state().seed;
  return saved;
}

class GeneratorComponent : public io::Stateful {
 public:
  explicit GeneratorComponent(Generator& g) : g_(g) {}
  io::Value state_dict() const override { return generator_state(g_); }
  void load_state_dict(const io::Value& v) override { g_.set_state(restored(g_, parse_generator_state(v, "generator"), keep_seed)); }
  bool keep_seed = false;

 private:
  Generator& g_;
};

// Where a checkpoint's value differs from the one this run declared: the dotted path and both
// sides as Python prints them ("(unset)" for a missing key). Empty path: they match.
struct Difference {
  std::string path, expected = "(unset)", found = "(unset)";
};

Difference first_difference(const io::Value& expected, const io::Value& found, const std::string& path) {
  if (expected.is_dict() && found.is_dict()) {
    auto key_path = [&](const io::Key& k) { return path + "." + (k.is_string() ? k.str() : std::to_string(k.to_int())); };
    for (const auto& [k, v] : expected.dict()) {
      if (!found.dict().contains(k)) return {key_path(k), io::summary(v)};
      Difference d = first_difference(v, found.dict().at(k), key_path(k));
      if (!d.path.empty()) return d;
    }
    for (const auto& [k, v] : found.dict())
      if (!expected.dict().contains(k)) return {key_path(k), "(unset)", io::summary(v)};
    return {""};
  }
  std::string a = io::summary(expected), b = io::summary(found);
  return a == b ? Difference{""} : Difference{path, a, b};
}

}  // namespace

Checkpointer::Checkpointer(std::string run_dir, CheckpointerOptions options)
    : run_dir_(std::move(run_dir)),
      options_(std::move(options)),
      group_(options_.group_ ? options_.group_ : dist::world_or_null()),
      metrics_(rank() == 0 ? run_dir_ + "/metrics.jsonl" : "") {
  std::string error;
  if (rank() == 0) {  // the writer: lock, clean, finish what a killed save left
    try {
      lock_ = std::make_unique<RunLock>(run_dir_);
      if (!options_.resume_)
        for (const auto& e : fs::directory_iterator(run_dir_)) {
          std::string name = e.path().filename().string();
          if (name.rfind("ckpt-", 0) == 0 || name == "checkpoints.json" || name == "metrics.jsonl" || name == "corrupt")
            fs::remove_all(e.path());
        }
      if (distributed()) options_.policy.background(false);  // save() must know the commit happened
      manager_ = std::make_unique<io::CheckpointManager>(run_dir_, options_.policy);
      manager_->finish_interrupted_commit();  // we hold the lock: we are the directory's writer
    } catch (const std::exception& e) {
      if (!distributed()) throw;
      error = e.what();
    }
  }
  if (distributed()) group_->agree(error, "Checkpointer on " + run_dir_);
}

Checkpointer::~Checkpointer() = default;

io::CheckpointManager& Checkpointer::manager() {
  EMBER_CHECK(manager_, "Checkpointer::manager(): rank ", rank(), " does not write checkpoints; rank 0 does");
  return *manager_;
}

bool Checkpointer::registered(const std::string& name) const {
  return std::any_of(components_.begin(), components_.end(), [&](const auto& c) { return c.first == name; }) ||
         std::any_of(must_match_.begin(), must_match_.end(), [&](const auto& m) { return m.first == name; });
}

void Checkpointer::check_new_name(const std::string& name) const {
  EMBER_CHECK_VALUE(!name.empty() && !is_protocol_key(name), "Checkpointer: '", name,
                    "' cannot name a component or value (empty, or one of the protocol's own keys)");
  EMBER_CHECK_VALUE(!registered(name), "Checkpointer: '", name, "' is registered twice");
}

Checkpointer& Checkpointer::add(const std::string& name, io::Stateful& component) {
  check_new_name(name);
  components_.emplace_back(name, &component);
  return *this;
}

Checkpointer& Checkpointer::add_owned(const std::string& name, std::unique_ptr<io::Stateful> component) {
  add(name, *component);
  owned_.push_back(std::move(component));
  return *this;
}

Checkpointer& Checkpointer::add(const std::string& name, Generator& g) { return add_owned(name, std::make_unique<GeneratorComponent>(g)); }
Checkpointer& Checkpointer::track(const std::string& name, int64_t& v) { return add_owned(name, std::make_unique<Tracked<int64_t>>(v)); }
Checkpointer& Checkpointer::track(const std::string& name, double& v) { return add_owned(name, std::make_unique<Tracked<double>>(v)); }
Checkpointer& Checkpointer::track(const std::string& name, bool& v) { return add_owned(name, std::make_unique<Tracked<bool>>(v)); }
Checkpointer& Checkpointer::track(const std::string& name, std::string& v) {
  return add_owned(name, std::make_unique<Tracked<std::string>>(v));
}
Checkpointer& Checkpointer::track(const std::string& name, io::Value& v) { return add_owned(name, std::make_unique<Tracked<io::Value>>(v)); }
Checkpointer& Checkpointer::track(const std::string& name, io::List& v) { return add_owned(name, std::make_unique<Tracked<io::List>>(v)); }

Checkpointer& Checkpointer::must_match(const std::string& name, io::Value expected) {
  check_new_name(name);
  must_match_.emplace_back(name, std::move(expected));
  return *this;
}

io::Value Checkpointer::gather(const Position& at) const {
  io::Dict d;
  for (const auto& [name, c] : components_) d.insert(name, c->state_dict());
  for (const auto& [name, v] : must_match_) d.insert(name, v);
  d.insert("global_step", at.step);
  d.insert("epoch", at.epoch);
  d.insert("finished", at.finished);
  d.insert("metrics_rows", metrics_.rows());
  d.insert("ember_version", kEmberVersion);
  d.insert("world_size", static_cast<int64_t>(group_ ? group_->size() : 1));
  return io::Value(std::move(d));
}

void Checkpointer::check_compatible(const io::Value& state, const std::string& path) const {
  const char* advice = "; register the same components as the run that wrote it, use another run directory, or start over";
  EMBER_CHECK_VALUE(state.is_dict(), "cannot resume from ", path, ": expected a dict of components, found ", state.type_name());
  std::vector<std::string> missing, unexpected;
  for (const auto& [name, c] : components_)
    if (!state.contains(name)) missing.push_back("'" + name + "'");
  for (const auto& [name, v] : must_match_)
    if (!state.contains(name)) missing.push_back("'" + name + "'");
  for (const char* key : {"global_step", "epoch", "finished", "metrics_rows"})
    if (!state.contains(key)) missing.push_back(str("'", key, "'"));
  for (const auto& [k, v] : state.dict()) {
    std::string key = k.is_string() ? k.str() : std::to_string(k.to_int());
    if (!is_protocol_key(key) && !registered(key)) unexpected.push_back("'" + key + "'");
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  EMBER_CHECK_VALUE(missing.empty() && unexpected.empty(), "cannot resume from ", path, ":",
                    missing.empty() ? "" : " it has no " + join(missing) + " (registered with this Checkpointer)",
                    missing.empty() || unexpected.empty() ? "" : ";",
                    unexpected.empty() ? "" : " it holds " + join(unexpected) + ", not registered with this Checkpointer", advice);
  for (const auto& [name, expected] : must_match_) {
    Difference d = first_difference(expected, state.at(name), name);
    EMBER_CHECK_VALUE(d.path.empty(), "cannot resume from ", path, ": it was written with ", d.path, " = ", d.found,
                      ", this run has ", d.expected, "; use the same settings, another run directory, or start over");
  }
}

void Checkpointer::restore(const io::Value& state, const std::string& path) {
  check_compatible(state, path);
  for (const auto& [name, c] : components_) {
    if (auto* g = dynamic_cast<GeneratorComponent*>(c)) g->keep_seed = distributed();
    if (auto* g = dynamic_cast<Generators*>(c)) g->keep_seeds = distributed();
    try {
      c->load_state_dict(state.at(name));
    } catch (const ValueError& e) {
      throw ValueError(str("cannot resume from ", path, ": '", name, "': ", e.what()));
    }
  }
  metrics_.load_state_dict(state.at("metrics_rows"));
}

Position Checkpointer::resume() {
  std::optional<io::LoadedCheckpoint> latest;
  std::string error;
  try {
    if (manager_) latest = manager_->latest();  // rank 0 chooses (and moves corrupt files aside)
  } catch (const std::exception& e) {
    if (!distributed()) throw;
    error = e.what();
  }
  std::string path = latest ? latest->info.path : "";
  if (distributed()) {
    group_->agree(error, "resume from " + run_dir_);
    path = group_->broadcast_string(path, 0);
  }
  if (path.empty()) {
    metrics_.truncate(0);  // rows of a run that never committed a checkpoint
    if (distributed()) group_->barrier();
    return {};
  }
  io::Value loaded;
  if (!latest) {  // another rank: read the file rank 0 chose (verified like any load)
    try {
      loaded = io::load(path, io::LoadOptions().map_location(kCPU));  // as CheckpointManager loads
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  const io::Value& state = latest ? latest->state : loaded;
  if (!distributed()) {
    restore(state, path);
  } else {
    if (error.empty()) try {
        restore(state, path);
      } catch (const std::exception& e) {
        error = e.what();
      }
    group_->agree(error, "resume from " + path);  // every rank resumed, or every rank throws
  }
  Position at;
  at.step = state.at("global_step").to_int();
  at.epoch = state.at("epoch").to_int();
  at.finished = state.at("finished").to_bool();
  at.path = path;
  return at;
}

void Checkpointer::save(const Position& at, std::map<std::string, double> metrics) {
  if (!distributed()) {
    metrics_.sync();
    manager_->save(at.step, gather(at), std::move(metrics));
    return;
  }
  std::string error;
  if (manager_) try {
      metrics_.sync();
      manager_->save(at.step, gather(at), std::move(metrics));
      manager_->wait();
    } catch (const std::exception& e) {
      error = e.what();
    }
  group_->agree(error, str("the checkpoint of step ", at.step));  // no rank goes on past a failed commit
}

void Checkpointer::wait() {
  if (manager_) manager_->wait();
}

bool Checkpointer::done(const Position& at) const {
  return at.finished || at_step_limit(at) || (options_.max_epochs_ > 0 && at.epoch >= options_.max_epochs_);
}

Generators& Generators::add(const std::string& name, Generator& generator) {
  generators_.emplace_back(name, &generator);
  return *this;
}

io::Value Generators::state_dict() const {
  io::Dict d;
  for (const auto& [name, g] : generators_) d.insert(name, generator_state(*g));
  return io::Value(std::move(d));
}

void Generators::load_state_dict(const io::Value& state) {
  EMBER_CHECK_VALUE(state.is_dict(), "generators: expected a dict of generator states, found ", state.type_name());
  std::vector<GeneratorState> parsed;  // all checked before any is set
  for (const auto& [name, g] : generators_) {
    EMBER_CHECK_VALUE(state.contains(name), "generators: the state has no generator '", name, "'");
    parsed.push_back(parse_generator_state(state.at(name), "generator '" + name + "'"));
  }
  for (size_t i = 0; i < generators_.size(); ++i)
    generators_[i].second->set_state(restored(*generators_[i].second, parsed[i], keep_seeds));
}

}  // namespace ember::train
