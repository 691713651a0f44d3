#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""What the deployment files rely on, checked against the real sigmoed:

- the gauge sigmoe_model_available{model} that the alert
  SigmoeModelUnavailable reads (1 with a version in service, else 0), in
  an exposition that `promtool check metrics` accepts;
- hot reload of a model directory laid out as the kubelet mounts a
  ConfigMap (files are symlinks through `..data`, which is swapped by a
  rename), within poll_interval, as deploy/kubernetes/README.md promises.

Usage: test_daemon.py SIGMOED   (SIGMOE_SOURCE_ROOT names the sources)
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon import Daemon, metrics  # noqa: E402

SIGMOED = None
SOURCE = os.environ.get("SIGMOE_SOURCE_ROOT",
                        os.path.join(os.path.dirname(__file__), "..", ".."))
MODELS = os.path.join(SOURCE, "models")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def publish(directory, name, data):
    """Write data as directory/name the way the README says: a temporary
    name, then a rename."""
    tmp = os.path.join(directory, name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(directory, name))


def available(d):
    m = metrics(d.request("/metrics")[1])
    return {dict(k[1])["model"]: v for k, v in m.items()
            if k[0] == "sigmoe_model_available"}


class ModelAvailable(unittest.TestCase):
    """The gauge on a directory with one good and one bad model."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sigmoe-deploy-")
        shutil.copy(os.path.join(MODELS, "iris.json"), self.dir)
        # Cut short: not JSON any more, so never loaded.
        publish(self.dir, "broken.json",
                read(os.path.join(MODELS, "wine.json"))[:300])

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_gauge_follows_the_models(self):
        with Daemon(SIGMOED, self.dir, "--poll-interval", "1") as d:
            self.assertEqual(available(d), {"iris": 1, "broken": 0})
            text = d.request("/metrics")[1]
            self.assertIn("# TYPE sigmoe_model_available gauge", text)
            if shutil.which("promtool"):
                r = subprocess.run(["promtool", "check", "metrics"],
                                   input=text, text=True,
                                   capture_output=True)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

            # A good file for broken: it comes into service.
            publish(self.dir, "broken.json",
                    read(os.path.join(MODELS, "wine.json")))
            d.wait_for("broken loaded",
                       lambda: available(d).get("broken") == 1, 5)

            # A bad file for iris: rejected, version 1 keeps serving.
            publish(self.dir, "iris.json", b"{\"format\": 1}")
            loads = ("sigmoe_model_loads_total",
                     frozenset({("model", "iris"), ("result", "failure")}))
            d.wait_for("iris failure counted", lambda: metrics(
                d.request("/metrics")[1]).get(loads) == 1, 5)
            self.assertEqual(available(d)["iris"], 1)
            self.assertEqual(d.json("/v1/models/iris")["state"],
                             "AVAILABLE")


class ConfigMapSwap(unittest.TestCase):
    """The kubelet's layout of a ConfigMap volume: NAME.json ->
    ..data/NAME.json, ..data -> ..<timestamp>/, and an update writes a new
    timestamped directory, points ..data_tmp at it and renames ..data_tmp
    over ..data (then adds or removes the top-level links)."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sigmoe-configmap-")
        self.generation = 0
        self.write({"iris.json": read(os.path.join(MODELS, "iris.json"))})

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write(self, files):
        self.generation += 1
        stamp = f"..2026_12_03_00_00_0{self.generation}.{os.getpid()}"
        os.mkdir(os.path.join(self.dir, stamp))
        for name, data in files.items():
            with open(os.path.join(self.dir, stamp, name), "wb") as f:
                f.write(data)
        data_link = os.path.join(self.dir, "..data")
        old = os.readlink(data_link) if os.path.islink(data_link) else None
        os.symlink(stamp, os.path.join(self.dir, "..data_tmp"))
        os.rename(os.path.join(self.dir, "..data_tmp"), data_link)
        for name in files:
            link = os.path.join(self.dir, name)
            if not os.path.islink(link):
                os.symlink(os.path.join("..data", name), link)
        for name in os.listdir(self.dir):
            if not name.startswith(".") and name not in files:
                os.unlink(os.path.join(self.dir, name))
        if old:
            shutil.rmtree(os.path.join(self.dir, old))

    def test_update_is_served_within_the_poll_interval(self):
        iris = read(os.path.join(MODELS, "iris.json"))
        example = read(os.path.join(MODELS, "example.json"))
        wine = read(os.path.join(MODELS, "wine.json"))
        with Daemon(SIGMOED, self.dir, "--poll-interval", "1") as d:
            m = d.json("/v1/models/iris")
            self.assertEqual((m["version"], m["digest"]),
                             (1, hashlib.sha256(iris).hexdigest()))

            # New content for iris, and a new model wine.
            start = time.monotonic()
            self.write({"iris.json": example, "wine.json": wine})
            d.wait_for("iris version 2", lambda: d.json(
                "/v1/models/iris")["version"] == 2, 3)
            d.wait_for("wine", lambda: d.request(
                "/v1/models/wine")[0] == 200, 3)
            took = time.monotonic() - start
            m = d.json("/v1/models/iris")
            self.assertEqual(m["digest"], hashlib.sha256(example).hexdigest())
            p = d.json("/v1/models/iris/predict",
                       {"instances": [[5.1, 3.5, 1.4, 0.2]]})
            self.assertEqual(p["model_version"], 2)
            print(f"ConfigMap swap served after {took:.2f} s "
                  "(poll_interval 1 s)")

            # wine leaves the ConfigMap: its model is removed.
            self.write({"iris.json": example})
            d.wait_for("wine removed", lambda: d.request(
                "/v1/models/wine")[0] == 404, 3)
            self.assertEqual(d.json("/v1/models/iris")["version"], 2)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    SIGMOED = sys.argv.pop(1)
    unittest.main(verbosity=2)
