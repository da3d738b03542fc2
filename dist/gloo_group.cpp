// The Gloo process group: TCP pairs between every two ranks, connected through a FileStore.
// Built only when CMake finds Gloo (EMBER_HAVE_GLOO).
#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/transport/tcp/device.h>

#include <filesystem>
#include <functional>
#include <mutex>

#include "core/ops/factories.h"
#include "dist/peer_status.h"
#include "dist/process_group.h"

namespace ember::dist {

namespace {

using ReduceFn = void (*)(void*, const void*, const void*, size_t);

template <class T>
ReduceFn reduce_fn(ReduceOp op) {
  if (op == ReduceOp::max) return &gloo::max<T>;
  return &gloo::sum<T>;  // average = sum, then a division on every rank (identical everywhere)
}

class GlooProcessGroup : public ProcessGroup {
 public:
  explicit GlooProcessGroup(const Rendezvous& r) : rendezvous_(r), status_(r.store, r.rank, r.world_size) {
    timeout_ = r.timeout;
    status_.join(r.timeout);  // same WORLD_SIZE everywhere, every rank present, before any socket
    run("connect", [&] {
      gloo::transport::tcp::attr attr(r.host.c_str());
      device_ = gloo::transport::tcp::CreateDevice(attr);
      std::filesystem::create_directories(r.store + "/gloo");
      gloo::rendezvous::FileStore store(r.store + "/gloo");
      context_ = std::make_shared<gloo::rendezvous::Context>(r.rank, r.world_size);
      context_->setTimeout(r.timeout);
      context_->connectFullMesh(store, device_);
    });
  }

  int rank() const override { return rendezvous_.rank; }
  int size() const override { return rendezvous_.world_size; }
  std::string backend() const override { return "gloo"; }

  void allreduce(Tensor& t, ReduceOp op) override {
    check_tensor(t, "allreduce");
    run("allreduce", [&] {
      if (t.numel() == 0) return;
      gloo::AllreduceOptions o(context_);
      o.setTimeout(timeout_);
      switch (t.dtype()) {
        case kFloat32: o.setOutput(t.data_ptr<float>(), t.numel()); o.setReduceFunction(reduce_fn<float>(op)); break;
        case kFloat64: o.setOutput(t.data_ptr<double>(), t.numel()); o.setReduceFunction(reduce_fn<double>(op)); break;
        case kInt64: o.setOutput(t.data_ptr<int64_t>(), t.numel()); o.setReduceFunction(reduce_fn<int64_t>(op)); break;
        default: o.setOutput(t.data_ptr<uint8_t>(), t.numel()); o.setReduceFunction(reduce_fn<uint8_t>(op)); break;
      }
      gloo::allreduce(o);
    });
    if (op == ReduceOp::average) t.div_(static_cast<double>(size()));
  }

  void broadcast(Tensor& t, int root) override {
    check_tensor(t, "broadcast");
    EMBER_CHECK_VALUE(root >= 0 && root < size(), "dist::broadcast: root ", root, " is not a rank of a group of size ", size());
    run("broadcast", [&] {
      if (t.numel() == 0) return;
      gloo::BroadcastOptions o(context_);
      o.setTimeout(timeout_);
      o.setRoot(root);
      o.setOutput(static_cast<uint8_t*>(t.data()), t.nbytes());
      gloo::broadcast(o);
    });
  }

  Tensor allgather(const Tensor& t) override {
    check_tensor(t, "allgather");
    Shape shape = t.sizes();
    shape.insert(shape.begin(), size());
    Tensor out = zeros(shape, t.dtype());
    run("allgather", [&] {
      if (t.numel() == 0) return;
      gloo::AllgatherOptions o(context_);
      o.setTimeout(timeout_);
      o.setInput(static_cast<uint8_t*>(t.data()), t.nbytes());
      o.setOutput(static_cast<uint8_t*>(out.data()), out.nbytes());
      gloo::allgather(o);
    });
    return out;
  }

  void barrier() override {
    run("barrier", [&] {
      gloo::BarrierOptions o(context_);
      o.setTimeout(timeout_);
      gloo::barrier(o);
    });
  }

 private:
  // Runs one collective under the lock (Gloo's context is not for concurrent calls with one tag),
  // numbering it for the heartbeat, and turns Gloo's failure into one that names the peer.
  void run(const char* op, const std::function<void()>& body) {
    std::lock_guard<std::mutex> lock(mutex_);
    bool connecting = std::string(op) == "connect";  // not a collective: numbering starts after it
    uint64_t seq = connecting ? 0 : ++seq_;
    status_.enter(seq, op);
    try {
      body();
    } catch (const std::exception& e) {  // gloo::IoException, EnforceNotMet...
      std::string culprit = status_.diagnose(seq, op);
      status_.mark_failed();  // the other ranks' diagnoses will not blame this one
      throw PeerError(str("dist: ", op, connecting ? "" : str(" (collective #", seq, ")"), " failed on rank ", rank(), " of ",
                          size(), ": ", culprit.empty() ? "" : culprit + "; ", "gloo: ", e.what()));
    }
  }

  Rendezvous rendezvous_;
  PeerStatus status_;
  std::shared_ptr<gloo::transport::Device> device_;
  std::shared_ptr<gloo::rendezvous::Context> context_;
  std::mutex mutex_;
  uint64_t seq_ = 0;
};

}  // namespace

bool gloo_available() { return true; }

std::unique_ptr<ProcessGroup> make_gloo_group(const Rendezvous& r) { return std::make_unique<GlooProcessGroup>(r); }

}  // namespace ember::dist
