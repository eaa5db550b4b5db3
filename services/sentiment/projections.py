"""Read models of 舆情回应: messages, the case ledger (台账) with its steps, and hotspots.

Fed from Kafka in distributed mode: only per-stream order is guaranteed, so a message row
and a case row never depend on each other's arrival (the message knows its case from its
own stream; the case counts its messages from its own stream).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from services.sentiment.events import (
    CaseAccepted,
    CaseAssigned,
    CaseEscalated,
    CaseExtensionDecided,
    CaseExtensionRequested,
    CaseFollowedUp,
    CaseMessageAdded,
    CaseOpened,
    CaseReminded,
    CaseReopened,
    CaseResponded,
    CaseResultPublished,
    CaseReturned,
    HotspotDetected,
    MessageClassificationCorrected,
    MessageClassified,
    MessageLinkedToCase,
    MessageReceived,
    ModelPromoted,
    ModelRegistered,
    ModelRolledBack,
    ModelShadowStarted,
    registry,
)
from services.sentiment.grouping import signature
from shared.db import Tx
from shared.envelope import RecordedEvent


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


STEP_NAMES = {
    "CaseOpened": "立案",
    "CaseMessageAdded": "并案",
    "CaseAssigned": "派单",
    "CaseAccepted": "签收",
    "CaseReturned": "退单",
    "CaseExtensionRequested": "延期申请",
    "CaseExtensionDecided": "延期审批",
    "CaseReminded": "催办/督办",
    "CaseResponded": "办结",
    "CaseResultPublished": "结果公开",
    "CaseFollowedUp": "回访",
    "CaseReopened": "重办",
    "CaseEscalated": "超期升级",
    "PolicyMisreadingReported": "误读政策·请求跟踪解读",
}


class OpinionLedger:
    """Messages, cases and their step history; hotspots."""

    name = "sentiment.ledger"
    tables: Sequence[str] = ("sent_messages", "sent_cases", "sent_case_steps", "sent_hotspots")
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS sent_messages (
            message_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            source TEXT NOT NULL,
            kind TEXT NOT NULL,
            external_id TEXT,
            title TEXT,
            text TEXT NOT NULL,
            citizen TEXT,
            location TEXT,
            received_at TEXT NOT NULL,
            tracking_code_hash TEXT,
            signature TEXT NOT NULL,
            category TEXT,
            polarity TEXT,
            intensity DOUBLE PRECISION,
            negative_intensity DOUBLE PRECISION,
            urgency TEXT,
            tags TEXT,
            classification TEXT,
            case_id TEXT,
            recorded_at TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS sent_messages_tenant ON sent_messages (tenant, received_at)",
        "CREATE INDEX IF NOT EXISTS sent_messages_code ON sent_messages (tracking_code_hash)",
        """CREATE TABLE IF NOT EXISTS sent_cases (
            case_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            source TEXT NOT NULL,
            kind TEXT NOT NULL,
            category TEXT NOT NULL,
            tags TEXT NOT NULL,
            urgency TEXT NOT NULL,
            status TEXT NOT NULL,
            unit TEXT,
            officer TEXT,
            opened_at TEXT NOT NULL,
            response_due TEXT NOT NULL,
            deadlines TEXT NOT NULL,
            message_count INTEGER NOT NULL,
            extension_pending BOOLEAN NOT NULL,
            response TEXT,
            responded_at TEXT,
            on_time BOOLEAN,
            published_at TEXT,
            published_url TEXT,
            satisfaction TEXT,
            escalation_level INTEGER NOT NULL,
            updated_at TEXT NOT NULL,
            version INTEGER NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS sent_cases_tenant ON sent_cases (tenant, opened_at)",
        """CREATE TABLE IF NOT EXISTS sent_case_steps (
            case_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            step TEXT NOT NULL,
            event_type TEXT NOT NULL,
            actor TEXT NOT NULL,
            at TEXT NOT NULL,
            detail TEXT NOT NULL,
            PRIMARY KEY (case_id, version)
        )""",
        """CREATE TABLE IF NOT EXISTS sent_hotspots (
            hotspot_id TEXT PRIMARY KEY,
            township TEXT NOT NULL,
            category TEXT NOT NULL,
            window_start TEXT NOT NULL,
            window_end TEXT NOT NULL,
            message_count INTEGER NOT NULL,
            negative_intensity DOUBLE PRECISION NOT NULL,
            crossed TEXT NOT NULL,
            detected_at TEXT NOT NULL
        )""",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        if not registry.knows(event.type):
            return
        e = registry.decode(event)
        if isinstance(e, MessageReceived):
            await tx.execute(
                """INSERT INTO sent_messages (message_id, tenant, source, kind, external_id, title,
                       text, citizen, location, received_at, tracking_code_hash, signature,
                       recorded_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                   ON CONFLICT (message_id) DO NOTHING""",
                str(e.message_id),
                event.tenant,
                e.source.value,
                e.kind.value,
                e.external_id,
                e.title,
                e.text,
                _json(e.citizen.model_dump(mode="json")) if e.citizen else None,
                e.location,
                _utc(e.received_at),
                e.tracking_code_hash,
                _json(signature(f"{e.title}\n{e.text}" if e.title else e.text)),
                _utc(event.recorded_at),
            )
        elif isinstance(e, MessageClassified):
            await tx.execute(
                """UPDATE sent_messages SET category = $1, polarity = $2, intensity = $3,
                       negative_intensity = $4, urgency = $5, tags = $6, classification = $7
                   WHERE message_id = $8""",
                e.category,
                e.polarity,
                e.intensity,
                e.intensity if e.polarity == "negative" else 0.0,
                e.urgency,
                _json([t.tag for t in e.tags]),
                _json(e.model_dump(mode="json")),
                str(e.message_id),
            )
        elif isinstance(e, MessageLinkedToCase):
            await tx.execute(
                "UPDATE sent_messages SET case_id = $1 WHERE message_id = $2",
                str(e.case_id),
                str(e.message_id),
            )
        elif isinstance(e, HotspotDetected):
            await tx.execute(
                """INSERT INTO sent_hotspots (hotspot_id, township, category, window_start,
                       window_end, message_count, negative_intensity, crossed, detected_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                   ON CONFLICT (hotspot_id) DO NOTHING""",
                event.stream_id,
                e.township,
                e.category,
                _utc(e.window_start),
                _utc(e.window_end),
                e.message_count,
                e.negative_intensity,
                _json(e.crossed),
                _utc(event.recorded_at),
            )
        elif event.stream_type == "opinion-case":
            await self._case(tx, event, e)

    async def _case(self, tx: Tx, event: RecordedEvent, e: Any) -> None:
        case_id = str(e.case_id)
        at = _utc(event.recorded_at)
        detail = {k: v for k, v in event.payload.items() if k not in ("case_id", "response")}
        await tx.execute(
            """INSERT INTO sent_case_steps (case_id, version, step, event_type, actor, at, detail)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (case_id, version) DO NOTHING""",
            case_id,
            event.version,
            STEP_NAMES.get(event.type, event.type),
            event.type,
            event.actor.id,
            at,
            _json(detail),
        )
        if isinstance(e, CaseOpened):
            await tx.execute(
                """INSERT INTO sent_cases (case_id, tenant, source, kind, category, tags, urgency,
                       status, opened_at, response_due, deadlines, message_count,
                       extension_pending, escalation_level, updated_at, version)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, 'opened', $8, $9, $10, 1, FALSE, 0,
                       $11, $12)
                   ON CONFLICT (case_id) DO NOTHING""",
                case_id,
                event.tenant,
                e.source.value,
                e.kind.value,
                e.category,
                _json(e.tags),
                e.urgency,
                _utc(e.opened_at),
                _utc(e.response_due),
                _json([d.model_dump(mode="json") for d in e.deadlines]),
                at,
                event.version,
            )
            return
        sets, args = _case_changes(e)
        sets.append(f"updated_at = ${len(args) + 1}")
        args.append(at)
        sets.append(f"version = ${len(args) + 1}")
        args.append(event.version)
        args.append(case_id)
        await tx.execute(
            f"UPDATE sent_cases SET {', '.join(sets)} WHERE case_id = ${len(args)} "
            f"AND version < ${len(args) - 1}",
            *args,
        )


def _case_changes(e: Any) -> tuple[list[str], list[Any]]:
    """Column changes of one case event, as `col = $n` with their arguments."""
    changes: dict[str, Any] = {}
    raw: list[str] = []
    if isinstance(e, CaseMessageAdded):
        raw.append("message_count = message_count + 1")
    elif isinstance(e, CaseAssigned):
        changes = {"status": "dispatched", "unit": e.unit, "officer": e.officer}
    elif isinstance(e, CaseAccepted):
        changes = {"status": "accepted"}
    elif isinstance(e, CaseReturned):
        changes = {"status": "returned", "unit": None}
    elif isinstance(e, CaseExtensionRequested):
        changes = {"extension_pending": True}
    elif isinstance(e, CaseExtensionDecided):
        changes = {"extension_pending": False, "response_due": _utc(e.response_due)}
    elif isinstance(e, CaseResponded):
        changes = {
            "status": "responded",
            "response": e.response,
            "responded_at": _utc(e.responded_at),
            "on_time": e.on_time,
        }
    elif isinstance(e, CaseResultPublished):
        changes = {"published_at": _utc(e.published_at), "published_url": e.url}
    elif isinstance(e, CaseFollowedUp):
        closed = e.satisfaction != "dissatisfied"
        changes = {"status": "closed" if closed else "dissatisfied", "satisfaction": e.satisfaction}
    elif isinstance(e, CaseReopened):
        changes = {
            "status": "reopened",
            "response_due": _utc(e.response_due),
            "escalation_level": 0,
            "published_at": None,
        }
    elif isinstance(e, CaseEscalated):
        changes = {"escalation_level": e.level}
    elif isinstance(e, CaseReminded):
        changes = {}
    args = list(changes.values())
    sets = raw + [f"{col} = ${i}" for i, col in enumerate(changes, start=1)]
    return sets, args


class ModelLedger:
    """The classifier's learning loop as read models: corrections of messages (the message
    view shows them beside the model's answer), registered models with their evaluation and
    status; and the table of shadow answers (each with whether it agreed with the live one)."""

    name = "sentiment.models"
    #: `sent_model_shadow` is created here but written by intake (SentimentHandlers) and left
    #: out of `tables`: shadow answers are measurements, not events, so a rebuild keeps them.
    tables: Sequence[str] = ("sent_message_corrections", "sent_models")
    schema: Sequence[str] = (
        """CREATE TABLE IF NOT EXISTS sent_message_corrections (
            message_id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            category TEXT NOT NULL,
            polarity TEXT NOT NULL,
            model_id TEXT NOT NULL,
            corrected_by TEXT NOT NULL,
            corrected_at TEXT NOT NULL,
            reason TEXT,
            corrections INTEGER NOT NULL,
            version INTEGER NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS sent_models (
            model_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            status TEXT NOT NULL,
            registered_at TEXT NOT NULL,
            training TEXT NOT NULL,
            evaluation TEXT,
            baseline TEXT,
            artefact TEXT NOT NULL,
            artefact_sha256 TEXT NOT NULL,
            shadow_messages INTEGER,
            shadow_started_at TEXT,
            live_model_at_shadow TEXT,
            decided_at TEXT,
            decided_by TEXT,
            reason TEXT
        )""",
        """CREATE TABLE IF NOT EXISTS sent_model_shadow (
            model_id TEXT NOT NULL,
            message_id TEXT NOT NULL,
            live_model_id TEXT NOT NULL,
            live_category TEXT NOT NULL,
            shadow_category TEXT NOT NULL,
            agrees BOOLEAN NOT NULL,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (model_id, message_id)
        )""",
    )

    async def apply(self, tx: Tx, event: RecordedEvent) -> None:
        if not registry.knows(event.type):
            return
        e = registry.decode(event)
        at = _utc(event.recorded_at)
        if isinstance(e, MessageClassificationCorrected):
            await tx.execute(
                """INSERT INTO sent_message_corrections (message_id, tenant, category, polarity,
                       model_id, corrected_by, corrected_at, reason, corrections, version)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9)
                   ON CONFLICT (message_id) DO UPDATE SET category = excluded.category,
                       polarity = excluded.polarity, corrected_by = excluded.corrected_by,
                       corrected_at = excluded.corrected_at, reason = excluded.reason,
                       corrections = sent_message_corrections.corrections + 1,
                       version = excluded.version
                   WHERE sent_message_corrections.version < excluded.version""",
                str(e.message_id),
                event.tenant,
                e.new_category,
                e.new_polarity.value,
                e.model_id,
                e.corrected_by,
                at,
                e.reason,
                event.version,
            )
        elif isinstance(e, ModelRegistered):
            await tx.execute(
                """INSERT INTO sent_models (model_id, kind, status, registered_at, training,
                       evaluation, baseline, artefact, artefact_sha256)
                   VALUES ($1, $2, 'registered', $3, $4, $5, $6, $7, $8)
                   ON CONFLICT (model_id) DO NOTHING""",
                e.model_id,
                e.kind,
                at,
                _json(e.training.model_dump(mode="json")),
                _json(e.evaluation.model_dump(mode="json")) if e.evaluation else None,
                _json(e.baseline.model_dump(mode="json")) if e.baseline else None,
                e.artefact,
                e.artefact_sha256,
            )
        elif isinstance(e, ModelShadowStarted):
            await tx.execute(
                """UPDATE sent_models SET status = 'shadow', shadow_messages = $1,
                       shadow_started_at = $2, live_model_at_shadow = $3 WHERE model_id = $4""",
                e.messages,
                at,
                e.live_model_id,
                e.model_id,
            )
        elif isinstance(e, ModelPromoted):
            await tx.execute(
                "UPDATE sent_models SET status = 'retired' WHERE status = 'live'",
            )
            await tx.execute(
                """UPDATE sent_models SET status = 'live', decided_at = $1, decided_by = $2,
                       reason = $3 WHERE model_id = $4""",
                at,
                event.actor.id,
                e.reason,
                e.model_id,
            )
        elif isinstance(e, ModelRolledBack):
            await tx.execute(
                """UPDATE sent_models SET status = 'rolled_back', decided_at = $1,
                       decided_by = $2, reason = $3 WHERE model_id = $4""",
                at,
                event.actor.id,
                e.reason,
                e.model_id,
            )
            if e.was == "live":
                await tx.execute(
                    "UPDATE sent_models SET status = 'live' WHERE model_id = $1",
                    e.live_model_id,
                )
