# SPDX-License-Identifier: MIT
"""The Python peer of sigmoed for bench/http/run: FastAPI with numpy.

Serves `POST /predict` with sigmoed's request and response bodies (SPEC
4.1, rows as arrays) for the model file that the environment variable
SIGMOE_PEER_MODEL names (a sigmoe JSON model, SPEC 2.1), computing the
same forward pass (SPEC 1) in float64 numpy, batched.  Run it with
uvicorn, e.g.

    SIGMOE_PEER_MODEL=iris.json uvicorn fastapi_peer:app --workers 2

The request body is validated by a pydantic model, as a FastAPI user
would write it.
"""
import json
import os
from typing import List

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel


class Model:
    """A sigmoe JSON model, prepared for batched numpy inference."""

    def __init__(self, path):
        with open(path) as f:
            m = json.load(f)
        gate = m["gate"]
        self.name = os.path.splitext(os.path.basename(path))[0]
        self.classes = m["classes"]
        self.kind = gate.get("kind", "sigmoid")
        self.euclidean = gate.get("score", "inner") == "euclidean"
        self.tau = float(gate.get("temperature", 1.0))
        self.top_k = int(gate.get("top_k", 0))
        self.w = np.array(gate["weight"], dtype=np.float64)
        self.b = np.array(gate["bias"], dtype=np.float64)
        a = np.array(m["experts"]["weight"], dtype=np.float64)
        self.e, self.k, d = a.shape
        self.a = a.reshape(self.e * self.k, d).T.copy()
        self.ab = np.array(m["experts"]["bias"], dtype=np.float64).ravel()
        std = m.get("standardize")
        self.mean = np.array(std["mean"]) if std else np.zeros(d)
        self.scale = np.array(std["scale"]) if std else np.ones(d)
        self.w2 = (self.w * self.w).sum(1)

    def scores(self, z):
        if self.euclidean:
            sq = (z * z).sum(1)[:, None] - 2.0 * z @ self.w.T + self.w2
            return self.b - sq / self.tau
        return (z @ self.w.T + self.b) / self.tau

    def gate_weights(self, s):
        if self.kind == "sigmoid":
            s = -np.logaddexp(0.0, -s)   # log sigma(s), stable
        if 0 < self.top_k < self.e:
            order = np.argsort(-s, axis=1, kind="stable")
            drop = order[:, self.top_k:]
            s = s.copy()
            np.put_along_axis(s, drop, -np.inf, axis=1)
        s = s - s.max(1, keepdims=True)
        g = np.exp(s)
        return g / g.sum(1, keepdims=True)

    def predict(self, x):
        z = (x - self.mean) / self.scale
        g = self.gate_weights(self.scores(z))
        logits = (z @ self.a + self.ab).reshape(-1, self.e, self.k)
        logits -= logits.max(2, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(2, keepdims=True)
        return np.einsum("ne,nek->nk", g, p)


class Request(BaseModel):
    instances: List[List[float]]


model = Model(os.environ["SIGMOE_PEER_MODEL"])
app = FastAPI()


@app.post("/predict")
async def predict(req: Request):
    prob = model.predict(np.array(req.instances, dtype=np.float64))
    labels = [model.classes[i] for i in prob.argmax(1)]
    return {"model": model.name, "model_version": 1,
            "classes": model.classes, "labels": labels,
            "probabilities": prob.tolist()}
