// PeerStatus: how a rank names the peer that broke a collective.
//
// Gloo reports a dead peer as "connection closed by [127.0.0.1]:41234" and a hung one as a
// timeout; neither says which rank. So each rank keeps a heartbeat file STORE/status/rank-R holding
//   pid host world_size seq op
// rewritten (atomically) four times a second by a background thread: `seq` counts the collectives
// this rank has entered, `op` names the current one. When a collective fails, diagnose() reads the
// peers' files and names each culprit: a rank that never joined, one whose process has exited
// (same host: kill(pid, 0)), one whose heartbeat stopped (hung machine), or one still in an
// earlier collective (hung or slow in its own code). A rank whose collective failed marks itself
// "failed", so that ranks failing in turn blame the first culprit, not each other. The files also
// let join() check, before any
// socket is opened, that every rank was started with the same WORLD_SIZE and that no RANK is
// taken twice.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace ember::dist {

class PeerStatus {
 public:
  // Claims STORE/status/rank-R (throws if a live process holds it) and starts the heartbeat.
  PeerStatus(std::string store, int rank, int world_size);
  ~PeerStatus();
  PeerStatus(const PeerStatus&) = delete;
  PeerStatus& operator=(const PeerStatus&) = delete;

  // Waits until every rank's file exists and agrees on the world size; throws naming the ranks
  // that did not join within `timeout`, or the first that disagrees.
  void join(std::chrono::milliseconds timeout) const;
  // Records that this rank enters collective number `seq`, named `op` (a string literal).
  void enter(uint64_t seq, const char* op);
  // One line naming the peers that explain a failure of collective `seq` (`op`); empty if none
  // stands out (then the engine's own message is all there is). Waits two heartbeats first, so
  // that live peers' files are current. Peers that failed themselves are not blamed.
  std::string diagnose(uint64_t seq, const char* op) const;
  // Writes "failed" as this rank's current op, at once.
  void mark_failed();

 private:
  struct Peer {
    bool present = false;
    long pid = 0;
    std::string host;
    int world_size = 0;
    uint64_t seq = 0;
    std::string op;
    double age_s = 0;  // seconds since its last heartbeat
  };
  Peer read(int rank) const;
  std::string path(int rank) const;
  void write() const;
  void beat();

  std::string dir_;
  int rank_, world_size_;
  std::string host_;
  std::atomic<uint64_t> seq_{0};
  std::atomic<const char*> op_{"init"};
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread heartbeat_;
};

}  // namespace ember::dist
