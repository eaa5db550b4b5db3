"""Background jobs of 考核: the ledger scheduler and the read-model set-up.

The scheduler notices, once, a task ledger item past its due date (TaskOverdue) and a
planned training session whose day passed unheld (TrainingSessionMissed) — 方案§20 — and
a township's year without 学法 of the 条例 (RegulationStudyMissed, study.py, 方案§六(一)).
Each notice is decided by the pure functions in ledger.py and appended with the stream's
version, so a restart or a second scheduler never writes it twice. An item that fails is
logged, counted and skipped; the others are still noticed (shared/jobs.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from datetime import date
from functools import partial

import structlog

from services.assessment import ledger, study
from services.assessment.events import registry
from services.assessment.ledger_view import TaskLedger
from services.assessment.projections import Scoreboard
from shared.envelope import Actor, NewEvent, RecordedEvent, StreamWrite
from shared.errors import ConcurrencyConflict
from shared.eventstore import EventStore
from shared.jobs import ItemFailures
from shared.projections import setup_projection
from shared.registry import DomainEvent, payload_of
from shared.service import Runtime
from shared.workdays import local_date

log = structlog.get_logger("gongkai.assessment.scheduler")
SCHEDULER_ACTOR = Actor(id="assessment-scheduler", kind="service", role="service")
JOB = "assessment-scheduler"


@dataclass
class Tracked:
    tenant: str
    task: ledger.TaskState | None = None
    session: ledger.SessionState | None = None
    #: an event of the stream did not fold: nothing is decided for it
    broken: bool = False

    @property
    def version(self) -> int:
        state = self.task or self.session
        return state.version if state else 0


def _evolve(item: Tracked, event: RecordedEvent) -> Tracked:
    decoded = registry.decode(event)
    if event.stream_type == "assessment-task":
        item.task = ledger.evolve_task(item.task or ledger.TaskState(), decoded)
    else:
        item.session = ledger.evolve_session(item.session or ledger.SessionState(), decoded)
    return item


def fold(
    tracked: dict[str, Tracked], events: list[RecordedEvent], failures: ItemFailures | None = None
) -> None:
    failures = failures or ItemFailures(JOB)
    for event in events:
        if event.stream_type not in ("assessment-task", "assessment-training"):
            continue
        item = tracked.setdefault(event.stream_id, Tracked(event.tenant))
        if not item.broken and failures.run(event.stream_id, partial(_evolve, item, event)) is None:
            item.broken = True


def _notice(item: Tracked, today: date) -> DomainEvent | None:
    if item.task is not None:
        return ledger.notice_overdue_task(item.task, today)
    if item.session is not None:
        return ledger.notice_missed_session(item.session, today)
    return None


def due(
    tracked: dict[str, Tracked], today: date, failures: ItemFailures | None = None
) -> list[StreamWrite]:
    failures = failures or ItemFailures(JOB)
    writes = []
    for stream_id, item in tracked.items():
        if item.broken:
            continue
        event = failures.run(stream_id, partial(_notice, item, today))
        if event is None:
            continue
        new = NewEvent(
            type=event.event_type,
            schema_version=event.schema_version,
            tenant=item.tenant,
            actor=SCHEDULER_ACTOR,
            payload=payload_of(event),
        )
        writes.append(
            StreamWrite(
                stream_id=stream_id,
                stream_type=event.stream_type,
                expected_version=item.version,
                events=(new,),
            )
        )
    return writes


async def tick(
    store: EventStore,
    tracked: dict[str, Tracked],
    position: int,
    today: date,
    failures: ItemFailures | None = None,
) -> int:
    failures = failures or ItemFailures(JOB)
    while batch := await store.read_all(position, 1000):
        fold(tracked, batch, failures)
        position = batch[-1].position
    for write in due(tracked, today, failures):

        async def append(w: StreamWrite = write) -> None:
            with contextlib.suppress(ConcurrencyConflict):
                await store.append([w])

        await failures.run_async(write.stream_id, append)
    return position


async def run_scheduler(runtime: Runtime, suite: object, stop: asyncio.Event) -> None:
    interval = float(os.environ.get("GONGKAI_ASSESSMENT_SCHEDULER_SECONDS", "2"))
    tracked: dict[str, Tracked] = {}
    failures = ItemFailures(JOB)
    position = 0
    studied = study.StudyLog()
    while not stop.is_set():
        try:
            today = local_date(runtime.clock())
            position = await tick(runtime.store, tracked, position, today, failures)
            # 学法 (方案§六(一)): last year's shortfalls, once per township (study.py)
            await study.tick(runtime.store, studied, runtime.orgs, today)
        except Exception as exc:  # keep the scheduler alive; the next tick retries
            log.error("scheduler.failed", error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def ensure_read_model(runtime: Runtime, suite: object, stop: asyncio.Event) -> None:
    """The API process reads tables the worker writes (distributed): create them if absent."""
    for attempt in range(5):
        try:
            await setup_projection(runtime.views, Scoreboard())
            await setup_projection(runtime.views, TaskLedger())
            await setup_projection(runtime.views, study.TrainingRecord())
            return
        except Exception as exc:  # a concurrent CREATE by the worker: try again
            log.info("assessment.setup_retry", attempt=attempt, error=type(exc).__name__)
            await asyncio.sleep(0.5)
