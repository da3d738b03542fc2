// ProcessGroup: the collectives data parallelism needs, over an existing engine (Gloo on CPUs).
//
//   dist::ProcessGroup& world = dist::init_process_group();   // from RANK, WORLD_SIZE, EMBER_STORE
//   world.allreduce(grad, dist::ReduceOp::average);
//
// Contract, for every collective: every rank calls the same collectives in the same order with
// tensors of the same shape and dtype (contiguous, float32/float64/int64/uint8; on the CPU for
// Gloo, on the rank's GPU or the CPU for NCCL). The
// result is bitwise identical on every rank. Each call is bounded by timeout(): a peer that died
// or hangs gives a dist::PeerError naming the operation, its sequence number and the peer's rank
// (see peer_status.h for how the peer is named) — never a silent hang.
//
// A group of size 1 needs no engine: init_process_group() without WORLD_SIZE (or with 1) returns
// one, so a program written for N processes runs unchanged as one.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/error.h"
#include "core/tensor.h"
#include "dist/comm_queue.h"

namespace ember::dist {

enum class ReduceOp { sum, average, max };

// A collective failed because of a peer: dead, hung, or never joined.
class PeerError : public Error {
 public:
  using Error::Error;
};

// Who this process is and where the others meet, as a launcher (torchrun, ember launch) sets it.
struct Rendezvous {
  int rank = 0;               // RANK
  int world_size = 1;         // WORLD_SIZE
  int local_rank = 0;         // LOCAL_RANK
  std::string store;          // EMBER_STORE: a directory every rank can reach (a shared filesystem)
  std::string host = "127.0.0.1";  // EMBER_DIST_HOST: the address this rank listens on
  std::chrono::milliseconds timeout{120000};  // EMBER_DIST_TIMEOUT (seconds), per collective
  std::string backend = "gloo";  // EMBER_DIST_BACKEND: "gloo" (CPU tensors) or "nccl" (CUDA tensors)
  // Reads the variables above; throws naming the variable when one is malformed or missing.
  static Rendezvous from_environment();
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;  // "gloo", "nccl", "local"
  std::chrono::milliseconds timeout() const { return timeout_; }
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }

  // In place: every rank ends with the reduction of all ranks' `tensor`.
  virtual void allreduce(Tensor& tensor, ReduceOp op = ReduceOp::sum) = 0;
  // In place: every rank ends with `root`'s `tensor`.
  virtual void broadcast(Tensor& tensor, int root = 0) = 0;
  // Every rank's `tensor` stacked along a new first dim: [size(), ...tensor's shape].
  virtual Tensor allgather(const Tensor& tensor) = 0;
  virtual void barrier() = 0;

  // Conveniences built on the above.
  std::string broadcast_string(const std::string& text, int root = 0);
  // Agrees on success: throws on every rank, with the failing ranks' messages, if any rank passes
  // a non-empty `error`. The way to fail together instead of leaving the others waiting.
  void agree(const std::string& error, const std::string& what);

  // The group's ordered queue (comm_queue.h): collectives issued from more than one thread —
  // DistributedDataParallel's buckets and SyncBatchNorm's statistics during one backward — go
  // through it to reach the group in the same order on every rank. Whoever queues work waits for
  // it before the group is destroyed.
  CommQueue& queue() { return *queue_; }

 protected:
  std::chrono::milliseconds timeout_{120000};
  std::unique_ptr<CommQueue> queue_ = std::make_unique<CommQueue>();
  // Throws unless `t` is something a collective can carry.
  static void check_tensor(const Tensor& t, const char* op);
};

// A group of one: every collective is the identity (allgather adds the leading dim).
class LocalProcessGroup : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }
  void allreduce(Tensor& tensor, ReduceOp op = ReduceOp::sum) override { check_tensor(tensor, "allreduce"); }
  void broadcast(Tensor& tensor, int root = 0) override;
  Tensor allgather(const Tensor& tensor) override;
  void barrier() override {}
};

// True when ember was built with Gloo (libgloo-dev found by CMake).
bool gloo_available();
// A Gloo group over TCP, rendezvous through a FileStore in `r.store`. Throws if built without Gloo.
std::unique_ptr<ProcessGroup> make_gloo_group(const Rendezvous& r);

// True when ember was built with NCCL (the CUDA backend and nccl.h), libnccl.so.2 loads and a GPU
// is present; nccl_unavailable_reason() says which is missing ("" when available).
bool nccl_available();
std::string nccl_unavailable_reason();
// An NCCL group over the GPUs: rank R works on cuda:LOCAL_RANK, collectives run on that device's
// stream (CPU tensors are staged through it), rank 0's unique id travels through `r.store`. Any
// world size, 1 included (one GPU). Throws, saying why, when NCCL is unavailable.
std::unique_ptr<ProcessGroup> make_nccl_group(const Rendezvous& r);

// The process-wide group, as torch.distributed's default group: created from the environment
// (backend "nccl": an NCCL group; "gloo": a LocalProcessGroup when WORLD_SIZE is unset or 1, else
// Gloo). Calling it again returns the same group.
ProcessGroup& init_process_group();
ProcessGroup& init_process_group(const Rendezvous& r);
bool is_initialized();
// The process-wide group; throws if init_process_group() was not called.
ProcessGroup& world();
// The group, or nullptr when none was initialized (library code that works with or without one).
ProcessGroup* world_or_null();
void destroy_process_group();

// The seed of `rank`'s generators: `seed` itself on rank 0 (a one-process run is unchanged), a
// well-mixed function of (seed, rank) elsewhere, so that dropout masks differ between replicas
// and nothing per rank needs saving.
uint64_t rank_seed(uint64_t seed, int rank);

}  // namespace ember::dist
