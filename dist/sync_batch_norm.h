// Synchronized batch normalization across data-parallel replicas, as torch.nn.SyncBatchNorm.
//
//   auto model = fashion::make_model("cnn");
//   dist::convert_sync_batch_norm(*model, dist::world());   // before wrapping it in DDP
//   dist::DistributedDataParallel replica(model, dist::world());
//
// In training, every BatchNorm then normalizes with the mean and variance of all replicas'
// batches together, as one process would on the global batch (to rounding: the sums are taken per
// replica, then across), and updates its running statistics with them, so they agree on every
// rank; its backward sums the statistics' gradients across the replicas. With small per-process
// batches that is the difference between statistics of a few samples and of the whole batch.
// The modules keep their types, parameters, buffers and state-dict keys; evaluation is unchanged.
// Every replica must run the same BatchNorms in the same order, each a collective.
#pragma once

#include "core/tensor.h"
#include "dist/process_group.h"
#include "nn/module.h"

namespace ember::dist {

// The sum of `x` over the group's ranks, as an op autograd differentiates: its gradient is the
// sum over the ranks of the gradients arriving at each. Runs on the group's queue (in order with
// DDP's buckets, see comm_queue.h); `group` must outlive the graph. Float tensors only.
Tensor all_reduce_sum(const Tensor& x, ProcessGroup& group);

// Makes every BatchNorm1d/2d in `module` (itself included) synchronize over `group`; returns how
// many it set. A group of one changes nothing (returns 0), as PyTorch syncs only with more than
// one process.
int convert_sync_batch_norm(nn::Module& module, ProcessGroup& group);

}  // namespace ember::dist
