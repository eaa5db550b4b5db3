"""Application layer of the audit service: checkpoints and access events.

No command table (shared/commands.py): neither command acts on one instance the kernel
could load, authorize and decide on. A checkpoint appends to the one global stream of
checkpoints (created by the first one), for the chain's head, also from the job with no
caller; an access event appends to the reader's own access stream (shared.registry
`access_write`), created by the first read. Their routes (api.py) go through the one
command envelope, `shared.routes.run_command`; the reads are in queries.py, the job in
jobs.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import structlog

from services.audit import chain
from services.audit.events import CHECKPOINT_STREAM, ChainCheckpointed, PersonalDataRead
from shared.db import Database
from shared.envelope import SYSTEM_ACTOR, Actor, NewEvent, RecordedEvent, StreamWrite, new_id
from shared.eventstore import EventStore
from shared.identity import Principal, Role, require_role, require_write
from shared.registry import access_write, payload_of

log = structlog.get_logger("gongkai.audit")


@dataclass
class AuditHandlers:
    store: EventStore
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
