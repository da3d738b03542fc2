"""PyTorch's side of tests/jit/onnx_test.cpp: torch.onnx.export of the architectures the C++ test
traces (PyTorch's own initialisation, BatchNorm statistics from a few training batches), with an
input and PyTorch's eval-mode output saved next to each file.

    /usr/bin/python3 torch_onnx.py OUT_DIR        -> OUT_DIR/<name>.onnx, <name>.x.pt, <name>.y.pt
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))) + x)


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.block1, self.block2 = Block(8), Block(8)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        y = self.block2(self.block1(F.relu(self.stem(x))))
        pooled = F.adaptive_avg_pool2d(y, 1).view(y.size(0), -1)  # Shape/Gather/Unsqueeze/Concat/Reshape
        maxed = F.max_pool2d(y, 28).flatten(1)
        return self.fc(torch.cat([pooled, maxed], 1))


class TokenModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.norm = nn.LayerNorm(8)
        self.head = nn.Linear(48, 5)

    def forward(self, ids):
        return F.log_softmax(self.head(F.gelu(self.norm(self.embed(ids))).flatten(1)), 1)


def models():
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 10))
    cnn = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Dropout(0.25),
                        nn.Linear(16 * 7 * 7, 10), nn.Sigmoid())
    images = lambda n: torch.randn(n, 1, 28, 28)
    tokens = lambda n: torch.randint(0, 20, (n, 6))
    return [("mlp", mlp, images, 17), ("cnn", cnn, images, 13), ("resnet", TinyResNet(), images, 17),
            ("tokens", TokenModel(), tokens, 17)]


def main(out):
    torch.manual_seed(0)
    for name, model, data, opset in models():
        model.train()
        with torch.no_grad():
            for _ in range(3):
                model(data(16))  # BatchNorm running statistics that are not the defaults
        model.eval()
        x = data(7)
        with torch.no_grad():
            y = model(x)
        torch.onnx.export(model, data(2), f"{out}/{name}.onnx", opset_version=opset, input_names=["input"],
                          output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        torch.save(x, f"{out}/{name}.x.pt")
        torch.save(y, f"{out}/{name}.y.pt")


if __name__ == "__main__":
    main(sys.argv[1])
