"""The audit hash chain on SQLite and PostgreSQL (ARCHITECTURE.md §Audit log and replay).

The design card promises "a complete immutable audit log": the chain table refuses
UPDATE and DELETE, and when a superuser disables those guards and alters a row anyway,
`verify` finds the first broken link and names it (issue #8).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.audit import chain
from services.audit.chain import ChainRecorder
from services.audit.handlers import AuditHandlers
from shared.db import Database, SqliteDatabase
from shared.envelope import Actor, NewEvent, StreamWrite
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.projections import ProjectionRunner

CLERK = Actor(id="li-guifang", role="request_handler")


@dataclass
class Engine:
    kind: str
    store: SqlEventStore
    views: Database
    path: Path | None = None
    url: str | None = None
    schema: str | None = None

    async def superuser(self, sql: str, *args: Any) -> None:
        """Tamper as a superuser would: guards off, change, guards back on."""
        if self.kind == "sqlite":
            assert self.path is not None
            conn = sqlite3.connect(str(self.path))
            try:
                conn.execute("DROP TRIGGER audit_chain_no_update")
                conn.execute("DROP TRIGGER audit_chain_no_delete")
                conn.execute(sql.replace("$1", "?").replace("$2", "?"), args)
                conn.commit()
            finally:
                conn.close()
            return
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(f"SET search_path = {self.schema}")
            await conn.execute("ALTER TABLE audit_chain DISABLE TRIGGER USER")
            await conn.execute(sql, *args)
            await conn.execute("ALTER TABLE audit_chain ENABLE TRIGGER USER")
        finally:
            await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Engine]:
    if request.param == "sqlite":
        store = await open_sqlite_store(str(tmp_path / "events.db"), name="applications")
        views = await SqliteDatabase.open(tmp_path / "views.db")
        yield Engine("sqlite", store, views, path=tmp_path / "views.db")
        await views.close()
        await store.close()
        return
    url = request.getfixturevalue("pg_url")
    schema = request.getfixturevalue("pg_schema")
    store = await open_postgres_store(url, schema=schema, listen=False)
    yield Engine("postgres", store, store.db, url=url, schema=schema)
    await store.close()


async def register(store: SqlEventStore, n: int, tenant: str = "shangdang/sudian") -> None:
    event = NewEvent(
        type="RequestRegistered",
        tenant=tenant,
        actor=CLERK,
        payload={"number": f"苏店〔2026〕{n}号", "applicant": {"name": "王秀英"}},
    )
    await store.append(
        [StreamWrite(stream_id=f"request-{n}", stream_type="request", events=(event,))]
    )


async def chained(engine: Engine, n: int, name: str = "audit.chain.applications") -> int:
    for i in range(1, n + 1):
        await register(engine.store, i)
    runner = ProjectionRunner(
        ChainRecorder("applications"), engine.store, engine.views, checkpoint_name=name
    )
    await runner.setup()
    return await runner.run_once()


async def test_every_event_is_linked_to_the_previous_by_sha256(engine: Engine) -> None:
    assert await chained(engine, 5) == 5
    rows = await engine.views.fetch("SELECT * FROM audit_chain ORDER BY seq")
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    prev = chain.GENESIS
    for row, event in zip(rows, await engine.store.read_all(0), strict=True):
        assert row["prev_hash"] == prev
        assert row["hash"] == chain.link_hash(prev, event.to_wire())
        assert row["service"] == "applications"
        prev = row["hash"]
    result = await chain.verify(engine.views)
    assert (result.verified, result.head_seq, result.broken) == (5, 5, None)


async def test_an_event_arriving_twice_is_chained_once(engine: Engine) -> None:
    await chained(engine, 3)
    # A second feed over the same log (a re-delivery, a reset checkpoint): nothing new.
    again = ProjectionRunner(
        ChainRecorder("applications"),
        engine.store,
        engine.views,
        checkpoint_name="audit.chain.again",
    )
    assert await again.run_once() == 3
    assert await engine.views.fetchval("SELECT COUNT(*) FROM audit_chain") == 3
    assert (await chain.verify(engine.views)).broken is None


async def test_the_chain_refuses_update_and_delete(engine: Engine) -> None:
    await chained(engine, 2)
    for sql in (
        "UPDATE audit_chain SET tenant = 'shangdang/hanfang' WHERE seq = 1",
        "DELETE FROM audit_chain WHERE seq = 2",
    ):
        with pytest.raises(Exception, match="append-only"):
            async with engine.views.transaction() as tx:
                await tx.execute(sql)
    assert await engine.views.fetchval("SELECT COUNT(*) FROM audit_chain") == 2


async def test_verify_names_the_row_a_superuser_altered(engine: Engine) -> None:
    await chained(engine, 6)
    row = await engine.views.fetchrow("SELECT body FROM audit_chain WHERE seq = 4")
    assert row is not None
    forged = str(row["body"]).replace("王秀英", "张三")
    await engine.superuser("UPDATE audit_chain SET body = $1 WHERE seq = $2", forged, 4)
    result = await chain.verify(engine.views)
    assert result.verified == 3
    assert result.broken is not None and result.broken.seq == 4
    assert "altered" in result.broken.reason


async def test_verify_finds_a_row_removed_from_the_middle(engine: Engine) -> None:
    await chained(engine, 5)
    await engine.superuser("DELETE FROM audit_chain WHERE seq = $1", 3)
    result = await chain.verify(engine.views)
    assert result.broken is not None and result.broken.seq == 4
    assert "gap" in result.broken.reason


async def test_a_truncated_tail_is_caught_by_the_checkpoint(engine: Engine) -> None:
    await chained(engine, 5)
    seq, head_hash = await chain.head(engine.views)
    await engine.superuser("DELETE FROM audit_chain WHERE seq >= $1", 4)
    result = await chain.verify(engine.views, checkpoints=[(seq, head_hash)])
    assert result.broken is not None and result.broken.seq == 5
    assert "checkpoint" in result.broken.reason


async def test_verify_from_a_later_seq_walks_only_the_rest(engine: Engine) -> None:
    await chained(engine, 5)
    result = await chain.verify(engine.views, from_seq=3)
    assert (result.verified, result.head_seq, result.broken) == (3, 5, None)


async def test_postgres_service_role_without_update_privilege_cannot_change_rows(
    pg_url: str, pg_schema: str
) -> None:
    """PostgreSQL: a non-owner service role holds INSERT and SELECT only (docs/audit.md)."""
    store = await open_postgres_store(pg_url, schema=pg_schema, listen=False)
    engine = Engine("postgres", store, store.db, url=pg_url, schema=pg_schema)
    try:
        await chained(engine, 1)
        role = f"{pg_schema}_writer"
        admin = await asyncpg.connect(pg_url)
        try:
            await admin.execute(f"CREATE ROLE {role} NOLOGIN")
            await admin.execute(f"GRANT USAGE ON SCHEMA {pg_schema} TO {role}")
            await admin.execute(f"GRANT SELECT, INSERT ON {pg_schema}.audit_chain TO {role}")
            await admin.execute(f"SET ROLE {role}")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await admin.execute(f"UPDATE {pg_schema}.audit_chain SET tenant = 'x'")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await admin.execute(f"TRUNCATE {pg_schema}.audit_chain")
            await admin.execute("RESET ROLE")
        finally:
            await admin.execute(f"DROP OWNED BY {role}")
            await admin.execute(f"DROP ROLE {role}")
            await admin.close()
    finally:
        await store.close()


async def test_checkpoints_are_taken_every_n_links_or_after_t_minutes_if_the_chain_grew(
    engine: Engine,
) -> None:
    """ChainCheckpointed every N chained events, or every T minutes when the chain grew
    (issue #8), never for a chain that did not grow. The checkpoint events are appended
    to the same store here, so the chain records them too (as in the suite)."""
    now = [datetime.now(UTC)]
    handlers = AuditHandlers(
        store=engine.store,
        views=engine.views,
        clock=lambda: now[0],
        district="shangdang",
        checkpoint_every=4,
        checkpoint_minutes=60,
    )
    await chain.setup_chain(engine.views)
    assert await handlers.checkpoint_if_due() is None  # an empty chain: nothing to sign

    runner = ProjectionRunner(
        ChainRecorder("applications"), engine.store, engine.views, checkpoint_name="c"
    )
    await runner.setup()

    async def grow(first: int, n: int) -> int:
        for i in range(first, first + n):
            await register(engine.store, i)
        await runner.run_once()
        return (await chain.head(engine.views))[0]

    assert await grow(1, 2) == 2
    first = await handlers.checkpoint_if_due()
    assert first is not None  # the first one is due at once
    assert (first.payload["seq"], first.payload["reason"]) == (2, "interval")
    assert await handlers.checkpoint_if_due() is None  # the chain did not grow

    assert await grow(3, 3) == 6  # the checkpoint event itself and three registrations
    every_n = await handlers.checkpoint_if_due()
    assert every_n is not None
    assert (every_n.payload["seq"], every_n.payload["reason"]) == (6, "every_n")

    assert await grow(6, 1) == 8  # grew by 2 < 4, and only just checkpointed
    assert await handlers.checkpoint_if_due() is None
    now[0] += timedelta(minutes=61)
    late = await handlers.checkpoint_if_due()
    assert late is not None
    assert (late.payload["seq"], late.payload["reason"]) == (8, "interval")
    (seq, head_hash) = await chain.head(engine.views)
    assert late.payload["head_hash"] == head_hash and seq == 8


async def test_a_batch_links_as_one_event_at_a_time_and_skips_what_is_chained(
    engine: Engine,
) -> None:
    """The batched path (ChainRecorder.apply_batch) gives the links `append` gives one by
    one; an event already chained, or twice in the batch, is left out before seqs are
    given, so the chain has no gap and no link to a missing hash."""
    for i in range(1, 8):
        await register(engine.store, i)
    events = await engine.store.read_all(0)
    await chain.setup_chain(engine.views)
    writer = chain.ChainWriter()
    async with engine.views.transaction() as tx:
        for event in events[:3]:
            assert await writer.append(tx, event, "applications")
    batch = [events[1], *events[3:], events[4]]  # a re-delivery and an in-batch repeat
    async with engine.views.transaction() as tx:
        assert await chain.ChainWriter().append_batch(tx, batch, "applications") == 4
    rows = await engine.views.fetch("SELECT * FROM audit_chain ORDER BY seq")
    assert [r["event_id"] for r in rows] == [str(e.event_id) for e in events]
    prev = chain.GENESIS
    for seq, (row, event) in enumerate(zip(rows, events, strict=True), start=1):
        assert (row["seq"], row["prev_hash"]) == (seq, prev)
        assert row["hash"] == chain.link_hash(prev, event.to_wire())
        prev = row["hash"]
    assert (await chain.verify(engine.views)).broken is None
    async with engine.views.transaction() as tx:  # all of it again: nothing new
        assert await chain.ChainWriter().append_batch(tx, events, "applications") == 0


async def test_a_trail_pages_by_seq_and_filters_the_reads_of_personal_data(engine: Engine) -> None:
    """The workbench's trail pages (docs/audit.md: `after`, `limit`, `access=true`)."""
    from services.audit import trail

    for n in range(1, 6):
        await register(engine.store, n)
    read = NewEvent(
        type="ApplicantDataRead",
        tenant="shangdang/sudian",
        actor=CLERK,
        payload={"request_ids": ["r1"], "endpoint": "GET /v1/requests", "fields": ["applicant"]},
    )
    stream = f"personal-data-access-{CLERK.id}"
    await engine.store.append(
        [StreamWrite(stream_id=stream, stream_type="personal-data-access", events=(read,))]
    )
    runner = ProjectionRunner(
        ChainRecorder("applications"), engine.store, engine.views, checkpoint_name="audit.p"
    )
    await runner.setup()
    assert await runner.run_once() == 6
    query = trail.TrailQuery(tenant="shangdang/sudian")
    first = [r["seq"] async for r in trail.rows(engine.views, query, batch=2, limit=3)]
    rest = [r["seq"] async for r in trail.rows(engine.views, query, batch=2, after=first[-1])]
    assert (first, rest) == ([1, 2, 3], [4, 5, 6])
    access = trail.TrailQuery(tenant="shangdang/sudian", access_only=True)
    found = [r async for r in trail.rows(engine.views, access)]
    assert [r["event"]["type"] for r in found] == ["ApplicantDataRead"]
