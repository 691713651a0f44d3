# SPDX-License-Identifier: MIT
"""The real sigmoed for the deploy tests: started on a free loopback port
with a given model directory, spoken to with urllib, stopped with SIGTERM
(which must end it with status 0)."""

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

def strace_works():
    """strace is installed and may trace here (ptrace can be forbidden
    in containers)."""
    return shutil.which("strace") and subprocess.run(
        ["strace", "-f", "-o", os.devnull, "true"],
        capture_output=True).returncode == 0


LISTENING = re.compile(r"listening on http://([0-9.]+:[0-9]+)")


class Daemon:
    """sigmoed serving models_dir; use as a context manager."""

    def __init__(self, exe, models_dir, *args, env=None, wrapper=()):
        self.exe, self.models_dir, self.args = exe, models_dir, args
        self.wrapper = list(wrapper)      # e.g. strace and its options
        self.env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", **(env or {})}
        self.log, self.url, self.proc = [], None, None

    def __enter__(self):
        self.proc = subprocess.Popen(
            self.wrapper + [self.exe, "--listen", "127.0.0.1:0", "--models",
             self.models_dir, "--threads", "2", *self.args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, env=self.env)
        found = threading.Event()
        self.reader = threading.Thread(target=self._read_log,
                                       args=(found,), daemon=True)
        self.reader.start()
        if not found.wait(10):
            self.proc.kill()
            raise RuntimeError("sigmoed did not start:\n" +
                               "\n".join(self.log))
        return self

    def _read_log(self, found):
        for line in self.proc.stderr:
            self.log.append(line.rstrip("\n"))
            m = LISTENING.search(line)
            if m and not found.is_set():
                self.url = "http://" + m.group(1)
                found.set()

    def daemon_pid(self):
        """The pid of sigmoed itself: the child of the wrapper, if any."""
        return self._pid(self.proc)

    def _pid(self, proc):
        if not self.wrapper:
            return proc.pid
        path = f"/proc/{proc.pid}/task/{proc.pid}/children"
        with open(path) as f:
            return int(f.read().split()[0])

    def stop(self, check=True):
        """SIGTERM, then wait for the exit; with check, raise unless the
        status is 0.  Once stopped, a second call does nothing."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        os.kill(self._pid(proc), signal.SIGTERM)
        try:
            status = proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise RuntimeError("sigmoed ignored SIGTERM for 15 s")
        self.reader.join(5)
        proc.stderr.close()
        if status != 0 and check:
            raise RuntimeError(f"sigmoed exited with status {status}; its "
                               "log:\n" + "\n".join(self.log[-20:]))

    def __exit__(self, *exc):
        self.stop(check=exc[0] is None)

    def request(self, path, body=None):
        """(status, body text) of GET path, or POST path with body as
        JSON."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def json(self, path, body=None, status=200):
        """The parsed JSON answer of path, which must come with status."""
        got, text = self.request(path, body)
        if got != status:
            raise AssertionError(f"{path}: status {got}, expected "
                                 f"{status}: {text[:300]}")
        return json.loads(text)

    def wait_for(self, what, predicate, timeout):
        """Poll predicate() until it is true; fail after timeout s."""
        end = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > end:
                raise AssertionError(f"{what}: not within {timeout} s")
            time.sleep(0.1)


def metrics(text):
    """{(name, frozenset of label pairs): value} of a Prometheus text."""
    out = {}
    sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
    label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = sample.match(line)
        if not m:
            raise AssertionError(f"bad metrics line: {line!r}")
        labels = frozenset(label.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out
