#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Models and expected answers for the daemon's end-to-end tests.

Writes, into tests/data/server/:
  models/iris.json           F64, sigmoid gate, euclidean score, feature
                             names, standardization (JSON file)
  models/blobs.safetensors   F64, softmax gate, inner score, top_k 2, no
                             feature names (safetensors file)
  models/tiny32.safetensors  F32, sigmoid gate, inner score, top_k 1
  models/anon.json           F64, d = 2, no feature names (for the api
                             helper's catalog of bad bodies)
  models/iris_v2.json.in     a second version of iris, for the swap test
  expected.json              for each model: input rows and the outputs
                             the SPEC 1 formulas give for them

Model files are written here byte by byte (json module, struct), and the
outputs computed with numpy from the formulas of the specification; no
code of sigmoe is used, so the daemon's answers are checked against an
independent computation.  Deterministic (fixed seed).  Run:

    /usr/bin/python3 tests/tools/server_reference.py
"""

import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "server")


def sigmoid(t):
    return np.where(t >= 0, 1 / (1 + np.exp(-np.abs(t))),
                    np.exp(-np.abs(t)) / (1 + np.exp(-np.abs(t))))


def softmax(v):
    e = np.exp(v - v.max())
    return e / e.sum()


def forward_row(m, x):
    """SPEC 1, steps 1-5, for one raw input row."""
    if m["mean"] is not None:
        x = (x - m["mean"]) / m["scale"]
    W, b, tau = m["gw"], m["gb"], m["tau"]
    E = W.shape[0]
    if m["score"] == "inner":
        s = (W @ x + b) / tau
    else:
        s = b - ((x - W) ** 2).sum(axis=1) / tau
    k = m["top_k"]
    if 0 < k < E:
        order = sorted(range(E), key=lambda i: (-s[i], i))
        active = sorted(order[:k])
    else:
        active = list(range(E))
    if m["kind"] == "sigmoid":
        act = sigmoid(s)
        logs = np.array([-np.logaddexp(0, -s[i]) for i in active])
    else:
        act = softmax(s)
        logs = np.array([s[i] for i in active])
    w = np.zeros(E)
    w[active] = softmax(logs)
    ep = np.array([softmax(m["ew"][i] @ x + m["eb"][i]) for i in range(E)])
    p = w @ ep
    return {
        "probabilities": p.tolist(),
        "label": int(np.argmax(p)),
        "activations": act.tolist(),
        "weights": w.tolist(),
        "top_expert": int(np.argmax(w)),
        "expert_probabilities": ep.tolist(),
    }


def make(rng, name, d, E, K, kind, score, tau, top_k, dtype, features,
         standardize):
    m = {
        "name": name, "d": d, "E": E, "K": K, "kind": kind, "score": score,
        "tau": tau, "top_k": top_k, "dtype": dtype,
        "features": features,
        "classes": ["c%d_%s" % (k, name) for k in range(K)],
        "gw": rng.normal(0, 1, (E, d)), "gb": rng.normal(0, 0.5, E),
        "ew": rng.normal(0, 1.5, (E, K, d)), "eb": rng.normal(0, 0.5, (E, K)),
        "mean": rng.normal(0, 1, d) if standardize else None,
        "scale": rng.uniform(0.5, 2, d) if standardize else None,
    }
    if dtype == "F32":
        for key in ("gw", "gb", "ew", "eb", "mean", "scale"):
            if m[key] is not None:
                m[key] = m[key].astype(np.float32).astype(np.float64)
    return m


def write_json(m, path):
    doc = {
        "format": "sigmoe-model", "format_version": 1, "name": m["name"],
        "description": "server test model", "classes": m["classes"],
        "dtype": m["dtype"],
        "gate": {"kind": m["kind"], "score": m["score"],
                 "temperature": m["tau"], "top_k": m["top_k"],
                 "weight": m["gw"].tolist(), "bias": m["gb"].tolist()},
        "experts": {"weight": m["ew"].tolist(), "bias": m["eb"].tolist()},
    }
    if m["features"]:
        doc["features"] = m["features"]
    if m["mean"] is not None:
        doc["standardize"] = {"mean": m["mean"].tolist(),
                              "scale": m["scale"].tolist()}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def write_safetensors(m, path):
    np_type = "<f8" if m["dtype"] == "F64" else "<f4"
    tensors = [("gate.weight", m["gw"]), ("gate.bias", m["gb"]),
               ("experts.weight", m["ew"]), ("experts.bias", m["eb"])]
    if m["mean"] is not None:
        tensors += [("standardize.mean", m["mean"]),
                    ("standardize.scale", m["scale"])]
    header, blobs, off = {}, [], 0
    for name, arr in tensors:
        raw = np.ascontiguousarray(arr, dtype=np_type).tobytes()
        header[name] = {"dtype": m["dtype"], "shape": list(arr.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    meta = {"format": "sigmoe-model", "format_version": "1",
            "gate.kind": m["kind"], "gate.score": m["score"],
            "gate.temperature": repr(m["tau"]), "gate.top_k": str(m["top_k"]),
            "classes": json.dumps(m["classes"]), "name": m["name"],
            "description": "server test model"}
    if m["features"]:
        meta["features"] = json.dumps(m["features"])
    header["__metadata__"] = meta
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def main():
    rng = np.random.default_rng(20261203)
    os.makedirs(os.path.join(OUT, "models"), exist_ok=True)
    iris = make(rng, "iris", 4, 3, 3, "sigmoid", "euclidean", 1.5, 0, "F64",
                ["sepal_length", "sepal_width", "petal_length",
                 "petal_width"], True)
    blobs = make(rng, "blobs", 3, 4, 2, "softmax", "inner", 0.7, 2, "F64",
                 None, False)
    tiny = make(rng, "tiny32", 2, 3, 4, "sigmoid", "inner", 1.0, 1, "F32",
                ["a", "b"], False)
    write_json(iris, os.path.join(OUT, "models", "iris.json"))
    write_safetensors(blobs, os.path.join(OUT, "models",
                                          "blobs.safetensors"))
    write_safetensors(tiny, os.path.join(OUT, "models",
                                         "tiny32.safetensors"))

    expected = {}
    for m in (iris, blobs, tiny):
        rows = rng.normal(0, 2, (5, m["d"])).round(3)
        expected[m["name"]] = {
            "dtype": m["dtype"], "features": m["features"],
            "classes": m["classes"], "n_experts": m["E"],
            "rows": rows.tolist(),
            "outputs": [forward_row(m, r) for r in rows],
        }

    # A second version of iris (same features and classes, other
    # parameters), published over iris.json by the swap test.
    iris2 = make(np.random.default_rng(3), "iris", 4, 3, 3, "softmax",
                 "inner", 0.8, 2, "F64", iris["features"], True)
    write_json(iris2, os.path.join(OUT, "models", "iris_v2.json.in"))
    rows = np.array(expected["iris"]["rows"])
    expected["iris_v2"] = dict(expected["iris"])
    expected["iris_v2"]["outputs"] = [forward_row(iris2, r) for r in rows]
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")

    anon = make(np.random.default_rng(2), "anon", 2, 2, 2, "sigmoid",
                "inner", 1.0, 0, "F64", None, False)
    write_json(anon, os.path.join(OUT, "models", "anon.json"))


if __name__ == "__main__":
    main()
