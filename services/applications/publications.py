"""Read model of what the catalog has proactively published, kept by this service.

Source: the catalog's events (`sources=("catalog",)`: in embedded mode the catalog's
store, in distributed mode its Kafka topic), never the catalog's tables. Read as a tolerant
reader (only the payload fields used here, as interpretation's PolicyInbox does), so the
catalog may add fields freely.

- `app_publications`: one row per published document — the latest published revision's
  title, kind and issue date, when it was first published, and whether it was withdrawn
  (撤稿) or repealed (废止). It serves two things: the suggestion of reply type (一)
  已主动公开 (条例 Art. 36(一)) and section 二 of the annual report (规章 / 行政规范性文件
  制发、废止、现行有效, 条例 Art. 50).
- `app_publication_terms`: the (document, term) index of the published text (pairs of
  Chinese characters and words, services/applications/matching.py). A withdrawn document's
  terms are deleted; a repealed one is no longer offered.

Per-stream order is all Kafka keeps, and each document is one stream: the row's `version`
(the stream version of the last event applied) makes a replayed event a no-op.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.applications.matching import terms_of
from shared.db import Tx
from shared.envelope import RecordedEvent
from shared.workdays import local_date

#: Where the public can read a published document (services/catalog/public_api.py).
PUBLIC_LINK = "/v1/public/catalog/documents/{document_id}"


def public_link(document_id: str) -> str:
    return PUBLIC_LINK.format(document_id=document_id)


class PublishedDocuments:
    name = "applications.published_documents.v1"
    sources = ("catalog",)
    tables: Sequence[str] = (
        "app_publications",
        "app_publication_terms",
        "app_publication_validity",
    )
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS app_publications (
            document_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            township TEXT NOT NULL,
            kind TEXT NOT NULL,
            title TEXT NOT NULL,
            document_number TEXT,
            issue_date TEXT NOT NULL,
            column_code TEXT NOT NULL,
            first_published_on TEXT NOT NULL,
            published_on TEXT NOT NULL,
            revision INTEGER NOT NULL,
            withdrawn BOOLEAN NOT NULL,
            withdrawn_at TEXT,
            repealed_on TEXT,
            version INTEGER NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS app_publications_township ON app_publications (township)",
        """CREATE TABLE IF NOT EXISTS app_publication_terms (
            term TEXT NOT NULL,
            document_id TEXT NOT NULL,
            PRIMARY KEY (term, document_id)
        )""",
        "CREATE INDEX IF NOT EXISTS app_publication_terms_doc "
        "ON app_publication_terms (document_id)",
        # 有效期 (the catalog's DocumentValidityPeriodSet, decision 152): a table of its own,
        # so app_publications keeps its shape in a running deployment.
        """CREATE TABLE IF NOT EXISTS app_publication_validity (
            document_id TEXT PRIMARY KEY,
            valid_until TEXT NOT NULL,
            version INTEGER NOT NULL
        )""",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        if event.stream_type != "document":
            return
        p = event.payload
        if event.type == "DocumentPublished":
            await self._published(tx, event, p)
            return
        if event.type == "DocumentValidityPeriodSet":
            await self._validity(tx, event, p)
            return
        if event.type not in ("DocumentWithdrawn", "DocumentRepealed"):
            return
        document_id = str(p["document_id"])
        row = await tx.fetchrow(
            "SELECT version FROM app_publications WHERE document_id = $1", document_id
        )
        if row is None or row["version"] >= event.version:
            return
        if event.type == "DocumentWithdrawn":
            await tx.execute(
                "UPDATE app_publications SET withdrawn = TRUE, withdrawn_at = $1, version = $2 "
                "WHERE document_id = $3",
                event.recorded_at.isoformat(),
                event.version,
                document_id,
            )
            await tx.execute(
                "DELETE FROM app_publication_terms WHERE document_id = $1", document_id
            )
        else:
            await tx.execute(
                "UPDATE app_publications SET repealed_on = $1, version = $2 WHERE document_id = $3",
                str(p["repealed_on"]),
                event.version,
                document_id,
            )

    async def _validity(self, tx: Tx, event: RecordedEvent, p: dict[str, Any]) -> None:
        """The document's last day in force, or none; a replayed (older) event changes nothing."""
        document_id = str(p["document_id"])
        row = await tx.fetchrow(
            "SELECT version FROM app_publication_validity WHERE document_id = $1", document_id
        )
        if row is not None and row["version"] >= event.version:
            return
        await tx.execute("DELETE FROM app_publication_validity WHERE document_id = $1", document_id)
        # A cleared period is kept as the empty text, so a replay still meets its version.
        await tx.execute(
            "INSERT INTO app_publication_validity (document_id, valid_until, version) "
            "VALUES ($1, $2, $3)",
            document_id,
            str(p.get("valid_until") or ""),
            event.version,
        )

    async def _published(self, tx: Tx, event: RecordedEvent, p: dict[str, Any]) -> None:
        document_id = str(p["document_id"])
        row = await tx.fetchrow(
            "SELECT version, first_published_on, withdrawn, repealed_on FROM app_publications "
            "WHERE document_id = $1",
            document_id,
        )
        if row is not None and (row["version"] >= event.version or row["withdrawn"]):
            return
        content = p.get("content") or {}
        published_on = local_date(datetime.fromisoformat(str(p["published_at"]))).isoformat()
        values = (
            document_id,
            event.tenant,
            str(p.get("township") or event.tenant),
            str(p["kind"]),
            str(p["title"]),
            p.get("document_number"),
            str(p["issue_date"]),
            str(p.get("column") or ""),
            row["first_published_on"] if row is not None else published_on,
            published_on,
            int(p.get("revision", 1)),
            row["repealed_on"] if row is not None else None,
            event.version,
        )
        await tx.execute("DELETE FROM app_publications WHERE document_id = $1", document_id)
        await tx.execute(
            """INSERT INTO app_publications (document_id, tenant, township, kind, title,
                   document_number, issue_date, column_code, first_published_on, published_on,
                   revision, withdrawn, withdrawn_at, repealed_on, version)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, FALSE, NULL, $12, $13)""",
            *values,
        )
        text = "\n".join(
            [
                str(p["title"]),
                str(p.get("document_number") or ""),
                str(content.get("body", "")),
                *[str(a) for a in content.get("attachments_text", [])],
            ]
        )
        await tx.execute("DELETE FROM app_publication_terms WHERE document_id = $1", document_id)
        await tx.executemany(
            "INSERT INTO app_publication_terms (term, document_id) VALUES ($1, $2)",
            [(term, document_id) for term in sorted(terms_of(text))],
        )
