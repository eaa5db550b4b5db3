"""The interpretation scheduler (a ServiceDefinition background job).

Each tick, with `today` from the injectable clock:
1. opens an obligation for every policy in the inbox (fed by the catalog's
   DocumentPublished) that has none yet — the append expects a new stream, so a
   restart or a second scheduler never opens one twice;
2. cancels open obligations whose policy was withdrawn;
3. records InterpretationDeadlineMissed once for every open obligation past its latest
   due date (DOMAIN.md §3: at the latest 3 working days after the policy);
4. opens (or joins) a follow-up stage for the misreading cases the sentiment service
   reported (方案§五(一): 对误解误读及时解读回应), once the policy's obligation is open.
The candidates come from the read models; each decision is taken again on the
obligation's own stream and appended with its version, so a stale read model can
delay an event by a tick but never duplicate it. Each item is isolated (shared/jobs.py):
one that fails is logged, counted and skipped, and the others are still decided (issue #21).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import date
from typing import Any
from uuid import UUID

import orjson
import structlog

from services.interpretation import domain
from services.interpretation.domain import MisreadingReport, PolicyFacts
from services.interpretation.events import PolicySource
from services.interpretation.handlers import SCHEDULER, InterpretationHandlers, obligation_stream
from shared.envelope import StreamWrite
from shared.errors import ConcurrencyConflict
from shared.jobs import ItemFailures
from shared.registry import DomainEvent, to_new_event
from shared.service import Runtime, Suite
from shared.workdays import local_date

log = structlog.get_logger("gongkai.interpretation.scheduler")
SCHEDULER_ACTOR = SCHEDULER
JOB = "interpretation-scheduler"


async def append_one(
    h: InterpretationHandlers, state: domain.ObligationState, event: DomainEvent
) -> int:
    assert state.document_id is not None
    try:
        await h.store.append(
            [
                StreamWrite(
                    stream_id=obligation_stream(state.document_id),
                    stream_type="obligation",
                    expected_version=state.version,
                    events=(to_new_event(event, state.owner_unit, SCHEDULER_ACTOR, None),),
                )
            ]
        )
    except ConcurrencyConflict:
        return 0  # someone acted meanwhile: decide again next tick
    return 1


async def tick(h: InterpretationHandlers, today: date, failures: ItemFailures | None = None) -> int:
    """One pass; returns the number of events written (a failing item is skipped)."""
    failures = failures or ItemFailures(JOB)
    written = 0
    pending = await h.views.fetch(
        """SELECT p.* FROM itp_policies p
           LEFT JOIN itp_obligations o ON o.document_id = p.document_id
           WHERE o.document_id IS NULL AND p.withdrawn = FALSE AND p.source = 'catalog'"""
    )
    for row in pending:

        async def open_obligation(row: Any = row) -> int:
            facts = PolicyFacts(
                document_id=UUID(row["document_id"]),
                township=row["township"],
                lead_unit=row["lead_unit"],
                joint_units=tuple(orjson.loads(row["joint_units"])),
                title=row["title"],
                document_number=row["document_number"],
                kind=row["kind"],
                flagged=bool(row["flagged"]),
                published_on=date.fromisoformat(row["published_on"]),
                source=PolicySource.catalog,
            )
            return int(await h.open_from_policy(facts) is not None)

        written += await failures.run_async(f"policy-{row['document_id']}", open_obligation) or 0
    withdrawn = await h.views.fetch(
        """SELECT o.document_id FROM itp_obligations o
           JOIN itp_policies p ON p.document_id = o.document_id
           WHERE p.withdrawn = TRUE AND o.status = 'open'"""
    )
    for row in withdrawn:

        async def cancel(document_id: str = row["document_id"]) -> int:
            state = await h.obligation(UUID(document_id))
            cancelled = domain.cancel(state, "政策文件已撤销 / the policy was withdrawn")
            return 0 if cancelled is None else await append_one(h, state, cancelled)

        written += await failures.run_async(f"obligation-{row['document_id']}", cancel) or 0
    late = await h.views.fetch(
        "SELECT document_id FROM itp_obligations "
        "WHERE status = 'open' AND missed = FALSE AND latest_due < $1",
        today.isoformat(),
    )
    for row in late:

        async def miss(document_id: str = row["document_id"]) -> int:
            state = await h.obligation(UUID(document_id))
            missed = domain.deadline_missed(state, today)
            return 0 if missed is None else await append_one(h, state, missed)

        written += await failures.run_async(f"obligation-{row['document_id']}", miss) or 0
    return written + await follow_up_misreadings(h, failures)


async def follow_up_misreadings(
    h: InterpretationHandlers, failures: ItemFailures | None = None
) -> int:
    """Pending misreading cases, by policy, in one follow-up per policy and tick."""
    failures = failures or ItemFailures(JOB)
    rows = await h.views.fetch(
        """SELECT m.* FROM itp_misreadings m
           JOIN itp_obligations o ON o.document_id = m.document_id
           WHERE m.status = 'pending' AND o.status IN ('open', 'fulfilled')
           ORDER BY m.reported_at, m.case_id LIMIT 500"""
    )
    by_policy: dict[str, list[MisreadingReport]] = {}
    for row in rows:
        by_policy.setdefault(row["document_id"], []).append(
            MisreadingReport(
                case_id=row["case_id"],
                misreading=row["misreading"] or "",
                reported_by=row["reported_by"] or "sentiment",
                correlation_id=UUID(row["correlation_id"]) if row["correlation_id"] else None,
            )
        )
    written = 0
    for document_id, reports in by_policy.items():

        async def follow_up(document_id: str = document_id, reports: Any = reports) -> int:
            return int(await h.follow_up_from_cases(UUID(document_id), reports) is not None)

        written += await failures.run_async(f"obligation-{document_id}", follow_up) or 0
    return written


async def run_scheduler(runtime: Runtime, suite: Suite, stop: asyncio.Event) -> None:
    interval = float(os.environ.get("GONGKAI_INTERPRETATION_SCHEDULER_SECONDS", "1"))
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
