#include "dist/peer_status.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "dist/process_group.h"

namespace fs = std::filesystem;

namespace ember::dist {

namespace {

constexpr auto kBeat = std::chrono::milliseconds(250);
constexpr double kStaleAfterS = 5.0;  // twenty missed beats: the process or its machine is stuck

std::string this_host() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return host;
}

}  // namespace

PeerStatus::PeerStatus(std::string store, int rank, int world_size)
    : dir_(std::move(store) + "/status"), rank_(rank), world_size_(world_size), host_(this_host()) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  EMBER_CHECK(!ec, "dist: cannot create the rendezvous directory ", dir_, ": ", ec.message());
  Peer old = read(rank_);
  if (old.present && old.pid != ::getpid() && old.host == host_ && ::kill(static_cast<pid_t>(old.pid), 0) == 0)
    throw Error(str("dist: RANK ", rank_, " is already taken by process ", old.pid, " on ", old.host, " (", path(rank_),
                    "); every process needs its own RANK, or use a fresh EMBER_STORE directory"));
  write();
  heartbeat_ = std::thread([this] { beat(); });
}

PeerStatus::~PeerStatus() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  heartbeat_.join();
}

std::string PeerStatus::path(int rank) const { return dir_ + "/rank-" + std::to_string(rank); }

void PeerStatus::write() const {
  // Rename over the old file: a reader sees the previous line or this one, never half of one.
  // No fsync: the heartbeat matters only while the processes run.
  std::string tmp = path(rank_) + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << ::getpid() << ' ' << host_ << ' ' << world_size_ << ' ' << seq_.load() << ' ' << op_.load() << '\n';
  }
  std::rename(tmp.c_str(), path(rank_).c_str());
}

void PeerStatus::beat() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_cv_.wait_for(lock, kBeat, [this] { return stop_; })) write();
}

void PeerStatus::enter(uint64_t seq, const char* op) {
  seq_ = seq;
  op_ = op;
}

PeerStatus::Peer PeerStatus::read(int rank) const {
  Peer p;
  std::ifstream in(path(rank));
  if (!(in >> p.pid >> p.host >> p.world_size >> p.seq >> p.op)) return p;
  p.present = true;
  std::error_code ec;
  auto written = fs::last_write_time(path(rank), ec);
  if (!ec) p.age_s = std::chrono::duration<double>(fs::file_time_type::clock::now() - written).count();
  return p;
}

void PeerStatus::join(std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::vector<int> missing;
    for (int r = 0; r < world_size_; ++r) {
      Peer p = read(r);
      if (!p.present) {
        missing.push_back(r);
        continue;
      }
      if (p.world_size != world_size_)
        throw Error(str("dist: rank ", r, " (process ", p.pid, " on ", p.host, ") was started with WORLD_SIZE=", p.world_size,
                        ", this rank (", rank_, ") with WORLD_SIZE=", world_size_, "; every process needs the same WORLD_SIZE"));
    }
    for (const auto& e : fs::directory_iterator(dir_)) {  // a rank beyond the world: a bigger job's
      std::string name = e.path().filename().string();
      if (name.rfind("rank-", 0) != 0 || name.find('.') != std::string::npos) continue;
      int r = std::atoi(name.c_str() + 5);
      Peer p = read(r);
      if (r >= world_size_ && p.present && p.world_size != world_size_)
        throw Error(str("dist: rank ", r, " (process ", p.pid, ") was started with WORLD_SIZE=", p.world_size,
                        ", this rank (", rank_, ") with WORLD_SIZE=", world_size_, "; every process needs the same WORLD_SIZE"));
    }
    if (missing.empty()) return;
    if (std::chrono::steady_clock::now() > deadline) {
      std::ostringstream ranks;
      for (size_t i = 0; i < missing.size(); ++i) ranks << (i ? ", " : "") << missing[i];
      throw PeerError(str("dist: rank", missing.size() > 1 ? "s " : " ", ranks.str(), " of ", world_size_, " did not join within ",
                          timeout.count() / 1000.0, " s (no status file in ", dir_, "); were all ", world_size_,
                          " processes started with the same EMBER_STORE?"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void PeerStatus::mark_failed() {
  op_ = "failed";
  std::lock_guard<std::mutex> lock(mutex_);  // not concurrently with a heartbeat
  write();
}

std::string PeerStatus::diagnose(uint64_t seq, const char* op) const {
  std::this_thread::sleep_for(2 * kBeat);
  std::ostringstream out;
  auto add = [&](const std::string& s) { out << (out.tellp() > 0 ? "; " : "") << s; };
  for (int r = 0; r < world_size_; ++r) {
    if (r == rank_) continue;
    Peer p = read(r);
    std::string who = str("rank ", r, " (process ", p.pid, " on ", p.host, ")");
    if (p.op == "failed") continue;  // it failed too: a victim, not the cause
    if (!p.present)
      add(str("rank ", r, " never joined"));
    else if (p.host == host_ && ::kill(static_cast<pid_t>(p.pid), 0) != 0 && errno == ESRCH)
      add(who + " has exited");
    else if (p.age_s > kStaleAfterS)
      add(str(who, " stopped answering ", static_cast<int>(p.age_s), " s ago"));
    else if (p.seq < seq)
      add(str(who, " has not reached it: it is still in collective #", p.seq, " (", p.op, ")"));
  }
  return out.str();
}

}  // namespace ember::dist
