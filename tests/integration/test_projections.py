"""Projection runner guarantees, on SQLite and PostgreSQL (ARCHITECTURE.md "The event").

- the checkpoint is stored in the same transaction as the read-model change;
- a rebuild from position 0 reproduces the same read model;
- an infrastructure failure stops the runner instead of parking events.

Restart, redelivery, parking and the batch fallback are the delivery conformance suite's
(tests/integration/test_delivery_conformance.py), run against every engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.db import Database, SqliteDatabase, Tx
from shared.envelope import Actor, NewEvent, RecordedEvent, StreamWrite
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.projections import ProjectionRunner

ACTOR = Actor(id="wang-tietong", role="request_handler")


class TownshipTally:
    """Counts requests per township and keeps the highest number; fails on a poison payload.

    Order-independent across streams on purpose: Kafka keeps order per stream
    (one key, one partition), not across streams.
    """

    name = "test.township_tally"
    tables = ("tally",)
    schema = (
        """CREATE TABLE IF NOT EXISTS tally (
            tenant TEXT PRIMARY KEY, requests INTEGER NOT NULL, highest INTEGER NOT NULL
        )""",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        if event.payload.get("poison"):
            raise ValueError("cannot read this payload")
        await tx.execute(
            """INSERT INTO tally (tenant, requests, highest) VALUES ($1, 1, $2)
               ON CONFLICT (tenant) DO UPDATE SET requests = tally.requests + 1,
                   highest = CASE WHEN excluded.highest > tally.highest
                                  THEN excluded.highest ELSE tally.highest END""",
            event.tenant,
            int(event.payload["number"].rstrip("号")),
        )


async def register(
    store: SqlEventStore, tenant: str, n: int, stream: str | None = None, **extra: object
) -> None:
    event = NewEvent(
        type="RequestRegistered", tenant=tenant, actor=ACTOR, payload={"number": f"{n}号", **extra}
    )
    await store.append(
        [
            StreamWrite(
                stream_id=stream or f"request-{tenant}-{n}", stream_type="request", events=(event,)
            )
        ]
    )


async def tally(db: Database) -> dict[str, tuple[int, int]]:
    rows = await db.fetch("SELECT tenant, requests, highest FROM tally ORDER BY tenant")
    return {r["tenant"]: (r["requests"], r["highest"]) for r in rows}


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[SqlEventStore, Database]]:
    if request.param == "sqlite":
        store = await open_sqlite_store(str(tmp_path / "events.db"), name="p")
        views: Database = await SqliteDatabase.open(tmp_path / "views.db")
    else:
        schema = request.getfixturevalue("pg_schema")
        store = await open_postgres_store(request.getfixturevalue("pg_url"), schema=schema)
        views = store.db
    yield store, views
    if views is not store.db:
        await views.close()
    await store.close()


class ProcessDied(BaseException):
    """Not an Exception: like SIGKILL mid-batch, nothing parks it; the transaction aborts."""


class DiesOnThird(TownshipTally):
    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        await super().apply(tx, event)
        if event.payload["number"] == "3号":
            raise ProcessDied


async def test_a_batch_cut_short_leaves_neither_read_model_nor_checkpoint_changed(
    backend: tuple[SqlEventStore, Database],
) -> None:
    """Checkpoint and view change commit together: dying mid-batch rolls back both."""
    store, views = backend
    for n in range(1, 6):
        await register(store, "shangdang/sudian", n)
    dying = ProjectionRunner(DiesOnThird(), store, views)
    await dying.setup()
    with pytest.raises(ProcessDied):
        await dying.run_once()
    assert await tally(views) == {}
    assert await dying.checkpoint() == 0
    healthy = ProjectionRunner(TownshipTally(), store, views)
    assert await healthy.run_once() == 5
    assert await tally(views) == {"shangdang/sudian": (5, 5)}


async def test_rebuild_from_zero_reproduces_the_live_read_model(
    backend: tuple[SqlEventStore, Database],
) -> None:
    store, views = backend
    townships = ["shangdang/sudian", "shangdang/handian", "shangdang/yincheng"]
    for n in range(1, 31):
        await register(store, townships[n % 3], n)
    runner = ProjectionRunner(TownshipTally(), store, views)
    await runner.setup()
    await runner.run_once(batch=7)
    live = await tally(views)
    assert await runner.rebuild() == 30
    assert await tally(views) == live


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.sampled_from(["shangdang/sudian", "shangdang/handian", "shangdang/xihuo"]),
        min_size=1,
        max_size=40,
    ),
    st.integers(min_value=1, max_value=10),
)
async def test_rebuild_equals_live_for_any_history_and_batch_size(
    tmp_path_factory: pytest.TempPathFactory, tenants: list[str], batch: int
) -> None:
    """Property: however the live runner was batched, a rebuild gives the same view."""
    folder = tmp_path_factory.mktemp("prop")
    store = await open_sqlite_store(str(folder / "e.db"), name="p")
    views = await SqliteDatabase.open(folder / "v.db")
    try:
        for n, tenant in enumerate(tenants, start=1):
            await register(store, tenant, n)
        runner = ProjectionRunner(TownshipTally(), store, views)
        await runner.setup()
        await runner.run_once(batch=batch)
        live = await tally(views)
        await runner.rebuild()
        assert await tally(views) == live
        assert sum(count for count, _ in live.values()) == len(tenants)
    finally:
        await views.close()
        await store.close()


class NoTable(TownshipTally):
    name = "test.no_table"
    schema = ()  # a deployment bug: the table was never created


async def test_an_infrastructure_failure_stops_the_runner_instead_of_parking_events(
    backend: tuple[SqlEventStore, Database],
) -> None:
    """A missing table is not a poison event: nothing is parked, the checkpoint stays."""
    store, views = backend
    await register(store, "shangdang/sudian", 1)
    runner = ProjectionRunner(NoTable(), store, views)
    await runner.setup()
    with pytest.raises(Exception, match="tally"):
        await runner.run_once()
    assert await views.fetch("SELECT * FROM dead_letters") == []
    assert await runner.checkpoint() == 0
