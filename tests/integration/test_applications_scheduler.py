"""The deadline scheduler against a real PostgreSQL store: once per request and threshold,
also across a restart and with two schedulers racing (条例 Arts. 30, 33; DOMAIN.md §2).

Time is injected: the scheduler is given the day, the store is real.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from types import SimpleNamespace

from services.applications import schedule
from services.applications.commands import RegisterRequest
from services.applications.domain import register
from services.applications.handlers import request_stream, to_new_event
from shared.envelope import Actor, StreamWrite, new_id
from shared.eventstore import open_postgres_store
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
        first: dict[str, schedule.Tracked] = {}
        position, written = await schedule.tick(store, first, 0, CAL, date(2026, 3, 9))
        assert written == 3  # DeadlineApproaching for each
        position, written = await schedule.tick(store, first, position, CAL, date(2026, 3, 10))
        assert written == 0
        # Two fresh schedulers (a restart, and a second process) race on the missed day.
        a: dict[str, schedule.Tracked] = {}
        b: dict[str, schedule.Tracked] = {}
        results = await asyncio.gather(
            schedule.tick(store, a, 0, CAL, date(2026, 3, 17)),
            schedule.tick(store, b, 0, CAL, date(2026, 3, 17)),
        )
        assert sum(w for _, w in results) == 3
        for _ in range(2):
            _, written = await schedule.tick(store, a, results[0][0], CAL, date(2026, 3, 20))
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
        job = asyncio.create_task(schedule.run_scheduler(runtime, suite, stop))
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
