"""Read models of the subscriptions service.

- SubscriberBook (own): one row per subscription, with the address (personal data: read by
  the delivery job to send, shown to staff masked, or in clear with an access record).
- PublicationInbox (sources: catalog, interpretation and this service): what may be pushed —
  the catalog's first publications (DocumentPublished, not an update) and the interpretations
  published with the 定向推送 channel — read as a tolerant reader (only the fields used), and
  whether each was dispatched (this service's PublicationDispatched, in a table of its own so
  the order of different topics does not matter) or withdrawn.
- DeliveryLedger (own): one row per message: status, attempts, next attempt, last error.
- Popularity (own): visitors per page and day, ratings per document and day, the rankings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import orjson

from services.subscriptions.events import registry
from shared.db import Tx
from shared.envelope import RecordedEvent

TARGETED_PUSH = "targeted_push"


def dumps(value: object) -> str:
    return orjson.dumps(value).decode()


class SubscriberBook:
    name = "subscriptions.subscribers.v1"
    tables: Sequence[str] = ("sub_subscribers",)
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS sub_subscribers (
            subscription_id TEXT PRIMARY KEY,
            organ TEXT NOT NULL,
            email TEXT NOT NULL,
            email_key TEXT NOT NULL,
            topics TEXT NOT NULL,
            status TEXT NOT NULL,
            requested_at TEXT NOT NULL,
            confirm_by TEXT NOT NULL,
            confirmed_at TEXT,
            unsubscribed_at TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS sub_subscribers_key ON sub_subscribers (email_key)",
        "CREATE INDEX IF NOT EXISTS sub_subscribers_status ON sub_subscribers (status, organ)",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        p = event.payload
        if event.type == "SubscriptionRequested":
            await tx.execute(
                """INSERT INTO sub_subscribers (subscription_id, organ, email, email_key, topics,
                       status, requested_at, confirm_by)
                   VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)
                   ON CONFLICT (subscription_id) DO NOTHING""",
                str(p["subscription_id"]),
                p["organ"],
                p["email"],
                p["email_key"],
                dumps(p["topics"]),
                utc_text(p["requested_at"]),
                utc_text(p["confirm_by"]),
            )
        elif event.type == "SubscriptionConfirmed":
            await tx.execute(
                "UPDATE sub_subscribers SET status = 'active', confirmed_at = $2 "
                "WHERE subscription_id = $1 AND status = 'pending'",
                str(p["subscription_id"]),
                str(p["confirmed_at"]),
            )
        elif event.type == "Unsubscribed":
            await tx.execute(
                "UPDATE sub_subscribers SET status = 'unsubscribed', unsubscribed_at = $2 "
                "WHERE subscription_id = $1",
                str(p["subscription_id"]),
                str(p["unsubscribed_at"]),
            )


class PublicationInbox:
    name = "subscriptions.publications.v1"
    sources = ("catalog", "interpretation", "subscriptions")
    tables: Sequence[str] = ("sub_publications", "sub_dispatched")
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS sub_publications (
            publication_key TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            document_id TEXT NOT NULL,
            township TEXT NOT NULL,
            title TEXT NOT NULL,
            column_code TEXT NOT NULL,
            document_kind TEXT NOT NULL,
            groups TEXT NOT NULL,
            summary TEXT NOT NULL,
            published_at TEXT NOT NULL,
            withdrawn BOOLEAN NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS sub_publications_doc ON sub_publications (document_id)",
        """CREATE TABLE IF NOT EXISTS sub_dispatched (
            publication_key TEXT PRIMARY KEY,
            notices INTEGER NOT NULL
        )""",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        p = event.payload
        if event.type == "DocumentPublished" and event.stream_type == "document":
            if p.get("is_update"):
                return  # an update is not news to a subscriber (docs/subscriptions.md)
            content = p.get("content") or {}
            body = str(content.get("body", ""))
            summary = " ".join(body.split())[:120]
            await self._insert(
                tx,
                f"document-{p['document_id']}-{p.get('revision', 1)}",
                "publication",
                str(p["document_id"]),
                str(p.get("township") or event.tenant),
                str(p["title"]),
                str(p.get("column", "")),
                str(p.get("kind", "")),
                [],
                summary,
                str(p["published_at"]),
            )
        elif event.type == "InterpretationPublished" and event.stream_type == "interpretation":
            if TARGETED_PUSH not in (p.get("channels") or []) or not p.get("target_groups"):
                return
            await self._insert(
                tx,
                f"interpretation-{p['interpretation_id']}-{p.get('revision', 1)}",
                "interpretation",
                str(p["interpretation_id"]),
                str(p.get("township") or event.tenant),
                str(p["title"]),
                "",
                "",
                [str(g) for g in p["target_groups"]],
                "",
                str(p["published_at"]),
            )
        elif event.type == "DocumentWithdrawn" and event.stream_type == "document":
            await tx.execute(
                "UPDATE sub_publications SET withdrawn = TRUE WHERE document_id = $1",
                str(p["document_id"]),
            )
        elif event.type == "PublicationDispatched" and registry.knows(event.type):
            await tx.execute(
                "INSERT INTO sub_dispatched (publication_key, notices) VALUES ($1, $2) "
                "ON CONFLICT (publication_key) DO NOTHING",
                p["publication_key"],
                int(p["notices"]),
            )

    async def _insert(self, tx: Tx, key: str, *values: object) -> None:
        kind, document_id, township, title, column, doc_kind, groups, summary, at = values
        await tx.execute(
            """INSERT INTO sub_publications (publication_key, kind, document_id, township, title,
                   column_code, document_kind, groups, summary, published_at, withdrawn)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, FALSE)
               ON CONFLICT (publication_key) DO NOTHING""",
            key,
            kind,
            document_id,
            township,
            title,
            column,
            doc_kind,
            dumps(groups),
            summary,
            at,
        )


class DeliveryLedger:
    name = "subscriptions.deliveries.v1"
    tables: Sequence[str] = ("sub_deliveries",)
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS sub_deliveries (
            delivery_id TEXT PRIMARY KEY,
            subscription_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            publication_key TEXT,
            subject TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            next_at TEXT,
            last_error TEXT,
            queued_at TEXT NOT NULL,
            finished_at TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS sub_deliveries_due ON sub_deliveries (status, next_at)",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        p = event.payload
        if event.type == "NoticeQueued":
            await tx.execute(
                """INSERT INTO sub_deliveries (delivery_id, subscription_id, kind, publication_key,
                       subject, status, attempts, next_at, queued_at)
                   VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $6)
                   ON CONFLICT (delivery_id) DO NOTHING""",
                str(p["delivery_id"]),
                str(p["subscription_id"]),
                p["kind"],
                p.get("publication_key"),
                p["subject"],
                utc_text(p["queued_at"]),
            )
        elif event.type == "DeliveryAttemptFailed":
            await tx.execute(
                "UPDATE sub_deliveries SET status = 'retrying', attempts = $2, next_at = $3, "
                "last_error = $4 WHERE delivery_id = $1",
                str(p["delivery_id"]),
                int(p["attempt"]),
                utc_text(p["retry_at"]),
                p["error"],
            )
        elif event.type == "NoticeDelivered":
            await tx.execute(
                "UPDATE sub_deliveries SET status = 'delivered', attempts = $2, next_at = NULL, "
                "finished_at = $3 WHERE delivery_id = $1",
                str(p["delivery_id"]),
                int(p["attempt"]),
                utc_text(p["delivered_at"]),
            )
        elif event.type == "NoticeDeadLettered":
            await tx.execute(
                "UPDATE sub_deliveries SET status = 'dead', attempts = $2, next_at = NULL, "
                "last_error = $3, finished_at = $4 WHERE delivery_id = $1",
                str(p["delivery_id"]),
                int(p["attempts"]),
                p["reason"],
                utc_text(p["dead_at"]),
            )


def utc_text(value: object) -> str:
    """An instant as sortable UTC text (so `next_at <= now` compares as text everywhere)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Popularity:
    name = "subscriptions.popularity.v1"
    tables: Sequence[str] = ("pop_views", "pop_ratings", "pop_rankings")
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS pop_views (
            day TEXT NOT NULL,
            township TEXT NOT NULL,
            column_code TEXT NOT NULL,
            document_id TEXT NOT NULL,
            views INTEGER NOT NULL,
            PRIMARY KEY (day, township, column_code, document_id)
        )""",
        """CREATE TABLE IF NOT EXISTS pop_ratings (
            document_id TEXT NOT NULL,
            day TEXT NOT NULL,
            township TEXT NOT NULL,
            column_code TEXT NOT NULL,
            useful INTEGER NOT NULL,
            not_useful INTEGER NOT NULL,
            PRIMARY KEY (document_id, day)
        )""",
        """CREATE TABLE IF NOT EXISTS pop_rankings (
            period TEXT NOT NULL,
            rank INTEGER NOT NULL,
            township TEXT NOT NULL,
            column_code TEXT NOT NULL,
            column_name TEXT NOT NULL,
            views INTEGER NOT NULL,
            useful INTEGER NOT NULL,
            not_useful INTEGER NOT NULL,
            PRIMARY KEY (period, rank)
        )""",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        p = event.payload
        if event.type == "PageViewsCounted":
            await tx.executemany(
                """INSERT INTO pop_views (day, township, column_code, document_id, views)
                   VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (day, township, column_code, document_id)
                   DO UPDATE SET views = pop_views.views + excluded.views""",
                [
                    (
                        str(p["day"]),
                        c["township"],
                        c["column"],
                        str(c.get("document_id") or ""),
                        int(c["views"]),
                    )
                    for c in p["counts"]
                ],
            )
        elif event.type == "DocumentRated":
            useful = 1 if p["useful"] else 0
            await tx.execute(
                """INSERT INTO pop_ratings (document_id, day, township, column_code, useful,
                       not_useful) VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (document_id, day) DO UPDATE SET
                       useful = pop_ratings.useful + excluded.useful,
                       not_useful = pop_ratings.not_useful + excluded.not_useful""",
                str(p["document_id"]),
                str(p["day"]),
                p["township"],
                p["column"],
                useful,
                1 - useful,
            )
        elif event.type == "PopularColumnsRanked":
            await tx.executemany(
                """INSERT INTO pop_rankings (period, rank, township, column_code, column_name,
                       views, useful, not_useful) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                   ON CONFLICT (period, rank) DO NOTHING""",
                [
                    (
                        p["period"],
                        int(r["rank"]),
                        r["township"],
                        r["column"],
                        r["column_name"],
                        int(r["views"]),
                        int(r["useful"]),
                        int(r["not_useful"]),
                    )
                    for r in p["ranking"]
                ],
            )
