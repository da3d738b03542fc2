"""PyTorch's side of the scheduler continuation tests (python_scheduler_test.cpp).

  torch_schedulers.py continue FILE NAME N   load {'optimizer','scheduler'} saved by ember into
                                             PyTorch, take N more steps, print the lrs as JSON
  torch_schedulers.py save FILE NAME K N     take K steps in PyTorch, save the states, take N more
                                             and print their lrs (what ember must reproduce)

Each step is optimizer.step() on a constant gradient, then scheduler.step() (ReduceLROnPlateau is
given the constant metric 1.0). The constructions mirror make_scheduler() in the C++ test.
"""
import json
import sys

import torch
from torch.optim import lr_scheduler as S


def make(name):
    p = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=0.5, momentum=0.9)
    if name == "step":
        s = S.StepLR(opt, 3, 0.5)
    elif name == "multistep":
        s = S.MultiStepLR(opt, [2, 5, 5, 9], 0.5)
    elif name == "exponential":
        s = S.ExponentialLR(opt, 0.9)
    elif name == "cosine":
        s = S.CosineAnnealingLR(opt, 7, 0.01)
    elif name == "linear":
        s = S.LinearLR(opt, 0.25, 1.0, 4)
    elif name == "onecycle":
        s = S.OneCycleLR(opt, max_lr=1.0, total_steps=20)
    elif name == "onecycle_linear":
        s = S.OneCycleLR(opt, max_lr=1.0, total_steps=20, anneal_strategy="linear")
    elif name == "plateau":
        s = S.ReduceLROnPlateau(opt, factor=0.5, patience=1)
    elif name == "sequential":
        s = S.SequentialLR(opt, [S.LinearLR(opt, 0.5, 1.0, 3), S.ExponentialLR(opt, 0.9)], milestones=[3])
    elif name == "sequential_multistep":  # switching calls step(0): MultiStepLR's closed form needs a Counter
        s = S.SequentialLR(opt, [S.LinearLR(opt, 0.5, 1.0, 3), S.MultiStepLR(opt, [2, 4, 4], 0.5)], milestones=[7])
    else:
        raise SystemExit("unknown scheduler " + name)
    return p, opt, s


def steps(p, opt, s, n):
    out = []
    for _ in range(n):
        p.grad = torch.full_like(p, 0.1)
        opt.step()
        if isinstance(s, S.ReduceLROnPlateau):
            s.step(1.0)
        else:
            s.step()
        g = opt.param_groups[0]
        out.append({"lr": g["lr"], "momentum": g["momentum"]})
    return out


def portable(state):
    # PyTorch 1.13's OneCycleLR keeps a bound method, anneal_func, in its state; pickling it
    # pickles the whole scheduler. PyTorch 2 keeps the strategy's name instead: save that.
    f = state.pop("anneal_func", None)
    if f is not None:
        state["_anneal_func_type"] = "cos" if f.__name__ == "_annealing_cos" else "linear"
    return state


def main():
    mode, path, name = sys.argv[1], sys.argv[2], sys.argv[3]
    p, opt, s = make(name)
    if mode == "continue":
        saved = torch.load(path, weights_only=False)  # a Counter: not in 1.13's weights_only allow-list
        opt.load_state_dict(saved["optimizer"])
        s.load_state_dict(saved["scheduler"])
        print(json.dumps(steps(p, opt, s, int(sys.argv[4]))))
    else:
        steps(p, opt, s, int(sys.argv[4]))
        torch.save({"optimizer": opt.state_dict(), "scheduler": portable(s.state_dict()), "param": p.detach()}, path)
        print(json.dumps(steps(p, opt, s, int(sys.argv[5]))))


main()
