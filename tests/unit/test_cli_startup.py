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


def _env(var: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("GONGKAI_") or k == "GONGKAI_ENV"
    }
    env.update(PYTHONPATH=str(ROOT), GONGKAI_VAR_DIR=str(var))
    return env


def _probe(tmp_path: Path, *argv: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        cwd=tmp_path,
        env=_env(tmp_path / "var"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    result: dict[str, object] = json.loads(done.stderr.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def operated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An embedded state as an operator has it: the demo district's accounts bootstrapped
    and a working-day year published, each by its own command."""
    home = tmp_path_factory.mktemp("operated")
    (home / "password").write_text("startup-test-password-1", encoding="utf-8")
    (home / "2027.yaml").write_text(
        "year: 2027\nholidays: [2027-10-01, 2027-10-04, 2027-10-05, 2027-10-06, 2027-10-07]\n"
        "makeup_workdays: [2027-09-26]\nsource: test\nversion: 1\n",
        encoding="utf-8",
    )
    for argv in (
        ["accounts", "bootstrap", "--admin", "chen-gang", "--password-file", "password"],
        ["workdays", "publish", "2027.yaml"],
    ):
        subprocess.run(
            [sys.executable, "-m", "gongkai.cli", *argv],
            cwd=home,
            env=_env(home / "var"),
            capture_output=True,
            timeout=120,
            check=True,
        )
    return home


#: Loaded by the servers, not by a command that reads a few events and prints a line.
NOT_FOR_QUICK = (*HEAVY, "asyncpg", "aiosqlite", "structlog", "rich")


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        # Signs a real token: the account is read from the accounts log (issue #16).
        ["token", "issue", "--sub", "chen-gang", "--role", "administrator"],
        # Counts over the year published above, read from the platform log.
        ["workdays", "due", "--from", "2027-09-30", "--days", "3"],
    ],
    ids=["help", "token-issue", "workdays-due"],
)
def test_quick_commands_do_not_import_the_servers(operated: Path, argv: list[str]) -> None:
    result = _probe(operated, *argv)
    assert result["code"] == 0, result
    loaded = set(result["modules"])  # type: ignore[arg-type]
    assert loaded.isdisjoint(NOT_FOR_QUICK), sorted(loaded & set(NOT_FOR_QUICK))
    if argv == ["--help"]:
        # Not even pydantic (0.3 s of import): the parser's --role choices come from
        # shared/roles.py, which needs the standard library only.
        assert "pydantic" not in loaded and "yaml" not in loaded, sorted(loaded)


def test_token_issue_prints_a_token_the_suite_accepts(operated: Path) -> None:
    from datetime import UTC, datetime

    from shared.identity import Role, verify_token

    out = str(_probe(operated, "token", "issue", "--sub", "chen-gang")["out"])
    secret = (operated / "var" / "token-secret").read_text(encoding="utf-8").strip()
    principal = verify_token(out.strip(), secret, datetime.now(UTC))
    assert principal.sub == "chen-gang" and Role.ADMINISTRATOR in principal.roles


def test_workdays_due_prints_the_date_only_counting_the_published_year(operated: Path) -> None:
    # The published 2027: 1–7 October off. From Thursday 30 September the 3 working days
    # are Friday 8, Monday 11 and Tuesday 12 October. The package's own 2027 (if any) is
    # overridden by the published year. The answer is the one line a script reads with
    # $(…): no log line before it.
    result = _probe(operated, "workdays", "due", "--from", "2027-09-30", "--days", "3")
    assert str(result["out"]).splitlines() == ["2027-10-12"], result


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
