"""Read models of 政策解读.

- PolicyInbox (sources: catalog and this service): the published policies that need an
  interpretation, with their text (the copy check measures against it) and whether they
  were withdrawn. Fed by the catalog's DocumentPublished / DocumentWithdrawn (read as a
  tolerant reader: only the fields used here, so catalog may add fields freely) and by
  this service's PolicyRegistered (the manual path).
- MisreadingInbox (sources: sentiment and this service): the cases the sentiment service
  linked to a misread policy (PolicyMisreadingReported), pending until a follow-up stage
  names them (this service's FollowUpRequested / FollowUpCasesAdded). The scheduler opens
  the follow-ups from it. Upserted from either side, so arrival order does not matter.
- InterpretationLedger (this service): one row per obligation, one per interpretation.
  Each table is written only by the events of its own stream type, so the ledger does not
  depend on the order of different streams (Kafka keeps per-stream order only).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from services.interpretation import domain
from services.interpretation import events as ev
from services.interpretation.events import registry
from shared.db import Tx
from shared.envelope import RecordedEvent
from shared.workdays import local_date


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class PolicyInbox:
    name = "interpretation.policy_inbox.v1"
    sources = ("catalog", "interpretation")
    tables: Sequence[str] = ("itp_policies",)
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS itp_policies (
            document_id TEXT PRIMARY KEY,
            township TEXT NOT NULL,
            lead_unit TEXT NOT NULL,
            joint_units TEXT NOT NULL,
            title TEXT NOT NULL,
            document_number TEXT,
            kind TEXT NOT NULL,
            flagged BOOLEAN NOT NULL,
            policy_text TEXT NOT NULL,
            published_on TEXT NOT NULL,
            source TEXT NOT NULL,
            revision INTEGER NOT NULL,
            withdrawn BOOLEAN NOT NULL
        )""",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        p = event.payload
        if event.type == "DocumentPublished" and event.stream_type == "document":
            content = p.get("content") or {}
            flagged = bool(content.get("needs_interpretation", p.get("needs_interpretation")))
            if domain.trigger_of(str(p["kind"]), flagged) is None:
                return
            text = "\n".join([content.get("body", ""), *content.get("attachments_text", [])])
            published = datetime.fromisoformat(str(p["published_at"]))
            await self._upsert(
                tx,
                document_id=str(p["document_id"]),
                township=str(p.get("township") or event.tenant),
                lead_unit=str(p.get("drafting_unit") or event.tenant),
                joint_units=[],
                title=str(p["title"]),
                document_number=p.get("document_number"),
                kind=str(p["kind"]),
                flagged=flagged,
                text=text,
                published_on=local_date(published).isoformat(),
                source="catalog",
                revision=int(p.get("revision", 1)),
            )
        elif event.type == "DocumentWithdrawn" and event.stream_type == "document":
            await tx.execute(
                "UPDATE itp_policies SET withdrawn = TRUE WHERE document_id = $1",
                str(p["document_id"]),
            )
        elif event.type == "PolicyRegistered" and registry.knows(event.type):
            e = registry.decode(event)
            assert isinstance(e, ev.PolicyRegistered)
            await self._upsert(
                tx,
                document_id=str(e.document_id),
                township=e.township,
                lead_unit=e.lead_unit,
                joint_units=e.joint_units,
                title=e.title,
                document_number=e.document_number,
                kind=e.kind,
                flagged=e.flagged,
                text=e.text,
                published_on=e.published_on.isoformat(),
                source="manual",
                revision=1,
            )

    async def _upsert(self, tx: Tx, **v: Any) -> None:
        # A later revision of a published policy (an update) replaces the text measured
        # against; an older one replayed late does not.
        await tx.execute(
            """INSERT INTO itp_policies (document_id, township, lead_unit, joint_units, title,
                   document_number, kind, flagged, policy_text, published_on, source, revision,
                   withdrawn)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, FALSE)
               ON CONFLICT (document_id) DO UPDATE SET title = excluded.title,
                   document_number = excluded.document_number, policy_text = excluded.policy_text,
                   revision = excluded.revision
               WHERE itp_policies.revision < excluded.revision""",
            v["document_id"],
            v["township"],
            v["lead_unit"],
            dumps(v["joint_units"]),
            v["title"],
            v["document_number"],
            v["kind"],
            v["flagged"],
            v["text"],
            v["published_on"],
            v["source"],
            v["revision"],
        )


class MisreadingInbox:
    name = "interpretation.misreading_inbox.v1"
    sources = ("sentiment", "interpretation")
    tables: Sequence[str] = ("itp_misreadings",)
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS itp_misreadings (
            case_id TEXT NOT NULL,
            document_id TEXT NOT NULL,
            township TEXT,
            misreading TEXT,
            reported_by TEXT,
            reported_at TEXT,
            correlation_id TEXT,
            status TEXT NOT NULL,
            follow_up_id TEXT,
            PRIMARY KEY (case_id, document_id)
        )""",
        "CREATE INDEX IF NOT EXISTS itp_misreadings_status ON itp_misreadings (status)",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        p = event.payload
        if event.type == "PolicyMisreadingReported" and event.stream_type == "opinion-case":
            # Tolerant reader of the sentiment event: only the fields used here.
            await tx.execute(
                """INSERT INTO itp_misreadings (case_id, document_id, township, misreading,
                       reported_by, reported_at, correlation_id, status)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')
                   ON CONFLICT (case_id, document_id) DO UPDATE SET township = excluded.township,
                       misreading = excluded.misreading, reported_by = excluded.reported_by,
                       reported_at = excluded.reported_at,
                       correlation_id = excluded.correlation_id""",
                str(p["case_id"]),
                str(p["document_id"]),
                event.tenant,
                str(p["misreading"]),
                str(p["reported_by"]),
                _at(event),
                str(event.correlation_id),
            )
        elif event.type in ("FollowUpRequested", "FollowUpCasesAdded") and (
            event.stream_type == "obligation"
        ):
            for case_id in p["case_ids"]:
                await tx.execute(
                    """INSERT INTO itp_misreadings (case_id, document_id, status, follow_up_id)
                       VALUES ($1, $2, 'opened', $3)
                       ON CONFLICT (case_id, document_id) DO UPDATE SET status = 'opened',
                           follow_up_id = excluded.follow_up_id""",
                    str(case_id),
                    str(p["document_id"]),
                    str(p["follow_up_id"]),
                )


class InterpretationLedger:
    name = "interpretation.ledger.v1"
    tables: Sequence[str] = ("itp_obligations", "itp_interpretations")
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS itp_obligations (
            document_id TEXT PRIMARY KEY,
            township TEXT NOT NULL,
            owner_unit TEXT NOT NULL,
            drafting_unit TEXT NOT NULL,
            joint_units TEXT NOT NULL,
            title TEXT NOT NULL,
            document_number TEXT,
            kind TEXT NOT NULL,
            trigger TEXT NOT NULL,
            source TEXT NOT NULL,
            published_on TEXT NOT NULL,
            year INTEGER NOT NULL,
            due TEXT NOT NULL,
            latest_due TEXT NOT NULL,
            due_provisional BOOLEAN NOT NULL,
            status TEXT NOT NULL,
            missed BOOLEAN NOT NULL,
            fulfilled_on TEXT,
            synchronous BOOLEAN,
            on_time BOOLEAN,
            interpretation_id TEXT,
            delegations TEXT NOT NULL,
            follow_ups TEXT NOT NULL,
            cancel_reason TEXT,
            version INTEGER NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS itp_obligations_owner ON itp_obligations (owner_unit, year)",
        """CREATE TABLE IF NOT EXISTS itp_interpretations (
            interpretation_id TEXT PRIMARY KEY,
            document_id TEXT NOT NULL,
            unit TEXT NOT NULL,
            drafter TEXT NOT NULL,
            revision INTEGER NOT NULL,
            title TEXT NOT NULL,
            content TEXT NOT NULL,
            status TEXT NOT NULL,
            stage INTEGER NOT NULL,
            case_ids TEXT NOT NULL,
            follow_up_id TEXT,
            quality TEXT NOT NULL,
            forms TEXT,
            channels TEXT,
            published_at TEXT,
            publisher TEXT,
            updated_at TEXT NOT NULL,
            version INTEGER NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS itp_interpretations_doc ON itp_interpretations (document_id)",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        if not registry.knows(event.type):
            return
        e = registry.decode(event)
        if event.stream_type == "obligation":
            await self._obligation(tx, event, e)
        elif event.stream_type == "interpretation":
            await self._interpretation(tx, event, e)

    async def _open(self, tx: Tx, event: RecordedEvent, e: ev.InterpretationRequired) -> None:
        await tx.execute(
            """INSERT INTO itp_obligations (document_id, township, owner_unit, drafting_unit,
                   joint_units, title, document_number, kind, trigger, source, published_on,
                   year, due, latest_due, due_provisional, status, missed, fulfilled_on,
                   synchronous, on_time, interpretation_id, delegations, follow_ups,
                   cancel_reason, version)
               VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                   'open', FALSE, NULL, NULL, NULL, NULL, '[]', '[]', NULL, $15)
               ON CONFLICT (document_id) DO NOTHING""",
            str(e.document_id),
            e.township,
            e.owner_unit,
            dumps(e.joint_units),
            e.title,
            e.document_number,
            e.kind,
            e.trigger.value,
            e.source.value,
            e.published_on.isoformat(),
            e.published_on.year,
            e.due.isoformat(),
            e.latest_due.isoformat(),
            e.due_provisional,
            event.version,
        )

    async def _obligation(self, tx: Tx, event: RecordedEvent, e: Any) -> None:
        if isinstance(e, ev.InterpretationRequired):
            await self._open(tx, event, e)
            return
        row = await tx.fetchrow(
            "SELECT * FROM itp_obligations WHERE document_id = $1", str(e.document_id)
        )
        if row is None or row["version"] >= event.version:
            return  # replayed
        changes: dict[str, Any] = {"version": event.version}
        if isinstance(e, ev.ObligationDelegated):
            delegations = orjson.loads(row["delegations"])
            delegations.append(
                {
                    "from_unit": e.from_unit,
                    "to_unit": e.to_unit,
                    "reason": e.reason,
                    "delegated_by": e.delegated_by,
                    "at": _at(event),
                }
            )
            changes |= {"owner_unit": e.to_unit, "delegations": dumps(delegations)}
        elif isinstance(e, ev.ObligationFulfilled):
            changes |= {
                "status": "fulfilled",
                "fulfilled_on": e.published_on.isoformat(),
                "synchronous": e.synchronous,
                "on_time": e.on_time,
                "interpretation_id": str(e.interpretation_id),
            }
        elif isinstance(e, ev.InterpretationDeadlineMissed):
            changes["missed"] = True
        elif isinstance(e, ev.ObligationCancelled):
            changes |= {"status": "cancelled", "cancel_reason": e.reason}
        elif isinstance(e, ev.FollowUpRequested | ev.FollowUpCasesAdded | ev.FollowUpFulfilled):
            changes["follow_ups"] = dumps(_follow_ups(orjson.loads(row["follow_ups"]), e))
        columns = sorted(changes)
        sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=1))
        await tx.execute(
            f"UPDATE itp_obligations SET {sets} WHERE document_id = ${len(columns) + 1}",
            *[changes[c] for c in columns],
            str(e.document_id),
        )

    async def _interpretation(self, tx: Tx, event: RecordedEvent, e: Any) -> None:
        if isinstance(e, ev.InterpretationDrafted):
            link = e.follow_up
            await tx.execute(
                """INSERT INTO itp_interpretations (interpretation_id, document_id, unit, drafter,
                       revision, title, content, status, stage, case_ids, follow_up_id, quality,
                       forms, channels, published_at, publisher, updated_at, version)
                   VALUES ($1, $2, $3, $4, 1, $5, $6, 'draft', $7, $8, $9, $10, NULL, NULL,
                       NULL, NULL, $11, $12)
                   ON CONFLICT (interpretation_id) DO NOTHING""",
                str(e.interpretation_id),
                str(e.document_id),
                e.unit,
                e.drafter,
                e.content.title,
                dumps(e.content.model_dump(mode="json")),
                link.stage if link else 1,
                dumps(link.case_ids if link else []),
                str(link.follow_up_id) if link else None,
                dumps(e.quality.model_dump(mode="json")),
                _at(event),
                event.version,
            )
            return
        row = await tx.fetchrow(
            "SELECT version FROM itp_interpretations WHERE interpretation_id = $1",
            str(e.interpretation_id),
        )
        if row is None or row["version"] >= event.version:
            return
        changes: dict[str, Any] = {"version": event.version, "updated_at": _at(event)}
        if isinstance(e, ev.InterpretationRevised):
            changes |= {
                "revision": e.revision,
                "title": e.content.title,
                "content": dumps(e.content.model_dump(mode="json")),
                "quality": dumps(e.quality.model_dump(mode="json")),
                "status": "draft",
            }
        elif isinstance(e, ev.InterpretationApproved):
            changes["status"] = "approved"
        elif isinstance(e, ev.InterpretationRejected):
            changes["status"] = "rejected"
        elif isinstance(e, ev.InterpretationPublished):
            changes |= {
                "status": "published",
                "forms": dumps([f.value for f in e.forms]),
                "channels": dumps([c.value for c in e.channels]),
                "published_at": e.published_at.astimezone(UTC).isoformat(),
                "publisher": e.publisher,
                "quality": dumps(e.quality.model_dump(mode="json")),
            }
        columns = sorted(changes)
        sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=1))
        await tx.execute(
            f"UPDATE itp_interpretations SET {sets} WHERE interpretation_id = ${len(columns) + 1}",
            *[changes[c] for c in columns],
            str(e.interpretation_id),
        )


def _at(event: RecordedEvent) -> str:
    return event.recorded_at.astimezone(UTC).isoformat()


def _follow_ups(items: list[dict[str, Any]], e: Any) -> list[dict[str, Any]]:
    """The follow-up stages of an obligation row after a follow-up event."""
    if isinstance(e, ev.FollowUpCasesAdded):
        for item in items:
            if item["follow_up_id"] == str(e.follow_up_id):
                item["case_ids"] = [*item["case_ids"], *e.case_ids]
    elif isinstance(e, ev.FollowUpRequested):
        items.append(
            {
                "follow_up_id": str(e.follow_up_id),
                "stage": e.stage,
                "case_ids": e.case_ids,
                "reason": e.reason,
                "due": e.due.isoformat(),
                "interpretation_id": None,
            }
        )
    else:
        for item in items:
            if item["follow_up_id"] == str(e.follow_up_id):
                item["interpretation_id"] = str(e.interpretation_id)
    return items
