"""Misreading cases from the sentiment service become follow-up stages, on real stores.

SQLite and PostgreSQL. The sentiment service's PolicyMisreadingReported reaches the
interpretation service's misreading inbox (a projection over the sentiment store); the
scheduler opens the follow-up on the obligation's stream (DOMAIN.md §4; 方案§五(一):
对误解误读及时解读回应). A redelivered event, a lagging read model or a second scheduler
opens nothing twice: the decision is taken on the obligation's own stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import orjson
import pytest

from services.interpretation.jobs import tick
from services.interpretation.projections import MisreadingInbox
from services.sentiment.events import PolicyMisreadingReported
from shared.db import Database
from shared.envelope import Actor, RecordedEvent, StreamWrite, new_id
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.projections import ProjectionRunner
from shared.registry import to_new_event
from tests.integration.test_interpretation_ledger import PUBLISHED_AT, World, publish_in_catalog
from tests.integration.test_interpretation_ledger import world as ledger_world  # noqa: F401

TOWNSHIP = "shangdang/sudian"
OFFICER = Actor(id="liu-yang", kind="user", role="opinion_officer")
TODAY = date(2026, 10, 9)  # before the latest due date (10-10): no missed deadline


@pytest.fixture
async def sentiment(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlEventStore]:
    schema = ""
    if "postgres" in request.node.callspec.id:
        url = request.getfixturevalue("pg_url")
        schema = request.getfixturevalue("pg_schema")
        store = await open_postgres_store(url, schema=schema + "_snt", listen=False)
    else:
        store = await open_sqlite_store(str(tmp_path / "sentiment.db"), name="sentiment")
    yield store
    await store.close()
    if "postgres" in request.node.callspec.id:
        conn = await asyncpg.connect(request.getfixturevalue("pg_url"))
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema}_snt CASCADE")
        await conn.close()


@pytest.fixture
async def w(ledger_world: World, sentiment: SqlEventStore) -> AsyncIterator[Any]:  # noqa: F811
    inbox = MisreadingInbox()
    # The ledger world already runs the inbox over interpretation's own store.
    runner = ProjectionRunner(
        inbox, sentiment, ledger_world.views, checkpoint_name=inbox.name + "@sentiment"
    )
    await runner.setup()
    ledger_world.runners.append(runner)
    yield ledger_world, sentiment


async def report(store: SqlEventStore, document_id: UUID, case_id: UUID) -> RecordedEvent:
    event = PolicyMisreadingReported(
        case_id=case_id,
        document_id=document_id,
        policy_title="苏店镇农村人居环境整治提升三年行动实施方案（2026—2028年）",
        document_number="苏政发〔2026〕3号",
        policy_township=TOWNSHIP,
        misreading="群众误以为改厕须先自行垫付",
        reported_by="liu-yang",
        classified_misreading=True,
    )
    (recorded,) = await store.append(
        [
            StreamWrite(
                stream_id=f"opinion-case-{case_id}",
                stream_type="opinion-case",
                expected_version=None,
                events=(to_new_event(event, TOWNSHIP, OFFICER, new_id()),),
            )
        ]
    )
    return recorded


async def follow_up_events(w: World, document_id: UUID) -> list[RecordedEvent]:
    return [
        e
        for e in await w.store.read_stream(f"obligation-{document_id}")
        if e.type in ("FollowUpRequested", "FollowUpCasesAdded")
    ]


async def test_a_reported_misreading_opens_one_stage_despite_lag_and_redelivery(w: Any) -> None:
    world, sentiment = w
    document_id = await publish_in_catalog(world)
    await world.project()
    await tick(world.handlers, PUBLISHED_AT.date())
    case_id = new_id()
    recorded = await report(sentiment, document_id, case_id)
    world.now[0] = PUBLISHED_AT.replace(month=10, day=9)
    await world.project()
    assert await tick(world.handlers, TODAY) == 1
    # The read model has not seen the stage yet (lag), and the event is delivered again.
    assert await tick(world.handlers, TODAY) == 0
    views: Database = world.views
    async with views.transaction() as tx:
        await MisreadingInbox().apply(tx, recorded)
    assert await tick(world.handlers, TODAY) == 0
    (stage,) = await follow_up_events(world, document_id)
    assert stage.type == "FollowUpRequested"
    assert stage.payload["case_ids"] == [str(case_id)] and stage.payload["stage"] == 2
    assert stage.payload["requested_by"] == "liu-yang"
    assert "群众误以为改厕须先自行垫付" in stage.payload["reason"]
    assert stage.correlation_id == recorded.correlation_id  # traceable to the officer's link
    await world.project()
    rows = await views.fetch("SELECT status, follow_up_id FROM itp_misreadings")
    assert [(r["status"], r["follow_up_id"]) for r in rows] == [
        ("opened", stage.payload["follow_up_id"])
    ]
    obligation = await views.fetchrow(
        "SELECT follow_ups FROM itp_obligations WHERE document_id = $1", str(document_id)
    )
    assert obligation is not None and str(case_id) in obligation["follow_ups"]


async def test_a_misreading_waits_for_the_obligation_and_later_cases_join_the_stage(
    w: Any,
) -> None:
    world, sentiment = w
    document_id = await publish_in_catalog(world)
    first, second = new_id(), new_id()
    await report(sentiment, document_id, first)
    await world.project()
    # No obligation yet (the scheduler has not opened it): the case waits, nothing written.
    assert await world.views.fetch("SELECT * FROM itp_obligations") == []
    assert await tick(world.handlers, PUBLISHED_AT.date()) == 1  # the obligation only
    await world.project()
    assert await tick(world.handlers, PUBLISHED_AT.date()) == 1  # now the stage
    await report(sentiment, document_id, second)
    await world.project()
    assert await tick(world.handlers, PUBLISHED_AT.date()) == 1
    requested, added = await follow_up_events(world, document_id)
    assert (requested.type, added.type) == ("FollowUpRequested", "FollowUpCasesAdded")
    assert added.payload["follow_up_id"] == requested.payload["follow_up_id"]
    assert added.payload["case_ids"] == [str(second)]
    await world.project()
    row = await world.views.fetchrow("SELECT follow_ups FROM itp_obligations")
    assert row is not None
    assert sorted(orjson.loads(row["follow_ups"])[0]["case_ids"]) == sorted(
        [str(first), str(second)]
    )
