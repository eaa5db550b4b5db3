"""The restore drill of issue #21, on SQLite (embedded) and PostgreSQL.

Requests are registered through the real handlers of a running suite (every service, as
`gongkai run` starts them); `gongkai backup` copies its state while it runs; more requests are
registered; the suite stops; `gongkai restore` puts the backup back. Then: the stores end
at the heads the manifest names (the later requests are gone, as docs/operations.md
says), the audit hash chain verifies and, once the projections have caught up, covers
every stored event, and every read model equals a rebuild from the restored logs.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest

from gongkai.app import SERVICES, Suite
from gongkai.backup import MANIFEST, backup, restore
from services.applications.commands import RegisterRequest
from services.audit import chain, replay, stores
from shared.envelope import new_id
from shared.errors import DomainRuleViolated
from shared.identity import principal_for_person
from shared.projections import ProjectionRunner
from shared.settings import Settings
from shared.workdays import local_date


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = request.getfixturevalue("pg_database_url") if request.param == "postgres" else None
    return Settings(var_dir=tmp_path / "var", database_url=url, projection_idle_wait=0.05)


@pytest.fixture
async def suite(settings: Settings) -> AsyncIterator[Suite]:
    running = Suite(settings, role="embedded", services=SERVICES)
    await running.start()
    yield running
    await running.stop()


async def register(suite: Suite, description: str) -> None:
    handlers = suite.runtimes["applications"].handlers
    day = local_date(handlers.clock()) - timedelta(days=1)
    cmd = RegisterRequest.model_validate(
        {
            "channel": "in_person",
            "submitted_on": day.isoformat(),
            "applicant": {
                "kind": "natural_person",
                "name": "王秀英",
                "id_document": "居民身份证",
                "phone": "0355-0000000",
            },
            "description": description,
            "requested_form": "paper",
            "delivery_channel": "post",
        }
    )
    await handlers.register(cmd, principal_for_person(suite.orgs, "wang-tietong"), new_id())


async def caught_up(suite: Suite) -> None:
    """Every projection runner has applied its log (the runners run in the background)."""
    for runner in suite.runners:
        async with asyncio.timeout(30):
            while await runner.lag() > 0:
                await runner.source.wait_for_events(await runner.checkpoint(), 0.05)


async def ledger(settings: Settings) -> list[str]:
    async with stores.views(settings, "applications") as db:
        rows = await db.fetch("SELECT description FROM app_ledger ORDER BY number")
    return [r["description"] for r in rows]


async def test_a_restore_brings_back_the_backup_and_the_projections_rebuild_to_it(
    settings: Settings, suite: Suite, tmp_path: Path
) -> None:
    before = [f"申请公开苏店镇2026年第{n}批道路维修合同" for n in (1, 2, 3)]
    after = [f"申请公开苏店镇2026年第{n}批道路维修合同" for n in (4, 5)]
    for text in before:
        await register(suite, text)
    written = await suite.runtimes["applications"].store.head_position()
    # Online: the suite's runners and stores stay open while the copy is taken.
    done = await asyncio.to_thread(backup, settings, tmp_path / "backup")
    manifest = json.loads((done.folder / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["heads"]["applications"] >= written  # (its scheduler may add more)
    for text in after:
        await register(suite, text)
    await caught_up(suite)
    assert await ledger(settings) == before + after

    # The suite still has its files (or sessions) open: no restore without --force.
    with pytest.raises(DomainRuleViolated) as refused:
        await asyncio.to_thread(restore, settings, done.folder)
    assert refused.value.rule == "restore.suite_running"
    await suite.stop()

    await asyncio.to_thread(restore, settings, done.folder)

    # Written after the backup = not in it: the later requests are gone from store and ledger.
    async with stores.store(settings, "applications") as store:
        assert await store.head_position() == manifest["heads"]["applications"]
    assert await ledger(settings) == before[: len(await ledger(settings))]

    # Started again on the restored state, the suite's projections catch up from their
    # restored checkpoints (the views were copied before the logs, so they may lag).
    again = Suite(settings, role="embedded", services=SERVICES)
    await again.start()
    try:
        await caught_up(again)
        assert await ledger(settings) == before
    finally:
        await again.stop()
    # With nothing running (no job can write in between): the same runners once more, to
    # their heads, then the checks.
    logs = {s: await stores.open_store(settings, s) for s in SERVICES}
    views = {s: await stores.open_views(settings, s) for s in SERVICES}
    try:
        for runner in again.runners:
            source = next(s for s in SERVICES if again.runtimes[s].store is runner.source)
            owner = next(s for s in SERVICES if again.runtimes[s].views is runner.db)
            await ProjectionRunner(
                runner.projection, logs[source], views[owner], checkpoint_name=runner.name
            ).run_once()
        verified = await chain.verify(views["audit"])
        total = sum([await log.head_position() for log in logs.values()])
        assert verified.broken is None
        assert verified.head_seq == total  # every stored event chained, none missing
        assert verified.head_seq >= (manifest["audit_chain"] or {"seq": 0})["seq"]
        for service in SERVICES:
            for projection in again.runtimes[service].definition.projections():
                if not getattr(projection, "replayable", True):
                    continue  # the chain: verified above, never rebuilt
                target = replay.find(projection.name)
                async with stores.views(settings, service, shadow=True) as shadow:
                    await replay.replay(target, {s: logs[s] for s in target.sources}, shadow)
                    differences = await replay.diff(target, views[service], shadow)
                assert differences == [], projection.name
    finally:
        for opened in [*views.values(), *logs.values()]:
            await opened.close()


async def gongkai(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The command line as an operator runs it, on the same state as `settings`."""
    env = {**os.environ, "GONGKAI_VAR_DIR": str(settings.var_dir)}
    env.pop("GONGKAI_DATABASE_URL", None)
    if settings.database_url:
        env["GONGKAI_DATABASE_URL"] = settings.database_url
    command = [str(Path(sys.executable).parent / "gongkai"), *args]
    run = partial(subprocess.run, command, env=env, capture_output=True, text=True, timeout=300)
    return await asyncio.to_thread(run)  # the suite's tasks go on meanwhile


async def test_restore_refuses_a_backup_that_does_not_match_its_manifest(
    settings: Settings, suite: Suite, tmp_path: Path
) -> None:
    """`gongkai backup` and `gongkai restore` as an operator types them."""
    await register(suite, "申请公开苏店镇2026年道路维修合同")
    await caught_up(suite)
    folder = tmp_path / "backup"
    done = await gongkai(settings, "backup", "--to", str(folder))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"backed up to {folder}")
    await suite.stop()
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    damaged = folder / manifest["files"][-1]["path"]
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: a damaged copy
    damaged.write_bytes(bytes(data))
    refused = await gongkai(settings, "restore", str(folder))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.startswith("error: restore.manifest_mismatch")
    assert manifest["files"][-1]["path"] in refused.stderr
    # Nothing was changed: the live state still has the request.
    assert await ledger(settings) == ["申请公开苏店镇2026年道路维修合同"]
