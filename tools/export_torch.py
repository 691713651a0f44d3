#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PyTorch mixture-of-experts classifiers in sigmoe's model family, and
their export as sigmoe safetensors files that sigmoed serves as they are.

    import torch
    from export_torch import SigmoeMoE, save_sigmoe

    model = SigmoeMoE(d=4, experts=3, classes=3, score="euclidean")
    ...train it...
    save_sigmoe(model, "models/iris.safetensors",
                classes=["setosa", "versicolor", "virginica"],
                features=["sepal_length", "sepal_width",
                          "petal_length", "petal_width"])

The file is the standard safetensors layout (an 8-byte little-endian
header length, a JSON header, the raw little-endian tensors) with the
tensor names and metadata of sigmoe's specification, written here with the
standard library alone so that no extra package is needed; a user who has
the `safetensors` package may equally call safetensors.torch.save_file with
the tensors and metadata that sigmoe_tensors() returns.

Run as a script, it exports a random model:
    tools/export_torch.py OUT.safetensors [--d 4 --experts 3 --classes 3
        --gate sigmoid --score euclidean --temperature 1 --top-k 0
        --dtype F64 --standardize --seed 0]

tests/deploy/test_export_torch.py serves such exports with sigmoed and
compares its answers with this module's forward pass.
"""

import argparse
import json
import struct

import torch

_DTYPES = {"F64": torch.float64, "F32": torch.float32}
# gate.weight right before experts.weight: sigmoed then multiplies both in
# one product straight from the mapped file.
_TENSOR_ORDER = ("gate.weight", "experts.weight", "gate.bias",
                 "experts.bias", "standardize.mean", "standardize.scale")


class SigmoeMoE(torch.nn.Module):
    """P(y | x) = sum_i G_i(x) softmax(A_i x + B_i), with the gate G of
    sigmoe: a normalized sigmoid (or softmax) over inner-product scores
    (W_i . x + b_i) / tau or euclidean scores b_i - ||x - W_i||^2 / tau,
    optionally restricted to the top_k experts."""

    def __init__(self, d, experts, classes, gate="sigmoid",
                 score="euclidean", temperature=1.0, top_k=0,
                 dtype=torch.float64, mean=None, scale=None):
        super().__init__()
        if gate not in ("sigmoid", "softmax"):
            raise ValueError(f"gate must be sigmoid or softmax, not {gate}")
        if score not in ("inner", "euclidean"):
            raise ValueError(f"score must be inner or euclidean, not {score}")
        if not temperature > 0:
            raise ValueError("temperature must be > 0")
        if not 0 <= top_k <= experts:
            raise ValueError("top_k must be in 0..experts")
        self.gate, self.score = gate, score
        self.temperature, self.top_k = float(temperature), int(top_k)
        p = torch.nn.Parameter
        self.gate_weight = p(torch.randn(experts, d, dtype=dtype))
        self.gate_bias = p(torch.zeros(experts, dtype=dtype))
        self.experts_weight = p(0.5 * torch.randn(experts, classes, d,
                                                  dtype=dtype))
        self.experts_bias = p(torch.zeros(experts, classes, dtype=dtype))
        if (mean is None) != (scale is None):
            raise ValueError("give both mean and scale, or neither")
        if mean is not None:
            self.register_buffer("mean", torch.as_tensor(mean, dtype=dtype))
            self.register_buffer("scale", torch.as_tensor(scale,
                                                          dtype=dtype))
        else:
            self.mean = self.scale = None

    def scores(self, x):
        if self.mean is not None:
            x = (x - self.mean) / self.scale
        if self.score == "inner":
            return (x @ self.gate_weight.T + self.gate_bias) / \
                self.temperature
        dist = ((x[:, None, :] - self.gate_weight[None]) ** 2).sum(-1)
        return self.gate_bias - dist / self.temperature

    def _active(self, s):
        """Boolean mask of the active experts (ties to the lower index)."""
        n_experts = s.shape[1]
        if self.top_k == 0 or self.top_k == n_experts:
            return torch.ones_like(s, dtype=torch.bool)
        # A stable descending sort keeps the lower index first on ties.
        order = torch.sort(s, dim=1, descending=True, stable=True).indices
        mask = torch.zeros_like(s, dtype=torch.bool)
        mask.scatter_(1, order[:, :self.top_k], True)
        return mask

    def gates(self, x):
        """(activations, weights), each [n, E]."""
        s = self.scores(x)
        mask = self._active(s)
        if self.gate == "sigmoid":
            activations = torch.sigmoid(s)
            logits = torch.nn.functional.logsigmoid(s)
        else:
            activations = torch.softmax(s, dim=1)
            logits = s
        logits = logits.masked_fill(~mask, float("-inf"))
        return activations, torch.softmax(logits, dim=1)

    def expert_probabilities(self, x):
        """[n, E, K]."""
        if self.mean is not None:
            x = (x - self.mean) / self.scale
        logits = torch.einsum("ekd,nd->nek", self.experts_weight, x)
        return torch.softmax(logits + self.experts_bias, dim=2)

    def forward(self, x):
        _, weights = self.gates(x)
        return torch.einsum("ne,nek->nk", weights,
                            self.expert_probabilities(x))


def sigmoe_tensors(model, classes, features=None, name="",
                   description="", dtype="F64"):
    """(tensors, metadata) in the names and encoding of sigmoe's safetensors
    format: tensors is an ordered dict of contiguous CPU tensors of one
    dtype, metadata a dict of strings."""
    if dtype not in _DTYPES:
        raise ValueError("dtype must be F32 or F64")
    n_experts, n_classes, d = model.experts_weight.shape
    if len(classes) != n_classes:
        raise ValueError(f"{len(classes)} class names for {n_classes} "
                         "classes")
    if features is not None and len(features) != d:
        raise ValueError(f"{len(features)} feature names for {d} features")
    t = _DTYPES[dtype]
    tensors = {
        "gate.weight": model.gate_weight,
        "gate.bias": model.gate_bias,
        "experts.weight": model.experts_weight,
        "experts.bias": model.experts_bias,
    }
    if model.mean is not None:
        tensors["standardize.mean"] = model.mean
        tensors["standardize.scale"] = model.scale
    tensors = {k: v.detach().to("cpu", t).contiguous()
               for k, v in tensors.items()}
    metadata = {
        "format": "sigmoe-model",
        "format_version": "1",
        "gate.kind": model.gate,
        "gate.score": model.score,
        "gate.temperature": repr(float(model.temperature)),
        "gate.top_k": str(model.top_k),
        "classes": json.dumps(list(classes)),
        "name": name,
        "description": description,
    }
    if features is not None:
        metadata["features"] = json.dumps(list(features))
    return tensors, metadata


def save_sigmoe(model, path, classes, features=None, name="",
                description="", dtype="F64"):
    """Write model as a sigmoe safetensors file at path."""
    tensors, metadata = sigmoe_tensors(model, classes, features, name,
                                       description, dtype)
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for key in _TENSOR_ORDER:
        if key not in tensors:
            continue
        raw = tensors[key].numpy().astype(
            tensors[key].numpy().dtype.newbyteorder("<")).tobytes()
        header[key] = {"dtype": dtype, "shape": list(tensors[key].shape),
                       "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)   # data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--d", type=int, default=4)
    ap.add_argument("--experts", type=int, default=3)
    ap.add_argument("--classes", type=int, default=3)
    ap.add_argument("--gate", default="sigmoid")
    ap.add_argument("--score", default="euclidean")
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--top-k", type=int, default=0)
    ap.add_argument("--dtype", default="F64", choices=sorted(_DTYPES))
    ap.add_argument("--standardize", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    t = _DTYPES[args.dtype]
    mean = scale = None
    if args.standardize:
        mean = torch.randn(args.d, dtype=t)
        scale = torch.rand(args.d, dtype=t) + 0.5
    model = SigmoeMoE(args.d, args.experts, args.classes, args.gate,
                      args.score, args.temperature, args.top_k, t,
                      mean, scale)
    save_sigmoe(model, args.out,
                classes=[f"class_{k}" for k in range(args.classes)],
                features=[f"x{j}" for j in range(args.d)],
                name="random", description=f"random, seed {args.seed}",
                dtype=args.dtype)


if __name__ == "__main__":
    main()
