"""Issue #20 duties of the catalog that are not one step on one document (D-dut):

- the filing sweep (方案§18 规范性文件备案): a published 规章 or 行政规范性文件 whose 30 days
  passed with nothing filed gets FilingOverdue, once (filing.notice_overdue decides from
  the stream; the append is guarded by the stream's version, so repeating it, or two
  processes running it, write it once);
- confirming an information-security incident (泄密 / 个人信息泄露, 方案§8, §18): a new
  stream `disclosure-incident-<id>`, by the openness-office head, with its cause.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from typing import Any
from uuid import UUID

import structlog

from services.catalog import commands as c
from services.catalog import filing
from services.catalog.access import INCIDENT_ROLES
from services.catalog.events import DisclosureIncidentConfirmed
from services.catalog.handlers import DOCUMENTS, CatalogHandlers
from shared.commands import acting_role, actor_of
from shared.envelope import SYSTEM_ACTOR, RecordedEvent, StreamWrite, new_id
from shared.errors import ConcurrencyConflict, ValidationFailed
from shared.identity import Principal, authorize
from shared.jobs import ItemFailures
from shared.pagination import scope_args, scope_clause
from shared.registry import to_new_event
from shared.service import Runtime
from shared.workdays import local_date

log = structlog.get_logger("gongkai.catalog.filing")


def incident_stream(incident_id: UUID) -> str:
    return f"disclosure-incident-{incident_id}"


# --- the filing sweep -------------------------------------------------------------------


async def flag_filing_overdue(
    h: CatalogHandlers, document_id: UUID, today: date, correlation: UUID
) -> RecordedEvent | None:
    stream = DOCUMENTS.stream(document_id)
    events = await h.store.read_stream(stream)
    state = DOCUMENTS.fold(events)
    event = filing.notice_overdue(state, today)
    if event is None:
        return None
    write = StreamWrite(
        stream_id=stream,
        stream_type=DOCUMENTS.kind,
        expected_version=len(events),
        events=(to_new_event(event, state.drafting_unit, SYSTEM_ACTOR, correlation),),
    )
    try:
        (recorded,) = await h.store.append([write])
    except ConcurrencyConflict:
        return None  # the document moved on (filed meanwhile, or another sweep): next round
    return recorded


async def filing_sweep(
    runtime: Runtime,
    scope: str | None = None,
    today: date | None = None,
    failures: ItemFailures | None = None,
) -> list[RecordedEvent]:
    """Record FilingOverdue for every published 规章/规范性文件 past its limit with nothing
    filed (in `scope`, if given); `today` defaults to the runtime's clock."""
    failures = failures or ItemFailures("catalog-filing-sweep")
    h: CatalogHandlers = runtime.handlers
    today = today or local_date(h.clock())
    # The limit is at least 30 calendar days: later publications cannot be overdue yet.
    sql = (
        "SELECT document_id FROM catalog_documents WHERE kind IN ('regulation', 'normative') "
        "AND first_published_at IS NOT NULL AND first_published_at < $1 "
        "AND status <> 'withdrawn'"
    )
    args: list[Any] = [(today - timedelta(days=filing.FILING_LIMIT_DAYS)).isoformat()]
    if scope is not None:
        sql += " AND " + scope_clause("tenant", 2)
        args += [*scope_args(scope)]
    rows = await runtime.views.fetch(sql + " ORDER BY document_id", *args)
    correlation = new_id()
    flagged = []
    for row in rows:
        document_id = UUID(str(row["document_id"]))
        step = partial(flag_filing_overdue, h, document_id, today, correlation)
        recorded = await failures.run_async(f"document-{document_id}", step)
        if recorded is not None:
            flagged.append(recorded)
    if flagged:
        log.info("catalog.filings_overdue", count=len(flagged))
    return flagged


# --- information-security incidents -------------------------------------------------------


async def confirm_incident(
    h: CatalogHandlers, cmd: c.ConfirmIncident, principal: Principal, correlation: UUID
) -> RecordedEvent:
    """信息安全事件确认: the openness-office head of the org (or above it) records it."""
    h.orgs.get(cmd.org)
    authorize(principal, cmd.org, *INCIDENT_ROLES)
    today = local_date(h.clock())
    for field, day in (("occurred_on", cmd.occurred_on), ("confirmed_on", cmd.confirmed_on)):
        if day > today:
            raise ValidationFailed(
                rule="date.in_future",
                field=field,
                message_zh="日期不能晚于今天",
                message_en="the date cannot be after today",
            )
    if cmd.confirmed_on < cmd.occurred_on:
        raise ValidationFailed(
            rule="incident.confirmed_before_occurred",
            field="confirmed_on",
            message_zh="确认日期不能早于发生日期",
            message_en="an incident is confirmed on or after the day it occurred",
        )
    event = DisclosureIncidentConfirmed(
        incident_id=new_id(),
        kind=cmd.kind,
        org=cmd.org,
        document_id=cmd.document_id,
        occurred_on=cmd.occurred_on,
        confirmed_on=cmd.confirmed_on,
        cause=cmd.cause,
        measures=cmd.measures,
        confirmed_by=principal.sub,
    )
    actor = actor_of(principal, acting_role(principal, INCIDENT_ROLES))
    write = StreamWrite(
        stream_id=incident_stream(event.incident_id),
        stream_type=event.stream_type,
        expected_version=0,
        events=(to_new_event(event, cmd.org, actor, correlation),),
    )
    (recorded,) = await h.store.append([write])
    return recorded
