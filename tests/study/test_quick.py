#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests/study/test_quick.py SIGMOE - the pipeline of bench/study/run.

Runs `bench/study/run --quick` into a temporary directory and checks that
it wrote one result per fit with finite losses, a table with a finite
slope for every variant, setting and start, and three PNG plots.
"""
import csv
import math
import os
import subprocess
import sys
import tempfile

ROOT = os.environ.get("SIGMOE_SOURCE_ROOT",
                      os.path.dirname(os.path.dirname(
                          os.path.dirname(os.path.abspath(__file__)))))


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check_results(out):
    with open(os.path.join(out, "results.csv")) as f:
        rows = list(csv.DictReader(f))
    # 4 variants x 3 sizes x 2 replications x 4 fits
    if len(rows) != 96:
        fail(f"results.csv has {len(rows)} fits, not 96")
    for r in rows:
        for k in ("loss", "loss_ident", "tau"):
            if not math.isfinite(float(r[k])) or float(r[k]) < 0:
                fail(f"results.csv: {k} = {r[k]} in {r}")


def check_table(out):
    with open(os.path.join(out, "table.md")) as f:
        lines = [l for l in f if l.startswith("| ") and "---" not in l]
    body = lines[1:]
    if len(body) != 16:
        fail(f"table.md has {len(body)} rows, not 16")
    for line in body:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        slope = float(cells[3].split()[0])
        if not math.isfinite(slope):
            fail(f"table.md: slope '{cells[3]}' in {line}")
        if not math.isfinite(float(cells[8])):
            fail(f"table.md: median '{cells[8]}' in {line}")


def check_plots(out):
    for name in ("exact.png", "over.png", "tau.png"):
        path = os.path.join(out, name)
        with open(path, "rb") as f:
            head = f.read(8)
        if head != b"\x89PNG\r\n\x1a\n" or os.path.getsize(path) < 2000:
            fail(f"{name} is not a PNG plot")


def main():
    sigmoe = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="sigmoe-study.") as out:
        r = subprocess.run([os.path.join(ROOT, "bench", "study", "run"),
                            "--quick", "--jobs", "2", "--out", out,
                            "--sigmoe", sigmoe],
                           capture_output=True, text=True)
        if r.returncode != 0:
            fail("bench/study/run --quick: " + r.stderr[-2000:])
        check_results(out)
        check_table(out)
        check_plots(out)
    print("ok")


if __name__ == "__main__":
    main()
