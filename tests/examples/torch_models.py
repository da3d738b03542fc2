#!/usr/bin/python3
"""Helper for tests/examples/pytorch_models_test.cpp (needs python3-torch).

  torch_models.py check MODEL CHECKPOINT IO_FILE
      Builds the same nn.Sequential in PyTorch, loads the ember checkpoint's model_state_dict with
      strict=True, runs IO_FILE's "input" in eval mode and prints the max |torch - ember| of the logits.
  torch_models.py export MODEL STATE_FILE IO_FILE
      Saves a PyTorch-initialised model's state_dict, and {"input", "logits"} (eval mode).
"""
import sys

import torch
import torch.nn as nn


def make(name):
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 256),
                             nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Dropout(0.25), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


def model_input(name, images):
    return images.reshape(images.shape[0], 784) if name == "mlp" else images


mode, name = sys.argv[1], sys.argv[2]
model = make(name)
if mode == "check":
    ckpt = torch.load(sys.argv[3])
    model.load_state_dict(ckpt["model_state_dict"], strict=True)
    model.eval()
    io = torch.load(sys.argv[4])
    with torch.no_grad():
        logits = model(model_input(name, io["input"]))
    print((logits - io["logits"]).abs().max().item())
else:
    torch.manual_seed(1)
    with torch.no_grad():  # move the running stats away from their initial values
        model.train()
        for _ in range(3):
            model(model_input(name, torch.rand(64, 1, 28, 28)))
    model.eval()
    torch.save(model.state_dict(), sys.argv[3])
    images = torch.rand(16, 1, 28, 28)
    with torch.no_grad():
        torch.save({"input": images, "logits": model(model_input(name, images))}, sys.argv[4])
    print("exported")
