#include "dist/data_parallel.h"

#include <algorithm>
#include <cstring>
#include <sstream>

#include "core/autograd/grad_mode.h"
#include "core/ops/factories.h"
#include "dist/reducer.h"

namespace ember::dist {

namespace {

// "name dtype [shape]" per parameter and buffer, one per line: what every replica must share.
std::vector<std::string> layout(const nn::Module& m) {
  std::vector<std::string> lines;
  auto add = [&](const char* kind, const std::string& name, const Tensor& t) {
    std::ostringstream s;
    s << kind << " '" << name << "' " << t.dtype() << " " << t.sizes();
    lines.push_back(s.str());
  };
  for (const auto& [name, p] : m.named_parameters()) add("parameter", name, p);
  for (const auto& [name, b] : m.named_buffers()) add("buffer", name, b);
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// Copies rank 0's values into every tensor of `ts` (parameters or buffers, any dtype or layout)
// with one broadcast of their bytes: on a loopback each collective costs a few wake-ups, and a
// model with BatchNorm has three buffers per layer.
void broadcast_coalesced(ProcessGroup& g, const std::vector<Tensor>& ts) {
  size_t total = 0;
  for (const Tensor& t : ts) total += t.nbytes();
  if (total == 0) return;
  if (std::any_of(ts.begin(), ts.end(), [](const Tensor& t) { return !t.device().is_cpu(); })) {
    for (Tensor t : ts) {  // on a GPU (NCCL) each broadcast is a kernel, not a round of wake-ups
      Tensor c = t.contiguous();
      g.broadcast(c, 0);
      if (!c.is_same(t)) t.copy_(c);
    }
    return;
  }
  Tensor bytes = zeros({static_cast<int64_t>(total)}, kUInt8);
  auto* p = static_cast<uint8_t*>(bytes.data());
  for (const Tensor& t : ts) {
    Tensor c = t.contiguous();
    std::memcpy(p, c.data(), c.nbytes());
    p += c.nbytes();
  }
  g.broadcast(bytes, 0);
  p = static_cast<uint8_t*>(bytes.data());
  for (Tensor t : ts) {
    Tensor c = t.is_contiguous() ? t : t.contiguous();
    std::memcpy(c.data(), p, c.nbytes());
    if (!c.is_same(t)) t.copy_(c);
    p += c.nbytes();
  }
}

}  // namespace

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<nn::Module> module, ProcessGroup& group,
                                                 DataParallelOptions options)
    : nn::Module("DistributedDataParallel"), module_(std::move(module)), group_(group), options_(options) {
  EMBER_CHECK_VALUE(module_ != nullptr, "DistributedDataParallel: the module is null");
  register_module("module", module_);
  check_replicas_agree();
  broadcast_state(true);
  std::vector<Tensor> params;
  auto named = module_->named_parameters();
  for (auto it = named.rbegin(); it != named.rend(); ++it)  // backward produces the last layers first
    if (it->second.requires_grad()) params.push_back(it->second);
  constexpr double kMB = 1024.0 * 1024.0;
  reducer_ = std::make_shared<Reducer>(params, group_, static_cast<size_t>(options_.first_bucket_mb_ * kMB),
                                       static_cast<size_t>(options_.bucket_cap_mb_ * kMB));
  if (group_.size() > 1) Reducer::attach(reducer_);
}

DistributedDataParallel::~DistributedDataParallel() = default;

void DistributedDataParallel::check_replicas_agree() {
  std::vector<std::string> mine = layout(*module_);
  std::vector<std::string> theirs = split_lines(group_.broadcast_string(join_lines(mine), 0));
  std::string error;
  for (size_t i = 0; i < std::max(mine.size(), theirs.size()) && error.empty(); ++i) {
    if (i >= mine.size())
      error = str("rank 0 has ", theirs[i], ", which this rank's model lacks");
    else if (i >= theirs.size())
      error = str("this rank has ", mine[i], ", which rank 0's model lacks");
    else if (mine[i] != theirs[i])
      error = str("this rank has ", mine[i], " where rank 0 has ", theirs[i]);
  }
  group_.agree(error, "DistributedDataParallel: the replicas differ; every rank must build the same model");
}

void DistributedDataParallel::broadcast_state(bool parameters_too) {
  if (group_.size() == 1) return;
  NoGradGuard no_grad;
  std::vector<Tensor> state = module_->buffers();
  if (parameters_too)
    for (const Tensor& p : module_->parameters()) state.push_back(p);
  broadcast_coalesced(group_, state);
}

Tensor DistributedDataParallel::forward(const Tensor& input) {
  reducer_->abandon_pass();  // a backward that threw left its buckets in flight
  if (is_training() && options_.broadcast_buffers_) broadcast_state(false);
  return module_->forward(input);
}

int64_t DistributedDataParallel::num_buckets() const { return reducer_->num_buckets(); }
double DistributedDataParallel::last_comm_wait_ms() const { return reducer_->last_wait_ms(); }

DistributedDataParallel::NoSync::NoSync(Reducer& reducer) : reducer_(reducer) { reducer_.sync = false; }
DistributedDataParallel::NoSync::~NoSync() { reducer_.sync = true; }

}  // namespace ember::dist
