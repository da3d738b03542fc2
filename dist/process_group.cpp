#include "dist/process_group.h"

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/ops/factories.h"
#include "core/ops/join.h"

namespace ember::dist {

namespace {

int int_from_env(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  EMBER_CHECK_VALUE(*end == 0 && x >= 0 && x < (1 << 20), "dist: environment variable ", name,
                    " must be a non-negative integer, found '", v, "'");
  return static_cast<int>(x);
}

std::mutex world_mutex;
std::unique_ptr<ProcessGroup> world_group;

}  // namespace

Rendezvous Rendezvous::from_environment() {
  Rendezvous r;
  r.world_size = int_from_env("WORLD_SIZE", 1);
  r.rank = int_from_env("RANK", 0);
  r.local_rank = int_from_env("LOCAL_RANK", r.rank);
  EMBER_CHECK_VALUE(r.world_size >= 1, "dist: WORLD_SIZE must be at least 1, found ", r.world_size);
  EMBER_CHECK_VALUE(r.rank < r.world_size, "dist: RANK must be below WORLD_SIZE (", r.world_size, "), found ", r.rank);
  if (const char* s = std::getenv("EMBER_STORE")) r.store = s;
  if (const char* h = std::getenv("EMBER_DIST_HOST"); h && *h) r.host = h;
  r.timeout = std::chrono::milliseconds(1000LL * int_from_env("EMBER_DIST_TIMEOUT", 120));
  if (const char* b = std::getenv("EMBER_DIST_BACKEND"); b && *b) r.backend = b;
  EMBER_CHECK_VALUE(r.backend == "gloo" || r.backend == "nccl", "dist: EMBER_DIST_BACKEND must be gloo or nccl, found '",
                    r.backend, "'");
  EMBER_CHECK_VALUE(r.world_size == 1 || !r.store.empty(), "dist: WORLD_SIZE is ", r.world_size,
                    " but EMBER_STORE (the rendezvous directory every rank can reach) is not set; "
                    "start the processes with `ember launch -n N -- PROGRAM`, or set it");
  return r;
}

void ProcessGroup::check_tensor(const Tensor& t, const char* op) {
  EMBER_CHECK_VALUE(t.defined(), "dist::", op, ": the tensor is undefined");
  EMBER_CHECK_VALUE(t.device().is_cpu(), "dist::", op, ": expected a CPU tensor for this group, found one on ", t.device());
  EMBER_CHECK_VALUE(t.is_contiguous(), "dist::", op, ": expected a contiguous tensor (call contiguous()), found strides ",
                    t.strides(), " for shape ", t.sizes());
  DType d = t.dtype();
  EMBER_CHECK_VALUE(d == kFloat32 || d == kFloat64 || d == kInt64 || d == kUInt8, "dist::", op,
                    ": expected float32, float64, int64 or uint8, found ", d);
}

std::string ProcessGroup::broadcast_string(const std::string& text, int root) {
  Tensor n = tensor(std::vector<int64_t>{static_cast<int64_t>(text.size())});
  broadcast(n, root);
  Tensor bytes = zeros({n.item<int64_t>()}, kUInt8);
  if (rank() == root && !text.empty()) std::memcpy(bytes.data(), text.data(), text.size());  // an empty tensor's data may be null
  broadcast(bytes, root);
  return std::string(static_cast<const char*>(bytes.data()), static_cast<size_t>(bytes.numel()));
}

void ProcessGroup::agree(const std::string& error, const std::string& what) {
  Tensor failed = tensor(std::vector<int64_t>{error.empty() ? 0 : 1});
  Tensor all = allgather(failed);
  std::string message;
  for (int r = 0; r < size(); ++r) {
    if (all[r].item<int64_t>() == 0) continue;
    std::string e = broadcast_string(error, r);  // every rank takes part in each broadcast
    message += str(message.empty() ? "" : "; ", "rank ", r, ": ", e);
  }
  if (!message.empty()) throw Error(str(what, " failed: ", message));
}

void LocalProcessGroup::broadcast(Tensor& tensor, int root) {
  check_tensor(tensor, "broadcast");
  EMBER_CHECK_VALUE(root == 0, "dist::broadcast: root ", root, " is not a rank of a group of size 1");
}

Tensor LocalProcessGroup::allgather(const Tensor& tensor) {
  check_tensor(tensor, "allgather");
  return tensor.clone().unsqueeze(0);
}

#ifndef EMBER_HAVE_NCCL
bool nccl_available() { return false; }
std::string nccl_unavailable_reason() {
  return "this ember was built without NCCL (it needs the CUDA backend and nccl.h from the CUDA toolkit)";
}
std::unique_ptr<ProcessGroup> make_nccl_group(const Rendezvous&) {
  throw Error(str("dist: the nccl backend is unavailable: ", nccl_unavailable_reason()));
}
#endif

#ifndef EMBER_HAVE_GLOO
bool gloo_available() { return false; }
std::unique_ptr<ProcessGroup> make_gloo_group(const Rendezvous& r) {
  throw Error(str("dist: WORLD_SIZE is ", r.world_size, " but this ember was built without Gloo; install libgloo-dev "
                  "(scripts/setup does) and rebuild"));
}
#endif

ProcessGroup& init_process_group() { return init_process_group(Rendezvous::from_environment()); }

ProcessGroup& init_process_group(const Rendezvous& r) {
  std::lock_guard<std::mutex> lock(world_mutex);
  if (world_group) return *world_group;
  if (r.backend == "nccl")
    world_group = make_nccl_group(r);
  else if (r.world_size == 1)
    world_group = std::make_unique<LocalProcessGroup>();
  else
    world_group = make_gloo_group(r);
  world_group->set_timeout(r.timeout);
  return *world_group;
}

bool is_initialized() {
  std::lock_guard<std::mutex> lock(world_mutex);
  return world_group != nullptr;
}

ProcessGroup& world() {
  std::lock_guard<std::mutex> lock(world_mutex);
  EMBER_CHECK(world_group, "dist::world(): no process group; call dist::init_process_group() first");
  return *world_group;
}

ProcessGroup* world_or_null() {
  std::lock_guard<std::mutex> lock(world_mutex);
  return world_group.get();
}

void destroy_process_group() {
  std::lock_guard<std::mutex> lock(world_mutex);
  world_group.reset();
}

uint64_t rank_seed(uint64_t seed, int rank) {
  if (rank == 0) return seed;
  uint64_t z = seed + static_cast<uint64_t>(rank) * 0x9E3779B97F4A7C15ULL;  // splitmix64's finalizer
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace ember::dist
