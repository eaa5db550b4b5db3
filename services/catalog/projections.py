"""Read models of 主动公开: the document list, the publication ledger, the public catalog
with its search index and the column settings (the gazette: gazette_views.py).

Every table is keyed by one stream's data, so per-stream order (all Kafka guarantees) is
enough. The public tables hold only what is published: a withdrawal deletes the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import orjson

from services.catalog.events import (
    ChannelStatusRecorded,
    ColumnConfigured,
    DisclosureAttributeDetermined,
    DocumentDrafted,
    DocumentPublished,
    DocumentRepealed,
    DocumentRevised,
    DocumentValidityPeriodSet,
    DocumentWithdrawn,
    PrivacyScanCompleted,
    PublishedDocumentRegistered,
    ReviewStagePassed,
    ReviewStageRejected,
    registry,
)
from services.catalog.search import index_terms
from shared.db import Tx
from shared.envelope import RecordedEvent
from shared.registry import DomainEvent

SHANGHAI = ZoneInfo("Asia/Shanghai")

_DOCS = """CREATE TABLE IF NOT EXISTS catalog_documents (
    document_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    township TEXT NOT NULL,
    drafting_unit_name TEXT NOT NULL,
    title TEXT NOT NULL,
    document_number TEXT,
    kind TEXT NOT NULL,
    column_code TEXT NOT NULL,
    issue_date TEXT NOT NULL,
    status TEXT NOT NULL,
    revision INTEGER NOT NULL,
    drafter TEXT NOT NULL,
    attribute TEXT,
    privacy_findings INTEGER NOT NULL,
    reviews TEXT NOT NULL,
    first_published_at TEXT,
    published_at TEXT,
    published_revision INTEGER,
    publication_due TEXT,
    late BOOLEAN,
    channels TEXT NOT NULL,
    withdrawn_at TEXT,
    withdraw_reason TEXT,
    repealed_on TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
)"""

_PUBLICATIONS = """CREATE TABLE IF NOT EXISTS catalog_publications (
    event_id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    tenant TEXT NOT NULL,
    township TEXT NOT NULL,
    revision INTEGER NOT NULL,
    title TEXT NOT NULL,
    document_number TEXT,
    kind TEXT NOT NULL,
    published_at TEXT NOT NULL,
    publisher TEXT NOT NULL,
    drafter TEXT NOT NULL,
    first_reviewer TEXT NOT NULL,
    second_reviewer TEXT NOT NULL,
    final_reviewer TEXT NOT NULL,
    proofreaders TEXT NOT NULL,
    channels TEXT NOT NULL,
    issue_date TEXT NOT NULL,
    publication_due TEXT NOT NULL,
    late BOOLEAN NOT NULL,
    working_days_taken INTEGER NOT NULL,
    is_update BOOLEAN NOT NULL,
    update_reason TEXT,
    content_hash TEXT NOT NULL
)"""

_PUBLIC = """CREATE TABLE IF NOT EXISTS catalog_public (
    document_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    township TEXT NOT NULL,
    drafting_unit_name TEXT NOT NULL,
    title TEXT NOT NULL,
    document_number TEXT,
    kind TEXT NOT NULL,
    column_code TEXT NOT NULL,
    issue_date TEXT NOT NULL,
    first_published_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    revision INTEGER NOT NULL,
    body TEXT NOT NULL,
    attachments_text TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    repealed_on TEXT
)"""


def _iso(event: RecordedEvent) -> str:
    return event.recorded_at.astimezone(UTC).isoformat()


class DocumentLedger:
    """Documents as staff see them, and one ledger row per publication (发布台账)."""

    name = "catalog.document_ledger"
    tables: Sequence[str] = ("catalog_documents", "catalog_publications")
    schema: Sequence[str] = (
        _DOCS,
        _PUBLICATIONS,
        "CREATE INDEX IF NOT EXISTS catalog_documents_tenant "
        "ON catalog_documents (tenant, updated_at)",
        "CREATE INDEX IF NOT EXISTS catalog_publications_tenant "
        "ON catalog_publications (tenant, published_at)",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        if not registry.knows(event.type):
            return
        e = registry.decode(event)
        at = _iso(event)
        if isinstance(e, DocumentDrafted):
            await self._drafted(tx, event, e, at)
            return
        document_id = str(getattr(e, "document_id", ""))
        if not document_id or event.stream_type != "document":
            await self._other(tx, event)
            return
        sets = await self._changes(tx, event, e, document_id, at)
        sets |= {"updated_at": at, "version": event.version}
        names = list(sets)
        assignments = ", ".join(f"{n} = ${i + 1}" for i, n in enumerate(names))
        await tx.execute(
            f"UPDATE catalog_documents SET {assignments} "
            f"WHERE document_id = ${len(names) + 1} AND version < ${len(names) + 2}",
            *sets.values(),
            document_id,
            event.version,
        )

    async def _drafted(self, tx: Tx, event: RecordedEvent, e: DocumentDrafted, at: str) -> None:
        c = e.content
        await tx.execute(
            """INSERT INTO catalog_documents (document_id, tenant, township,
                   drafting_unit_name, title, document_number, kind, column_code, issue_date,
                   status, revision, drafter, attribute, privacy_findings, reviews, channels,
                   created_at, updated_at, version)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'draft', 1, $10, NULL, 0, '{}',
                   '{}', $11, $11, $12)
               ON CONFLICT (document_id) DO NOTHING""",
            str(e.document_id),
            event.tenant,
            e.township,
            e.drafting_unit_name,
            c.title,
            c.document_number,
            c.kind.value,
            c.column,
            c.issue_date.isoformat(),
            e.drafter,
            at,
            event.version,
        )

    async def _changes(
        self, tx: Tx, event: RecordedEvent, e: DomainEvent, document_id: str, at: str
    ) -> dict[str, object]:
        """The columns of the document's row that the event changes."""
        if isinstance(e, DocumentRevised):
            c = e.content
            return {
                "title": c.title,
                "document_number": c.document_number,
                "kind": c.kind.value,
                "column_code": c.column,
                "issue_date": c.issue_date.isoformat(),
                "revision": e.revision,
                "status": "revising" if e.is_update else "draft",
                "reviews": "{}",
            }
        if isinstance(e, PrivacyScanCompleted):
            return {"privacy_findings": len(e.findings)}
        if isinstance(e, DisclosureAttributeDetermined):
            return {"attribute": e.attribute.value}
        if isinstance(e, ReviewStagePassed | ReviewStageRejected):
            return await self._reviewed(tx, e, document_id)
        if isinstance(e, DocumentPublished):
            return await self._published(tx, event, e, document_id)
        if isinstance(e, ChannelStatusRecorded):
            channels = await self._channels(tx, document_id)
            channels[e.channel.value] = e.status.value
            return {"channels": orjson.dumps(channels).decode()}
        if isinstance(e, DocumentWithdrawn):
            removed = {k: "removed" for k in await self._channels(tx, document_id)}
            return {
                "status": "withdrawn",
                "withdrawn_at": at,
                "withdraw_reason": e.reason,
                "channels": orjson.dumps(removed).decode(),
            }
        if isinstance(e, DocumentRepealed):
            return {"repealed_on": e.repealed_on.isoformat()}
        return {}

    async def _channels(self, tx: Tx, document_id: str) -> dict[str, str]:
        row = await tx.fetchrow(
            "SELECT channels FROM catalog_documents WHERE document_id = $1", document_id
        )
        channels: dict[str, str] = orjson.loads(row["channels"]) if row else {}
        return channels

    async def _reviewed(
        self, tx: Tx, e: ReviewStagePassed | ReviewStageRejected, document_id: str
    ) -> dict[str, object]:
        sets: dict[str, object] = {}
        row = await tx.fetchrow(
            "SELECT reviews, status FROM catalog_documents WHERE document_id = $1",
            document_id,
        )
        reviews = orjson.loads(row["reviews"]) if row else {}
        if isinstance(e, ReviewStageRejected):
            reviews = {}
            sets["status"] = "revising" if row and row["status"] == "revising" else "draft"
        else:
            reviews[e.stage.value] = e.reviewer
            if row and row["status"] != "revising":
                sets["status"] = "approved" if len(reviews) == 3 else "in_review"
        sets["reviews"] = orjson.dumps(reviews).decode()
        return sets

    async def _published(
        self, tx: Tx, event: RecordedEvent, e: DocumentPublished, document_id: str
    ) -> dict[str, object]:
        await self._publication(tx, event, e)
        channels = {c.value: "published" if c.value == "website" else "pending" for c in e.channels}
        sets: dict[str, object] = {
            "status": "published",
            "published_at": e.published_at.astimezone(UTC).isoformat(),
            "published_revision": e.revision,
            "publication_due": e.publication_due.isoformat(),
            "late": e.late,
            "channels": orjson.dumps(channels).decode(),
        }
        row = await tx.fetchrow(
            "SELECT first_published_at FROM catalog_documents WHERE document_id = $1",
            document_id,
        )
        if row is not None and row["first_published_at"] is None:
            sets["first_published_at"] = sets["published_at"]
        return sets

    async def _publication(self, tx: Tx, event: RecordedEvent, e: DocumentPublished) -> None:
        await tx.execute(
            """INSERT INTO catalog_publications (event_id, document_id, tenant, township,
                   revision, title, document_number, kind, published_at, publisher, drafter,
                   first_reviewer, second_reviewer, final_reviewer, proofreaders, channels,
                   issue_date, publication_due, late, working_days_taken, is_update,
                   update_reason, content_hash)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                   $17, $18, $19, $20, $21, $22, $23)
               ON CONFLICT (event_id) DO NOTHING""",
            str(event.event_id),
            str(e.document_id),
            event.tenant,
            e.township,
            e.revision,
            e.title,
            e.document_number,
            e.kind.value,
            e.published_at.astimezone(UTC).isoformat(),
            e.publisher,
            e.drafter,
            e.reviewers.first_review,
            e.reviewers.second_review,
            e.reviewers.final_review,
            orjson.dumps(e.reviewers.proofreaders).decode(),
            orjson.dumps([c.value for c in e.channels]).decode(),
            e.issue_date.isoformat(),
            e.publication_due.isoformat(),
            e.late,
            e.working_days_taken,
            e.is_update,
            e.update_reason,
            e.content_hash,
        )

    async def _other(self, tx: Tx, event: RecordedEvent) -> None:
        return None


class PublicCatalog:
    """What the public sees (published, not withdrawn), its search index and the columns.

    The gazette has its own read model (gazette_views.py).
    """

    name = "catalog.public_catalog"
    tables: Sequence[str] = (
        "catalog_public",
        "catalog_search",
        "catalog_columns",
        "catalog_validity",
    )
    schema: Sequence[str] = (
        _PUBLIC,
        """CREATE TABLE IF NOT EXISTS catalog_search (
            term TEXT NOT NULL,
            document_id TEXT NOT NULL,
            PRIMARY KEY (term, document_id)
        )""",
        "CREATE INDEX IF NOT EXISTS catalog_search_document ON catalog_search (document_id)",
        """CREATE TABLE IF NOT EXISTS catalog_columns (
            township TEXT NOT NULL,
            code TEXT NOT NULL,
            name TEXT NOT NULL,
            dynamic BOOLEAN NOT NULL,
            max_age_days INTEGER NOT NULL,
            PRIMARY KEY (township, code)
        )""",
        "CREATE INDEX IF NOT EXISTS catalog_public_updated ON catalog_public (updated_at)",
        # 有效期 (decision 152): a table of its own, so a deployment's catalog_public keeps
        # its shape; empty until a period is set, which is every deployment's history.
        """CREATE TABLE IF NOT EXISTS catalog_validity (
            document_id TEXT PRIMARY KEY,
            valid_until TEXT NOT NULL
        )""",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        if not registry.knows(event.type):
            return
        e = registry.decode(event)
        if isinstance(e, DocumentPublished):
            await self._publish(tx, e)
        elif isinstance(e, PublishedDocumentRegistered):
            await self._registered(tx, e)
        elif isinstance(e, DocumentWithdrawn):
            await tx.execute(
                "DELETE FROM catalog_public WHERE document_id = $1", str(e.document_id)
            )
            await tx.execute(
                "DELETE FROM catalog_search WHERE document_id = $1", str(e.document_id)
            )
            await tx.execute(
                "DELETE FROM catalog_validity WHERE document_id = $1", str(e.document_id)
            )
        elif isinstance(e, DocumentValidityPeriodSet):
            await tx.execute(
                "DELETE FROM catalog_validity WHERE document_id = $1", str(e.document_id)
            )
            if e.valid_until is not None:
                await tx.execute(
                    "INSERT INTO catalog_validity (document_id, valid_until) VALUES ($1, $2)",
                    str(e.document_id),
                    e.valid_until.isoformat(),
                )
        elif isinstance(e, DocumentRepealed):
            await tx.execute(
                "UPDATE catalog_public SET repealed_on = $1 WHERE document_id = $2",
                e.repealed_on.isoformat(),
                str(e.document_id),
            )
        elif isinstance(e, ColumnConfigured):
            await tx.execute(
                """INSERT INTO catalog_columns (township, code, name, dynamic, max_age_days)
                   VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (township, code) DO UPDATE SET name = excluded.name,
                       dynamic = excluded.dynamic, max_age_days = excluded.max_age_days""",
                e.township,
                e.code,
                e.name,
                e.dynamic,
                e.max_age_days,
            )

    async def _publish(self, tx: Tx, e: DocumentPublished) -> None:
        await self._public_row(tx, e, e.published_at, e.revision)

    async def _registered(self, tx: Tx, e: PublishedDocumentRegistered) -> None:
        """历史信息登记: public under the day it was first published (00:00 Beijing time),
        which is what the column checks read as the column's update."""
        await self._public_row(tx, e, datetime.combine(e.published_on, time(), SHANGHAI), 1)

    async def _public_row(
        self,
        tx: Tx,
        e: DocumentPublished | PublishedDocumentRegistered,
        published: datetime,
        revision: int,
    ) -> None:
        c = e.content
        document_id = str(e.document_id)
        published_at = published.astimezone(UTC).isoformat()
        await tx.execute(
            """INSERT INTO catalog_public (document_id, tenant, township, drafting_unit_name,
                   title, document_number, kind, column_code, issue_date, first_published_at,
                   updated_at, revision, body, attachments_text, content_hash, repealed_on)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14, NULL)
               ON CONFLICT (document_id) DO UPDATE SET title = excluded.title,
                   document_number = excluded.document_number, kind = excluded.kind,
                   column_code = excluded.column_code, issue_date = excluded.issue_date,
                   updated_at = excluded.updated_at, revision = excluded.revision,
                   body = excluded.body, attachments_text = excluded.attachments_text,
                   content_hash = excluded.content_hash""",
            document_id,
            e.drafting_unit,
            e.township,
            e.drafting_unit_name,
            c.title,
            c.document_number,
            c.kind.value,
            c.column,
            c.issue_date.isoformat(),
            published_at,
            revision,
            c.body,
            orjson.dumps(c.attachments_text).decode(),
            e.content_hash,
        )
        await tx.execute("DELETE FROM catalog_search WHERE document_id = $1", document_id)
        text = "\n".join([c.title, c.document_number or "", c.body, *c.attachments_text])
        terms = sorted(index_terms(text))
        if terms:
            await tx.executemany(
                "INSERT INTO catalog_search (term, document_id) VALUES ($1, $2) "
                "ON CONFLICT DO NOTHING",
                [(t, document_id) for t in terms],
            )
