"""Column health from the read models, and the column check that records it as events.

Dynamic columns every 2 weeks, others every 6 months, none empty [local; DOMAIN.md §1].
The check appends ColumnStale / ColumnEmpty to `catalog-column-health-<township>-<code>`
(assessment deducts for them, DOMAIN.md §5), once per episode, with the stream's
expected version so concurrent checks do not record twice.

It runs for every township each working day (issue #21: a check only on demand penalised
the townships that asked, while those that never checked kept full marks), after a local
hour, from a start date the district chooses (a fresh deployment starts with every column
empty, and when that starts to count is the district's decision), and on demand
(POST /v1/catalog/column-checks). Settings (shared/settings.py): GONGKAI_COLUMN_CHECKS
(on|off, on), GONGKAI_COLUMN_CHECKS_HOUR (local hour 0-23, 8), GONGKAI_COLUMN_CHECKS_FROM
(YYYY-MM-DD, none: from the first day). Several processes may run it: each episode is still
recorded once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import structlog

from services.catalog import columns as catalog_columns
from shared.envelope import SYSTEM_ACTOR, Actor, NewEvent, RecordedEvent, StreamWrite, new_id
from shared.errors import ConcurrencyConflict
from shared.jobs import ItemFailures
from shared.registry import payload_of
from shared.service import Runtime, Suite
from shared.settings import Settings
from shared.workdays import WorkdayCalendar, local_date

log = structlog.get_logger("gongkai.catalog.column_checks")
SHANGHAI = ZoneInfo("Asia/Shanghai")
#: How often the job looks whether today's check is due.
POLL_SECONDS = 600.0


def health_stream(township: str, code: str) -> str:
    return f"catalog-column-health-{township}-{code}"


async def column_health(
    runtime: Runtime, township: str
) -> tuple[date, list[catalog_columns.ColumnHealth]]:
    """Every column of a township (seeded and configured) with its count and last update."""
    configured = await runtime.views.fetch(
        "SELECT * FROM catalog_columns WHERE township = $1", township
    )
    merged = catalog_columns.merge(
        [
            catalog_columns.Column(r["code"], r["name"], bool(r["dynamic"]), int(r["max_age_days"]))
            for r in configured
        ]
    )
    stats = await runtime.views.fetch(
        "SELECT column_code, COUNT(*) AS n, MAX(updated_at) AS last FROM catalog_public "
        "WHERE township = $1 GROUP BY column_code",
        township,
    )
    by_code = {r["column_code"]: r for r in stats}
    today = local_date(runtime.handlers.clock())
    found = []
    for column in merged:
        row = by_code.get(column.code)
        last = local_date(datetime.fromisoformat(str(row["last"]))) if row else None
        found.append(catalog_columns.health(column, last, int(row["n"]) if row else 0, today))
    return today, found


async def check_columns(
    runtime: Runtime, township: str, actor: Actor, correlation: UUID
) -> list[RecordedEvent]:
    today, healths = await column_health(runtime, township)
    recorded: list[RecordedEvent] = []
    for h in healths:
        stream = health_stream(township, h.column.code)
        events = await runtime.store.read_stream(stream)
        last = events[-1].payload if events else None
        event = catalog_columns.health_event(township, h, today, last)
        if event is None:
            continue
        try:
            recorded += await runtime.store.append(
                [
                    StreamWrite(
                        stream_id=stream,
                        stream_type=event.stream_type,
                        expected_version=len(events),
                        events=(
                            NewEvent(
                                type=event.event_type,
                                schema_version=event.schema_version,
                                tenant=township,
                                actor=actor,
                                correlation_id=correlation,
                                payload=payload_of(event),
                            ),
                        ),
                    )
                ]
            )
        except ConcurrencyConflict:
            continue  # another check recorded this column just now
    return recorded


# -- the daily check ----------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnCheckSchedule:
    """When the daily column check runs: a working day, after `hour` (local), from `start`."""

    enabled: bool = True
    hour: int = 8
    start: date | None = None

    @classmethod
    def of(cls, settings: Settings) -> ColumnCheckSchedule:
        return cls(
            settings.column_checks == "on",
            settings.column_checks_hour,
            settings.column_checks_from,
        )

    def due(self, now: datetime, calendar: WorkdayCalendar, last_run: date | None) -> bool:
        """Whether the check should run at `now` (an aware instant), given the day it last
        ran in this process. Pure."""
        local = now.astimezone(SHANGHAI)
        today = local.date()
        return (
            self.enabled
            and (self.start is None or today >= self.start)
            and last_run != today
            and calendar.is_workday(today)
            and local.hour >= self.hour
        )


async def check_every_township(
    runtime: Runtime, townships: list[str], failures: ItemFailures | None = None
) -> list[RecordedEvent]:
    """The column check of every township, by the suite (a township that fails is logged
    and skipped; the others are still checked)."""
    failures = failures or ItemFailures("catalog-column-check")
    correlation = new_id()
    recorded: list[RecordedEvent] = []
    for township in townships:
        work = partial(check_columns, runtime, township, SYSTEM_ACTOR, correlation)
        recorded += await failures.run_async(f"township-{township}", work) or []
    if recorded:
        log.info("catalog.columns_flagged", count=len(recorded))
    return recorded


def column_check_job(
    runtime: Runtime, suite: Suite, stop: asyncio.Event
) -> Coroutine[Any, Any, None]:
    plan = ColumnCheckSchedule.of(suite.settings)

    async def run() -> None:
        failures = ItemFailures("catalog-column-check")
        townships = [str(t.path) for t in suite.orgs.townships()]
        last_run: date | None = None
        while not stop.is_set():
            now = suite.clock()
            if plan.due(now, suite.calendar(), last_run):
                try:
                    await check_every_township(runtime, townships, failures)
                    last_run = local_date(now)
                except Exception as exc:  # e.g. read model not created yet: next round
                    log.warning("catalog.column_check_failed", error=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)

    return run()
