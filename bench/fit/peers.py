#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The benchmark's peers of `sigmoe fit`, on the CSV files of prepare.py.

  peers.py torch TRAIN TEST --experts E --temperature T --l2 L
                            --max-iter N --tol T --seed S
      the model of SPEC section 1 (sigmoid gate, euclidean score, raw
      features) written in PyTorch, float64, with the penalty of
      `sigmoe fit`, (L/2)||theta||^2 on every parameter, added to the mean
      negative log-likelihood; trained full-batch with torch.optim.LBFGS
      (strong Wolfe line search, history 10) to the same tolerance;
  peers.py sklearn TRAIN TEST --l2 L --max-iter N --tol T
      scikit-learn's multinomial LogisticRegression (lbfgs) with
      C = 1 / (n L), the same penalty per row (intercepts unpenalized).

Prints one line of JSON: test accuracy, test log-loss, fit seconds,
iterations.  Threads are set by the caller (OMP_NUM_THREADS etc.).
"""
import argparse
import json
import time

import numpy as np


def read_csv(path):
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    return data[:, :-1], data[:, -1].astype(np.int64)


def kmeanspp(x, k, rng):
    """k-means++ seeding, as sigmoe's fit does it."""
    centres = [x[rng.integers(len(x))]]
    dist = ((x - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = dist.sum()
        pick = rng.integers(len(x)) if total <= 0 else \
            min(np.searchsorted(np.cumsum(dist), rng.random() * total),
                len(x) - 1)
        centres.append(x[pick])
        dist = np.minimum(dist, ((x - x[pick]) ** 2).sum(axis=1))
    return np.array(centres)


def run_torch(args, xtr, ytr, xte, yte):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    n, d = xtr.shape
    E, K, tau, lam = args.experts, int(ytr.max()) + 1, args.temperature, \
        args.l2
    X = torch.from_numpy(xtr)
    y = torch.from_numpy(ytr)
    W = torch.tensor(kmeanspp(xtr, E, rng), requires_grad=True)
    b = torch.zeros(E, dtype=torch.float64, requires_grad=True)
    A = torch.tensor(0.01 * rng.standard_normal((E * K, d)),
                     requires_grad=True)
    B = torch.zeros(E * K, dtype=torch.float64, requires_grad=True)
    params = [W, b, A, B]

    def log_probs(X):
        xx = (X * X).sum(1, keepdim=True)
        s = b - (xx - 2 * X @ W.T + (W * W).sum(1)) / tau
        a = F.logsigmoid(s)
        log_g = a - torch.logsumexp(a, 1, keepdim=True)
        log_p = F.log_softmax((X @ A.T + B).view(-1, E, K), dim=2)
        return torch.logsumexp(log_g.unsqueeze(2) + log_p, dim=1)

    opt = torch.optim.LBFGS(params, lr=1, max_iter=args.max_iter,
                            max_eval=args.max_iter * 10,
                            tolerance_grad=args.tol,
                            tolerance_change=args.tol, history_size=10,
                            line_search_fn="strong_wolfe")
    evals = [0]

    def closure():
        opt.zero_grad()
        lp = log_probs(X)
        loss = -lp[torch.arange(n), y].mean() + \
            0.5 * lam * sum((p * p).sum() for p in params)
        loss.backward()
        evals[0] += 1
        return loss

    t0 = time.perf_counter()
    opt.step(closure)
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        lp = log_probs(torch.from_numpy(xte)).numpy()
    iters = opt.state[opt._params[0]]["n_iter"]
    return lp, seconds, iters, evals[0]


def run_sklearn(args, xtr, ytr, xte, yte):
    from sklearn.linear_model import LogisticRegression

    n = len(xtr)
    lr = LogisticRegression(C=1.0 / (n * args.l2), solver="lbfgs",
                            multi_class="multinomial",
                            max_iter=args.max_iter, tol=args.tol)
    t0 = time.perf_counter()
    lr.fit(xtr, ytr)
    seconds = time.perf_counter() - t0
    lp = np.log(np.maximum(lr.predict_proba(xte), 1e-300))
    return lp, seconds, int(lr.n_iter_[0]), None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("peer", choices=["torch", "sklearn"])
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("--experts", type=int, default=8)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--l2", type=float, default=1e-4)
    ap.add_argument("--max-iter", type=int, default=500)
    ap.add_argument("--tol", type=float, default=1e-7)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    t0 = time.perf_counter()
    xtr, ytr = read_csv(args.train)
    xte, yte = read_csv(args.test)
    load = time.perf_counter() - t0
    run = run_torch if args.peer == "torch" else run_sklearn
    lp, seconds, iters, evals = run(args, xtr, ytr, xte, yte)
    lp_true = lp[np.arange(len(yte)), yte]
    print(json.dumps({
        "peer": args.peer,
        "accuracy": float((lp.argmax(1) == yte).mean()),
        "logloss": float(-np.maximum(lp_true, np.log(1e-300)).mean()),
        "fit_seconds": seconds,
        "load_seconds": load,
        "iterations": iters,
        "evaluations": evals,
    }))


if __name__ == "__main__":
    main()
