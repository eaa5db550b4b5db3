"""Read model of 依申请公开: the request ledger (登记台账)."""

from __future__ import annotations

from datetime import UTC

import orjson

from services.applications.events import RequestAssigned, RequestRegistered, registry
from shared.db import Tx
from shared.envelope import RecordedEvent


class RequestLedger:
    """One row per request: number, status, clocks, handler; the applicant kept apart."""

    name = "applications.request_ledger"
    tables = ("app_requests",)
    schema = (
        """CREATE TABLE IF NOT EXISTS app_requests (
            request_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            number TEXT NOT NULL,
            year INTEGER NOT NULL,
            sequence INTEGER NOT NULL,
            status TEXT NOT NULL,
            channel TEXT NOT NULL,
            applicant_kind TEXT NOT NULL,
            applicant TEXT NOT NULL,
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
            registered_at TEXT NOT NULL,
            version INTEGER NOT NULL,
            UNIQUE (tenant, year, sequence)
        )""",
        "CREATE INDEX IF NOT EXISTS app_requests_tenant ON app_requests (tenant, registered_at)",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        if not registry.knows(event.type):
            return
        decoded = registry.decode(event)
        if isinstance(decoded, RequestRegistered):
            await tx.execute(
                """INSERT INTO app_requests (request_id, tenant, number, year, sequence, status,
                       channel, applicant_kind, applicant, description, requested_form,
                       delivery_channel, submitted_on, received_on, correction_notice_due,
                       reply_due, due_provisional, reply_deadline, handler, registered_at,
                       version)
                   VALUES ($1, $2, $3, $4, $5, 'registered', $6, $7, $8, $9, $10, $11, $12,
                       $13, $14, $15, $16, $17, NULL, $18, $19)
                   ON CONFLICT (request_id) DO NOTHING""",
                str(decoded.request_id),
                event.tenant,
                decoded.number,
                decoded.year,
                decoded.sequence,
                decoded.channel.value,
                decoded.applicant.kind.value,
                orjson.dumps(decoded.applicant.model_dump(mode="json")).decode(),
                decoded.description,
                decoded.requested_form.value,
                decoded.delivery_channel.value,
                decoded.submitted_on.isoformat(),
                decoded.received_on.isoformat(),
                decoded.correction_notice_due.isoformat(),
                decoded.reply_due.isoformat(),
                decoded.reply_deadline.provisional,
                orjson.dumps(decoded.reply_deadline.model_dump(mode="json")).decode(),
                event.recorded_at.astimezone(UTC).isoformat(),
                event.version,
            )
        elif isinstance(decoded, RequestAssigned):
            await tx.execute(
                """UPDATE app_requests SET handler = $1, status = 'assigned', version = $2
                   WHERE request_id = $3 AND version < $2""",
                decoded.handler,
                event.version,
                str(decoded.request_id),
            )
