"""Read model of 信息报送: the items, and which catalog draft came from which item and when
it was first published; the monthly counts of the 刊登情况通报 read from them.

Kafka keeps order per stream only: an item's acceptance (its stream) and its draft's
publication (the document's stream) may arrive in either order. So the draft's row is
keyed by the document and written from the document's own events (DocumentDrafted v2
names the item), and the two tables are joined when read, never updated across streams.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from services.catalog.events import DocumentDrafted, DocumentPublished, registry
from services.catalog.submission_events import (
    SubmissionAccepted,
    SubmissionDeclined,
    SubmissionEdited,
    SubmissionReceived,
)
from services.catalog.submissions import Counts, month_of
from shared.db import Database, Tx
from shared.envelope import RecordedEvent
from shared.pagination import scope_args, scope_clause
from shared.workdays import local_date

_ITEMS = """CREATE TABLE IF NOT EXISTS catalog_submissions (
    submission_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    township TEXT NOT NULL,
    unit_name TEXT NOT NULL,
    liaison TEXT NOT NULL,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    column_code TEXT NOT NULL,
    status TEXT NOT NULL,
    privacy_findings INTEGER NOT NULL,
    submitted_at TEXT NOT NULL,
    submitted_month TEXT NOT NULL,
    accepted_at TEXT,
    accepted_month TEXT,
    declined_at TEXT,
    declined_month TEXT,
    decline_reason TEXT,
    document_id TEXT,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
)"""

_DRAFTS = """CREATE TABLE IF NOT EXISTS catalog_submission_drafts (
    document_id TEXT PRIMARY KEY,
    submission_id TEXT NOT NULL,
    published_at TEXT,
    published_month TEXT
)"""

_TYPES = frozenset(
    {
        SubmissionReceived.event_type,
        SubmissionEdited.event_type,
        SubmissionAccepted.event_type,
        SubmissionDeclined.event_type,
        DocumentDrafted.event_type,
        DocumentPublished.event_type,
    }
)


def _at(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


def _month(instant: datetime) -> str:
    """The month of a fact, by the Beijing calendar."""
    return month_of(local_date(instant))


class SubmissionLedger:
    """报送台账: one row per item, one per draft that came from an item."""

    name = "catalog.submissions"
    tables: Sequence[str] = ("catalog_submissions", "catalog_submission_drafts")
    schema: Sequence[str] = (
        _ITEMS,
        _DRAFTS,
        "CREATE INDEX IF NOT EXISTS catalog_submissions_tenant "
        "ON catalog_submissions (tenant, submitted_at)",
        "CREATE INDEX IF NOT EXISTS catalog_submission_drafts_item "
        "ON catalog_submission_drafts (submission_id)",
        # The 通报's counts: one month's facts, then the units in scope.
        "CREATE INDEX IF NOT EXISTS catalog_submissions_submitted "
        "ON catalog_submissions (submitted_month, tenant)",
        "CREATE INDEX IF NOT EXISTS catalog_submissions_accepted "
        "ON catalog_submissions (accepted_month, tenant)",
        "CREATE INDEX IF NOT EXISTS catalog_submissions_declined "
        "ON catalog_submissions (declined_month, tenant)",
        "CREATE INDEX IF NOT EXISTS catalog_submission_drafts_published "
        "ON catalog_submission_drafts (published_month)",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        if event.type not in _TYPES:
            return
        e = registry.decode(event)
        item = "UPDATE catalog_submissions SET {} WHERE submission_id = $1"
        if isinstance(e, SubmissionReceived):
            await tx.execute(
                """INSERT INTO catalog_submissions (submission_id, tenant, township, unit_name,
                       liaison, title, kind, column_code, status, privacy_findings,
                       submitted_at, submitted_month, updated_at, version)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $11, $13)
                   ON CONFLICT (submission_id) DO NOTHING""",
                str(e.submission_id),
                e.unit,
                e.township,
                e.unit_name,
                e.liaison,
                e.content.title,
                e.content.kind.value,
                e.content.column,
                "held" if e.findings else "received",
                len(e.findings),
                _at(e.submitted_at),
                _month(e.submitted_at),
                event.version,
            )
        elif isinstance(e, SubmissionEdited):
            await tx.execute(
                item.format(
                    "title = $2, kind = $3, column_code = $4, status = $5, privacy_findings = $6,"
                    " updated_at = $7, version = $8"
                ),
                str(e.submission_id),
                e.content.title,
                e.content.kind.value,
                e.content.column,
                "held" if e.findings else "received",
                len(e.findings),
                _at(e.edited_at),
                event.version,
            )
        elif isinstance(e, SubmissionAccepted):
            await tx.execute(
                item.format(
                    "status = 'accepted', accepted_at = $2, accepted_month = $3,"
                    " document_id = $4, updated_at = $2, version = $5"
                ),
                str(e.submission_id),
                _at(e.accepted_at),
                _month(e.accepted_at),
                str(e.document_id),
                event.version,
            )
        elif isinstance(e, SubmissionDeclined):
            await tx.execute(
                item.format(
                    "status = 'declined', declined_at = $2, declined_month = $3,"
                    " decline_reason = $4, updated_at = $2, version = $5"
                ),
                str(e.submission_id),
                _at(e.declined_at),
                _month(e.declined_at),
                e.reason,
                event.version,
            )
        elif isinstance(e, DocumentDrafted):
            if e.submission_id is not None:
                await tx.execute(
                    """INSERT INTO catalog_submission_drafts (document_id, submission_id)
                       VALUES ($1, $2) ON CONFLICT (document_id) DO NOTHING""",
                    str(e.document_id),
                    str(e.submission_id),
                )
        elif isinstance(e, DocumentPublished):
            # First publication only: an update published later is the same item.
            await tx.execute(
                "UPDATE catalog_submission_drafts SET published_at = $2, published_month = $3"
                " WHERE document_id = $1 AND published_at IS NULL",
                str(e.document_id),
                _at(e.published_at),
                _month(e.published_at),
            )


# --- reads ------------------------------------------------------------------------------

_COUNTS = {
    "submitted": "SELECT tenant, COUNT(*) AS n FROM catalog_submissions s"
    " WHERE submitted_month = $1 AND {scope} GROUP BY tenant",
    "accepted": "SELECT tenant, COUNT(*) AS n FROM catalog_submissions s"
    " WHERE accepted_month = $1 AND {scope} GROUP BY tenant",
    "declined": "SELECT tenant, COUNT(*) AS n FROM catalog_submissions s"
    " WHERE declined_month = $1 AND {scope} GROUP BY tenant",
    "published": "SELECT s.tenant AS tenant, COUNT(*) AS n FROM catalog_submission_drafts d"
    " JOIN catalog_submissions s ON s.submission_id = d.submission_id"
    " WHERE d.published_month = $1 AND {scope} GROUP BY s.tenant",
}


async def unit_counts(views: Database, scope: str, month: str) -> dict[str, Counts]:
    """Per unit under `scope` (a township, the district or a unit): the month's facts."""
    found: dict[str, dict[str, int]] = {}
    for metric, sql in _COUNTS.items():
        rows = await views.fetch(
            sql.format(scope=scope_clause("s.tenant", 2)), month, *scope_args(scope)
        )
        for row in rows:
            found.setdefault(str(row["tenant"]), {})[metric] = int(row["n"])
    return {unit: Counts(**metrics) for unit, metrics in found.items()}


def list_row(row: Any) -> dict[str, Any]:
    status = "published" if row["published_at"] is not None else row["status"]
    return {
        "submission_id": row["submission_id"],
        "unit": row["tenant"],
        "unit_name": row["unit_name"],
        "township": row["township"],
        "liaison": row["liaison"],
        "title": row["title"],
        "kind": row["kind"],
        "column": row["column_code"],
        "status": status,
        "privacy_findings": row["privacy_findings"],
        "submitted_at": row["submitted_at"],
        "accepted_at": row["accepted_at"],
        "declined_at": row["declined_at"],
        "decline_reason": row["decline_reason"],
        "document_id": row["document_id"],
        "published_at": row["published_at"],
        "version": row["version"],
    }


LIST_SQL = (
    "SELECT s.*, d.published_at AS published_at FROM catalog_submissions s"
    " LEFT JOIN catalog_submission_drafts d ON d.submission_id = s.submission_id"
    " WHERE {scope}"
)


async def published_at(views: Database, submission_id: str) -> str | None:
    value = await views.fetchval(
        "SELECT MIN(published_at) FROM catalog_submission_drafts WHERE submission_id = $1",
        submission_id,
    )
    return str(value) if value is not None else None
