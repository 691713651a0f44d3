#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Fashion-MNIST (Debian package dataset-fashion-mnist) as CSV files.

Writes OUT/train.csv and OUT/test.csv: a header p0..p783,label, the
pixels divided by 255 and printed to 6 significant digits (every tool of
the benchmark reads these same numbers), the label as the class index
0..9.  With --train-rows N only the first N training rows are written.

Usage: prepare.py OUT [--train-rows N]
"""
import argparse
import gzip
import os

import numpy as np

SRC = "/usr/share/datasets/fashion-mnist"


def read_idx(name, offset):
    with gzip.open(os.path.join(SRC, name), "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(kind):
    y = read_idx(f"{kind}-labels-idx1-ubyte.gz", 8)
    x = read_idx(f"{kind}-images-idx3-ubyte.gz", 16).reshape(len(y), 784)
    return x, y


def write(path, x, y):
    # one formatted table per pixel value, looked up: much faster than
    # formatting 47 million floats
    text = np.array([f"{v / 255:.6g}" for v in range(256)])
    header = ",".join(f"p{j}" for j in range(784)) + ",label\n"
    with open(path, "w") as f:
        f.write(header)
        for row, label in zip(x, y):
            f.write(",".join(text[row]) + f",{label}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--train-rows", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    x, y = load("train")
    if args.train_rows:
        x, y = x[: args.train_rows], y[: args.train_rows]
    write(os.path.join(args.out, "train.csv"), x, y)
    x, y = load("t10k")
    write(os.path.join(args.out, "test.csv"), x, y)


if __name__ == "__main__":
    main()
