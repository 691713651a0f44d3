#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""deploy/systemd/sigmoed.service, without running systemd (the tests do
not run under systemd as PID 1, so the unit is never started here):

- `systemd-analyze verify` accepts a copy whose ExecStart is the built
  daemon, with no warning;
- `systemd-analyze security --offline` rates its exposure at most
  MAX_EXPOSURE (the figure is printed);
- the unit's Environment= settings pass `sigmoed --check-config`;
- every system call the daemon makes while serving, reloading and
  stopping (traced with strace) is allowed by the unit's
  SystemCallFilter=, whose groups systemd-analyze expands.

Usage: test_systemd.py SIGMOED   (skips with 77 without systemd-analyze)
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon import Daemon, strace_works  # noqa: E402

SIGMOED = None
ROOT = os.path.abspath(os.environ.get(
    "SIGMOE_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", "..")))
UNIT = os.path.join(ROOT, "deploy", "systemd", "sigmoed.service")
MAX_EXPOSURE = 2.0        # systemd-analyze's 0 (locked down) .. 10 scale


def unit_settings(key):
    """The values of every `key=` line of the unit's [Service] section."""
    with open(UNIT, encoding="utf-8") as f:
        return [line.split("=", 1)[1].strip() for line in f
                if line.startswith(key + "=")]


def expand_filter_groups():
    """{"@group": set of system calls}, groups expanded recursively."""
    out = subprocess.run(["systemd-analyze", "syscall-filter"],
                         capture_output=True, text=True, check=True).stdout
    groups, current = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), set())
        elif current is not None and line.strip() and \
                not line.strip().startswith("#"):
            current.add(line.strip())

    def expand(name, seen=()):
        calls = set()
        for member in groups.get(name, ()):
            if member.startswith("@"):
                if member not in seen:
                    calls |= expand(member, seen + (name,))
            else:
                calls.add(member)
        return calls

    return {name: expand(name) for name in groups}


def allowed_syscalls():
    """The set the unit's SystemCallFilter= lines leave allowed: the
    first allow list, minus every `~` deny list after it."""
    groups = expand_filter_groups()
    allowed = None
    for value in unit_settings("SystemCallFilter"):
        deny = value.startswith("~")
        calls = set()
        for word in value.lstrip("~").split():
            calls |= groups[word] if word.startswith("@") else {word}
        if deny:
            allowed -= calls
        else:
            allowed = calls if allowed is None else allowed | calls
    return allowed


class Unit(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sigmoe-systemd-")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def unit_copy(self):
        with open(UNIT, encoding="utf-8") as f:
            text = f.read()
        text, n = re.subn(r"(?m)^ExecStart=/usr/bin/sigmoed",
                          "ExecStart=" + SIGMOED, text)
        self.assertEqual(n, 1)
        path = os.path.join(self.tmp, "sigmoed.service")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_verify(self):
        r = subprocess.run(["systemd-analyze", "verify", self.unit_copy()],
                           capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))

    def test_security_exposure(self):
        r = subprocess.run(["systemd-analyze", "security", "--offline=true",
                            "--no-pager", self.unit_copy()],
                           capture_output=True, text=True)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)",
                      r.stdout)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        print(f"systemd-analyze security: exposure {m.group(1)} "
              f"{m.group(2)} (0 = most locked down, 10 = not at all)")
        self.assertLessEqual(float(m.group(1)), MAX_EXPOSURE)

    def test_environment_is_valid(self):
        env = dict(os.environ)
        for value in unit_settings("Environment"):
            key, _, v = value.partition("=")
            env[key] = v
        env["SIGMOED_MODELS"] = os.path.join(ROOT, "models")
        config = os.path.join(ROOT, "config", "sigmoed.conf.example")
        r = subprocess.run([SIGMOED, "--check-config", "--config", config],
                           env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    @unittest.skipUnless(strace_works(), "no strace, or no ptrace here")
    def test_system_calls_within_the_filter(self):
        allowed = allowed_syscalls()
        models = os.path.join(self.tmp, "models")
        os.mkdir(models)
        for name in ("iris.json", "wine.json"):
            shutil.copy(os.path.join(ROOT, "models", name), models)
        trace = os.path.join(self.tmp, "strace.txt")
        wrapper = ["strace", "-f", "-C", "-o", trace]   # calls and summary
        # LeakSanitizer stops the world with ptrace, which it cannot do
        # under strace: no leak check in this run of an ASan build.
        asan = os.environ.get("ASAN_OPTIONS", "")
        env = {"ASAN_OPTIONS": asan + (":" if asan else "") +
               "detect_leaks=0"}
        with Daemon(SIGMOED, models, "--poll-interval", "1", env=env,
                    wrapper=wrapper) as d:
            self.serve(d, models)
        with open(trace, encoding="utf-8") as f:
            text = f.read()
        # Summary rows: % time, seconds, usecs/call, calls, [errors,] name.
        used = set(re.findall(r"(?m)^\s*[0-9.]+\s+[0-9.]+\s+\d+\s+\d+"
                              r"\s+(?:\d+\s+)?([a-z_0-9]+)$", text))
        used.discard("total")
        self.assertGreater(len(used), 20, "strace saw too little")
        self.assertEqual(used - allowed, set(),
                         "system calls the unit's filter refuses")

        families = set(re.findall(r"\bsocket\((AF_[A-Z0-9]+)", text))
        self.assertIn("AF_INET", families)
        allowed_families = set(" ".join(
            unit_settings("RestrictAddressFamilies")).split())
        self.assertEqual(families - allowed_families, set(),
                         "socket families RestrictAddressFamilies= refuses")

    def serve(self, d, models):
        rows = {"instances": [[5.1, 3.5, 1.4, 0.2]] * 64}
        for path in ("/v1/models/iris/predict", "/v1/models/iris/gates"):
            d.json(path, rows)
        for path in ("/metrics", "/v1/models", "/readyz", "/v2/health/live"):
            self.assertEqual(d.request(path)[0], 200, path)

        # Publish a new wine by rename, then a SIGHUP rescan.
        with open(os.path.join(ROOT, "models", "example.json"), "rb") as f:
            data = f.read()
        with open(os.path.join(models, "wine.json.tmp"), "wb") as f:
            f.write(data)
        os.rename(os.path.join(models, "wine.json.tmp"),
                  os.path.join(models, "wine.json"))
        d.wait_for("wine version 2", lambda: d.json(
            "/v1/models/wine")["version"] == 2, 5)
        os.kill(d.daemon_pid(), 1)
        time.sleep(0.3)
        d.json("/v1/models/wine/predict", rows)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if not shutil.which("systemd-analyze"):
        print("no systemd-analyze: skipped")
        sys.exit(77)
    SIGMOED = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
