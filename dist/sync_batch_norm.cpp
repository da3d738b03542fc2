#include "dist/sync_batch_norm.h"

#include "core/autograd/node.h"
#include "core/error.h"
#include "nn/normalization.h"

namespace ember::dist {

namespace {

// A contiguous copy of `t` summed over the ranks, in its turn on the group's queue.
Tensor summed_copy(const Tensor& t, ProcessGroup& group) {
  Tensor out = t.detach().contiguous().clone();
  group.queue().run([&] { group.allreduce(out, ReduceOp::sum); });
  return out;
}

}  // namespace

Tensor all_reduce_sum(const Tensor& x, ProcessGroup& group) {
  EMBER_CHECK_VALUE(is_floating(x.dtype()), "all_reduce_sum: expected a floating-point tensor, found ", x.dtype());
  ProcessGroup* g = &group;
  return autograd::record("AllReduceSumBackward", summed_copy(x, group), {x},
                          [g](const Tensor& grad) { return std::vector<Tensor>{summed_copy(grad, *g)}; });
}

int convert_sync_batch_norm(nn::Module& module, ProcessGroup& group) {
  if (group.size() == 1) return 0;
  int converted = 0;
  ProcessGroup* g = &group;
  module.apply([&](nn::Module& m) {
    if (auto* bn = dynamic_cast<nn::BatchNorm*>(&m)) {
      bn->sum_over_replicas = [g](const Tensor& t) { return all_reduce_sum(t, *g); };
      ++converted;
    }
  });
  return converted;
}

}  // namespace ember::dist
