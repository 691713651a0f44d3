#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the valid model files of tests/data/formats/good/.

An independent writer: plain json and struct, no code shared with
model/.  For every model it writes the files, a NAME.values listing with
one line per tensor ("name v0 v1 ..." in Python's repr, the exact value the
loader must produce), and SHA256SUMS as printed by `sha256sum`.

  tiny.json                   F64, features, standardization, euclidean
  tiny.safetensors            the same model, header padded: data aligned
  tiny_unaligned.safetensors  the same, data area at 4 mod 8: all copied
  tiny_mixed.safetensors      the same, with holes: some tensors aligned
  small_f32.json              F32, no features, no standardization
  small_f32.safetensors       the same, data area at 2 mod 4: all copied

Run from anywhere: python3 tests/tools/formats_make_good.py
"""
import json
import os
import struct
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "formats", "good")

ORDER = ["gate.weight", "gate.bias", "experts.weight", "experts.bias",
         "standardize.mean", "standardize.scale"]


def flat(x):
    if isinstance(x, list):
        return [v for item in x for v in flat(item)]
    return [x]


def shape(x):
    return [len(x)] + shape(x[0]) if isinstance(x, list) else []


def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


TINY = {
    "name": "tiny",
    "description": "three features, two experts, three classes",
    "features": ["x0", "x1", "x2"],
    "classes": ["a", "b", "c"],
    "dtype": "F64",
    "kind": "sigmoid", "score": "euclidean", "temperature": 0.75,
    "top_k": 1,
    "tensors": {
        "gate.weight": [[0.1, -2.5e-7, 1.0 / 3.0],
                        [123456.789, -0.0, 1e-300]],
        "gate.bias": [0.5, -1.25],
        "experts.weight": [
            [[1.0, 2.0, 3.0], [-1.0, 0.2, 0.3], [2.0 / 3.0, -5.5, 7.0]],
            [[0.01, 0.02, -0.03], [4.0, -4.0, 1e-5], [9.75, 0.0, -2.0]],
        ],
        "experts.bias": [[0.0, 0.1, -0.1], [1.5, -2.5, 3.5]],
        "standardize.mean": [0.5, -1.0, 2.0],
        "standardize.scale": [1.5, 0.25, 3.0],
    },
}

SMALL = {
    "name": "small_f32",
    "description": "",
    "features": None,
    "classes": ["no", "yes"],
    "dtype": "F32",
    "kind": "softmax", "score": "inner", "temperature": 2.0, "top_k": 0,
    "tensors": {
        "gate.weight": [[0.1, 0.2], [-0.3, 0.4], [3.4028234e38, -1e-30]],
        "gate.bias": [0.7, -0.7, 0.0],
        "experts.weight": [[[0.5, -0.5], [1.0, 1.0]],
                           [[2.0, 0.1], [-0.1, 3.0]],
                           [[0.3, 0.3], [-0.3, -0.3]]],
        "experts.bias": [[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]],
    },
}


def json_text(m):
    doc = {"format": "sigmoe-model", "format_version": 1,
           "name": m["name"], "description": m["description"]}
    if m["features"] is not None:
        doc["features"] = m["features"]
    doc["classes"] = m["classes"]
    doc["dtype"] = m["dtype"]
    t = m["tensors"]
    if "standardize.mean" in t:
        doc["standardize"] = {"mean": t["standardize.mean"],
                              "scale": t["standardize.scale"]}
    doc["gate"] = {"kind": m["kind"], "score": m["score"],
                   "temperature": m["temperature"], "top_k": m["top_k"],
                   "weight": t["gate.weight"], "bias": t["gate.bias"]}
    doc["experts"] = {"weight": t["experts.weight"],
                      "bias": t["experts.bias"]}
    return json.dumps(doc, indent=2) + "\n"


def metadata(m):
    meta = {"format": "sigmoe-model", "format_version": "1",
            "gate.kind": m["kind"], "gate.score": m["score"],
            "gate.temperature": repr(float(m["temperature"])),
            "gate.top_k": str(m["top_k"]),
            "classes": json.dumps(m["classes"]),
            "name": m["name"], "description": m["description"]}
    if m["features"] is not None:
        meta["features"] = json.dumps(m["features"])
    return meta


def safetensors(m, start_mod=0, holes=None):
    """Pack m; the data area starts at start_mod modulo 8 and holes[name]
    bytes of padding go before that tensor."""
    fmt, size = ("<d", 8) if m["dtype"] == "F64" else ("<f", 4)
    header = {"__metadata__": metadata(m)}
    data = b""
    for name in ORDER:
        if name not in m["tensors"]:
            continue
        data += b"\0" * (holes or {}).get(name, 0)
        values = flat(m["tensors"][name])
        blob = b"".join(struct.pack(fmt, v) for v in values)
        header[name] = {"dtype": m["dtype"],
                        "shape": shape(m["tensors"][name]),
                        "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header, separators=(",", ":")).encode()
    while (8 + len(text)) % 8 != start_mod:
        text += b" "
    return struct.pack("<Q", len(text)) + text + data


def values_text(m):
    lines = []
    for name in ORDER:
        if name not in m["tensors"]:
            continue
        values = flat(m["tensors"][name])
        if m["dtype"] == "F32":
            values = [f32(v) for v in values]
        lines.append(" ".join([name] + [repr(float(v)) for v in values]))
    return "\n".join(lines) + "\n"


def write(name, data):
    mode = "w" if isinstance(data, str) else "wb"
    with open(os.path.join(OUT, name), mode) as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    write("tiny.json", json_text(TINY))
    write("tiny.safetensors", safetensors(TINY))
    write("tiny_unaligned.safetensors", safetensors(TINY, start_mod=4))
    # data area at 4 mod 8: gate.weight (after a 4-byte hole), gate.bias
    # and experts.weight are aligned; the next hole of 4 unaligns the rest
    write("tiny_mixed.safetensors",
          safetensors(TINY, start_mod=4,
                      holes={"gate.weight": 4, "experts.bias": 4}))
    write("tiny.values", values_text(TINY))
    write("small_f32.json", json_text(SMALL))
    write("small_f32.safetensors", safetensors(SMALL, start_mod=2))
    write("small_f32.values", values_text(SMALL))

    files = sorted(f for f in os.listdir(OUT)
                   if f.endswith((".json", ".safetensors")))
    sums = subprocess.run(["sha256sum"] + files, cwd=OUT, check=True,
                          capture_output=True, text=True).stdout
    write("SHA256SUMS", sums)


if __name__ == "__main__":
    main()
