"""How long the quick `gongkai` commands take from the shell (issue #21: under 0.3 s).

    .venv/bin/python -m bench.cli_startup [--runs 7]

Each command runs `--runs` times as a fresh process (`python -m gongkai.cli …`) with an
empty GONGKAI_VAR_DIR; the report gives the median and the fastest wall time. What the
commands import is held by tests/unit/test_cli_startup.py; this measures the time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import load

COMMANDS = (
    ("--help",),
    ("workdays", "due", "--from", "2026-09-30", "--days", "3"),
    # no account "bench" in the empty state: refused after reading the accounts store
    # (exit 2), which is the start-up being measured
    ("token", "issue", "--org", "shangdang", "--role", "auditor", "--sub", "bench"),
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    runs = ap.parse_args().runs
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as var:
        env = {**os.environ, "PYTHONPATH": str(root), "GONGKAI_VAR_DIR": var}
        env.pop("GONGKAI_DATABASE_URL", None)
        print(f"load {load()}; {runs} runs each; {sys.executable}")
        for argv in COMMANDS:
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", "gongkai.cli", *argv],
                    env=env,
                    cwd=root,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    check=False,
                )
                assert done.returncode == (2 if argv[0] == "token" else 0), argv
                times.append(time.perf_counter() - started)
            label = "gongkai " + " ".join(argv[:2])
            median, fastest = statistics.median(times), min(times)
            print(f"{label:<24} median {median:.3f} s  min {fastest:.3f} s")


if __name__ == "__main__":
    main()
