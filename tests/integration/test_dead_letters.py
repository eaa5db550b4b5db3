"""Parked events after a fix: list, show, retry in stream order, discard (SQLite and PostgreSQL).

Rule (docs/architecture.md "Projections"; docs/operations.md "A projection parked
events"): a projection parks an event it cannot apply and every later event of its stream
behind it; once the projection is fixed, an operator re-drives the stream and its events
are applied in stream order; an event that still fails is parked again with its new
reason; a discarded stream's events leave `dead_letters`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared import dead_letters as dl
from shared.db import Database, SqliteDatabase, Tx
from shared.envelope import Actor, NewEvent, RecordedEvent, StreamWrite
from shared.errors import NotFound, ValidationFailed
from shared.eventstore import EventStore, SqlEventStore, open_postgres_store, open_sqlite_store
from shared.projections import ProjectionRunner

pytestmark = pytest.mark.integration

CLERK = Actor(id="li-guifang", role="request_handler")


class Steps:
    """Records every applied event's stream and version; refuses an event marked `poison`
    until it is fixed (the bug an operator's deployment fixes)."""

    name = "test.steps"
    tables = ("steps",)
    schema = (
        """CREATE TABLE IF NOT EXISTS steps (
            seq INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, version INTEGER NOT NULL
        )""",
    )

    def __init__(self) -> None:
        self.fixed = False

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        if event.payload.get("poison") and not self.fixed:
            raise ValueError(f"cannot read step {event.payload['n']}")
        seq = await tx.fetchval("SELECT COALESCE(MAX(seq), 0) + 1 FROM steps")
        await tx.execute(
            "INSERT INTO steps (seq, stream_id, version) VALUES ($1, $2, $3)",
            seq,
            event.stream_id,
            event.version,
        )


@pytest.fixture(params=["sqlite", "postgres"])
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[SqlEventStore, Database]]:
    if request.param == "sqlite":
        store = await open_sqlite_store(str(tmp_path / "events.db"), name="test")
        views: Database = await SqliteDatabase.open(tmp_path / "views.db")
        yield store, views
        await views.close()
        await store.close()
        return
    url, schema = request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema")
    store = await open_postgres_store(url, schema=schema, listen=False)
    yield store, store.db
    await store.close()


async def step(store: EventStore, stream: str, n: int, *, poison: bool = False) -> RecordedEvent:
    payload = {"n": n, "poison": poison}
    event = NewEvent(type="StepTaken", tenant="shangdang/sudian", actor=CLERK, payload=payload)
    [recorded] = await store.append(
        [StreamWrite(stream_id=stream, stream_type="steps", events=(event,))]
    )
    return recorded


async def applied(views: Database) -> list[tuple[str, int]]:
    rows = await views.fetch("SELECT stream_id, version FROM steps ORDER BY seq")
    return [(r["stream_id"], int(r["version"])) for r in rows]


async def test_a_fixed_projection_applies_the_parked_stream_in_order_and_a_still_broken_one_parks_again(  # noqa: E501
    stores: tuple[SqlEventStore, Database],
) -> None:
    store, views = stores
    projection = Steps()
    runner = ProjectionRunner(projection, store, views)
    await runner.setup()
    consumer = dl.Consumer("test.steps", "test", (projection,), {"test.steps": ("test",)})

    async def store_of(_service: str) -> EventStore:
        return store

    await step(store, "case-a", 1, poison=True)  # the poison event
    await step(store, "case-b", 1)
    await step(store, "case-a", 2)  # parked behind it
    await step(store, "case-a", 3)
    await runner.run_once()
    assert await applied(views) == [("case-b", 1)]  # the other stream goes on

    [listed] = await dl.list_parked(views)
    assert (listed["consumer"], listed["stream_id"], listed["parked"]) == (
        "test.steps",
        "case-a",
        3,
    )
    assert listed["reason"].startswith("test.steps: ValueError: cannot read step 1")
    shown = await dl.show(views, "test.steps", "case-a")
    assert [p.position for p in shown] == [1, 3, 4]
    assert "earlier event of this stream is parked" in shown[1].reason
    assert await dl.counts(views) == {"test.steps": 3}

    # Not fixed yet: the first event parks again with the new reason; nothing applied.
    again = await dl.retry(views, consumer, "case-a", store_of)
    assert again.applied == [] and len(again.still_parked) == 3
    assert again.reason is not None and again.reason.startswith("test.steps: ValueError")
    assert (await dl.show(views, "test.steps", "case-a"))[0].reason == again.reason
    assert await applied(views) == [("case-b", 1)]

    projection.fixed = True
    done = await dl.retry(views, consumer, "case-a", store_of)
    assert len(done.applied) == 3 and done.still_parked == []
    assert await applied(views) == [("case-b", 1), ("case-a", 1), ("case-a", 2), ("case-a", 3)]
    assert await dl.list_parked(views) == []
    # The stream is no longer blocked: its next event is applied by the runner as usual.
    await step(store, "case-a", 4)
    await runner.run_once()
    assert (await applied(views))[-1] == ("case-a", 4)
    with pytest.raises(NotFound):
        await dl.retry(views, consumer, "case-a", store_of)


async def test_a_discarded_stream_leaves_the_parked_events_and_unblocks_it(
    stores: tuple[SqlEventStore, Database],
) -> None:
    store, views = stores
    runner = ProjectionRunner(Steps(), store, views)
    await runner.setup()
    bad = await step(store, "case-c", 1, poison=True)
    behind = await step(store, "case-c", 2)
    await runner.run_once()

    with pytest.raises(ValidationFailed) as refused:
        dl.check_reason(" ")
    assert refused.value.field == "reason"
    removed = await dl.discard(views, "test.steps", "case-c")
    assert [p.event_id for p in removed] == [str(bad.event_id), str(behind.event_id)]
    assert await dl.list_parked(views) == []
    with pytest.raises(NotFound):
        await dl.discard(views, "test.steps", "case-c")
    await step(store, "case-c", 3)
    await runner.run_once()
    assert await applied(views) == [("case-c", 3)]
