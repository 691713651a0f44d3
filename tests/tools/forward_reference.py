#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Reference forward pass of the sigmoe model (SPEC 1), for the tests.

An independent implementation that shares nothing with model/: it works
on the formulas of the specification as written, in mpmath arbitrary
precision (distances by subtraction, sigma and softmax from their
definitions), so that its results are exact to double precision even for
inputs of 1e300 or rows where every sigmoid underflows.

It writes test cases to tests/data/forward/*.json: model parameters (as
doubles; for F32 cases exactly representable in float), input rows, and
the expected outputs rounded to double.  Run from anywhere:

    /usr/bin/python3 tests/tools/forward_reference.py

The output is deterministic (fixed seeds).
"""

import json
import os
import sys

import numpy as np
from mpmath import mp, mpf

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "forward")


def exact(v):
    return mpf(float(v))


def sigma(t):
    if t >= 0:
        return 1 / (1 + mp.exp(-t))
    e = mp.exp(t)
    return e / (1 + e)


def log_sigma(t):
    if t >= 0:
        return -mp.log1p(mp.exp(-t))
    return t - mp.log1p(mp.exp(t))


def softmax(v):
    top = max(v)
    e = [mp.exp(a - top) for a in v]
    s = sum(e)
    return [a / s for a in e]


def argmax(v):
    best = 0
    for i in range(1, len(v)):
        if v[i] > v[best]:
            best = i
    return best


def margin(v):
    """Gap between the largest and second largest value (in double)."""
    s = sorted(v, reverse=True)
    return float(s[0] - s[1]) if len(s) > 1 else float("inf")


def forward_row(case, x):
    d, E, K = case["d"], case["E"], case["K"]
    g = case["gate"]
    tau = exact(g["temperature"])
    W = case["gate_weight"]
    A = case["expert_weight"]

    z = [exact(v) for v in x]
    if case["mean"] is not None:
        z = [(z[j] - exact(case["mean"][j])) / exact(case["scale"][j])
             for j in range(d)]

    s = []
    for i in range(E):
        w = [exact(W[i * d + j]) for j in range(d)]
        b = exact(case["gate_bias"][i])
        if g["score"] == "inner":
            s.append((sum(w[j] * z[j] for j in range(d)) + b) / tau)
        else:
            dist = sum((z[j] - w[j]) ** 2 for j in range(d))
            s.append(b - dist / tau)

    k = g["top_k"]
    order = sorted(range(E), key=lambda i: (-s[i], i))
    active = set(order[:k]) if 0 < k < E else set(range(E))

    if g["kind"] == "sigmoid":
        act = [sigma(v) for v in s]
        logw = {i: log_sigma(s[i]) for i in active}
    else:
        act = softmax(s)
        logw = {i: s[i] for i in active}
    top = max(logw.values())
    ew = {i: mp.exp(v - top) for i, v in logw.items()}
    tot = sum(ew.values())
    weights = [ew[i] / tot if i in active else mpf(0) for i in range(E)]

    experts = []
    for i in range(E):
        logits = []
        for c in range(K):
            row = (i * K + c) * d
            acc = exact(case["expert_bias"][i * K + c])
            acc += sum(exact(A[row + j]) * z[j] for j in range(d))
            logits.append(acc)
        experts.append(softmax(logits))

    probs = [sum(weights[i] * experts[i][c] for i in range(E))
             for c in range(K)]
    return {
        "probabilities": probs,
        "activations": act,
        "weights": weights,
        "expert_probabilities": [p for e in experts for p in e],
        "label": argmax(probs),
        "label_margin": margin(probs),
        "top_expert": argmax(weights),
        "top_expert_margin": margin(weights),
    }


def run_case(case, prec):
    mp.prec = prec
    keys = ["probabilities", "activations", "weights",
            "expert_probabilities"]
    exp = {key: [] for key in keys}
    for key in ["labels", "label_margins", "top_expert",
                "top_expert_margins"]:
        exp[key] = []
    d = case["d"]
    for r in range(case["n"]):
        out = forward_row(case, case["x"][r * d:(r + 1) * d])
        for key in keys:
            exp[key].extend(float(v) for v in out[key])
        exp["labels"].append(out["label"])
        exp["label_margins"].append(out["label_margin"])
        exp["top_expert"].append(out["top_expert"])
        exp["top_expert_margins"].append(out["top_expert_margin"])
    case["expected"] = exp
    return case


def as_list(a, dtype):
    a = np.asarray(a, dtype=np.float64)
    if dtype == "F32":
        a = a.astype(np.float32).astype(np.float64)
    return [float(v) for v in a.ravel()]


def make_case(name, dtype, kind, score, tau, top_k, W, b, A, B, x,
              mean=None, scale=None, tol=None):
    W = np.asarray(W, dtype=np.float64)
    A = np.asarray(A, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    E, d = W.shape
    K = A.shape[1]
    if tol is None:
        tol = {"abs": 1e-11, "rel": 1e-9} if dtype == "F64" else \
              {"abs": 2e-5, "rel": 1e-4}
    return {
        "name": name, "dtype": dtype, "d": d, "E": E, "K": K,
        "gate": {"kind": kind, "score": score, "temperature": tau,
                 "top_k": top_k},
        "gate_weight": as_list(W, dtype), "gate_bias": as_list(b, dtype),
        "expert_weight": as_list(A, dtype),
        "expert_bias": as_list(B, dtype),
        "mean": None if mean is None else as_list(mean, dtype),
        "scale": None if scale is None else as_list(scale, dtype),
        "n": x.shape[0], "x": as_list(x, "F64"),
        "tolerance": tol,
    }


def variant_cases(dtype, seed):
    """Every gate variant on one random model shape."""
    rng = np.random.default_rng(seed)
    d, E, K, n = 3, 5, 4, 7
    cases = []
    for kind in ["sigmoid", "softmax"]:
        for score in ["inner", "euclidean"]:
            for top_k in [0, 2, E]:
                for std in [False, True]:
                    for tau in [1.0, 0.37]:
                        W = rng.normal(0, 1.5, (E, d))
                        b = rng.normal(0, 1, E)
                        A = rng.normal(0, 1, (E, K, d))
                        B = rng.normal(0, 1, (E, K))
                        mean = scale = None
                        x = rng.normal(0, 1.5, (n, d))
                        if std:
                            mean = rng.normal(0, 3, d)
                            scale = rng.uniform(0.5, 4, d)
                            x = x * np.asarray(scale) + np.asarray(mean)
                        if score == "euclidean":
                            # One row sits right on a centre.
                            z0 = W[1]
                            if std:
                                x[0] = z0 * scale + mean
                            else:
                                x[0] = z0
                        name = "%s %s %s top_k=%d std=%d tau=%g" % (
                            dtype, kind, score, top_k, std, tau)
                        cases.append(make_case(
                            name, dtype, kind, score, tau, top_k, W, b, A,
                            B, x, mean, scale))
    return cases


def extreme_cases(dtype):
    cases = []
    f64 = dtype == "F64"
    A = [[[1.0, -2.0], [0.5, 0.25], [-1.0, 1.0]]] * 4
    A = np.asarray(A) * np.asarray([1, 2, -1, 0.5])[:, None, None]
    B = np.asarray([[0, 0.5, -0.5], [1, 0, 0], [0, 0, 0], [-1, 2, 0]])
    centres = [[0, 0], [0, 0.01], [0.02, 0], [-0.01, -0.01]]
    far = [[1e3, 0], [1e3, 1e3], [-1e3, 5], [0, -2e3]]
    for kind in ["sigmoid", "softmax"]:
        cases.append(make_case(
            "%s far from every centre, %s, 1e3" % (dtype, kind), dtype,
            kind, "euclidean", 1.0, 0, centres, [0, 0.1, 0, 0], A * 1e-3,
            B, far))
    # 1e150 away: distances differ by O(1) out of 1e300.
    centres = [[0, 0], [0, 1], [0.5, -0.5], [0, 2]]
    far = [[1e150, 0], [1e150, 5], [-1e150, 0.25], [3e149, -1e149]]
    if f64:
        cases.append(make_case(
            "F64 far from every centre, sigmoid, 1e150", dtype, "sigmoid",
            "euclidean", 2.0, 0, centres, [0, 0, 0.3, 0], A * 1e-150, B,
            far))
        cases.append(make_case(
            "F64 far from every centre, top_k=2, 1e150", dtype, "sigmoid",
            "euclidean", 2.0, 2, centres, [0, 0, 0.3, 0], A * 1e-150, B,
            far))
    # Saturating inner scores: all near +1 / all underflowing / mixed.
    # Scores are exact in the dtype, so that the weights (which depend
    # on differences of O(1) between scores of 1e10) are well defined.
    tiny = 1e-9 if f64 else 2.0 ** -10
    W = [[1, 0], [1, tiny], [0.5, 0], [1, -tiny]]
    big = 1e10 if f64 else 2.0 ** 20
    xs = [[big, 0], [-big, 0], [big, -big], [-big, big]]
    for kind in ["sigmoid", "softmax"]:
        cases.append(make_case(
            "%s saturating inner scores, %s" % (dtype, kind), dtype, kind,
            "inner", 1.0, 0, W, [0, 0, 0, 1], A * 1e-8, B, xs))
    # Huge inputs: products that overflow the dtype go to the fallback.
    huge = 1e300 if f64 else 1e20
    # No two scores of a row differ by less than the dtype resolves,
    # except exact ties.
    W = [[1, 0], [0, 1], [0.5, 2], [-1, 0]]
    W2 = [[0, 0], [0, 1], [1, 0], [-1, 1]]
    xs = [[huge, 0], [huge, huge], [-huge, 3], [huge, -huge]]
    if f64:
        xs.append([1.5e308, -1.7e308])
    else:
        xs.extend([[3e38, -3e38], [1e30, 1]])
    for kind in ["sigmoid", "softmax"]:
        for score, WW in [("inner", W), ("euclidean", W2)]:
            for top_k in [0, 2]:
                cases.append(make_case(
                    "%s huge inputs, %s %s top_k=%d" % (dtype, kind, score,
                                                       top_k),
                    dtype, kind, score, 1.0, top_k, WW, [0, 0, 0, 0],
                    A, B, xs))
    # Close to a centre of large norm: the expanded distance cancels.
    c = 1e4
    centres = [[c, c, c], [c, c, c + 1], [-c, c, 0]]
    xs = [[c + 1e-3, c - 2e-3, c], [c, c, c + 0.5], [c, c, c + 0.4999]]
    Ae = np.zeros((3, 3, 3))
    Be = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    tau = 1e-5 if f64 else 1.0
    for kind in ["sigmoid", "softmax"]:
        cases.append(make_case(
            "%s near a centre of norm 1e4, %s" % (dtype, kind), dtype,
            kind, "euclidean", tau, 0, centres, [2, 0, 0], Ae, Be, xs))
    return cases


def tie_cases(dtype):
    # Equal gate scores: top_k picks the lower index; equal mixture
    # weights: top_expert is the lower index; equal probabilities: label
    # is the lower index.
    W = [[0, 0], [0, 0], [0, 0], [0, 0]]
    A = np.zeros((4, 3, 2))
    B = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]]
    xs = [[1, 2], [-3, 0.5]]
    cases = []
    for kind in ["sigmoid", "softmax"]:
        for top_k, b in [(1, [0, 0, 0, 0]), (2, [0, 1, 1, 1]),
                         (3, [2, 2, 2, 2])]:
            cases.append(make_case(
                "%s ties %s top_k=%d" % (dtype, kind, top_k), dtype, kind,
                "inner", 1.0, top_k, W, b, A, B, xs))
    # All experts equal: uniform probabilities, label 0.
    cases.append(make_case(
        "%s ties uniform" % dtype, dtype, "sigmoid", "euclidean", 1.0, 0,
        W, [0, 0, 0, 0], A, np.zeros((4, 3)), xs))
    return cases


def many_experts_cases(dtype, seed):
    """top_k over many experts (the heap path), with tied gate rows."""
    rng = np.random.default_rng(seed)
    d, E, K, n = 2, 70, 3, 5
    W = rng.normal(0, 1, (E, d))
    W[40:50] = W[30:40]          # ties between pairs of experts
    b = np.zeros(E)
    A = rng.normal(0, 1, (E, K, d))
    B = rng.normal(0, 1, (E, K))
    x = rng.normal(0, 2, (n, d))
    cases = []
    for kind in ["sigmoid", "softmax"]:
        for score in ["inner", "euclidean"]:
            for top_k in [3, 35, 41]:
                cases.append(make_case(
                    "%s many experts %s %s top_k=%d" % (dtype, kind, score,
                                                       top_k),
                    dtype, kind, score, 0.5, top_k, W, b, A, B, x))
    # Overflowing products (the long double path) with top_k on the heap.
    huge = [[1.5e308, -1.7e308], [-1e308, 1e308], [1.7e308, 0.5]] \
        if dtype == "F64" else [[3e38, -3e38], [1e39, 1]]
    for kind in ["sigmoid", "softmax"]:
        cases.append(make_case(
            "%s many experts huge inputs %s top_k=40" % (dtype, kind),
            dtype, kind, "inner", 0.5, 40, W, b, A, B, huge))
    return cases


def write(name, cases, prec):
    for case in cases:
        run_case(case, prec)
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump({"generator": "tests/tools/forward_reference.py",
                   "cases": cases}, f, indent=None, separators=(",", ":"),
                  allow_nan=False)
        f.write("\n")
    print("%s: %d cases" % (path, len(cases)), file=sys.stderr)


def main():
    os.makedirs(OUT, exist_ok=True)
    write("variants_f64.json", variant_cases("F64", 1), 160)
    write("variants_f32.json", variant_cases("F32", 2), 160)
    write("extreme_f64.json", extreme_cases("F64") + tie_cases("F64"),
          4400)
    write("extreme_f32.json", extreme_cases("F32") + tie_cases("F32"),
          4400)
    write("many_experts.json", many_experts_cases("F64", 3) +
          many_experts_cases("F32", 4), 160)


if __name__ == "__main__":
    main()
