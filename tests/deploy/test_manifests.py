#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""What a schema cannot see in deploy/ and the Dockerfile: that the files
agree with each other and with the daemon.

- Kubernetes: selectors match the pod labels, ports and probes name the
  container's port and the daemon's health routes, the security settings
  and the grace period fit the image and the daemon's drain, every volume
  and ConfigMap referenced exists, the models ConfigMap is in sync with
  models/ byte for byte, and the daemon started with the ConfigMap's
  settings, the Deployment's environment and the ConfigMap's models
  answers the probes and the scrape path.
- Compose: paths resolve, ports and the Prometheus target agree.
- Dockerfile: user, port, listen address, volume, health check.

Usage: test_manifests.py SIGMOED SIGMOE
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

try:
    import yaml
except ImportError:
    print("no PyYAML (Debian python3-yaml): skipped")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon import Daemon  # noqa: E402

SIGMOED = SIGMOE = None
ROOT = os.path.abspath(os.environ.get(
    "SIGMOE_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", "..")))
K8S = os.path.join(ROOT, "deploy", "kubernetes")
DRAIN_SECONDS = 10          # docs/SPEC.md section 6: the daemon's drain
OPTIONAL = {"models-pvc.yaml"}


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def dockerfile():
    with open(os.path.join(ROOT, "Dockerfile"), encoding="utf-8") as f:
        text = f.read().replace("\\\n", " ")
    final = text[text.rindex("\nFROM "):]      # the image's own stage
    return final


def k8s_objects():
    kust = load(os.path.join(K8S, "kustomization.yaml"))
    objects = {}
    for name in kust["resources"]:
        doc = load(os.path.join(K8S, name))
        objects[(doc["kind"], doc["metadata"]["name"])] = doc
    return kust, objects


class Kubernetes(unittest.TestCase):
    def setUp(self):
        self.kust, self.objects = k8s_objects()
        self.deploy = self.objects[("Deployment", "sigmoe")]
        self.pod = self.deploy["spec"]["template"]
        self.container = self.pod["spec"]["containers"][0]

    def test_kustomization_lists_every_manifest(self):
        files = {f for f in os.listdir(K8S) if f.endswith(".yaml")}
        listed = set(self.kust["resources"])
        self.assertEqual(files - {"kustomization.yaml"} - OPTIONAL, listed)

    def test_selectors_match_the_pod_labels(self):
        labels = self.pod["metadata"]["labels"]
        sel = self.deploy["spec"]["selector"]["matchLabels"]
        self.assertLessEqual(sel.items(), labels.items())
        svc = self.objects[("Service", "sigmoe")]["spec"]["selector"]
        self.assertLessEqual(svc.items(), labels.items())
        pdb = self.objects[("PodDisruptionBudget", "sigmoe")]
        self.assertLessEqual(pdb["spec"]["selector"]["matchLabels"].items(),
                             labels.items())
        hpa = self.objects[("HorizontalPodAutoscaler", "sigmoe")]["spec"]
        self.assertEqual((hpa["scaleTargetRef"]["kind"],
                          hpa["scaleTargetRef"]["name"]),
                         ("Deployment", "sigmoe"))
        self.assertGreaterEqual(hpa["minReplicas"], 2)

    def test_ports_and_probes(self):
        ports = {p["name"]: p["containerPort"]
                 for p in self.container["ports"]}
        env = {e["name"]: e["value"] for e in self.container["env"]}
        listen_port = int(env["SIGMOED_LISTEN"].rsplit(":", 1)[1])
        self.assertEqual(ports, {"http": listen_port})
        for p in self.objects[("Service", "sigmoe")]["spec"]["ports"]:
            self.assertIn(p["targetPort"], ports)
        probes = {k: self.container[k]["httpGet"] for k in
                  ("livenessProbe", "readinessProbe", "startupProbe")}
        self.assertEqual(probes["livenessProbe"]["path"], "/v2/health/live")
        self.assertEqual(probes["readinessProbe"]["path"],
                         "/v2/health/ready")
        for probe in probes.values():
            self.assertIn(probe["port"], ports)
        ann = self.pod["metadata"]["annotations"]
        self.assertEqual(int(ann["prometheus.io/port"]), listen_port)
        self.assertEqual(ann["prometheus.io/path"], "/metrics")

    def test_security(self):
        pod_sc = self.pod["spec"]["securityContext"]
        sc = self.container["securityContext"]
        self.assertTrue(pod_sc["runAsNonRoot"])
        user = re.search(r"^USER (\d+):(\d+)$", dockerfile(), re.M)
        self.assertEqual((pod_sc["runAsUser"], pod_sc["runAsGroup"]),
                         (int(user.group(1)), int(user.group(2))))
        self.assertTrue(sc["readOnlyRootFilesystem"])
        self.assertFalse(sc["allowPrivilegeEscalation"])
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
        self.assertFalse(self.pod["spec"]["automountServiceAccountToken"])

    def test_resources_and_threads(self):
        res = self.container["resources"]
        for kind in ("requests", "limits"):
            self.assertEqual(set(res[kind]), {"cpu", "memory"})
        env = {e["name"]: e["value"] for e in self.container["env"]}
        cpu = res["limits"]["cpu"]
        cpus = int(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
        self.assertLessEqual(int(env["SIGMOED_THREADS"]), max(1, cpus))

    def test_graceful_rollout(self):
        spec = self.deploy["spec"]
        self.assertEqual(spec["strategy"]["rollingUpdate"]["maxUnavailable"],
                         0)
        pre = self.container["lifecycle"]["preStop"]["exec"]["command"]
        self.assertEqual(pre[0], "/bin/sleep")
        grace = self.pod["spec"]["terminationGracePeriodSeconds"]
        self.assertGreater(grace, int(pre[1]) + DRAIN_SECONDS)

    def test_volumes_and_config_path(self):
        volumes = {v["name"]: v for v in self.pod["spec"]["volumes"]}
        mounts = {m["name"]: m for m in self.container["volumeMounts"]}
        self.assertEqual(set(mounts), set(volumes))
        for name, v in volumes.items():
            self.assertTrue(mounts[name]["readOnly"])
            cm = v["configMap"]["name"]
            self.assertIn(("ConfigMap", cm), self.objects)
        env = {e["name"]: e["value"] for e in self.container["env"]}
        self.assertEqual(mounts["models"]["mountPath"],
                         env["SIGMOED_MODELS"])
        args = self.container["args"]
        conf = args[args.index("--config") + 1]
        config = self.objects[("ConfigMap",
                               volumes["config"]["configMap"]["name"])]
        self.assertEqual(os.path.dirname(conf),
                         mounts["config"]["mountPath"])
        self.assertIn(os.path.basename(conf), config["data"])

    def test_models_configmap_in_sync(self):
        r = subprocess.run([os.path.join(K8S, "make-models-configmap"),
                            "--check"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        data = self.objects[("ConfigMap", "sigmoe-models")]["data"]
        models = os.path.join(ROOT, "models")
        self.assertEqual(set(data), {f for f in os.listdir(models)
                                     if f.endswith(".json")})
        for name, text in data.items():
            with open(os.path.join(models, name), "rb") as f:
                self.assertEqual(text.encode(), f.read(), name)
        size = sum(len(t.encode()) for t in data.values())
        self.assertLess(size, 1024 * 1024)

    def test_daemon_runs_as_deployed(self):
        """sigmoed with the ConfigMap's settings file, the Deployment's
        environment (but a loopback port) and the models ConfigMap's
        files: settings accepted, models good, probes and scrape 200."""
        tmp = tempfile.mkdtemp(prefix="sigmoe-k8s-")
        try:
            self.run_as_deployed(tmp)
        finally:
            shutil.rmtree(tmp)

    def run_as_deployed(self, tmp):
        config = self.objects[("ConfigMap", "sigmoe-config")]["data"]
        models = self.objects[("ConfigMap", "sigmoe-models")]["data"]
        os.mkdir(os.path.join(tmp, "models"))
        for name, text in {**config, **{"models/" + k: v
                                        for k, v in models.items()}}.items():
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                f.write(text)
        files = sorted(os.path.join(tmp, "models", n) for n in models)
        r = subprocess.run([SIGMOE, "check", *files], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        env = {e["name"]: e["value"] for e in self.container["env"]}
        env["SIGMOED_MODELS"] = os.path.join(tmp, "models")
        env["SIGMOED_LISTEN"] = "127.0.0.1:0"
        args = list(self.container["args"])
        args[args.index("--config") + 1] = os.path.join(tmp, "sigmoed.conf")
        r = subprocess.run([SIGMOED, "--check-config", *args],
                           env=dict(os.environ, **env), capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        with Daemon(SIGMOED, env["SIGMOED_MODELS"], *args, env=env) as d:
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                path = self.container[probe]["httpGet"]["path"]
                self.assertEqual(d.request(path)[0], 200, probe)
            ann = self.pod["metadata"]["annotations"]
            status, text = d.request(ann["prometheus.io/path"])
            self.assertEqual(status, 200)
            self.assertIn("sigmoe_model_available", text)
            for name, text in models.items():
                m = d.json("/v1/models/" + name[:-len(".json")])
                self.assertEqual(m["digest"], hashlib.sha256(
                    text.encode()).hexdigest())


class Compose(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.join(ROOT, "deploy")
        self.compose = load(os.path.join(self.dir, "compose.yaml"))
        self.services = self.compose["services"]

    def host_path(self, volume):
        return os.path.normpath(os.path.join(self.dir,
                                             volume.split(":")[0]))

    def test_build_and_volumes_resolve(self):
        build = self.services["sigmoed"]["build"]
        context = os.path.normpath(os.path.join(self.dir, build["context"]))
        self.assertTrue(os.path.isfile(os.path.join(context,
                                                    build["dockerfile"])))
        for service in self.services.values():
            for v in service.get("volumes", []):
                self.assertTrue(os.path.exists(self.host_path(v)), v)

    def test_ports_and_scrape_target(self):
        s = self.services["sigmoed"]
        port = s["environment"]["SIGMOED_LISTEN"].rsplit(":", 1)[1]
        self.assertEqual([p.split(":")[1] for p in s["ports"]], [port])
        self.assertTrue(s["read_only"])
        grace = s["stop_grace_period"]
        self.assertGreater(int(grace.rstrip("s")), DRAIN_SECONDS)

        prom = self.services["prometheus"]
        mounts = {os.path.basename(self.host_path(v)): v.split(":")[1]
                  for v in prom["volumes"]}
        config = load(os.path.join(self.dir, "prometheus", "prometheus.yml"))
        for rule in config["rule_files"]:
            self.assertEqual(os.path.dirname(mounts[rule]),
                             os.path.dirname(mounts["prometheus.yml"]))
        job = config["scrape_configs"][0]
        self.assertEqual(job["job_name"], "sigmoe")   # alerts.yml's up{}
        self.assertEqual(job["static_configs"][0]["targets"],
                         [f"sigmoed:{port}"])
        self.assertIn("sigmoed", prom["depends_on"])


class Dockerfile(unittest.TestCase):
    def test_image_settings(self):
        text = dockerfile()
        self.assertRegex(text, r"(?m)^USER 10001:10001$")
        self.assertRegex(text, r"(?m)^EXPOSE 8080$")
        self.assertRegex(text, r"SIGMOED_LISTEN=0\.0\.0\.0:8080\b")
        self.assertRegex(text, r'(?m)^VOLUME \["/models"\]$')
        self.assertRegex(text, r"(?m)^HEALTHCHECK .*/v2/health/live")
        self.assertRegex(text, r'(?m)^ENTRYPOINT \["/usr/bin/sigmoed"\]$')

    def test_dockerignore_keeps_build_dirs_out(self):
        with open(os.path.join(ROOT, ".dockerignore")) as f:
            lines = f.read().split()
        self.assertIn("build*/", lines)
        self.assertIn(".git/", lines)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    SIGMOE = sys.argv.pop(2)
    SIGMOED = sys.argv.pop(1)
    unittest.main(verbosity=2)
