#!/usr/bin/python3
"""Live PyTorch interop on the GPU machine (scripts/gpu-check, step 4). Needs PyTorch with CUDA.

  torch_gpu_interop.py PACK RESUME_WORK OUT

1. ember's checkpoint of a GPU run (RESUME_WORK/ref, the cnn) loads with torch.load(weights_only=True)
   onto cuda:0, its tensors saved there, and with mmap=True onto the CPU, the two loads equal.
2. PyTorch trains the same cnn on the GPU and saves its state_dict from CUDA tensors; ember's main
   job evaluates that file on the GPU (--eval-only FILE) to PyTorch's own eval accuracy.
3. The 2.x records: the hand-crafted fixtures (tests/fixtures/pytorch-2.x) load in torch as their
   sidecars say; tensors torch 2.11 saves in uint16/32/64 and float8 (from the GPU too) pass through
   `ember convert` and load back in torch bit for bit.
Writes OUT/result.txt; exits non-zero on the first failure, saying what differed.
"""
import gzip
import os
import re
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn

pack, work, out = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)
data = os.path.join(pack, "data")
trainer = os.path.join(pack, "bin", "train_fashion_mnist")


def fail(msg):
    print("interop FAILED:", msg)
    sys.exit(1)


def idx(name):
    with gzip.open(os.path.join(data, name)) as f:
        raw = f.read()
    if "images" in name:
        return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 1, 28, 28)
    return np.frombuffer(raw, np.uint8, offset=8)


def cnn():
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Dropout(0.25), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


def ember_accuracy(args):
    env = dict(os.environ, LD_LIBRARY_PATH=os.environ.get("EMBER_LD_LIBRARY_PATH", ""))
    text = subprocess.run([trainer, "--model", "cnn", "--data-dir", data] + args, capture_output=True, text=True, env=env)
    m = re.search(r"test accuracy ([0-9.]+)", text.stdout)
    if text.returncode != 0 or not m:
        fail("ember --eval-only %s: exit %d, %s %s" % (args, text.returncode, text.stdout[-300:], text.stderr[-300:]))
    return float(m.group(1))


torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False

# 1. ember's GPU checkpoint in PyTorch.
ref = os.path.join(work, "ref")
ckpt = os.path.join(ref, sorted(f for f in os.listdir(ref) if f.startswith("ckpt-") and f.endswith(".pt"))[-1])
on_gpu = torch.load(ckpt, weights_only=True)
state = on_gpu["model_state_dict"]
devices = {str(t.device) for t in state.values() if torch.is_tensor(t)}
if devices != {"cuda:0"}:
    fail("ember's GPU checkpoint loads onto %s, expected cuda:0 (its saved location)" % devices)
mapped = torch.load(ckpt, weights_only=True, mmap=True, map_location="cpu")["model_state_dict"]
for k, v in state.items():
    if torch.is_tensor(v) and not torch.equal(v.cpu(), mapped[k]):
        fail("%s differs between the plain and the mmap load" % k)
model = cnn().cuda()
model.load_state_dict(state)  # strict: every key and shape matches PyTorch's own module

# 2. A PyTorch GPU model in ember.
torch.manual_seed(0)
images = torch.from_numpy(idx("train-images-idx3-ubyte.gz").astype(np.float32) / 255.0).cuda()
labels = torch.from_numpy(idx("train-labels-idx1-ubyte.gz").astype(np.int64)).cuda()
test_x = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0).cuda()
test_y = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64)).cuda()
net = cnn().cuda()
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for i in range(0, 128 * 60, 128):
    loss = nn.functional.cross_entropy(net(images[i:i + 128]), labels[i:i + 128])
    opt.zero_grad()
    loss.backward()
    opt.step()
net.eval()
with torch.no_grad():
    correct = sum(int((net(test_x[i:i + 1000]).argmax(1) == test_y[i:i + 1000]).sum()) for i in range(0, len(test_y), 1000))
torch_acc = correct / len(test_y)
saved = os.path.join(out, "torch_cuda_model.pt")
torch.save(net.state_dict(), saved)
ember_acc = ember_accuracy(["--device", "cuda", "--eval-only", saved])
ember_cpu_acc = ember_accuracy(["--device", "cpu", "--threads", "8", "--eval-only", saved])
# 3. PyTorch 2.x's newer records, live.
fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "pytorch-2.x")
crafted = torch.load(os.path.join(fixtures, "new_dtypes.pt"), weights_only=True)
if [int(v) for v in crafted["u16"]] != [0, 1000, 65535] or crafted["f8_e4m3fn"].view(torch.uint8).tolist() != [0x38, 0x7E, 0x01, 0xC0, 0x7F]:
    fail("torch reads the hand-crafted 2.x fixture differently from its sidecar: %s" % crafted)
src = {"u16": torch.tensor([1, 2, 65535], dtype=torch.uint16), "u32": torch.tensor([4294967295, 3], dtype=torch.uint32),
       "u64": torch.tensor([2 ** 63 + 5, 1], dtype=torch.uint64),
       "e4m3": torch.tensor([1.0, -448.0, 0.3], device="cuda").to(torch.float8_e4m3fn),
       "e5m2": torch.tensor([57344.0, -0.001, 3.0]).to(torch.float8_e5m2),
       "f32_view": torch.arange(10.0, device="cuda")[2:7]}
torch_file, ember_file = os.path.join(out, "torch_new_dtypes.pt"), os.path.join(out, "ember_new_dtypes.pt")
torch.save(src, torch_file)
env = dict(os.environ, LD_LIBRARY_PATH=os.environ.get("EMBER_LD_LIBRARY_PATH", ""))
conv = subprocess.run([os.path.join(pack, "bin", "ember"), "convert", torch_file, ember_file], capture_output=True, text=True, env=env)
if conv.returncode != 0:
    fail("ember convert of torch %s's file: %s %s" % (torch.__version__, conv.stdout[-300:], conv.stderr[-300:]))
back = torch.load(ember_file, weights_only=True)
for k, v in src.items():
    if back[k].dtype != v.dtype or str(back[k].device) != str(v.device) or \
            not torch.equal(back[k].cpu().view(torch.uint8), v.cpu().contiguous().view(torch.uint8)):
        fail("%s (%s on %s) did not survive torch.save -> ember convert -> torch.load: %s" % (k, v.dtype, v.device, back[k]))

line = "torch %s: ember's GPU checkpoint loads (weights_only, mmap); PyTorch's GPU model: accuracy %.4f in PyTorch, " \
       "%.4f in ember on cuda, %.4f in ember on cpu; uint16/32/64 and float8 files pass both ways" % (
           torch.__version__, torch_acc, ember_acc, ember_cpu_acc)
print(line)
with open(os.path.join(out, "result.txt"), "w") as f:
    f.write(line + "\n")
if abs(ember_acc - torch_acc) > 1e-4 or abs(ember_cpu_acc - torch_acc) > 1e-4:
    fail("accuracies differ by more than 1e-4: " + line)
