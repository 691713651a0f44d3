#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Write tests/data/fit/confusion.csv for the `sigmoe eval` test.

The predictions of tests/data/fit/truth.json are computed here with
numpy, from SPEC section 1 alone.  Five rows are written, with true labels
chosen so that the confusion matrix (rows true, columns predicted) is
    a: 1 1 0
    b: 0 1 0
    c: 1 0 1
and each row's predicted class has a margin of at least 0.2 in
probability, so that rounding cannot change the expected matrix.
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "fit")


def predict(m, x):
    g = m["gate"]
    W, b, tau = np.array(g["weight"]), np.array(g["bias"]), g["temperature"]
    s = b - ((x - W) ** 2).sum(axis=1) / tau
    sig = 1 / (1 + np.exp(-s))
    G = sig / sig.sum()
    A, B = np.array(m["experts"]["weight"]), np.array(m["experts"]["bias"])
    eta = A @ x + B
    p = np.exp(eta - eta.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return G @ p


def main():
    with open(os.path.join(DATA, "truth.json")) as f:
        m = json.load(f)
    classes = m["classes"]
    rng = np.random.default_rng(7)
    by_class = {}
    while len(by_class) < 3 or min(len(v) for v in by_class.values()) < 2:
        x = np.round(rng.normal(size=3) * 2, 2)
        p = predict(m, x)
        top = np.sort(p)
        if top[-1] - top[-2] >= 0.2:
            by_class.setdefault(int(p.argmax()), []).append(x)
    # (true, predicted) pairs of the expected matrix
    pairs = [(0, 0), (0, 1), (1, 1), (2, 0), (2, 2)]
    with open(os.path.join(DATA, "confusion.csv"), "w") as f:
        f.write("x1,x2,x3,label\n")
        for true, pred in pairs:
            x = by_class[pred].pop()
            f.write(",".join(f"{v:g}" for v in x) + f",{classes[true]}\n")


if __name__ == "__main__":
    main()
