"""The Art. 26 deadline sweep: drafts still unpublished 20 working days after issue; and the
filing sweep (方案§18, duties.py), in the same job.

条例第二十六条: information is published within 20 working days of its creation. A late
publication is flagged on DocumentPublished itself; a document that is never published
would leave no trace, so this sweep records PublicationDeadlineMissed once per document
(assessment deducts for it, DOMAIN.md §5). It runs as the service's background job and on
demand (POST /v1/catalog/deadline-checks). Safe to repeat and to run in several processes:
the event is decided from the stream and appended with its expected version. A document
that fails is logged, counted and skipped; the others are still flagged (shared/jobs.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from datetime import timedelta
from functools import partial
from typing import Any
from uuid import UUID

import structlog

from services.catalog import duties
from services.catalog.handlers import CatalogHandlers
from shared.envelope import RecordedEvent, new_id
from shared.jobs import ItemFailures
from shared.pagination import scope_args, scope_clause
from shared.service import Runtime, Suite
from shared.workdays import local_date

log = structlog.get_logger("gongkai.catalog.deadlines")
SWEEP_INTERVAL_SECONDS = 600.0


async def sweep(
    runtime: Runtime, scope: str | None = None, failures: ItemFailures | None = None
) -> list[RecordedEvent]:
    """Flag every overdue document (in `scope`, if given); returns the events written."""
    failures = failures or ItemFailures("catalog-deadline-sweep")
    handlers: CatalogHandlers = runtime.handlers
    today = local_date(handlers.clock())
    # 20 working days span at least 20 calendar days: older issue dates are the candidates.
    sql = (
        "SELECT document_id FROM catalog_documents WHERE published_at IS NULL "
        "AND status <> 'withdrawn' AND issue_date < $1"
    )
    args: list[Any] = [(today - timedelta(days=20)).isoformat()]
    if scope is not None:
        sql += " AND " + scope_clause("tenant", 2)
        args += [*scope_args(scope)]
    rows = await runtime.views.fetch(sql + " ORDER BY document_id", *args)
    flagged = []
    correlation = new_id()

    async def flag(document_id: str) -> RecordedEvent | None:
        return await handlers.flag_overdue(UUID(document_id), correlation)

    for row in rows:
        document_id = row["document_id"]
        recorded = await failures.run_async(f"document-{document_id}", partial(flag, document_id))
        if recorded is not None:
            flagged.append(recorded)
    if flagged:
        log.info("catalog.deadlines_missed", count=len(flagged))
    return flagged


def deadline_job(runtime: Runtime, suite: Suite, stop: asyncio.Event) -> Coroutine[Any, Any, None]:
    async def run() -> None:
        failures = ItemFailures("catalog-deadline-sweep")
        filing_failures = ItemFailures("catalog-filing-sweep")
        while not stop.is_set():
            try:
                await sweep(runtime, failures=failures)
                # 方案§18: published 规章/规范性文件 not filed within 30 days (duties.py)
                await duties.filing_sweep(runtime, failures=filing_failures)
            except Exception as exc:  # e.g. read model not created yet: try next round
                log.warning("catalog.deadline_sweep_failed", error=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SWEEP_INTERVAL_SECONDS)

    return run()
