"""Completeness: every stored event of every service is in the chain (issue #8).

The chain follows the stores asynchronously; the check compares ids per service and per
period, lists what is missing, and what is chained without being stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.audit import completeness
from services.audit.chain import ChainRecorder, time_key
from shared.db import Database, SqliteDatabase
from shared.envelope import Actor, NewEvent, RecordedEvent, StreamWrite
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.projections import ProjectionRunner

CLERK = Actor(id="li-guifang", role="request_handler")


@pytest.fixture(params=["sqlite", "postgres"])
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[SqlEventStore, Database]]:
    if request.param == "sqlite":
        store = await open_sqlite_store(str(tmp_path / "events.db"), name="applications")
        views = await SqliteDatabase.open(tmp_path / "views.db")
        yield store, views
        await views.close()
        await store.close()
        return
    url = request.getfixturevalue("pg_url")
    store = await open_postgres_store(
        url, schema=request.getfixturevalue("pg_schema"), listen=False
    )
    yield store, store.db
    await store.close()


async def register(store: SqlEventStore, n: int) -> RecordedEvent:
    event = NewEvent(
        type="RequestRegistered",
        tenant="shangdang/sudian",
        actor=CLERK,
        payload={"number": f"苏店〔2026〕{n}号"},
    )
    [recorded] = await store.append(
        [StreamWrite(stream_id=f"request-{n}", stream_type="request", events=(event,))]
    )
    return recorded


async def test_an_event_the_chain_never_received_is_reported_missing(
    stores: tuple[SqlEventStore, Database],
) -> None:
    store, views = stores
    events = [await register(store, n) for n in range(1, 5)]
    runner = ProjectionRunner(ChainRecorder("applications"), store, views)
    await runner.setup()
    await runner.run_once(until=events[2].position)  # the feed stopped before the last one
    [period] = await completeness.check_service("applications", store, views)
    assert (period.in_store, period.in_chain) == (4, 3)
    assert period.missing == [str(events[3].event_id)]
    assert period.day == time_key(events[0].recorded_at)[:10]
    assert not period.complete
    await runner.run_once()
    for width in ("hour", "day", "month"):
        [period] = await completeness.check_service("applications", store, views, period=width)
        assert period.complete and period.in_chain == 4
        assert len(period.day) == completeness.PERIOD_WIDTH[width]


async def test_a_period_outside_the_range_is_not_counted(
    stores: tuple[SqlEventStore, Database],
) -> None:
    store, views = stores
    first = await register(store, 1)
    await register(store, 2)
    runner = ProjectionRunner(ChainRecorder("applications"), store, views)
    await runner.setup()
    await runner.run_once()
    [period] = await completeness.check_service("applications", store, views, end=first.recorded_at)
    assert (period.in_store, period.in_chain, period.complete) == (1, 1, True)


async def test_backfill_chains_what_a_feed_missed_once(
    stores: tuple[SqlEventStore, Database],
) -> None:
    from services.audit import chain

    store, views = stores
    events = [await register(store, n) for n in range(1, 6)]
    runner = ProjectionRunner(ChainRecorder("applications"), store, views)
    await runner.setup()
    await runner.run_once(until=events[1].position)  # the feed died after two events
    assert await chain.backfill(store, views, "applications") == 3
    assert await chain.backfill(store, views, "applications") == 0
    await runner.run_once()  # the feed comes back: nothing is chained twice
    [period] = await completeness.check_service("applications", store, views)
    assert period.complete and period.in_chain == 5
    result = await chain.verify(views)
    assert (result.verified, result.broken) == (5, None)
