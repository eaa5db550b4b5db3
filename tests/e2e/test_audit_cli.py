"""The operator's audit tools (`gongkai audit …`, `gongkai replay …`) against a running
suite, in embedded mode (SQLite files) and distributed mode (PostgreSQL + Kafka).

ARCHITECTURE.md §Audit log and replay; issue #8 "Done means". The last test tampers
with the chain through a superuser connection, so it runs last in this module.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from services.audit.replay import find
from shared.identity import Role
from shared.service import discover
from tests.e2e.conftest import GONGKAI, SuiteHandle
from tests.e2e.factories import registration

SUDIAN = "shangdang/sudian"


def suite_env(suite: SuiteHandle) -> dict[str, str]:
    """The environment the suite's processes run with (their var dir or database URL)."""
    raw = Path(f"/proc/{suite.processes[0].pid}/environ").read_bytes()
    env = dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)
    keep = ("GONGKAI_VAR_DIR", "GONGKAI_DATABASE_URL", "GONGKAI_TOKEN_SECRET")
    return {**os.environ, **{k: env[k] for k in keep if k in env}}


def gongkai(suite: SuiteHandle, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GONGKAI, *args], env=suite_env(suite), capture_output=True, text=True, timeout=120
    )


def register(suite: SuiteHandle) -> dict[str, Any]:
    token = suite.token("wang-tietong", SUDIAN, Role.REQUEST_HANDLER)
    with suite.client(token) as c:
        response = c.post("/v1/requests", json=registration())
    assert response.status_code == 201, response.text
    return dict(response.json())


def complete(suite: SuiteHandle) -> subprocess.CompletedProcess[str]:
    """Wait until the chain holds every stored event (it follows the stores asynchronously)."""
    last: list[str] = []

    def probe() -> subprocess.CompletedProcess[str] | None:
        done = gongkai(suite, "audit", "completeness", "--settle", "0")
        last[:] = [done.stdout + done.stderr]
        return done if done.returncode == 0 else None

    try:
        return suite.eventually(probe, timeout=90)  # type: ignore[no-any-return]
    except AssertionError as err:
        logs = "".join(p.read_text()[-3000:] for p in suite.logs.glob("*.log"))
        raise AssertionError(f"{err}\n{last}\n{logs}") from None


def test_completeness_finds_every_stored_event_in_the_chain(suite: SuiteHandle) -> None:
    register(suite)
    done = complete(suite)
    assert "complete: every stored event is chained" in done.stdout
    assert "applications" in done.stdout


def test_verify_prints_the_count_and_speed(suite: SuiteHandle) -> None:
    register(suite)
    complete(suite)
    done = gongkai(suite, "audit", "verify")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("verified ")
    assert "events/s" in done.stdout
    assert int(done.stdout.split()[1]) >= 2


def test_trail_of_a_tenant_exports_jsonl_and_csv(suite: SuiteHandle) -> None:
    body = register(suite)
    complete(suite)
    lines = gongkai(suite, "audit", "trail", "--tenant", SUDIAN).stdout.splitlines()
    records = [orjson.loads(line) for line in lines]
    assert body["event_id"] in {r["event"]["event_id"] for r in records}
    csv_out = gongkai(suite, "audit", "trail", "--tenant", SUDIAN, "--format", "csv").stdout
    assert csv_out.splitlines()[0].startswith("seq,event_id,service,stream_id")
    assert body["event_id"] in csv_out


def test_checkpoints_export_holds_the_statement_to_sign(suite: SuiteHandle, tmp_path: Path) -> None:
    register(suite)
    complete(suite)
    out = tmp_path / "checkpoints.jsonl"
    done = gongkai(suite, "audit", "checkpoints", "--now", "--export", str(out))
    assert done.returncode == 0, done.stderr
    marks = [orjson.loads(line) for line in out.read_text().splitlines()]
    assert marks and marks[-1]["reason"] == "operator"
    assert marks[-1]["statement"].startswith(f"gongkai audit chain seq={marks[-1]['seq']} ")


def test_verify_checks_an_exported_checkpoints_file_and_names_a_mark_that_differs(
    suite: SuiteHandle, tmp_path: Path
) -> None:
    """The exported, signed checkpoints are the copy outside the system (issue #8): verify
    checks each against the chain; one that no longer matches is a broken link."""
    register(suite)
    complete(suite)
    held = tmp_path / "signed.jsonl"
    assert gongkai(suite, "audit", "checkpoints", "--now", "--export", str(held)).returncode == 0
    lines = held.read_text().splitlines()
    done = gongkai(suite, "audit", "verify", "--checkpoints", str(held))
    assert done.returncode == 0, done.stderr
    assert f"({len(lines)} from {held})" in done.stdout

    last = orjson.loads(lines[-1])
    forged = {**last, "head_hash": "0" * 64}  # as if the chain had been rewritten since
    held.write_text("\n".join([*lines[:-1], orjson.dumps(forged).decode()]) + "\n")
    done = gongkai(suite, "audit", "verify", "--checkpoints", str(held))
    assert done.returncode == 1
    assert f"BROKEN at seq {last['seq']}" in done.stderr and "checkpoint" in done.stderr

    held.write_text("not json\n")
    done = gongkai(suite, "audit", "verify", "--checkpoints", str(held))
    assert done.returncode != 0 and f"{held}:1: not an exported checkpoint" in done.stderr


def test_verify_from_a_later_link_walks_only_the_rest(suite: SuiteHandle) -> None:
    register(suite)
    complete(suite)
    whole = gongkai(suite, "audit", "verify")
    head = int(whole.stdout.split("head seq ")[1].split()[0])
    assert head >= 2
    done = gongkai(suite, "audit", "verify", "--from", str(head))
    assert done.returncode == 0, done.stderr
    now = int(done.stdout.split("head seq ")[1].split()[0])  # the chain may have grown since
    assert done.stdout.startswith(f"verified {now - head + 1} links")


def test_replay_into_shadow_matches_live_and_as_of_the_past_is_empty(suite: SuiteHandle) -> None:
    register(suite)
    name = next(p.name for p in discover()["applications"].projections())
    assert find(name).service == "applications"

    def same() -> subprocess.CompletedProcess[str] | None:
        replayed = gongkai(suite, "replay", name)
        assert replayed.returncode == 0, replayed.stderr
        assert "events/s" in replayed.stdout
        done = gongkai(suite, "replay", "diff", name)
        return done if done.returncode == 0 else None

    assert "0 differences" in suite.eventually(same, timeout=60).stdout
    past = gongkai(suite, "replay", name, "--as-of", "2020-01-01T00:00:00+08:00")
    assert past.returncode == 0 and " 0 events" in past.stdout
    differs = gongkai(suite, "replay", "diff", name)
    assert differs.returncode == 1
    assert "only_live" in differs.stdout


def test_replay_with_swap_puts_the_rebuilt_ledger_live_and_it_lists_every_request(
    suite: SuiteHandle,
) -> None:
    """`gongkai replay … --swap` against the running suite: the rebuilt ledger goes live in one
    transaction, the API lists what it listed before, and live equals a fresh rebuild."""
    body = register(suite)
    name = next(p.name for p in discover()["applications"].projections())
    token = suite.token("wang-tietong", SUDIAN, Role.REQUEST_HANDLER)

    def listed() -> set[str]:
        with suite.client(token) as c:
            page = c.get("/v1/requests", params={"limit": 200}).json()
        return {item["request_id"] for item in page["items"]}

    suite.eventually(lambda: body["request_id"] in listed())
    before = listed()
    done = gongkai(suite, "replay", name, "--swap")
    assert done.returncode == 0, done.stderr
    assert f"swapped: live {name} now holds the shadow's rows" in done.stdout
    assert "100%" in done.stderr  # the progress bar reached the end of the log
    assert listed() == before
    again = gongkai(suite, "replay", name)
    assert again.returncode == 0, again.stderr
    same = gongkai(suite, "replay", "diff", name)
    assert same.returncode == 0 and "0 differences" in same.stdout, same.stdout


def test_the_chain_cannot_be_replayed(suite: SuiteHandle) -> None:
    done = gongkai(suite, "replay", "audit.chain.applications")
    assert done.returncode == 2
    assert "replay.not_replayable" in done.stderr


async def _rewrite_postgres(url: str, seq: int, old: str, new: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET search_path = audit")
        await conn.execute("ALTER TABLE audit_chain DISABLE TRIGGER USER")
        await conn.execute(
            "UPDATE audit_chain SET body = replace(body, $2, $3) WHERE seq = $1", seq, old, new
        )
        await conn.execute("ALTER TABLE audit_chain ENABLE TRIGGER USER")
    finally:
        await conn.close()


def _rewrite_sqlite(path: Path, seq: int, old: str, new: str) -> None:
    """As a superuser of the file would: around the no-update trigger, then back on."""
    conn = sqlite3.connect(str(path))
    try:
        (trigger,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'audit_chain_no_update'"
        ).fetchone()
        conn.execute("DROP TRIGGER audit_chain_no_update")
        conn.execute(
            "UPDATE audit_chain SET body = replace(body, ?, ?) WHERE seq = ?", (old, new, seq)
        )
        conn.execute(trigger)
        conn.commit()
    finally:
        conn.close()


def _rewrite(suite: SuiteHandle, seq: int, old: str, new: str) -> None:
    env = suite_env(suite)
    if "GONGKAI_DATABASE_URL" in env:
        asyncio.run(_rewrite_postgres(env["GONGKAI_DATABASE_URL"], seq, old, new))
    else:
        _rewrite_sqlite(Path(env["GONGKAI_VAR_DIR"]) / "audit" / "views.db", seq, old, new)


def test_verify_exits_nonzero_and_names_the_link_a_superuser_altered(suite: SuiteHandle) -> None:
    body = register(suite)
    complete(suite)
    record = next(
        orjson.loads(line)
        for line in gongkai(suite, "audit", "trail", "--tenant", SUDIAN).stdout.splitlines()
        if orjson.loads(line)["event"]["event_id"] == body["event_id"]
    )
    seq = record["seq"]
    _rewrite(suite, seq, "王秀英", "李四")
    try:
        done = gongkai(suite, "audit", "verify")
        assert done.returncode == 1
        assert f"BROKEN at seq {seq} (event {body['event_id']})" in done.stderr
        assert done.stdout.startswith(f"verified {seq - 1} links")
    finally:
        # The suite is the session's: later tests verify the chain too. The link restored,
        # the chain verifies again (the hash was never changed, only the body).
        _rewrite(suite, seq, "李四", "王秀英")
    assert gongkai(suite, "audit", "verify").returncode == 0
