"""`gongkai --help`, `gongkai workdays due` and `gongkai token issue` start fast (issue #21).

An operator types these at a prompt; the suite's heavy parts (FastAPI, the PostgreSQL and
Kafka clients, faust, numpy) are for `gongkai run`, `serve` and `worker`. The test asserts
what each command imports, which does not depend on how busy the machine is; the wall
time is measured by bench/cli_startup.py (docs/performance.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HEAVY = ("fastapi", "starlette", "uvicorn", "asyncpg", "aiokafka", "faust", "numpy", "aiohttp")

#: Runs a gongkai command in-process, then prints the top-level modules it loaded.
PROBE = """
import contextlib, io, json, sys
from gongkai.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exit:
        code = exit.code
sys.stderr.write(json.dumps({"code": code, "out": out.getvalue(),
    "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def _probe(tmp_path: Path, *argv: str) -> dict[str, object]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("GONGKAI_") or k == "GONGKAI_ENV"
    }
    env.update(PYTHONPATH=str(ROOT), GONGKAI_VAR_DIR=str(tmp_path / "var"))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    result: dict[str, object] = json.loads(done.stderr.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    ("argv", "allowed"),
    [
        (["--help"], ()),
        # `token issue` reads the account from the accounts store (issue #16): the store's
        # module loads the PostgreSQL client. No account "x" here: refused, exit 2.
        (["token", "issue", "--org", "shangdang", "--role", "auditor", "--sub", "x"], ("asyncpg",)),
        # Reading the published calendars opens the event store, whose module loads the
        # PostgreSQL client; nothing else heavy.
        (["workdays", "due", "--from", "2026-09-30", "--days", "3"], ("asyncpg",)),
    ],
    ids=["help", "token-issue", "workdays-due"],
)
def test_quick_commands_do_not_import_the_servers(
    tmp_path: Path, argv: list[str], allowed: tuple[str, ...]
) -> None:
    result = _probe(tmp_path, *argv)
    assert result["code"] == (2 if argv[0] == "token" else 0), result
    loaded = set(result["modules"])  # type: ignore[arg-type]
    assert loaded.isdisjoint(set(HEAVY) - set(allowed)), sorted(loaded & set(HEAVY))
    if argv == ["--help"]:
        # Not even pydantic (0.3 s of import): the parser's --role choices come from
        # shared/roles.py, which needs the standard library only.
        assert "pydantic" not in loaded and "yaml" not in loaded, sorted(loaded)


def test_help_lists_every_service_command_and_says_which_options_repeat(tmp_path: Path) -> None:
    top = _probe(tmp_path, "--help")["out"]
    for command in ("run", "token", "workdays", "backup", "restore", "audit", "sentiment"):
        assert f"{command}" in str(top)
    issue = str(_probe(tmp_path, "token", "issue", "--help")["out"])
    assert "repeat" in " ".join(issue.split())
    completeness = str(_probe(tmp_path, "audit", "completeness", "--help")["out"])
    assert "repeat" in " ".join(completeness.split())


def test_workdays_due_still_counts_the_state_council_calendar(tmp_path: Path) -> None:
    # National Day 2026: 1–7 October off, Saturday 10 October a working day (国办发明电).
    result = _probe(tmp_path, "workdays", "due", "--from", "2026-09-30", "--days", "3")
    assert str(result["out"]).startswith("2026-10-10"), result


def test_service_commands_are_the_definitions_commands() -> None:
    """The light discovery finds exactly the `add_commands` each service declares."""
    from gongkai.cli import _service_command_modules
    from shared.service import discover

    declared = {
        name: d.add_commands for name, d in discover().items() if d.add_commands is not None
    }
    light = {m.__name__.split(".")[1]: m.add_commands for m in _service_command_modules()}
    assert light == declared


def test_audit_periods_spelled_out_match_the_completeness_check() -> None:
    from services.audit import cli, completeness

    assert tuple(sorted(completeness.PERIOD_WIDTH)) == cli.PERIODS
