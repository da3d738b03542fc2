#!/usr/bin/python3
"""Helper for tests/optim/python_continuation_test.cpp (needs python3-torch).

  torch_continue.py FILE OPTIMIZER STEPS
FILE (written by ember) holds X, Y, w, b and optimizer_state_dict. Builds the same optimizer in
PyTorch, loads the state, runs STEPS more steps of loss = mean((tanh(X w^T + b) - Y)^2), and prints
the final w and b as JSON.
"""
import json
import sys

import torch

f = torch.load(sys.argv[1])
name, steps = sys.argv[2], int(sys.argv[3])
w = f["w"].clone().requires_grad_()
b = f["b"].clone().requires_grad_()
kinds = {"sgd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
         "adam": lambda p: torch.optim.Adam(p, lr=0.01),
         "adamw_amsgrad": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.05, amsgrad=True)}
opt = kinds[name]([w, b])
opt.load_state_dict(f["optimizer_state_dict"])
for _ in range(steps):
    opt.zero_grad()
    ((torch.tanh(f["X"] @ w.t() + b) - f["Y"]) ** 2).mean().backward()
    opt.step()
print(json.dumps({"w": w.detach().reshape(-1).tolist(), "b": b.detach().reshape(-1).tolist()}))
