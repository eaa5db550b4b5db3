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

import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC
from types import MappingProxyType
from typing import Any

import orjson

from services.applications import events as le
from services.applications.domain import applicant_key
from services.applications.events import RequestAssigned, RequestRegistered, registry
from services.applications.state import status_word
from shared.db import Tx
from shared.envelope import RecordedEvent
from shared.registry import DomainEvent

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
    """The status word of a ledger row (state.status_word, the one precedence)."""
    return status_word(
        archived=bool(row["archived"]),
        conclusion=row["conclusion"] or None,
        awaiting_correction=bool(row["awaiting_correction"]),
        awaiting_payment=bool(row["awaiting_payment"]),
        consulting=bool(row["open_consultations"]),
        assigned=bool(row["handler"]),
    )


class RequestLedger:
    name = "applications.request_ledger"
    tables: Sequence[str] = ("app_ledger",)
    #: Its rebuild may build the plain indexes after the rows (services/audit/replay.py):
    #: applying looks rows up by the primary key only.
    indexes_after_rebuild = True
    #: A request's row is updated once per event of its life (assigned, extended, replied,
    #: delivered, archived …): room on each page keeps most of those updates on the page,
    #: with no new index entries (shared.projections.postgres_storage; issue #22 item 7).
    fillfactor: Mapping[str, int] = MappingProxyType({"app_ledger": 80})
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
        # The ledger's order (queries.page): the newest first are read off the index and the
        # scope (`tenant = … OR tenant LIKE …`, which no index serves) filters them, instead
        # of sorting the whole ledger for each page; the open ones (the work list) have
        # their own, a few rows among many.
        "CREATE INDEX IF NOT EXISTS app_ledger_recent ON app_ledger (registered_at, request_id)",
        "CREATE INDEX IF NOT EXISTS app_ledger_open ON app_ledger (registered_at, request_id)"
        " WHERE conclusion IS NULL",
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
        await tx.execute(
            f"{_INSERT} ON CONFLICT (request_id) DO NOTHING",
            *_INSERT_VALUES(_registered_row(event, e)),
        )

    async def apply_batch(self, tx: Tx, events: Sequence[RecordedEvent]) -> None:
        """What `apply` does to each event in order, folded in memory, written in bulk.

        The rows the chunk touches are read once, every event is folded into them with the
        same `_changes`/`ledger_status` as `apply`, and the result is written with one bulk
        insert of the new rows (`Tx.insert_new`: COPY on PostgreSQL) and one UPDATE per
        changed row in an executemany (one round trip on PostgreSQL). A rebuild of the
        ledger is all this path (issue #10 item 4); tests/integration/
        test_request_ledger_batch.py checks it equals `apply`.
        """
        decoded: list[tuple[RecordedEvent, str, DomainEvent]] = []
        for event in events:
            if event.stream_type == "request" and registry.knows(event.type):
                e = registry.decode(event)
                # a registration's row goes under its request id (the key `apply` inserts
                # under), every later event's under its stream's
                rid = str(e.request_id) if isinstance(e, RequestRegistered) else event.stream_id[8:]
                decoded.append((event, rid, e))
        if not decoded:
            return
        rows: dict[str, dict[str, Any]] = {}
        ids = list({rid for _, rid, _ in decoded})
        for offset in range(0, len(ids), 500):
            part = ids[offset : offset + 500]
            marks = ", ".join(f"${i}" for i in range(1, len(part) + 1))
            for found in await tx.fetch(
                f"SELECT {_COLUMN_LIST} FROM app_ledger WHERE request_id IN ({marks})", *part
            ):
                rows[found["request_id"]] = dict(found)
        stored = set(rows)
        changed: set[str] = set()
        for event, rid, e in decoded:
            if isinstance(e, RequestRegistered):
                if rid not in rows:
                    rows[rid] = _registered_row(event, e)
                    changed.add(rid)
                continue
            row = rows.get(rid)
            if row is None or row["version"] >= event.version:
                continue  # replayed
            changes = _changes(e, row)
            row.update(changes)
            row["status"] = ledger_status(row)
            row["version"] = event.version
            changed.add(rid)
        fresh = [_INSERT_VALUES(rows[rid]) for rid in changed if rid not in stored]
        if fresh:
            await tx.insert_new("app_ledger", _COLUMNS, fresh)
        updated = [_UPDATE_VALUES(rows[rid]) for rid in changed if rid in stored]
        if updated:
            await tx.executemany(_UPDATE, updated)


def _registered_row(event: RecordedEvent, e: RequestRegistered) -> dict[str, Any]:
    """The ledger row a RequestRegistered creates.

    From one JSON-mode dump of the event (one pass in pydantic-core): enums as their values,
    dates as ISO text, the applicant and the deadline as the JSON their own dumps give. A
    rebuild makes one of these per request (issue #10 item 4).
    """
    d = e.model_dump(mode="json")
    a = d["applicant"]
    deadline = d["reply_deadline"]
    return {
        "request_id": d["request_id"],
        "tenant": event.tenant,
        "number": d["number"],
        "year": d["year"],
        "sequence": d["sequence"],
        "status": "registered",
        "channel": d["channel"],
        "applicant_kind": a["kind"],
        "organization_kind": a["organization_kind"],
        "applicant": orjson.dumps(a).decode(),
        "applicant_key": applicant_key(a["kind"], a["id_document"]),
        "description": d["description"],
        "requested_form": d["requested_form"],
        "delivery_channel": d["delivery_channel"],
        "submitted_on": d["submitted_on"],
        "received_on": d["received_on"],
        "correction_notice_due": d["correction_notice_due"],
        "reply_due": d["reply_due"],
        "due_provisional": deadline["provisional"],
        "reply_deadline": orjson.dumps(deadline).decode(),
        "handler": None,
        "awaiting_correction": False,
        "correction_due": None,
        "awaiting_payment": False,
        "fee_yuan": None,
        "open_consultations": 0,
        "extended": False,
        "conclusion": None,
        "concluded_on": None,
        "reply_type": None,
        "report_row": None,
        "archived": False,
        "deadline_approaching": False,
        "deadline_missed": False,
        "registered_at": event.recorded_at.astimezone(UTC).isoformat(),
        "version": event.version,
    }


_COLUMNS = (
    "request_id",
    "tenant",
    "number",
    "year",
    "sequence",
    "status",
    "channel",
    "applicant_kind",
    "organization_kind",
    "applicant",
    "applicant_key",
    "description",
    "requested_form",
    "delivery_channel",
    "submitted_on",
    "received_on",
    "correction_notice_due",
    "reply_due",
    "due_provisional",
    "reply_deadline",
    "handler",
    "awaiting_correction",
    "correction_due",
    "awaiting_payment",
    "fee_yuan",
    "open_consultations",
    "extended",
    "conclusion",
    "concluded_on",
    "reply_type",
    "report_row",
    "archived",
    "deadline_approaching",
    "deadline_missed",
    "registered_at",
    "version",
)
_COLUMN_LIST = ", ".join(_COLUMNS)
_MARKS = ", ".join(f"${i}" for i in range(1, len(_COLUMNS) + 1))
_INSERT = f"INSERT INTO app_ledger ({_COLUMN_LIST}) VALUES ({_MARKS})"
#: What registration sets once and no lifecycle event changes; the rest (everything
#: `_changes` sets, status and version) is `_MUTABLE`.
_FIXED = frozenset(
    {
        "request_id", "tenant", "number", "year", "sequence", "channel", "applicant_kind",
        "organization_kind", "applicant", "applicant_key", "description", "requested_form",
        "delivery_channel", "submitted_on", "received_on", "correction_notice_due",
        "reply_deadline", "registered_at",
    }
)  # fmt: skip
_MUTABLE = tuple(c for c in _COLUMNS if c not in _FIXED)
_UPDATE = (
    "UPDATE app_ledger SET "
    + ", ".join(f"{c} = ${i}" for i, c in enumerate(_MUTABLE, start=1))
    + f" WHERE request_id = ${len(_MUTABLE) + 1}"
)
#: A row's parameters for the INSERT (every column) and the UPDATE (mutable ones, then key).
_INSERT_VALUES = operator.itemgetter(*_COLUMNS)
_UPDATE_VALUES = operator.itemgetter(*_MUTABLE, "request_id")


def _changes(e: object, row: dict[str, Any]) -> dict[str, Any]:
    """The columns event `e` changes in `row` (status and version aside)."""
    due, rule = _rule_for(type(e))
    changes: dict[str, Any] = {"reply_due": e.reply_due.isoformat()} if due else {}  # type: ignore[attr-defined]
    if rule is not None:
        changes |= rule(e, row)
    return changes


Rule = Callable[[Any, dict[str, Any]], dict[str, Any]]

#: In order: the first class an event is an instance of gives its rule.
_RULES: tuple[tuple[type, Rule], ...] = (
    (RequestAssigned, lambda e, row: {"handler": e.handler}),
    (
        le.CorrectionRequested,
        lambda e, row: {
            "awaiting_correction": True,
            "correction_due": e.correction_due.isoformat(),
        },
    ),
    (le.CorrectionReceived, lambda e, row: {"awaiting_correction": False}),
    (
        le.ConsultationStarted,
        lambda e, row: {"open_consultations": int(row["open_consultations"]) + 1},
    ),
    (
        le.ConsultationEnded,
        lambda e, row: {"open_consultations": max(0, int(row["open_consultations"]) - 1)},
    ),
    (le.ExtensionGranted, lambda e, row: {"extended": True}),
    (le.FeeNoticeIssued, lambda e, row: {"awaiting_payment": True, "fee_yuan": e.amount_yuan}),
    (le.FeePaid, lambda e, row: {"awaiting_payment": False}),
    (
        le.CorrectionLapsed,
        lambda e, row: _concluded("abandoned", e.lapsed_on.isoformat(), "三(六)1"),
    ),
    (le.FeeLapsed, lambda e, row: _concluded("fee_lapsed", e.lapsed_on.isoformat(), "三(六)2")),
    (
        le.RequestWithdrawnByApplicant,
        lambda e, row: _concluded("withdrawn", e.withdrawn_on.isoformat(), "三(六)3"),
    ),
    (
        le.RequestReplied,
        lambda e, row: (
            _concluded("replied", e.replied_on.isoformat(), e.report_row)
            | {"reply_type": e.reply_type.value}
        ),
    ),
    (le.RequestArchived, lambda e, row: {"archived": True}),
    (le.ReplyDueRecomputed, lambda e, row: {"due_provisional": e.provisional}),
    (le.DeadlineApproaching, lambda e, row: {"deadline_approaching": True}),
    (le.DeadlineMissed, lambda e, row: {"deadline_missed": True}),
)
_RESOLVED: dict[type, tuple[bool, Rule | None]] = {}


def _rule_for(kind: type) -> tuple[bool, Rule | None]:
    """Whether `kind` sets reply_due, and its rule; resolved once per event class."""
    hit = _RESOLVED.get(kind)
    if hit is None:
        due = issubclass(kind, _DUE_SETTERS)
        rule = next((f for cls, f in _RULES if issubclass(kind, cls)), None)
        hit = _RESOLVED[kind] = (due, rule)
    return hit


def _concluded(conclusion: str, on: str, row: str) -> dict[str, Any]:
    return {"conclusion": conclusion, "concluded_on": on, "report_row": row}


class OnlineRequests:
    """网上申请: one row per submission, found by its tracking code's hash; the request it
    became once confirmed (its status then comes from app_ledger). No applicant data here."""

    name = "applications.online_requests"
    tables: Sequence[str] = ("app_online",)
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS app_online (
            submission_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            code_hash TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            submitted_on TEXT NOT NULL,
            submitted_at TEXT NOT NULL,
            description TEXT NOT NULL,
            request_id TEXT,
            version INTEGER NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS app_online_pending ON app_online (tenant, request_id)",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        if event.stream_type != "online-request":
            return
        p = event.payload
        if event.type == "OnlineRequestSubmitted":
            await tx.execute(
                "INSERT INTO app_online (submission_id, tenant, code_hash, password_hash, "
                "submitted_on, submitted_at, description, request_id, version) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8) "
                "ON CONFLICT (submission_id) DO NOTHING",
                str(p["submission_id"]),
                event.tenant,
                p["tracking_code_hash"],
                p["query_password_hash"],
                str(p["submitted_on"]),
                event.recorded_at.astimezone(UTC).isoformat(),
                p["description"],
                event.version,
            )
        elif event.type == "OnlineRequestConfirmed":
            await tx.execute(
                "UPDATE app_online SET request_id = $1, version = $2 "
                "WHERE submission_id = $3 AND version < $2",
                str(p["request_id"]),
                event.version,
                str(p["submission_id"]),
            )
