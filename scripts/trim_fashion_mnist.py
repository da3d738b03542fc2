#!/usr/bin/python3
"""Writes the first TRAIN and TEST images (and labels) of Fashion-MNIST's gzip'd IDX files into OUT,
in the same format: a dataset small enough to travel to the GPU machine (scripts/gpu-check --pack).

  trim_fashion_mnist.py SRC_DIR OUT_DIR TRAIN TEST
"""
import gzip
import os
import struct
import sys

src, out, train, test = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
os.makedirs(out, exist_ok=True)
for prefix, keep in (("train", train), ("t10k", test)):
    for kind, item_bytes in (("images-idx3-ubyte", 28 * 28), ("labels-idx1-ubyte", 1)):
        name = "%s-%s.gz" % (prefix, kind)
        with gzip.open(os.path.join(src, name)) as f:
            data = f.read()
        header = 16 if kind.startswith("images") else 8
        magic, count = struct.unpack(">II", data[:8])
        if keep > count:
            sys.exit("%s holds %d items, fewer than %d" % (name, count, keep))
        trimmed = data[:4] + struct.pack(">I", keep) + data[8:header] + data[header:header + keep * item_bytes]
        with gzip.open(os.path.join(out, name), "wb", compresslevel=9) as f:
            f.write(trimmed)
