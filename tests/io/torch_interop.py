#!/usr/bin/python3
"""Helper for tests/io/python_interop_test.cpp (needs python3-torch).

  torch_interop.py read FILE    torch.load(FILE) and print a JSON description of what loaded
  torch_interop.py write FILE   torch.save a sample checkpoint to FILE and print its description
Descriptions are typed trees; tensors carry dtype, shape, stride, storage_offset, requires_grad,
values and a storage number shared by tensors that share storage.
"""
import collections
import json
import sys

import torch


def describe(obj, storages):
    if isinstance(obj, torch.Tensor):
        key = obj.storage().data_ptr()
        storages.setdefault(key, len(storages))
        return {"type": "tensor", "dtype": str(obj.dtype).replace("torch.", ""), "shape": list(obj.shape),
                "stride": list(obj.stride()), "storage_offset": obj.storage_offset(),
                "requires_grad": obj.requires_grad, "storage": storages[key],
                "values": [float(x) for x in obj.detach().reshape(-1).double().tolist()]}
    if isinstance(obj, collections.OrderedDict):
        return {"type": "ordered_dict", "items": [[describe(k, storages), describe(v, storages)] for k, v in obj.items()]}
    if isinstance(obj, dict):
        return {"type": "dict", "items": [[describe(k, storages), describe(v, storages)] for k, v in obj.items()]}
    if isinstance(obj, torch.Size):  # a tuple subclass: test it first
        return {"type": "torch.Size", "value": list(obj)}
    if isinstance(obj, (list, tuple)):
        return {"type": type(obj).__name__, "items": [describe(x, storages) for x in obj]}
    if isinstance(obj, bool):
        return {"type": "bool", "value": obj}
    if isinstance(obj, int):
        return {"type": "int", "value": obj}
    if isinstance(obj, float):
        return {"type": "float", "value": obj}
    if isinstance(obj, str):
        return {"type": "str", "value": obj}
    if obj is None:
        return {"type": "none"}
    if isinstance(obj, torch.device):
        return {"type": "torch.device", "value": str(obj)}
    if isinstance(obj, torch.dtype):
        return {"type": "torch.dtype", "value": str(obj).replace("torch.", "")}
    raise TypeError(type(obj))


def sample():
    torch.manual_seed(0)
    v = torch.randn(10)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(5, 3)).sum().backward()
    opt.step()
    return {"v": v, "v_view": v[2:8:2], "t": torch.randn(3, 4).t(), "half": torch.randn(3).half(),
            "bf16": torch.randn(3).bfloat16(), "mask": torch.tensor([True, False]), "i8": torch.tensor([-3, 4], dtype=torch.int8),
            "scalar": torch.tensor(2.5, dtype=torch.float64), "empty": torch.zeros(0, 3), "epoch": 4, "loss": 0.25,
            "name": "run", "none": None, "tup": (1, 2.0, "x"), "model": model.state_dict(), "opt": opt.state_dict(),
            "size": torch.Size([2, 3]), "dev": torch.device("cpu"), "dtype": torch.float16, 7: "int key"}


if __name__ == "__main__":
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "write":
        obj = sample()
        torch.save(obj, path)
    else:
        obj = torch.load(path)
        if len(sys.argv) > 3 and sys.argv[3] == "weights_only":
            # PyTorch 1.13's weights-only reader has no BINFLOAT; it only applies to files without floats.
            obj = torch.load(path, weights_only=True)
    print(json.dumps(describe(obj, {})))
