#include "io/checkpoint_manager.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include <nlohmann/json.hpp>

#include "io/file.h"
#include "io/serialize.h"
#include "io/snapshot.h"

namespace ember::io {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kIndex = "checkpoints.json";

// "ckpt-0000001200.pt" -> 1200, or -1 for other names.
int64_t step_of(const std::string& name) {
  if (name.size() != 18 || name.rfind("ckpt-", 0) != 0 || name.substr(15) != ".pt") return -1;
  std::string digits = name.substr(5, 10);
  if (digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(digits);
}

}  // namespace

CheckpointManager::CheckpointManager(std::string dir, CheckpointPolicy policy) : dir_(std::move(dir)), policy_(policy) {
  EMBER_CHECK_VALUE(policy_.keep_last_ >= 1, "CheckpointManager: keep_last must be >= 1 (the newest checkpoint is always kept), found ",
                    policy_.keep_last_);
  std::error_code ec;
  fs::create_directories(dir_, ec);
  EMBER_CHECK_VALUE(!ec && fs::is_directory(dir_), "CheckpointManager: cannot create directory ", dir_, ": ", ec.message());
  for (const auto& e : fs::directory_iterator(dir_)) {  // temp files of a save that was interrupted
    std::string name = e.path().filename().string();
    if (is_atomic_temp_name(name) && !atomic_temp_writer_alive(name)) {  // not a live writer's save in flight
      fs::remove(e.path(), ec);
      messages_.push_back("removed the temp file of an interrupted save: " + e.path().string());
    }
  }
  rebuild_index();
  if (policy_.background_)
    writer_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mutex_);
      for (;;) {
        cv_.wait(lock, [this] { return job_ || stopping_; });
        if (!job_) return;
        auto job = std::move(job_);
        job_ = nullptr;
        lock.unlock();
        std::string error;
        try {
          job();
        } catch (const std::exception& e) {
          error = e.what();
        }
        lock.lock();
        if (!error.empty()) error_ = error;
        busy_ = false;
        cv_.notify_all();
      }
    });
}

CheckpointManager::~CheckpointManager() {
  if (!writer_.joinable()) return;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return !busy_; });
    stopping_ = true;
    cv_.notify_all();
  }
  writer_.join();
  if (!error_.empty()) std::cerr << "CheckpointManager: a background save failed: " << error_ << "\n";
}

std::string CheckpointManager::path_for(int64_t step) const {
  char name[32];
  std::snprintf(name, sizeof name, "ckpt-%010lld.pt", static_cast<long long>(step));
  return dir_ + "/" + name;
}

// The index is a cache of what the files say: rebuild it from the directory, taking metrics from
// the index where it has them and from the checkpoint itself otherwise.
void CheckpointManager::rebuild_index() {
  std::map<int64_t, std::map<std::string, double>> known;
  std::ifstream in(dir_ + "/" + kIndex);
  if (in.good()) {
    try {
      json j = json::parse(in);
      for (const json& c : j.at("checkpoints")) known[c.at("step").get<int64_t>()] = c.at("metrics").get<std::map<std::string, double>>();
    } catch (const std::exception& e) {
      messages_.push_back(str("ignored an unreadable ", kIndex, " (", e.what(), "); rebuilt it from the checkpoints"));
      known.clear();
    }
  }
  index_.clear();
  for (const auto& e : fs::directory_iterator(dir_)) {
    int64_t step = step_of(e.path().filename().string());
    if (step < 0) continue;
    CheckpointInfo info{step, e.path().string(), {}};
    if (auto it = known.find(step); it != known.end()) {
      info.metrics = it->second;
    } else {
      try {  // a checkpoint committed just before a crash, not yet in the index
        Value v = load(info.path, LoadOptions().verify_crc(false));
        if (v.contains("checkpoint") && v.at("checkpoint").contains("metrics"))
          for (const auto& [k, m] : v.at("checkpoint").at("metrics").dict()) info.metrics[k.str()] = m.to_double();
      } catch (const Error&) {
        // left for latest() to verify, report and move aside
      }
    }
    index_.push_back(std::move(info));
  }
  std::sort(index_.begin(), index_.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
  index_stale_ = known.size() != index_.size() ||
                 !std::all_of(index_.begin(), index_.end(), [&](const CheckpointInfo& c) { return known.count(c.step); });
}

void CheckpointManager::finish_interrupted_commit() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!index_stale_ || index_.empty()) return;
  retain_and_write_index();
  messages_.push_back("finished the commit of an interrupted save (index rewritten, retention applied)");
}

void CheckpointManager::write_index() const {
  json list = json::array();
  for (const CheckpointInfo& c : index_)
    list.push_back({{"step", c.step}, {"file", fs::path(c.path).filename().string()}, {"metrics", c.metrics}});
  std::string text = json({{"checkpoints", list}}).dump(1) + "\n";
  AtomicFile f(dir_ + "/" + kIndex);
  f.write(text.data(), text.size());
  f.commit();
}

void CheckpointManager::commit_index_and_retain(const CheckpointInfo& added) {
  std::lock_guard<std::mutex> lock(mutex_);
  index_.erase(std::remove_if(index_.begin(), index_.end(), [&](const auto& c) { return c.step == added.step; }), index_.end());
  index_.push_back(added);
  std::sort(index_.begin(), index_.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
  retain_and_write_index();
}

void CheckpointManager::retain_and_write_index() {
  std::set<int64_t> keep;
  for (size_t i = index_.size() > static_cast<size_t>(policy_.keep_last_) ? index_.size() - policy_.keep_last_ : 0;
       i < index_.size(); ++i)
    keep.insert(index_[i].step);
  if (policy_.keep_best_ > 0) {
    std::vector<const CheckpointInfo*> scored;
    for (const auto& c : index_)
      if (c.metrics.count(policy_.best_metric_)) scored.push_back(&c);
    std::stable_sort(scored.begin(), scored.end(), [&](const auto* a, const auto* b) {
      double x = a->metrics.at(policy_.best_metric_), y = b->metrics.at(policy_.best_metric_);
      return policy_.best_is_max_ ? x > y : x < y;
    });
    for (size_t i = 0; i < scored.size() && i < static_cast<size_t>(policy_.keep_best_); ++i) keep.insert(scored[i]->step);
  }
  if (policy_.keep_every_ > 0)
    for (const auto& c : index_)
      if (c.step % policy_.keep_every_ == 0) keep.insert(c.step);
  std::vector<CheckpointInfo> kept, dropped;
  for (const auto& c : index_) (keep.count(c.step) ? kept : dropped).push_back(c);
  index_ = kept;
  write_index();  // first record what is kept, then delete: a crash in between leaves extra files only
  for (const auto& c : dropped) {
    std::error_code ec;
    fs::remove(c.path, ec);
  }
  index_stale_ = false;
}

void CheckpointManager::write(int64_t step, const Value& state, const std::map<std::string, double>& metrics) {
  // The checkpoint carries its own step and metrics, so the index can be rebuilt from the files.
  Value to_save = state;
  if (state.is_dict()) {
    Dict copy = state.dict();  // shallow: the caller's dict is not modified
    Dict meta;
    meta.insert("step", step);
    Dict m;
    for (const auto& [k, v] : metrics) m.insert(k, v);
    meta.insert("metrics", Value(std::move(m)));
    copy.insert("checkpoint", Value(std::move(meta)));
    to_save = Value(std::move(copy));
  }
  std::string path = path_for(step);
  io::save(to_save, path);
  commit_index_and_retain({step, path, metrics});
}

void CheckpointManager::save(int64_t step, const Value& state, std::map<std::string, double> metrics) {
  auto start = std::chrono::steady_clock::now();
  if (!policy_.background_) {
    write(step, state, metrics);
  } else {
    Value snap = snapshot(state);  // after this, the caller may change the weights freely
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return !busy_; });
    if (!error_.empty()) {
      std::string e = error_;
      error_.clear();
      throw Error("a background checkpoint save failed: " + e);
    }
    busy_ = true;
    job_ = [this, step, snap, metrics] { write(step, snap, metrics); };
    cv_.notify_all();
  }
  last_stall_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

void CheckpointManager::wait() {
  if (!writer_.joinable()) return;
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [this] { return !busy_; });
  if (!error_.empty()) {
    std::string e = error_;
    error_.clear();
    throw Error("a background checkpoint save failed: " + e);
  }
}

std::vector<CheckpointInfo> CheckpointManager::list() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return index_;
}

std::vector<std::string> CheckpointManager::take_messages() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::exchange(messages_, {});
}

void CheckpointManager::move_aside(const CheckpointInfo& info, const std::string& why) {
  std::error_code ec;
  fs::create_directories(dir_ + "/corrupt", ec);
  std::string target = dir_ + "/corrupt/" + fs::path(info.path).filename().string();
  fs::rename(info.path, target, ec);
  std::lock_guard<std::mutex> lock(mutex_);
  messages_.push_back(str("checkpoint ", info.path, " is corrupt (", why, "); moved it to ", target, " and fell back to an earlier one"));
  index_.erase(std::remove_if(index_.begin(), index_.end(), [&](const auto& c) { return c.step == info.step; }), index_.end());
}

std::optional<LoadedCheckpoint> CheckpointManager::first_loadable(std::vector<CheckpointInfo> candidates) {
  bool moved = false;
  for (const CheckpointInfo& c : candidates) {
    try {
      // CRC-verified, and onto the CPU: the state is copied into the live model and optimizer on
      // their devices, so a GPU run's checkpoint resumes on a machine without one (and is never
      // set aside as unreadable for want of a device).
      return LoadedCheckpoint{c, load(c.path, LoadOptions().map_location(kCPU))};
    } catch (const Error& e) {
      move_aside(c, e.what());
      moved = true;
    }
  }
  if (moved) write_index();
  return std::nullopt;
}

std::optional<LoadedCheckpoint> CheckpointManager::latest() {
  wait();
  std::vector<CheckpointInfo> by_newest = list();
  std::reverse(by_newest.begin(), by_newest.end());
  return first_loadable(by_newest);  // rewrites the index itself when it moved a file aside
}

std::optional<LoadedCheckpoint> CheckpointManager::best() {
  wait();
  std::vector<CheckpointInfo> ranked = list();
  const std::string& metric = policy_.best_metric_;
  std::stable_sort(ranked.begin(), ranked.end(), [&](const auto& a, const auto& b) {
    bool ha = a.metrics.count(metric), hb = b.metrics.count(metric);
    if (ha != hb) return ha;
    if (!ha) return a.step > b.step;
    double x = a.metrics.at(metric), y = b.metrics.at(metric);
    return policy_.best_is_max_ ? x > y : x < y;
  });
  return first_loadable(ranked);
}

}  // namespace ember::io
