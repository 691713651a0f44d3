#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Expected output of `sigmoe predict`, computed independently with numpy.

Reads a sigmoe JSON model (SPEC 2.1) and a CSV file with Python's json and
csv modules, runs the forward pass of SPEC 1 in float64 (in the log domain
where sigmoids can underflow) and prints what `sigmoe predict` must print:

    cli_reference.py MODEL.json DATA.csv [--gates] [--label NAME]

F32 models have their parameters rounded to float32 first; the forward
pass is still done in float64, so a test compares F32 output with a
tolerance.  Shares no code with model/ or cli/.

`cli_reference.py --make-inputs DIR` writes the input tables the cli tests
use (fixed seed) into DIR.
"""
import csv
import json
import sys

import numpy as np


def load_model(path):
    with open(path) as f:
        m = json.load(f)
    dtype = np.float32 if m.get("dtype", "F64") == "F32" else np.float64

    def arr(x):
        return np.asarray(np.asarray(x, dtype=np.float64).astype(dtype),
                          dtype=np.float64)

    gate = m["gate"]
    model = {
        "features": m.get("features"),
        "classes": m["classes"],
        "kind": gate.get("kind", "sigmoid"),
        "score": gate.get("score", "inner"),
        "tau": float(gate.get("temperature", 1.0)),
        "top_k": int(gate.get("top_k", 0)),
        "W": arr(gate["weight"]),
        "b": arr(gate["bias"]),
        "A": arr(m["experts"]["weight"]),
        "B": arr(m["experts"]["bias"]),
        "mean": None,
        "scale": None,
    }
    if "standardize" in m:
        model["mean"] = arr(m["standardize"]["mean"])
        model["scale"] = arr(m["standardize"]["scale"])
    return model


def read_inputs(path, model, label):
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    header, body = rows[0], rows[1:]
    d = model["W"].shape[1]
    if model["features"]:
        cols = [header.index(name) for name in model["features"]]
    else:
        if label is None and len(header) == d + 1:
            label = header[-1]
        cols = [i for i, name in enumerate(header) if name != label]
        assert len(cols) == d, "expected %d feature columns" % d
    return np.array([[float(r[c]) for c in cols] for r in body])


def log_sigmoid(s):
    return -np.logaddexp(0.0, -s)


def softmax(z, axis=-1):
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def forward(model, x):
    if model["mean"] is not None:
        x = (x - model["mean"]) / model["scale"]
    W, b, tau = model["W"], model["b"], model["tau"]
    if model["score"] == "euclidean":
        s = b[None, :] - ((x[:, None, :] - W[None, :, :]) ** 2).sum(-1) / tau
    else:
        s = (x @ W.T + b[None, :]) / tau
    n, e = s.shape

    active = np.ones((n, e), dtype=bool)
    k = model["top_k"]
    if 0 < k < e:
        active[:] = False
        order = np.argsort(-s, axis=1, kind="stable")[:, :k]
        np.put_along_axis(active, order, True, axis=1)

    if model["kind"] == "sigmoid":
        logit = log_sigmoid(s)
        activations = np.exp(log_sigmoid(s))
    else:
        logit = s
        activations = softmax(s)
    masked = np.where(active, logit, -np.inf)
    weights = np.exp(masked - masked.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)

    logits = np.einsum("ekd,nd->nek", model["A"], x) + model["B"][None]
    expert_p = softmax(logits)
    p = (weights[:, :, None] * expert_p).sum(axis=1)
    return p, activations, weights


def fmt(v):
    return "%.17g" % v


def predict(argv):
    model = load_model(argv[0])
    label = None
    if "--label" in argv:
        label = argv[argv.index("--label") + 1]
    x = read_inputs(argv[1], model, label)
    p, activations, weights = forward(model, x)
    out = csv.writer(sys.stdout, lineterminator="\n")
    if "--gates" in argv:
        e = weights.shape[1]
        out.writerow(["top_expert"] + ["activation_%d" % i for i in range(e)]
                     + ["weight_%d" % i for i in range(e)])
        for a, w in zip(activations, weights):
            out.writerow([str(int(np.argmax(w)))] + [fmt(v) for v in a]
                         + [fmt(v) for v in w])
    else:
        out.writerow(["label"] + ["p_" + c for c in model["classes"]])
        for row in p:
            out.writerow([model["classes"][int(np.argmax(row))]]
                         + [fmt(v) for v in row])


def make_inputs(directory):
    rng = np.random.default_rng(20261203)

    with open(directory + "/named_input.csv", "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["id", "f_c", "f_a", "note", "f_b"])
        for i in range(40):
            a, b, c = rng.normal([1.0, -2.0, 0.5], [2.0, 0.5, 1.5])
            if i == 7:
                a = 1000.0   # far from every centre: sigmoids underflow
            if i == 8:
                b = -750.0
            out.writerow(["r%d" % i, fmt(c), fmt(a), "note, %d" % i, fmt(b)])

    for name, d in (("unnamed_input.csv", 2), ("f32_input.csv", 2)):
        with open(directory + "/" + name, "w", newline="") as f:
            out = csv.writer(f, lineterminator="\n")
            if name.startswith("unnamed"):
                out.writerow(["x0", "x1", "label"])
            else:
                out.writerow(["v", "u", "label"])
            for i in range(30):
                x = rng.normal(0.0, 2.0, size=d)
                out.writerow([fmt(v) for v in x] + ["yes" if i % 3 else "no"])


if __name__ == "__main__":
    if sys.argv[1] == "--make-inputs":
        make_inputs(sys.argv[2])
    else:
        predict(sys.argv[1:])
