#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tools/export_torch.py against the real daemon: random PyTorch models of
every variant (sigmoid and softmax gates, inner and euclidean scores,
top_k, standardization, F32 and F64) are exported, `sigmoe check` accepts
each file, sigmoed serves them, and its probabilities, gate activations
and mixture weights for random inputs equal PyTorch's within TOLERANCE
(1e-6, the bar for F32 models; F64 models must agree within 1e-12).
PyTorch computes in the model's dtype, as the daemon may (docs/SPEC.md
section 1); the largest difference is printed per model.

Usage: test_export_torch.py SIGMOED SIGMOE   (skips with 77 without torch)
"""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
try:
    import torch
    import export_torch
except ImportError as e:
    print(f"no torch ({e}): skipped")
    sys.exit(77)
from daemon import Daemon  # noqa: E402

SIGMOED = SIGMOE = None
TOLERANCE = {"F32": 1e-6, "F64": 1e-12}
ROWS = 40

# name: (d, experts, classes, gate, score, temperature, top_k, dtype,
#        standardize)
VARIANTS = {
    "sig_euc_f64_std": (4, 3, 3, "sigmoid", "euclidean", 1.0, 0, "F64",
                        True),
    "sig_inner_f64_top2": (6, 4, 3, "sigmoid", "inner", 0.5, 2, "F64",
                           False),
    "soft_inner_f64": (5, 3, 2, "softmax", "inner", 1.0, 0, "F64", False),
    "soft_euc_f32_top1_std": (4, 4, 3, "softmax", "euclidean", 2.0, 1,
                              "F32", True),
    "sig_euc_f32_tau3": (8, 3, 5, "sigmoid", "euclidean", 3.0, 0, "F32",
                         False),
    "sig_inner_f32_top3_std": (13, 5, 4, "sigmoid", "inner", 1.5, 3,
                               "F32", True),
}


def random_model(seed, d, experts, classes, gate, score, tau, top_k, dtype,
                 standardize):
    torch.manual_seed(seed)
    t = torch.float64 if dtype == "F64" else torch.float32
    mean = scale = None
    if standardize:
        mean = torch.randn(d, dtype=t)
        scale = torch.rand(d, dtype=t) + 0.5
    model = export_torch.SigmoeMoE(d, experts, classes, gate, score, tau,
                                   top_k, t, mean, scale)
    with torch.no_grad():       # every parameter random, biases included
        for p in model.parameters():
            p.copy_(torch.randn_like(p))
    return model


class ExportTorch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="sigmoe-torch-")
        cls.models = {}
        for seed, (name, v) in enumerate(VARIANTS.items()):
            model = random_model(seed, *v)
            export_torch.save_sigmoe(
                model, os.path.join(cls.tmp.name, name + ".safetensors"),
                classes=[f"c{k}" for k in range(v[2])],
                features=[f"x{j}" for j in range(v[0])], name=name,
                description="tests/deploy/test_export_torch.py",
                dtype=v[7])
            cls.models[name] = model
        # The script's own command line, for one more file.
        subprocess.run([sys.executable, os.path.join(ROOT, "tools",
                                                     "export_torch.py"),
                        os.path.join(cls.tmp.name, "cli.safetensors"),
                        "--gate", "softmax", "--score", "inner",
                        "--top-k", "2", "--standardize", "--seed", "7",
                        "--dtype", "F32"], check=True)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_sigmoe_check_accepts_every_file(self):
        files = sorted(os.listdir(self.tmp.name))
        r = subprocess.run([SIGMOE, "check", *files], cwd=self.tmp.name,
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.count(": ok"), len(VARIANTS) + 1,
                         r.stdout)

    def test_daemon_equals_pytorch(self):
        worst = 0.0
        with Daemon(SIGMOED, self.tmp.name) as d:
            for seed, (name, model) in enumerate(self.models.items()):
                worst = max(worst, self.compare(d, name, model, seed))
            m = d.json("/v1/models/cli")
            self.assertEqual((m["gate"]["kind"], m["gate"]["top_k"],
                              m["dtype"]), ("softmax", 2, "F32"))
        print(f"largest difference sigmoed vs PyTorch: {worst:.3g}")

    def compare(self, d, name, model, seed):
        dim = VARIANTS[name][0]
        torch.manual_seed(1000 + seed)
        x = torch.randn(ROWS, dim, dtype=torch.float64)
        body = {"instances": x.tolist()}
        p = d.json(f"/v1/models/{name}/predict", body)
        g = d.json(f"/v1/models/{name}/gates",
                   {**body, "expert_probabilities": True})

        xt = x.to(model.gate_weight.dtype)
        with torch.no_grad():
            probs = model(xt).double()
            act, weights = (t.double() for t in model.gates(xt))
            experts = model.expert_probabilities(xt).double()
        f64 = torch.float64        # torch.tensor() would make float32
        got = {"probabilities": torch.tensor(p["probabilities"], dtype=f64),
               "activations": torch.tensor(g["activations"], dtype=f64),
               "weights": torch.tensor(g["weights"], dtype=f64),
               "expert_probabilities":
                   torch.tensor(g["expert_probabilities"], dtype=f64)}
        want = {"probabilities": probs, "activations": act,
                "weights": weights, "expert_probabilities": experts}
        diffs = {k: (got[k] - want[k]).abs().max().item() for k in got}
        print(f"{name}: " + ", ".join(f"{k} {v:.2g}"
                                      for k, v in diffs.items()))
        for k, v in diffs.items():
            self.assertLessEqual(v, TOLERANCE[VARIANTS[name][7]],
                                 f"{name}: {k}")
        self.assertEqual(p["labels"], [f"c{k}" for k in
                                       probs.argmax(1).tolist()])
        top_k = VARIANTS[name][6]
        if top_k:
            inactive = (got["weights"] == 0).sum(1)
            self.assertTrue((inactive == VARIANTS[name][1] - top_k).all())
        return max(diffs.values())


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    SIGMOE = os.path.abspath(sys.argv.pop(2))
    SIGMOED = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
