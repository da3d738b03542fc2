// The NCCL process group: one communicator per process over the GPUs, rank R on cuda:LOCAL_RANK.
// Built with the CUDA backend when nccl.h is found (EMBER_HAVE_NCCL). libnccl.so.2 is opened at
// run time, not linked, so the library still loads where NCCL or a GPU is missing and the group
// then says why it cannot start.
//
// Each collective is queued on the device's stream (ember's kernels run there too, so it is
// ordered after the work that produced its tensor), followed by an event the calling thread polls:
// the call returns when the result is ready, or, past the timeout, aborts the communicator and
// throws a PeerError naming the peer the heartbeat files blame (peer_status.h), as Gloo does.
#include <dlfcn.h>
#include <nccl.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/backend/cuda/context.h"
#include "core/backend/cuda/cuda.h"
#include "core/ops/factories.h"
#include "dist/peer_status.h"
#include "dist/process_group.h"
#include "dist/store_file.h"

namespace ember::dist {

namespace {

// The entry points ember calls, looked up once.
struct NcclLibrary {
  decltype(&ncclGetUniqueId) get_unique_id = nullptr;
  decltype(&ncclCommInitRank) comm_init_rank = nullptr;
  decltype(&ncclCommDestroy) comm_destroy = nullptr;
  decltype(&ncclCommAbort) comm_abort = nullptr;
  decltype(&ncclCommGetAsyncError) comm_get_async_error = nullptr;
  decltype(&ncclAllReduce) all_reduce = nullptr;
  decltype(&ncclBroadcast) broadcast = nullptr;
  decltype(&ncclAllGather) all_gather = nullptr;
  decltype(&ncclGetErrorString) error_string = nullptr;
  std::string error;  // why it could not be loaded; empty when loaded

  static const NcclLibrary& get() {
    static const NcclLibrary library = load();
    return library;
  }

 private:
  static NcclLibrary load() {
    NcclLibrary l;
    void* handle = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = dlerror();
      l.error = str("cannot load libnccl.so.2 (", why ? why : "not found", ")");
      return l;
    }
    auto find = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(handle, name));
      if (!fn && l.error.empty()) l.error = str("libnccl.so.2 lacks ", name);
    };
    find(l.get_unique_id, "ncclGetUniqueId");
    find(l.comm_init_rank, "ncclCommInitRank");
    find(l.comm_destroy, "ncclCommDestroy");
    find(l.comm_abort, "ncclCommAbort");
    find(l.comm_get_async_error, "ncclCommGetAsyncError");
    find(l.all_reduce, "ncclAllReduce");
    find(l.broadcast, "ncclBroadcast");
    find(l.all_gather, "ncclAllGather");
    find(l.error_string, "ncclGetErrorString");
    return l;
  }
};

ncclDataType_t nccl_dtype(DType d) {
  switch (d) {
    case kFloat32: return ncclFloat32;
    case kFloat64: return ncclFloat64;
    case kInt64: return ncclInt64;
    default: return ncclUint8;
  }
}

class NcclProcessGroup : public ProcessGroup {
 public:
  explicit NcclProcessGroup(const Rendezvous& r) : rendezvous_(r), nccl_(NcclLibrary::get()) {
    EMBER_CHECK_VALUE(nccl_available(), "dist: the nccl backend is unavailable: ", nccl_unavailable_reason());
    EMBER_CHECK_VALUE(r.local_rank < cuda::device_count(), "dist: rank ", r.rank, " has LOCAL_RANK ", r.local_rank,
                      " but this machine has ", cuda::device_count(), " GPU(s); start at most that many processes per machine");
    device_ = Device(DeviceType::CUDA, r.local_rank);
    timeout_ = r.timeout;
    if (r.world_size > 1 || !r.store.empty()) {
      status_ = std::make_unique<PeerStatus>(r.store, r.rank, r.world_size);
      status_->join(r.timeout);
    }
    ncclUniqueId id;
    const std::string id_path = r.store + "/nccl/unique-id";
    if (r.rank == 0) {
      check(nccl_.get_unique_id(&id), "ncclGetUniqueId");
      if (r.world_size > 1) publish(id_path, std::string(id.internal, sizeof(id.internal)));
    } else {
      std::string bytes = await(id_path, sizeof(id.internal), r.timeout, "NCCL's unique id from rank 0");
      std::copy(bytes.begin(), bytes.end(), id.internal);
    }
    cuda::context(device_.index);  // makes the device current for ncclCommInitRank
    check(nccl_.comm_init_rank(&comm_, r.world_size, id, r.rank), "ncclCommInitRank");
    EMBER_CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
  }

  ~NcclProcessGroup() override {
    if (comm_) nccl_.comm_destroy(comm_);
    if (done_) cudaEventDestroy(done_);
  }

  int rank() const override { return rendezvous_.rank; }
  int size() const override { return rendezvous_.world_size; }
  std::string backend() const override { return "nccl"; }

  void allreduce(Tensor& t, ReduceOp op) override {
    Tensor d = on_device(t, "allreduce");
    run("allreduce", [&](cudaStream_t stream) {
      return nccl_.all_reduce(d.data(), d.data(), d.numel(), nccl_dtype(d.dtype()), op == ReduceOp::max ? ncclMax : ncclSum,
                              comm_, stream);
    });
    if (op == ReduceOp::average) d.div_(static_cast<double>(size()));  // as Gloo: sum, then divide
    if (!d.is_same(t)) t.copy_(d.to(t.device()));
  }

  void broadcast(Tensor& t, int root) override {
    EMBER_CHECK_VALUE(root >= 0 && root < size(), "dist::broadcast: root ", root, " is not a rank of a group of size ", size());
    Tensor d = on_device(t, "broadcast");
    run("broadcast", [&](cudaStream_t stream) {
      return nccl_.broadcast(d.data(), d.data(), d.nbytes(), ncclUint8, root, comm_, stream);
    });
    if (!d.is_same(t)) t.copy_(d.to(t.device()));
  }

  Tensor allgather(const Tensor& t) override {
    Tensor d = on_device(t, "allgather");
    Shape shape = t.sizes();
    shape.insert(shape.begin(), size());
    Tensor out = zeros(shape, TensorOptions(t.dtype()).device(device_));
    run("allgather", [&](cudaStream_t stream) {
      return nccl_.all_gather(d.data(), out.data(), d.nbytes(), ncclUint8, comm_, stream);
    });
    return t.device().is_cpu() ? out.to(kCPU) : out;
  }

  void barrier() override {
    Tensor one = zeros({1}, TensorOptions(kFloat32).device(device_));
    allreduce(one, ReduceOp::sum);
  }

 private:
  // The tensor on this rank's GPU: itself, or a staged copy of a CPU tensor (the conveniences
  // broadcast_string and agree, and small CPU-side values, go through the GPU this way).
  Tensor on_device(const Tensor& t, const char* op) const {
    EMBER_CHECK_VALUE(t.defined(), "dist::", op, ": the tensor is undefined");
    EMBER_CHECK_VALUE(t.is_contiguous(), "dist::", op, ": expected a contiguous tensor (call contiguous()), found strides ",
                      t.strides(), " for shape ", t.sizes());
    DType d = t.dtype();
    EMBER_CHECK_VALUE(d == kFloat32 || d == kFloat64 || d == kInt64 || d == kUInt8, "dist::", op,
                      ": expected float32, float64, int64 or uint8, found ", d);
    EMBER_CHECK_VALUE(t.device().is_cpu() || t.device() == device_, "dist::", op, ": rank ", rank(), " works on ", device_,
                      " (LOCAL_RANK), found a tensor on ", t.device());
    return t.device().is_cpu() ? t.to(device_) : t;
  }

  void check(ncclResult_t result, const char* call) const {
    EMBER_CHECK(result == ncclSuccess, "dist: ", call, " failed on rank ", rank(), ": ", nccl_.error_string(result));
  }

  // Queues one collective and waits for it, bounded by the timeout.
  template <class Enqueue>
  void run(const char* op, const Enqueue& enqueue) {
    std::lock_guard<std::mutex> lock(mutex_);
    EMBER_CHECK(comm_ != nullptr, "dist: the NCCL communicator was aborted by an earlier failure; start again");
    const uint64_t seq = ++seq_;
    if (status_) status_->enter(seq, op);
    cudaStream_t stream = cuda::context(device_.index).stream;
    ncclResult_t queued = enqueue(stream);
    if (queued != ncclSuccess) fail(op, seq, nccl_.error_string(queued));
    EMBER_CUDA_CHECK(cudaEventRecord(done_, stream));
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      cudaError_t state = cudaEventQuery(done_);
      if (state == cudaSuccess) return;
      if (state != cudaErrorNotReady) cuda::check_cuda(state, "cudaEventQuery after an NCCL collective");
      ncclResult_t async = ncclSuccess;
      nccl_.comm_get_async_error(comm_, &async);
      if (async != ncclSuccess) fail(op, seq, nccl_.error_string(async));
      if (std::chrono::steady_clock::now() - start > timeout_)
        fail(op, seq, str("not complete after ", timeout_.count(), " ms"));
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

  [[noreturn]] void fail(const char* op, uint64_t seq, const std::string& why) {
    std::string culprit = status_ ? status_->diagnose(seq, op) : "";
    if (status_) status_->mark_failed();
    nccl_.comm_abort(comm_);  // the communicator is unusable after a failure; its kernels stop
    comm_ = nullptr;
    throw PeerError(str("dist: ", op, " (collective #", seq, ") failed on rank ", rank(), " of ", size(), ": ",
                        culprit.empty() ? "" : culprit + "; ", "nccl: ", why));
  }

  Rendezvous rendezvous_;
  const NcclLibrary& nccl_;
  Device device_;
  std::unique_ptr<PeerStatus> status_;  // none for one process without a store
  ncclComm_t comm_ = nullptr;
  cudaEvent_t done_ = nullptr;
  std::mutex mutex_;
  uint64_t seq_ = 0;
};

}  // namespace

std::string nccl_unavailable_reason() {
  if (!cuda::is_available()) return str("no usable GPU: ", cuda::unavailable_reason());
  return NcclLibrary::get().error;
}

bool nccl_available() { return nccl_unavailable_reason().empty(); }

std::unique_ptr<ProcessGroup> make_nccl_group(const Rendezvous& r) { return std::make_unique<NcclProcessGroup>(r); }

}  // namespace ember::dist
