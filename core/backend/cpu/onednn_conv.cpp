#include "core/backend/cpu/onednn_conv.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#ifdef EMBER_HAVE_ONEDNN
#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <dnnl.hpp>

#include "core/storage.h"
#include "core/threads.h"
#ifdef _OPENMP
#include <omp.h>
#endif
#endif

namespace ember::cpu {

namespace {
std::atomic<bool> enabled{[] {
  const char* v = std::getenv("EMBER_ONEDNN_CONV");
  return !(v && std::strcmp(v, "0") == 0);
}()};
}  // namespace

void set_onednn_convolutions(bool on) { enabled = on; }

#ifndef EMBER_HAVE_ONEDNN

bool onednn_convolutions() { return false; }
bool onednn_conv2d(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Conv2dParams&) { return false; }
bool onednn_conv2d_backward_input(const Tensor&, const Tensor&, const Tensor&, const Conv2dParams&) { return false; }
bool onednn_conv2d_backward_weight(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Conv2dParams&) {
  return false;
}

#else

bool onednn_convolutions() { return enabled; }

namespace {

using dnnl::memory;
using Dims = memory::dims;
using Tag = memory::format_tag;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

enum class Pass { Forward, BackwardInput, BackwardWeight };

// One operand of a primitive: ember's plain (NCHW / OIHW / [OC]) layout, the one the primitive
// chose, and the reorder between them when they differ.
struct Operand {
  int arg = 0;
  bool is_output = false;
  memory::desc plain, chosen;
  std::unique_ptr<dnnl::reorder> reorder;  // plain -> chosen for inputs, chosen -> plain for outputs
};

// A convolution pass for one geometry and thread count: oneDNN's primitive (its JIT-compiled
// kernel, so created once and kept), its operands and the scratch memory it needs.
struct Plan {
  std::unique_ptr<dnnl::primitive> conv;
  std::vector<Operand> operands;
  size_t scratch_bytes = 0;
};

// Sets the calling thread's OpenMP count for a scope: oneDNN splits a primitive's work for
// omp_get_max_threads() threads when it is created and runs on that many.
class OmpThreads {
 public:
  explicit OmpThreads(int n) {
#ifdef _OPENMP
    saved_ = omp_get_max_threads();
    omp_set_num_threads(n);
#endif
    (void)n;
  }
  ~OmpThreads() {
#ifdef _OPENMP
    omp_set_num_threads(saved_);
#endif
  }

 private:
  [[maybe_unused]] int saved_ = 1;  // unread in a build without OpenMP (the fuzz build)
};

int threads_for_call() {
#ifdef _OPENMP
  if (omp_in_parallel()) return 1;
#endif
  return get_num_threads();
}

struct Shapes {
  Dims src, weights, bias, dst, strides, dilates, pad_l, pad_r;
};

// oneDNN's geometry for ember's; false when oneDNN would need a negative right padding (an
// output that leaves input rows unread), which im2col handles instead.
bool shapes_of(const Tensor& input, const Tensor& weight, const Tensor& out, const Conv2dParams& p, Shapes& s) {
  s.src = {input.size(0), input.size(1), input.size(2), input.size(3)};
  s.weights = {weight.size(0), weight.size(1), weight.size(2), weight.size(3)};
  s.bias = {weight.size(0)};
  s.dst = {out.size(0), out.size(1), out.size(2), out.size(3)};
  s.strides = {p.stride_h, p.stride_w};
  s.dilates = {p.dilation_h - 1, p.dilation_w - 1};  // oneDNN counts the gaps
  s.pad_l = {p.pad_h, p.pad_w};
  // The right padding that makes oneDNN's output size ember's: (oh - 1) * stride + span - h - pad.
  int64_t span_h = (weight.size(2) - 1) * p.dilation_h + 1, span_w = (weight.size(3) - 1) * p.dilation_w + 1;
  s.pad_r = {(out.size(2) - 1) * p.stride_h + span_h - input.size(2) - p.pad_h,
             (out.size(3) - 1) * p.stride_w + span_w - input.size(3) - p.pad_w};
  return s.pad_r[0] >= 0 && s.pad_r[1] >= 0;
}

memory::desc any(const Dims& d) { return memory::desc(d, memory::data_type::f32, Tag::any); }
memory::desc plain(const Dims& d) {
  Tag tag = d.size() == 4 ? Tag::abcd : Tag::a;  // NCHW / OIHW, or the bias's [OC]
  return memory::desc(d, memory::data_type::f32, tag);
}

void add_operand(Plan& plan, int arg, const memory::desc& user, const memory::desc& chosen, bool is_output) {
  Operand o;
  o.arg = arg;
  o.is_output = is_output;
  o.plain = user;
  o.chosen = chosen;
  if (user != chosen) {
    auto& e = cpu_engine();
    o.reorder = std::make_unique<dnnl::reorder>(is_output ? dnnl::reorder::primitive_desc(e, chosen, e, user)
                                                          : dnnl::reorder::primitive_desc(e, user, e, chosen));
  }
  plan.operands.push_back(std::move(o));
}

dnnl::convolution_forward::primitive_desc forward_desc(const Shapes& s, bool with_bias, const dnnl::primitive_attr& attr) {
  auto desc = with_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                                          any(s.src), any(s.weights), plain(s.bias), any(s.dst), s.strides,
                                                          s.dilates, s.pad_l, s.pad_r)
                        : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                                          any(s.src), any(s.weights), any(s.dst), s.strides, s.dilates,
                                                          s.pad_l, s.pad_r);
  return dnnl::convolution_forward::primitive_desc(desc, attr, cpu_engine());
}

Plan make_plan(Pass pass, const Shapes& s, bool with_bias) {
  Plan plan;
  dnnl::primitive_attr attr;  // scratch memory comes from ember's allocator (run())
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  auto fwd = forward_desc(s, with_bias && pass != Pass::BackwardInput, attr);
  if (pass == Pass::Forward) {
    plan.conv = std::make_unique<dnnl::convolution_forward>(fwd);
    add_operand(plan, DNNL_ARG_SRC, plain(s.src), fwd.src_desc(), false);
    add_operand(plan, DNNL_ARG_WEIGHTS, plain(s.weights), fwd.weights_desc(), false);
    if (with_bias) add_operand(plan, DNNL_ARG_BIAS, plain(s.bias), fwd.bias_desc(), false);
    add_operand(plan, DNNL_ARG_DST, plain(s.dst), fwd.dst_desc(), true);
    plan.scratch_bytes = fwd.scratchpad_desc().get_size();
  } else if (pass == Pass::BackwardInput) {
    dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, any(s.src), any(s.weights), any(s.dst),
                                               s.strides, s.dilates, s.pad_l, s.pad_r);
    dnnl::convolution_backward_data::primitive_desc pd(desc, attr, cpu_engine(), fwd);
    plan.conv = std::make_unique<dnnl::convolution_backward_data>(pd);
    add_operand(plan, DNNL_ARG_DIFF_DST, plain(s.dst), pd.diff_dst_desc(), false);
    add_operand(plan, DNNL_ARG_WEIGHTS, plain(s.weights), pd.weights_desc(), false);
    add_operand(plan, DNNL_ARG_DIFF_SRC, plain(s.src), pd.diff_src_desc(), true);
    plan.scratch_bytes = pd.scratchpad_desc().get_size();
  } else {
    auto desc = with_bias ? dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, any(s.src),
                                                                     any(s.weights), plain(s.bias), any(s.dst), s.strides,
                                                                     s.dilates, s.pad_l, s.pad_r)
                          : dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, any(s.src),
                                                                     any(s.weights), any(s.dst), s.strides, s.dilates,
                                                                     s.pad_l, s.pad_r);
    dnnl::convolution_backward_weights::primitive_desc pd(desc, attr, cpu_engine(), fwd);
    plan.conv = std::make_unique<dnnl::convolution_backward_weights>(pd);
    add_operand(plan, DNNL_ARG_SRC, plain(s.src), pd.src_desc(), false);
    add_operand(plan, DNNL_ARG_DIFF_DST, plain(s.dst), pd.diff_dst_desc(), false);
    add_operand(plan, DNNL_ARG_DIFF_WEIGHTS, plain(s.weights), pd.diff_weights_desc(), true);
    if (with_bias) add_operand(plan, DNNL_ARG_DIFF_BIAS, plain(s.bias), pd.diff_bias_desc(), true);
    plan.scratch_bytes = pd.scratchpad_desc().get_size();
  }
  return plan;
}

// Plans by (pass, geometry, bias, threads). A training run has a few; the cache is emptied if a
// program cycles through many shapes (a plan in use elsewhere lives on through its shared_ptr).
using Key = std::array<int64_t, 20>;
constexpr size_t kMaxPlans = 64;

std::shared_ptr<const Plan> plan_for(Pass pass, const Shapes& s, bool with_bias, int threads) {
  Key key{static_cast<int64_t>(pass), s.src[0], s.src[1], s.src[2], s.src[3], s.weights[0], s.weights[2], s.weights[3],
          s.dst[2], s.dst[3], s.strides[0], s.strides[1], s.dilates[0], s.dilates[1], s.pad_l[0], s.pad_l[1],
          s.pad_r[0], s.pad_r[1], with_bias, threads};
  static std::mutex mutex;
  static std::map<Key, std::shared_ptr<const Plan>> plans;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = plans.find(key);
  if (it != plans.end()) return it->second;
  if (plans.size() >= kMaxPlans) plans.clear();
  return plans.emplace(key, std::make_shared<const Plan>(make_plan(pass, s, with_bias))).first->second;
}

// The blocked copy of the output gradient the backward-input pass made, for the backward-weight
// pass that follows it on the same gradient (conv2d's backward runs the two back to back): one
// reorder of the largest operand instead of two. It holds the gradient's storage, so the identity
// check cannot be fooled by a freed and reused address, and the version, so an in-place change in
// between is noticed; the weight pass (or the thread's next backward-input pass) releases it.
struct BlockedGrad {
  Storage source;
  const void* data = nullptr;
  uint64_t version = 0;
  memory::desc chosen;
  Storage blocked;
  bool holds(const Tensor& t, const memory::desc& d) const {
    return source.defined() && source.is_same(t.storage()) && data == t.data() && version == source.version() && chosen == d;
  }
};
thread_local BlockedGrad last_blocked_grad;

// Runs a plan on ember's tensors (one per operand, in the plan's order): inputs reordered into
// the chosen layouts, the convolution, outputs reordered back. Blocked copies and scratch come
// from ember's caching allocator. `pass` says which operand is the output gradient to share.
void run(const Plan& plan, const std::vector<const Tensor*>& tensors, Pass pass = Pass::Forward) {
  dnnl::stream stream(cpu_engine());
  std::vector<Storage> buffers;
  std::unordered_map<int, memory> args;
  std::vector<std::pair<const Operand*, memory>> outputs;
  BlockedGrad& shared = last_blocked_grad;
  if (pass != Pass::BackwardWeight) shared = BlockedGrad();
  for (size_t i = 0; i < plan.operands.size(); ++i) {
    const Operand& o = plan.operands[i];
    const Tensor& t = *tensors[i];
    memory user(o.plain, cpu_engine(), t.data());
    if (!o.reorder) {
      args.emplace(o.arg, user);
      continue;
    }
    bool grad_out = o.arg == DNNL_ARG_DIFF_DST;
    if (grad_out && pass == Pass::BackwardWeight && shared.holds(t, o.chosen)) {
      buffers.push_back(shared.blocked);
      args.emplace(o.arg, memory(o.chosen, cpu_engine(), buffers.back().data()));
      continue;
    }
    buffers.push_back(Storage::allocate(o.chosen.get_size()));
    memory blocked(o.chosen, cpu_engine(), buffers.back().data());
    if (o.is_output) outputs.emplace_back(&o, user);
    else o.reorder->execute(stream, user, blocked);
    args.emplace(o.arg, blocked);
    if (grad_out && pass == Pass::BackwardInput) shared = {t.storage(), t.data(), t.storage().version(), o.chosen, buffers.back()};
  }
  if (pass == Pass::BackwardWeight) shared = BlockedGrad();
  if (plan.scratch_bytes > 0) {
    buffers.push_back(Storage::allocate(plan.scratch_bytes));
    args.emplace(DNNL_ARG_SCRATCHPAD, memory(memory::desc({static_cast<int64_t>(plan.scratch_bytes)}, memory::data_type::u8, Tag::a),
                                             cpu_engine(), buffers.back().data()));
  }
  plan.conv->execute(stream, args);
  for (auto& [o, user] : outputs) o->reorder->execute(stream, args.at(o->arg), user);
  stream.wait();
}

bool takes(const Tensor& input, const Tensor& weight, const Conv2dParams& p) {
  return enabled && p.groups == 1 && input.dtype() == kFloat32 && weight.dtype() == kFloat32 &&
         input.size(1) >= kMinChannels && weight.size(0) >= kMinChannels && input.numel() > 0;
}

template <class F>
bool guarded(const char* what, F f) {
  const int threads = threads_for_call();
  OmpThreads scope(threads);
  try {
    f(threads);
  } catch (const dnnl::error& e) {
    throw Error(std::string(what) + ": oneDNN failed: " + e.what() + " (status " + std::to_string(static_cast<int>(e.status)) + ")");
  }
  return true;
}

}  // namespace

bool onednn_conv2d(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& p) {
  Shapes s;
  if (!takes(input, weight, p) || !shapes_of(input, weight, out, p, s) || (bias.defined() && bias.dtype() != kFloat32))
    return false;
  return guarded("conv2d", [&](int threads) {
    auto plan = plan_for(Pass::Forward, s, bias.defined(), threads);
    run(*plan, bias.defined() ? std::vector<const Tensor*>{&input, &weight, &bias, &out}
                              : std::vector<const Tensor*>{&input, &weight, &out});
  });
}

bool onednn_conv2d_backward_input(const Tensor& grad_input, const Tensor& grad_out, const Tensor& weight,
                                  const Conv2dParams& p) {
  Shapes s;
  if (!takes(grad_input, weight, p) || !shapes_of(grad_input, weight, grad_out, p, s)) return false;
  return guarded("conv2d backward", [&](int threads) {
    run(*plan_for(Pass::BackwardInput, s, false, threads), {&grad_out, &weight, &grad_input}, Pass::BackwardInput);
  });
}

bool onednn_conv2d_backward_weight(const Tensor& grad_weight, const Tensor& grad_bias, const Tensor& grad_out,
                                   const Tensor& input, const Conv2dParams& p) {
  Shapes s;
  if (!takes(input, grad_weight, p) || !shapes_of(input, grad_weight, grad_out, p, s)) return false;
  return guarded("conv2d backward", [&](int threads) {
    auto plan = plan_for(Pass::BackwardWeight, s, grad_bias.defined(), threads);
    run(*plan, grad_bias.defined() ? std::vector<const Tensor*>{&input, &grad_out, &grad_weight, &grad_bias}
                                   : std::vector<const Tensor*>{&input, &grad_out, &grad_weight},
        Pass::BackwardWeight);
  });
}

#endif

}  // namespace ember::cpu
