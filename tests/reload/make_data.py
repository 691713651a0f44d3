#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the model files and expected outputs of tests/data/reload/.

Two versions of one model, A and B, with different outputs, each as JSON
and as safetensors (data area 8-byte aligned, so that the daemon maps
it), plus inputs and the class probabilities of each version computed
here with numpy from SPEC 1 -- no code shared with model/.

  va.json, va.safetensors   version A: sigmoid gate, inner score
  vb.json, vb.safetensors   version B: sigmoid gate, euclidean score,
                            top_k 2, standardization; a longer file
  bad_shape.json            A with one expert row missing (rejected)
  input.txt                 N rows of d numbers
  expect_va.txt, expect_vb.txt   N rows of K probabilities (repr floats)

Run: /usr/bin/python3 tests/reload/make_data.py
"""
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "reload")
D, E, K, N = 4, 3, 3, 8
ORDER = ["gate.weight", "gate.bias", "experts.weight", "experts.bias",
         "standardize.mean", "standardize.scale"]


def model(seed, score, top_k, standardize, description):
    rng = np.random.default_rng(seed)
    t = {"gate.weight": rng.normal(0, 1, (E, D)),
         "gate.bias": rng.normal(0, 0.5, E),
         "experts.weight": rng.normal(0, 1.5, (E, K, D)),
         "experts.bias": rng.normal(0, 0.5, (E, K))}
    if standardize:
        t["standardize.mean"] = rng.normal(0, 1, D)
        t["standardize.scale"] = rng.uniform(0.5, 2.0, D)
    return {"score": score, "top_k": top_k, "temperature": 1.5,
            "description": description, "tensors": t}


def forward(m, x):
    t = m["tensors"]
    if "standardize.mean" in t:
        x = (x - t["standardize.mean"]) / t["standardize.scale"]
    w, b, tau = t["gate.weight"], t["gate.bias"], m["temperature"]
    if m["score"] == "inner":
        s = (x @ w.T + b) / tau
    else:
        s = b - ((x[:, None, :] - w[None, :, :]) ** 2).sum(-1) / tau
    act = np.zeros_like(s)
    for r in range(len(x)):
        keep = np.arange(E)
        if 0 < m["top_k"] < E:
            keep = np.argsort(-s[r], kind="stable")[:m["top_k"]]
        act[r, keep] = 1.0 / (1.0 + np.exp(-s[r, keep]))
    g = act / act.sum(1, keepdims=True)
    z = np.einsum("ekd,nd->nek", t["experts.weight"], x) + \
        t["experts.bias"][None]
    z -= z.max(-1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    return (g[:, :, None] * p).sum(1)


def json_text(m):
    t = {k: v.tolist() for k, v in m["tensors"].items()}
    doc = {"format": "sigmoe-model", "format_version": 1, "name": "m",
           "description": m["description"],
           "features": ["f0", "f1", "f2", "f3"],
           "classes": ["c0", "c1", "c2"], "dtype": "F64"}
    if "standardize.mean" in t:
        doc["standardize"] = {"mean": t["standardize.mean"],
                              "scale": t["standardize.scale"]}
    doc["gate"] = {"kind": "sigmoid", "score": m["score"],
                   "temperature": m["temperature"], "top_k": m["top_k"],
                   "weight": t["gate.weight"], "bias": t["gate.bias"]}
    doc["experts"] = {"weight": t["experts.weight"],
                      "bias": t["experts.bias"]}
    return json.dumps(doc, indent=1) + "\n"


def safetensors(m):
    meta = {"format": "sigmoe-model", "format_version": "1",
            "gate.kind": "sigmoid", "gate.score": m["score"],
            "gate.temperature": repr(m["temperature"]),
            "gate.top_k": str(m["top_k"]),
            "classes": json.dumps(["c0", "c1", "c2"]),
            "features": json.dumps(["f0", "f1", "f2", "f3"]),
            "name": "m", "description": m["description"]}
    header, data = {"__metadata__": meta}, b""
    for name in ORDER:
        if name not in m["tensors"]:
            continue
        v = m["tensors"][name]
        blob = b"".join(struct.pack("<d", float(a)) for a in v.ravel())
        header[name] = {"dtype": "F64", "shape": list(v.shape),
                        "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header, separators=(",", ":")).encode()
    while (8 + len(text)) % 64:
        text += b" "
    return struct.pack("<Q", len(text)) + text + data


def write(name, data):
    with open(os.path.join(OUT, name), "w" if isinstance(data, str)
              else "wb") as f:
        f.write(data)


def rows_text(a):
    return "".join(" ".join(repr(float(v)) for v in r) + "\n" for r in a)


def main():
    os.makedirs(OUT, exist_ok=True)
    va = model(11, "inner", 0, False, "version A")
    vb = model(22, "euclidean", 2, True,
               "version B, a longer description so that the file sizes "
               "of A and B differ")
    x = np.random.default_rng(33).normal(0, 1.5, (N, D))
    write("va.json", json_text(va))
    write("vb.json", json_text(vb))
    write("va.safetensors", safetensors(va))
    write("vb.safetensors", safetensors(vb))
    bad = json.loads(json_text(va))
    bad["experts"]["weight"][2] = bad["experts"]["weight"][2][:2]
    write("bad_shape.json", json.dumps(bad, indent=1) + "\n")
    write("input.txt", rows_text(x))
    write("expect_va.txt", rows_text(forward(va, x)))
    write("expect_vb.txt", rows_text(forward(vb, x)))


if __name__ == "__main__":
    main()
