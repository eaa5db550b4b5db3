"""The enforcement scheduler (a ServiceDefinition background job).

Each tick, with `today` from the injectable clock:
1. flags once every decision that must be public and is not, past its due day (7 working
   days for 行政许可 / 行政处罚, 20 for 行政强制: 国办发〔2018〕118号 二(二)) —
   EnforcementPublicationOverdue, which the assessment scores;
2. withdraws every publication whose period ended (公示期满).
Candidates come from the read model; each decision is taken again on the stream and
appended with its version, so a stale read model can delay an event by a tick but never
duplicate it. Each item is isolated (shared/jobs.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import date
from uuid import UUID

import structlog

from services.enforcement.handlers import EnforcementHandlers
from shared.jobs import ItemFailures
from shared.service import Runtime, Suite
from shared.workdays import local_date

log = structlog.get_logger("gongkai.enforcement.scheduler")
JOB = "enforcement-scheduler"


async def tick(h: EnforcementHandlers, today: date, failures: ItemFailures | None = None) -> int:
    failures = failures or ItemFailures(JOB)
    rows = await h.views.fetch(
        "SELECT decision_id FROM enf_decisions WHERE "
        "(status = 'recorded' AND overdue = FALSE AND annulled IS NULL "
        " AND publication_due < $1) "
        "OR (status = 'published' AND visible_until IS NOT NULL AND visible_until <= $1) "
        "ORDER BY decision_id LIMIT 500",
        today.isoformat(),
    )
    written = 0
    for row in rows:

        async def step(decision_id: str = row["decision_id"]) -> int:
            return await h.scheduler_step(UUID(decision_id), today)

        written += await failures.run_async(f"enforcement-{row['decision_id']}", step) or 0
    return written


async def run_scheduler(runtime: Runtime, suite: Suite, stop: asyncio.Event) -> None:
    interval = float(os.environ.get("GONGKAI_ENFORCEMENT_SCHEDULER_SECONDS", "1"))
    failures = ItemFailures(JOB)
    while not stop.is_set():
        try:
            written = await tick(runtime.handlers, local_date(suite.clock()), failures)
            if written:
                log.info("scheduler.recorded", events=written)
        except Exception as exc:  # keep the job alive (e.g. tables not created yet)
            log.warning("scheduler.failed", error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
