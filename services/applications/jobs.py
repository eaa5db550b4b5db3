"""The deadline scheduler: time passes without anyone acting (DOMAIN.md §2; 条例 Arts. 30, 33, 42).

`due_events` is the pure decision: given one request's state, the calendar,
today and the warning threshold, which events are now due. Each is recorded at
most once because the state remembers it (the events are in the stream), and
the append is guarded by the stream version, so a restart, a second scheduler
or a handler acting at the same moment never produce a duplicate.

`run_scheduler` is the ServiceDefinition.background job: it folds the store's
log into request states, then every tick asks `due_events` for each open request.
One request that cannot be decided (an event that does not fold, a date the calendar
cannot count from) is logged, counted and skipped (shared/jobs.py): the district's
other requests still get their alerts (issue #21).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

import structlog

from services.applications import clock as clocks
from services.applications.events import (
    CorrectionLapsed,
    DeadlineApproaching,
    DeadlineMissed,
    FeeLapsed,
    ReplyDueRecomputed,
    registry,
)
from services.applications.state import RequestState, evolve
from shared.envelope import Actor, NewEvent, RecordedEvent, StreamWrite
from shared.errors import ConcurrencyConflict
from shared.jobs import ItemFailures
from shared.registry import DomainEvent, payload_of
from shared.service import Runtime, Suite
from shared.workdays import WorkdayCalendar, local_date

log = structlog.get_logger("gongkai.applications.scheduler")
JOB = "applications-scheduler"

APPROACHING_WORKING_DAYS = 5  # [ours] default warning threshold, configurable
SCHEDULER_ACTOR = Actor(id="applications-scheduler", kind="service", role="service")


def due_events(
    state: RequestState,
    calendar: WorkdayCalendar,
    today: date,
    approaching_days: int = APPROACHING_WORKING_DAYS,
) -> list[DomainEvent]:
    """Events the passage of time makes due for one request today (possibly none)."""
    if state.request_id is None or state.archived or state.concluded:
        return []
    rid = state.request_id
    if state.awaiting_correction:
        assert state.correction_due is not None
        if today > state.correction_due:
            # Art. 30: no correction in time = deemed abandoned, from the day after the period.
            lapsed = state.correction_due + timedelta(days=1)
            return [CorrectionLapsed(request_id=rid, correction_due=state.correction_due,
                                     lapsed_on=lapsed)]  # fmt: skip
        return []
    if state.fee is not None and state.fee.paid_on is None:
        if today > state.fee.pay_by:
            lapsed = state.fee.pay_by + timedelta(days=1)
            return [FeeLapsed(request_id=rid, pay_by=state.fee.pay_by, lapsed_on=lapsed)]
        return []
    clock = clocks.compute(state, calendar, today)
    if clock.state != "running" or clock.due is None or clock.working_days_remaining is None:
        return []
    if state.reply_due is not None and clock.due != state.reply_due:
        # A calendar published for a provisional year (DOMAIN.md §6), or a consultation left
        # open past its 15 working days, moved the due date: record the change first.
        return [
            ReplyDueRecomputed(
                request_id=rid,
                previous_reply_due=state.reply_due,
                reply_due=clock.due,
                provisional=clock.provisional,
                calendars=list(clock.calendars),
            )
        ]
    if today > clock.due:
        if state.missed_sent:
            return []
        return [DeadlineMissed(request_id=rid, reply_due=clock.due, noticed_on=today)]
    if not state.approaching_sent and clock.working_days_remaining <= approaching_days:
        return [
            DeadlineApproaching(
                request_id=rid,
                reply_due=clock.due,
                working_days_left=clock.working_days_remaining,
                noticed_on=today,
            )
        ]
    return []


@dataclass
class Tracked:
    state: RequestState
    tenant: str
    #: An event of the stream did not fold: the state is unknown, so nothing is decided
    #: for it (until a restart folds it again with a fixed build).
    broken: bool = False


def is_request_stream(stream_id: str) -> bool:
    return stream_id.startswith("request-") and not stream_id.startswith("request-register-")


def fold(
    tracked: dict[str, Tracked], events: list[RecordedEvent], failures: ItemFailures | None = None
) -> None:
    """Fold recorded events into per-stream states (request streams only)."""
    failures = failures or ItemFailures(JOB)
    for event in events:
        if not is_request_stream(event.stream_id) or not registry.knows(event.type):
            continue
        current = tracked.get(event.stream_id)
        if current is None:
            current = tracked[event.stream_id] = Tracked(RequestState(), event.tenant)
        if current.broken:
            continue
        folded = failures.run(event.stream_id, partial(_fold, current.state, event))
        if folded is None:
            current.broken = True
        else:
            current.state = folded


def writes_due(
    tracked: dict[str, Tracked],
    calendar: WorkdayCalendar,
    today: date,
    approaching_days: int = APPROACHING_WORKING_DAYS,
    only: set[str] | None = None,
    failures: ItemFailures | None = None,
) -> list[StreamWrite]:
    """One guarded write per request with due events (`only`: just these streams)."""
    failures = failures or ItemFailures(JOB)
    writes = []
    for stream_id in tracked if only is None else only & tracked.keys():
        item = tracked[stream_id]
        if item.broken:
            continue
        events = failures.run(
            stream_id, partial(due_events, item.state, calendar, today, approaching_days)
        )
        if not events:
            continue
        writes.append(
            StreamWrite(
                stream_id=stream_id,
                stream_type="request",
                expected_version=item.state.version,
                events=tuple(
                    NewEvent(
                        type=e.event_type,
                        schema_version=e.schema_version,
                        tenant=item.tenant,
                        actor=SCHEDULER_ACTOR,
                        payload=payload_of(e),
                    )
                    for e in events
                ),
            )
        )
    return writes


def _fold(state: RequestState, event: RecordedEvent) -> RequestState:
    return evolve(state, registry.decode(event))


async def tick(
    store: Any,
    tracked: dict[str, Tracked],
    position: int,
    calendar: WorkdayCalendar,
    today: date,
    approaching_days: int = APPROACHING_WORKING_DAYS,
    full: bool = True,
    failures: ItemFailures | None = None,
) -> tuple[int, int]:
    """Catch up with the log, record what is due; returns (new position, events written).

    `full=False` decides only for the requests that changed since the last tick: nothing
    else can have become due unless the day or the calendar changed (then `full=True`).
    A request that fails is skipped (logged and counted in `failures`).
    """
    failures = failures or ItemFailures(JOB)
    dirty: set[str] = set()
    # 200 at a time: decoding and folding a batch holds the event loop the pages are served
    # from (1,000 took ≈ 100 ms a slice while folding a 500,000-event log at start)
    while batch := await store.read_all(position, 200):
        fold(tracked, batch, failures)
        dirty.update(e.stream_id for e in batch)
        position = batch[-1].position
    written = 0
    only = None if full else dirty
    for write in writes_due(tracked, calendar, today, approaching_days, only, failures):

        async def append(w: StreamWrite = write) -> int:
            try:
                await store.append([w])
            except ConcurrencyConflict:
                return 0  # someone acted on the request meanwhile: decide again next tick
            return len(w.events)

        written += await failures.run_async(write.stream_id, append) or 0
    return position, written


async def run_scheduler(runtime: Runtime, suite: Suite, stop: asyncio.Event) -> None:
    interval = float(os.environ.get("GONGKAI_APPLICATIONS_SCHEDULER_SECONDS", "2"))
    threshold = int(os.environ.get("GONGKAI_DEADLINE_APPROACHING_DAYS", APPROACHING_WORKING_DAYS))
    tracked: dict[str, Tracked] = {}
    failures = ItemFailures(JOB)
    position = 0
    decided_for: tuple[date, WorkdayCalendar] | None = None  # day and calendar of the last pass
    while not stop.is_set():
        try:
            calendar, today = suite.calendar(), local_date(suite.clock())
            full = decided_for is None or decided_for[0] != today or decided_for[1] is not calendar
            position, written = await tick(
                runtime.store, tracked, position, calendar, today, threshold, full, failures
            )
            decided_for = (today, calendar)
            if written:
                log.info("scheduler.recorded", events=written)
        except Exception as exc:  # keep the scheduler alive; the next tick retries
            log.error("scheduler.failed", error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
