"""Application layer of the audit service: checkpoints, access events, the checkpoint job."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import structlog

from services.audit import chain
from services.audit.events import CHECKPOINT_STREAM, ChainCheckpointed, PersonalDataRead
from shared.db import Database
from shared.envelope import SYSTEM_ACTOR, Actor, NewEvent, RecordedEvent, StreamWrite, new_id
from shared.eventstore import SqlEventStore
from shared.identity import Principal, Role, require_role, require_write
from shared.registry import access_write, payload_of

log = structlog.get_logger("gongkai.audit")


def checkpoint_record(event: RecordedEvent) -> dict[str, Any]:
    """One exported checkpoint; `statement` is the exact text an operator signs."""
    p = event.payload
    statement = (
        f"gongkai audit chain seq={p['seq']} count={p['count']} head={p['head_hash']} "
        f"at={chain.time_key(event.recorded_at)}"
    )
    return {
        "seq": p["seq"],
        "count": p["count"],
        "head_hash": p["head_hash"],
        "reason": p["reason"],
        "checkpointed_at": chain.time_key(event.recorded_at),
        "event_id": str(event.event_id),
        "statement": statement,
    }


async def read_checkpoints(store: SqlEventStore) -> list[RecordedEvent]:
    return [e for e in await store.read_stream(CHECKPOINT_STREAM) if e.type == "ChainCheckpointed"]


@dataclass
class AuditHandlers:
    store: SqlEventStore
    views: Database
    clock: Callable[[], datetime]
    district: str
    #: A checkpoint every this many chained events, or every `checkpoint_minutes` when the
    #: chain grew (GONGKAI_AUDIT_CHECKPOINT_EVERY / _MINUTES, read by service.py).
    checkpoint_every: int = 1000
    checkpoint_minutes: float = 60.0
    #: How often the job asks `checkpoint_if_due` (GONGKAI_AUDIT_CHECKPOINT_POLL).
    poll_seconds: float = 5.0

    async def checkpoint(
        self, reason: str, caller: Principal | None = None, correlation: UUID | None = None
    ) -> RecordedEvent | None:
        """Append ChainCheckpointed for the current head; None if the chain is empty.

        An operator asks for one (administrator, never an auditor: auditor.read_only);
        the job takes them every N events or T minutes.
        """
        actor = SYSTEM_ACTOR
        if caller is not None:
            require_write(caller)
            require_role(caller, Role.ADMINISTRATOR)
            actor = Actor(id=caller.sub, kind=caller.kind, role=Role.ADMINISTRATOR.value)
        await chain.setup_chain(self.views)
        seq, head_hash = await chain.head(self.views)
        if seq == 0:
            return None
        payload = ChainCheckpointed(seq=seq, count=seq, head_hash=head_hash, reason=reason)
        event = NewEvent(
            type=ChainCheckpointed.event_type,
            tenant=self.district,
            actor=actor,
            correlation_id=correlation or new_id(),
            occurred_at=self.clock(),
            payload=payload_of(payload),
        )
        [recorded] = await self.store.append(
            [
                StreamWrite(
                    stream_id=CHECKPOINT_STREAM, stream_type="chain-checkpoint", events=(event,)
                )
            ]
        )
        log.info("audit.checkpointed", seq=seq, reason=reason)
        return recorded

    async def last_checkpoint(self) -> RecordedEvent | None:
        version = await self.store.stream_version(CHECKPOINT_STREAM)
        if version == 0:
            return None
        events = await self.store.read_stream(CHECKPOINT_STREAM, after_version=version - 1)
        return events[-1] if events else None

    async def checkpoint_if_due(self) -> RecordedEvent | None:
        seq, _ = await chain.head(self.views)
        last = await self.last_checkpoint()
        last_seq = 0 if last is None else int(last.payload["seq"])
        if seq <= last_seq:
            return None
        if seq - last_seq >= self.checkpoint_every:
            return await self.checkpoint("every_n")
        since = None if last is None else self.clock() - last.recorded_at
        if since is None or since >= timedelta(minutes=self.checkpoint_minutes):
            return await self.checkpoint("interval")
        return None

    async def record_access(
        self,
        reader: str,
        *,
        tenant: str,
        subject_ref: str,
        service: str,
        endpoint: str,
        fields: list[str],
    ) -> RecordedEvent:
        """`reader` (a person id) read a data subject's personal data: the access trail.

        The event carries references and field NAMES only, never the values read.
        """
        payload = PersonalDataRead(
            subject_ref=subject_ref, source_service=service, endpoint=endpoint, fields=fields
        )
        write = access_write(payload, tenant, Actor(id=reader, kind="user", role=None))
        [recorded] = await self.store.append([write])
        return recorded


async def checkpoint_job(runtime: Any, suite: Any, stop: asyncio.Event) -> None:
    """Take a checkpoint every N events or T minutes; runs where the API runs."""
    handlers: AuditHandlers = runtime.handlers
    await chain.setup_chain(runtime.views)
    while not stop.is_set():
        try:
            await handlers.checkpoint_if_due()
        except Exception as exc:  # a transient database error must not end the job
            log.warning("audit.checkpoint_failed", error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), handlers.poll_seconds)
