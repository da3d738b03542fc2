#!/usr/bin/python3
"""PyTorch's side of benchmarks/dist: one rank of torch.nn.parallel.DistributedDataParallel on
Gloo, the same models, global batch, Adam and timing as ddp_step (a barrier starts every step, so
the time is the slowest rank's; median after 5 warm-up steps). Run under `ember launch`, whose
RANK, WORLD_SIZE and EMBER_STORE it rendezvous through (a FileStore in the store directory).
Batches are Fashion-MNIST's first training images, each rank its own slice (the step's cost does
not depend on which). Rank 0 prints one JSON line with ddp_step's fields.

  ember launch -n N -- torch_ddp_step.py --model mlp|cnn [--global-batch 256] [--steps 30]
"""
import argparse
import gzip
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compare"))
import torch_models  # noqa: E402

DATASET = "/usr/share/datasets/fashion-mnist"


def images(count):
    """The first `count` training images as float32 in [0, 1], [count, 1, 28, 28]."""
    with gzip.open(os.path.join(DATASET, "train-images-idx3-ubyte.gz")) as f:
        raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    return torch.from_numpy(raw[: count * 784].astype(np.float32) / 255.0).reshape(count, 1, 28, 28)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="mlp")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--global-batch", type=int, default=256)
    args = parser.parse_args()
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    if args.global_batch % world:
        raise SystemExit("--global-batch %d must divide by the %d processes" % (args.global_batch, world))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="file://" + os.path.join(os.environ["EMBER_STORE"], "torch_store"),
                            rank=rank, world_size=world)
    torch.manual_seed(0)
    model = torch_models.make(args.model)
    replica = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch, n = args.global_batch // world, args.steps + 5
    data = images(n * args.global_batch)[rank * n * batch:(rank + 1) * n * batch].reshape(n, batch, 1, 28, 28)
    labels = torch.randint(0, 10, (n, batch))
    times, forwards, backwards = [], [], []
    for i in range(n):
        x = data[i].reshape(batch, 784) if args.model == "mlp" else data[i]
        dist.barrier()
        start = time.perf_counter()
        loss = nn.functional.cross_entropy(replica(x), labels[i])
        forward = time.perf_counter()
        opt.zero_grad()
        backward = time.perf_counter()
        loss.backward()
        backward_end = time.perf_counter()
        opt.step()
        if i >= 5:
            times.append((time.perf_counter() - start) * 1e3)
            forwards.append((forward - start) * 1e3)
            backwards.append((backward_end - backward) * 1e3)
    if rank == 0:
        step = statistics.median(times)
        print(json.dumps({"framework": "pytorch", "model": args.model, "processes": world, "threads": 1,
                          "global_batch": args.global_batch, "step_ms": round(step, 3),
                          "forward_ms": round(statistics.median(forwards), 3),
                          "backward_ms": round(statistics.median(backwards), 3),
                          "samples_per_s": round(1000.0 * args.global_batch / step, 1)}))
    dist.destroy_process_group()


main()
