#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The PyTorch peer of bench_forward: the same forward pass, batched.

It reads the model that `bench_forward --dump PREFIX` wrote (PREFIX.json
and PREFIX.bin), checks that its probabilities agree with sigmoe's on the
dumped check rows, then times the forward pass the way the C harness does
(a warm-up, then REPS repetitions of at least MIN_TIME seconds each, the
median reported) and prints the same "key=value" lines.

The implementation is what a careful PyTorch user would write: the model
is prepared once (gate and expert slopes in one matrix, the euclidean
score expanded as ||z||^2 - 2 z.W + ||W||^2 so that one GEMM computes
every score and logit), then per batch: standardization, one addmm, the
normalized sigmoid gate as softmax(logsigmoid(s)) (the log-domain form of
sigma(s_i) / sum_j sigma(s_j)), the experts' softmax, and one bmm for the
mixture.  It runs under torch.inference_mode.
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np
import torch


def load(prefix):
    with open(prefix + ".json") as f:
        meta = json.load(f)
    d, e, k = meta["d"], meta["experts"], meta["classes"]
    raw = np.fromfile(prefix + ".bin", dtype="<f8")
    sizes = [("mean", d), ("scale", d), ("gate_weight", e * d),
             ("gate_bias", e), ("expert_weight", e * k * d),
             ("expert_bias", e * k), ("check_x", meta["check_rows"] * d),
             ("check_p", meta["check_rows"] * k)]
    arrays, at = {}, 0
    for name, size in sizes:
        arrays[name] = raw[at:at + size]
        at += size
    if at != raw.size:
        sys.exit(f"torch_peer: {prefix}.bin: expected {at} doubles, "
                 f"found {raw.size}")
    return meta, arrays


class Peer:
    """The model, prepared once for batched inference in one dtype."""

    def __init__(self, meta, a, dtype):
        d, e, k = meta["d"], meta["experts"], meta["classes"]
        tau = meta["temperature"]
        self.e, self.k = e, k
        self.euclidean = meta["score"] == "euclidean"
        self.inv_tau = 1.0 / tau

        def t(x):
            return torch.tensor(x, dtype=torch.float64)

        w = t(a["gate_weight"]).view(e, d)
        b = t(a["gate_bias"])
        if self.euclidean:
            gw, gb = w * (2.0 / tau), b - (w * w).sum(1) / tau
        else:
            gw, gb = w / tau, b / tau
        ew = t(a["expert_weight"]).view(e * k, d)
        eb = t(a["expert_bias"])
        self.weight = torch.cat([gw, ew]).t().contiguous().to(dtype)
        self.bias = torch.cat([gb, eb]).to(dtype)
        self.mean = t(a["mean"]).to(dtype)
        self.inv_scale = (1.0 / t(a["scale"])).to(dtype)

    def __call__(self, x):
        n = x.shape[0]
        z = (x - self.mean) * self.inv_scale
        y = torch.addmm(self.bias, z, self.weight)
        s = y[:, :self.e]
        if self.euclidean:
            s = s - (z * z).sum(1, keepdim=True) * self.inv_tau
        gate = torch.softmax(torch.nn.functional.logsigmoid(s), dim=1)
        experts = torch.softmax(y[:, self.e:].reshape(n, self.e, self.k),
                                dim=2)
        prob = torch.bmm(gate.unsqueeze(1), experts).squeeze(1)
        return prob, prob.argmax(1)


def time_call(fn, min_time, reps):
    start = time.perf_counter()
    while True:
        fn()
        if time.perf_counter() - start >= min_time / 4:
            break
    per_call = []
    for _ in range(reps):
        calls, start = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        per_call.append(elapsed / calls)
    return statistics.median(per_call)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", default="1,64,4096")
    ap.add_argument("--min-time", type=float, default=0.2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--check-only", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    meta, a = load(args.prefix)
    dtype = torch.float32 if meta["dtype"] == "F32" else torch.float64
    peer = Peer(meta, a, dtype)
    d = meta["d"]
    tag = (f"impl=torch d={d} E={meta['experts']} K={meta['classes']} "
           f"dtype={meta['dtype']} score={meta['score']}")

    with torch.inference_mode():
        x = torch.tensor(a["check_x"]).view(-1, d).to(dtype)
        prob, _ = peer(x)
        want = torch.tensor(a["check_p"]).view(prob.shape)
        diff = (prob.double() - want).abs().max().item()
        print(f"check {tag} rows={x.shape[0]} max_abs_diff={diff:.3g}",
              flush=True)
        if args.check_only:
            return

        batches = [int(b) for b in args.batches.split(",")]
        rng = np.random.default_rng(7)
        mean, scale = a["mean"], a["scale"]
        big = mean + scale * rng.standard_normal((max(batches), d))
        big = torch.tensor(big).to(dtype)
        for n in batches:
            xb = big[:n].contiguous()
            sec = time_call(lambda: peer(xb), args.min_time, args.reps)
            print(f"forward {tag} batch={n} rows_per_s={n / sec:.6g} "
                  f"ns_per_call={sec * 1e9:.6g}", flush=True)


if __name__ == "__main__":
    main()
