"""Read model of 依申请公开: the request ledger (登记台账) and its queues.

One row per request: number, status, clocks, handler, conclusion; the applicant
kept in its own column (shown only to handling roles) plus a pseudonymous key
for the monthly fee counter. Every clock-changing event carries the reply due
date the domain computed, so this projection needs no calendar.

The table app_ledger replaced the first slice's app_requests when the lifecycle arrived.
A fresh deployment fills it from position 0; an existing one must rebuild this projection
once (its checkpoint, and in distributed mode its consumer group, are already at the head).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

import orjson

from services.applications import lifecycle_events as le
from services.applications.events import RequestAssigned, RequestRegistered, registry
from services.applications.lifecycle_handlers import applicant_key
from shared.db import Tx
from shared.envelope import RecordedEvent

#: Events that set the row's reply_due from their payload.
_DUE_SETTERS = (
    le.CorrectionReceived,
    le.ConsultationEnded,
    le.ExtensionGranted,
    le.FeePaid,
    le.LaterReplyDateSet,
    le.ReplyDueRecomputed,
)


def ledger_status(row: dict[str, Any]) -> str:
    """The status word, by the same precedence as state.status_of."""
    if row["archived"]:
        return "archived"
    if row["conclusion"]:
        return str(row["conclusion"])
    if row["awaiting_correction"]:
        return "awaiting_correction"
    if row["awaiting_payment"]:
        return "awaiting_payment"
    if row["open_consultations"]:
        return "consulting"
    return "assigned" if row["handler"] else "registered"


class RequestLedger:
    name = "applications.request_ledger"
    tables: Sequence[str] = ("app_ledger",)
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS app_ledger (
            request_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            number TEXT NOT NULL,
            year INTEGER NOT NULL,
            sequence INTEGER NOT NULL,
            status TEXT NOT NULL,
            channel TEXT NOT NULL,
            applicant_kind TEXT NOT NULL,
            organization_kind TEXT,
            applicant TEXT NOT NULL,
            applicant_key TEXT NOT NULL,
            description TEXT NOT NULL,
            requested_form TEXT NOT NULL,
            delivery_channel TEXT NOT NULL,
            submitted_on TEXT NOT NULL,
            received_on TEXT NOT NULL,
            correction_notice_due TEXT NOT NULL,
            reply_due TEXT NOT NULL,
            due_provisional BOOLEAN NOT NULL,
            reply_deadline TEXT NOT NULL,
            handler TEXT,
            awaiting_correction BOOLEAN NOT NULL,
            correction_due TEXT,
            awaiting_payment BOOLEAN NOT NULL,
            fee_yuan INTEGER,
            open_consultations INTEGER NOT NULL,
            extended BOOLEAN NOT NULL,
            conclusion TEXT,
            concluded_on TEXT,
            reply_type TEXT,
            report_row TEXT,
            archived BOOLEAN NOT NULL,
            deadline_approaching BOOLEAN NOT NULL,
            deadline_missed BOOLEAN NOT NULL,
            registered_at TEXT NOT NULL,
            version INTEGER NOT NULL,
            UNIQUE (tenant, year, sequence)
        )""",
        "CREATE INDEX IF NOT EXISTS app_ledger_tenant ON app_ledger (tenant, registered_at)",
        "CREATE INDEX IF NOT EXISTS app_ledger_due ON app_ledger (tenant, reply_due)",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        if not registry.knows(event.type) or event.stream_type != "request":
            return
        decoded = registry.decode(event)
        if isinstance(decoded, RequestRegistered):
            await self._insert(tx, event, decoded)
            return
        row = await tx.fetchrow(
            "SELECT * FROM app_ledger WHERE request_id = $1", event.stream_id[len("request-") :]
        )
        if row is None or row["version"] >= event.version:
            return  # replayed
        changes = _changes(decoded, dict(row))
        merged = {**dict(row), **changes}
        changes["status"] = ledger_status(merged)
        changes["version"] = event.version
        columns = sorted(changes)
        sets = ", ".join(f"{col} = ${i}" for i, col in enumerate(columns, start=1))
        await tx.execute(
            f"UPDATE app_ledger SET {sets} WHERE request_id = ${len(columns) + 1}",
            *[changes[col] for col in columns],
            row["request_id"],
        )

    async def _insert(self, tx: Tx, event: RecordedEvent, e: RequestRegistered) -> None:
        a = e.applicant
        await tx.execute(
            """INSERT INTO app_ledger (request_id, tenant, number, year, sequence, status,
                   channel, applicant_kind, organization_kind, applicant, applicant_key,
                   description, requested_form, delivery_channel, submitted_on, received_on,
                   correction_notice_due, reply_due, due_provisional, reply_deadline, handler,
                   awaiting_correction, correction_due, awaiting_payment, fee_yuan,
                   open_consultations, extended, conclusion, concluded_on, reply_type,
                   report_row, archived, deadline_approaching, deadline_missed, registered_at,
                   version)
               VALUES ($1, $2, $3, $4, $5, 'registered', $6, $7, $8, $9, $10, $11, $12, $13,
                   $14, $15, $16, $17, $18, $19, NULL, FALSE, NULL, FALSE, NULL, 0, FALSE,
                   NULL, NULL, NULL, NULL, FALSE, FALSE, FALSE, $20, $21)
               ON CONFLICT (request_id) DO NOTHING""",
            str(e.request_id),
            event.tenant,
            e.number,
            e.year,
            e.sequence,
            e.channel.value,
            a.kind.value,
            a.organization_kind.value if a.organization_kind else None,
            orjson.dumps(a.model_dump(mode="json")).decode(),
            applicant_key(a.kind.value, a.id_document),
            e.description,
            e.requested_form.value,
            e.delivery_channel.value,
            e.submitted_on.isoformat(),
            e.received_on.isoformat(),
            e.correction_notice_due.isoformat(),
            e.reply_due.isoformat(),
            e.reply_deadline.provisional,
            orjson.dumps(e.reply_deadline.model_dump(mode="json")).decode(),
            event.recorded_at.astimezone(UTC).isoformat(),
            event.version,
        )


def _changes(e: object, row: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if isinstance(e, _DUE_SETTERS):
        changes["reply_due"] = e.reply_due.isoformat()
    if isinstance(e, RequestAssigned):
        changes["handler"] = e.handler
    elif isinstance(e, le.CorrectionRequested):
        changes |= {"awaiting_correction": True, "correction_due": e.correction_due.isoformat()}
    elif isinstance(e, le.CorrectionReceived):
        changes["awaiting_correction"] = False
    elif isinstance(e, le.ConsultationStarted):
        changes["open_consultations"] = int(row["open_consultations"]) + 1
    elif isinstance(e, le.ConsultationEnded):
        changes["open_consultations"] = max(0, int(row["open_consultations"]) - 1)
    elif isinstance(e, le.ExtensionGranted):
        changes["extended"] = True
    elif isinstance(e, le.FeeNoticeIssued):
        changes |= {"awaiting_payment": True, "fee_yuan": e.amount_yuan}
    elif isinstance(e, le.FeePaid):
        changes["awaiting_payment"] = False
    elif isinstance(e, le.CorrectionLapsed):
        changes |= _concluded("abandoned", e.lapsed_on.isoformat(), "三(六)1")
    elif isinstance(e, le.FeeLapsed):
        changes |= _concluded("fee_lapsed", e.lapsed_on.isoformat(), "三(六)2")
    elif isinstance(e, le.RequestWithdrawnByApplicant):
        changes |= _concluded("withdrawn", e.withdrawn_on.isoformat(), "三(六)3")
    elif isinstance(e, le.RequestReplied):
        changes |= _concluded("replied", e.replied_on.isoformat(), e.report_row)
        changes["reply_type"] = e.reply_type.value
    elif isinstance(e, le.RequestArchived):
        changes["archived"] = True
    elif isinstance(e, le.ReplyDueRecomputed):
        changes["due_provisional"] = e.provisional
    elif isinstance(e, le.DeadlineApproaching):
        changes["deadline_approaching"] = True
    elif isinstance(e, le.DeadlineMissed):
        changes["deadline_missed"] = True
    return changes


def _concluded(conclusion: str, on: str, row: str) -> dict[str, Any]:
    return {"conclusion": conclusion, "concluded_on": on, "report_row": row}
