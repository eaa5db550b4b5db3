"""The deadline scheduler against a real PostgreSQL store: once per request and threshold,
also across a restart and with two schedulers racing (条例 Arts. 30, 33; DOMAIN.md §2).

Time is injected: the scheduler is given the day, the store is real.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import structlog

from services.applications import jobs
from services.applications.commands import RegisterRequest
from services.applications.domain import register
from services.applications.handlers import request_stream, to_new_event
from shared.envelope import Actor, StreamWrite, new_id
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.jobs import ItemFailures
from shared.workdays import WorkdayCalendar

CAL = WorkdayCalendar.default()
ACTOR = Actor(id="wang-tietong", role="request_handler")


def _command(received: date) -> RegisterRequest:
    return RegisterRequest.model_validate(
        {
            "channel": "in_person",
            "submitted_on": received.isoformat(),
            "applicant": {
                "kind": "natural_person",
                "name": "王秀英",
                "id_document": "居民身份证",
                "phone": "13812345678",
            },
            "description": "申请公开苏店镇2025年度惠民惠农资金发放名单",
            "requested_form": "paper",
            "delivery_channel": "post",
        }
    )


async def _scenario(url: str, schema: str) -> None:
    store = await open_postgres_store(url, schema=schema, listen=False)
    try:
        received = date(2026, 2, 10)  # due 2026-03-16
        ids = []
        for sequence in range(1, 4):
            rid = new_id()
            ids.append(rid)
            event = register(
                _command(received),
                request_id=rid,
                short_name="苏店",
                year=2026,
                sequence=sequence,
                today=received,
                calendar=CAL,
            )
            await store.append(
                [
                    StreamWrite(
                        stream_id=request_stream(rid),
                        stream_type="request",
                        expected_version=0,
                        events=(to_new_event(event, "shangdang/sudian", ACTOR, new_id()),),
                    )
                ]
            )
        first: dict[str, jobs.Tracked] = {}
        position, written = await jobs.tick(store, first, 0, CAL, date(2026, 3, 9))
        assert written == 3  # DeadlineApproaching for each
        position, written = await jobs.tick(store, first, position, CAL, date(2026, 3, 10))
        assert written == 0
        # Two fresh schedulers (a restart, and a second process) race on the missed day.
        a: dict[str, jobs.Tracked] = {}
        b: dict[str, jobs.Tracked] = {}
        results = await asyncio.gather(
            jobs.tick(store, a, 0, CAL, date(2026, 3, 17)),
            jobs.tick(store, b, 0, CAL, date(2026, 3, 17)),
        )
        assert sum(w for _, w in results) == 3
        for _ in range(2):
            _, written = await jobs.tick(store, a, results[0][0], CAL, date(2026, 3, 20))
            assert written == 0
        for rid in ids:
            types = [e.type for e in await store.read_stream(request_stream(rid))]
            assert types == ["RequestRegistered", "DeadlineApproaching", "DeadlineMissed"]
    finally:
        await store.close()


def test_scheduler_emits_each_threshold_once_across_restarts_and_races__art33(
    pg_url: str, pg_schema: str
) -> None:
    asyncio.run(_scenario(pg_url, pg_schema))


async def _background(url: str, schema: str) -> None:
    store = await open_postgres_store(url, schema=schema, listen=False)
    try:
        rid = new_id()
        event = register(
            _command(date(2026, 2, 10)),
            request_id=rid,
            short_name="苏店",
            year=2026,
            sequence=1,
            today=date(2026, 2, 10),
            calendar=CAL,
        )
        await store.append(
            [
                StreamWrite(
                    stream_id=request_stream(rid),
                    stream_type="request",
                    expected_version=0,
                    events=(to_new_event(event, "shangdang/sudian", ACTOR, new_id()),),
                )
            ]
        )
        runtime = SimpleNamespace(store=store)
        suite = SimpleNamespace(
            calendar=lambda: CAL, clock=lambda: datetime(2026, 3, 17, 2, 0, tzinfo=UTC)
        )
        stop = asyncio.Event()
        job = asyncio.create_task(jobs.run_scheduler(runtime, suite, stop))
        for _ in range(200):
            if len(await store.read_stream(request_stream(rid))) > 1:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await job
        types = [e.type for e in await store.read_stream(request_stream(rid))]
        assert types == ["RequestRegistered", "DeadlineMissed"]
        missed = (await store.read_stream(request_stream(rid)))[-1]
        assert missed.payload["noticed_on"] == "2026-03-17"
        assert missed.actor.id == "applications-scheduler"
    finally:
        await store.close()


def test_background_job_uses_the_injected_clock__art33(pg_url: str, pg_schema: str) -> None:
    """ServiceDefinition.background as the suite runs it, with suite.clock fixed on 2026-03-17."""
    asyncio.run(_background(pg_url, pg_schema))


async def _open_store(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> SqlEventStore:
    if engine == "sqlite":
        return await open_sqlite_store(str(tmp_path / "events.db"), name="applications")
    return await open_postgres_store(
        request.getfixturevalue("pg_url"), schema=request.getfixturevalue("pg_schema"), listen=False
    )


def _registered(rid: Any, received: date) -> StreamWrite:
    event = register(
        _command(received),
        request_id=rid,
        short_name="苏店",
        year=2026,
        sequence=1,
        today=received,
        calendar=CAL,
    )
    return StreamWrite(
        stream_id=request_stream(rid),
        stream_type="request",
        expected_version=0,
        events=(to_new_event(event, "shangdang/sudian", ACTOR, new_id()),),
    )


async def _one_bad_request(store: SqlEventStore) -> None:
    good, bad = new_id(), new_id()
    await store.append([_registered(good, date(2026, 2, 10))])
    # Stored before commands refused such dates (issue #21): received on 0001-03-01, so
    # the clock's working-day lookup fails for this request on every pass.
    written = _registered(bad, date(2026, 2, 10))
    (new,) = written.events
    payload = {**new.payload, "submitted_on": "0001-03-01", "received_on": "0001-03-01"}
    await store.append(
        [written.model_copy(update={"events": (new.model_copy(update={"payload": payload}),)})]
    )
    failures = ItemFailures("applications-scheduler")
    tracked: dict[str, jobs.Tracked] = {}
    position, written_count = await jobs.tick(
        store, tracked, 0, CAL, date(2026, 3, 17), failures=failures
    )
    assert written_count == 1  # the good request's DeadlineMissed
    assert [e.type for e in await store.read_stream(request_stream(good))] == [
        "RequestRegistered",
        "DeadlineMissed",
    ]
    assert [e.type for e in await store.read_stream(request_stream(bad))] == ["RequestRegistered"]
    assert failures.failed == 1 and list(failures.failing) == [request_stream(bad)]
    # the next pass skips it again and still counts it
    await jobs.tick(store, tracked, position, CAL, date(2026, 3, 18), failures=failures)
    assert failures.failed == 2


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_one_request_that_cannot_be_decided_does_not_stop_the_others_alerts__issue21_art33(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async def scenario() -> None:
        store = await _open_store(engine, request, tmp_path)
        try:
            with structlog.testing.capture_logs() as logs:
                await _one_bad_request(store)
        finally:
            await store.close()
        failed = [entry for entry in logs if entry["event"] == "job.item_failed"]
        assert len(failed) == 1  # logged once, not on every pass
        assert failed[0]["job"] == "applications-scheduler" and failed[0]["log_level"] == "error"
        assert "王秀英" not in str(failed[0])  # no personal data in the log

    asyncio.run(scenario())
