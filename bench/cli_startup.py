"""How long the quick `gongkai` commands take from the shell (issue #21: under 0.3 s).

    .venv/bin/python -m bench.cli_startup [--runs 7]

Each command runs `--runs` times as a fresh process (`python -m gongkai.cli …`) on an
embedded state made first, as an operator has it: the demo district's accounts
bootstrapped (`gongkai accounts bootstrap`) and a working-day year published (`gongkai
workdays publish`), so `token issue` signs a real token and `workdays due` counts over a
published year. The report gives the median and the fastest wall time. What the commands
import is held by tests/unit/test_cli_startup.py; this measures the time.
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
    ("workdays", "due", "--from", "2027-09-30", "--days", "3"),
    ("token", "issue", "--sub", "chen-gang", "--role", "administrator"),
)

#: A year the package does not cover, published so `workdays due` reads it from the log.
YEAR_2027 = """year: 2027
holidays: [2027-01-01, 2027-10-01, 2027-10-04, 2027-10-05, 2027-10-06, 2027-10-07]
makeup_workdays: [2027-09-26]
source: bench/cli_startup.py (a made-up schedule for the measurement)
version: 1
"""


def _state(root: Path, env: dict[str, str], var: Path) -> None:
    """The embedded state the commands read: accounts bootstrapped, a year published."""
    (var / "admin-password").write_text("bench-startup-password-1", encoding="utf-8")
    (var / "2027.yaml").write_text(YEAR_2027, encoding="utf-8")
    password = str(var / "admin-password")
    for argv in (
        ["accounts", "bootstrap", "--admin", "chen-gang", "--password-file", password],
        ["workdays", "publish", str(var / "2027.yaml")],
    ):
        subprocess.run(
            [sys.executable, "-m", "gongkai.cli", *argv],
            env=env,
            cwd=root,
            stdout=subprocess.DEVNULL,
            check=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    runs = ap.parse_args().runs
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as var:
        env = {**os.environ, "PYTHONPATH": str(root), "GONGKAI_VAR_DIR": var}
        env.pop("GONGKAI_DATABASE_URL", None)
        _state(root, env, Path(var))
        print(f"load {load()}; {runs} runs each; embedded state; {sys.executable}")
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
                assert done.returncode == 0, argv
                times.append(time.perf_counter() - started)
            label = "gongkai " + " ".join(argv[:2])
            median, fastest = statistics.median(times), min(times)
            print(f"{label:<24} median {median:.3f} s  min {fastest:.3f} s")


if __name__ == "__main__":
    main()
