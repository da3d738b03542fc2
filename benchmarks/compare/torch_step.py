#!/usr/bin/python3
"""PyTorch's side of benchmarks/compare: the same models, Adam, batches and timing as ember_step,
plus torch.save / torch.load of model + optimizer state. Prints one JSON line.

  torch_step.py MODEL THREADS BATCH_FILE STEPS [DEVICE]
                 DEVICE cuda: the step on the GPU, TF32 off (ember's default), synchronized per step
  torch_step.py gemm      its GEMM rate at 1 thread and the BLAS it uses (torch.__config__.show())
"""
import json
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn

import torch_models

def config_value(config, key):
    at = config.find(key)
    return config[at + len(key):].split(",")[0].split("\n")[0].strip() if at >= 0 else "?"


def loaded_blas():
    """The BLAS library this process actually mapped (Debian picks it with update-alternatives)."""
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1].rsplit("/", 1)[-1] for line in f if "blas" in line.lower() and "/" in line}
    return "+".join(sorted(libs)) or "none mapped"


def best_gflops(m, k, n, repeats):
    a, b = torch.randn(m, k), torch.randn(k, n)
    torch.mm(a, b)
    best = 1e30
    for _ in range(repeats):
        t = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t)
    return 2.0 * m * k * n / best / 1e9


if sys.argv[1] == "gemm":
    torch.set_num_threads(1)
    config = torch.__config__.show()
    g512, gmlp = best_gflops(512, 512, 512, 20), best_gflops(128, 784, 512, 50)  # maps the BLAS first
    engine = "BLAS_INFO=%s (loaded: %s), CPU capability %s" % (config_value(config, "BLAS_INFO="), loaded_blas(),
                                                               config_value(config, "CPU capability usage:"))
    print(json.dumps({"framework": "pytorch", "engine": engine, "gemm512_gflops": round(g512, 1),
                      "gemm_mlp_gflops": round(gmlp, 1)}))
    sys.exit(0)

name, threads, batch_file, steps = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
device = torch.device(sys.argv[5] if len(sys.argv) > 5 else "cpu")
if device.type == "cuda":
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
torch.set_num_threads(threads)
torch.manual_seed(0)
n = steps + 5
raw = np.fromfile(batch_file, dtype=np.uint8)
images = torch.from_numpy(raw[: n * 128 * 784 * 4].view(np.float32).copy()).reshape(n, 128, 1, 28, 28)
labels = torch.from_numpy(raw[n * 128 * 784 * 4:].view(np.int64).copy()).reshape(n, 128)
model = torch_models.make(name)
model.to(device)
images, labels = images.to(device), labels.to(device)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
times, losses = [], []
for i in range(n):
    x = images[i].reshape(128, 784) if name == "mlp" else images[i]
    t = time.perf_counter()
    loss = nn.functional.cross_entropy(model(x), labels[i])
    opt.zero_grad()
    loss.backward()
    opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    if i >= 5:
        times.append((time.perf_counter() - t) * 1e3)
    losses.append(loss.item())
state = {"model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict()}
saves, loads = [], []
for _ in range(5):
    t = time.perf_counter(); torch.save(state, "/tmp/torch_compare_ckpt.pt"); saves.append((time.perf_counter() - t) * 1e3)
    t = time.perf_counter(); torch.load("/tmp/torch_compare_ckpt.pt"); loads.append((time.perf_counter() - t) * 1e3)
print(json.dumps({"framework": "pytorch", "device": str(device), "model": name, "threads": threads,
                  "step_ms": statistics.median(times),
                  "save_ms": statistics.median(saves), "load_ms": statistics.median(loads),
                  "first_loss": losses[0], "last_loss": losses[-1]}))
