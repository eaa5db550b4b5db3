"""The document steps after drafting: attribute, review, privacy, publication, 撤稿, 废止."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from services.catalog import domain
from services.catalog.access import (
    JUSTIFYING_ROLES,
    PUBLISHING_ROLES,
    REDACTION_REASON,
    SIGNING_ROLES,
    WITHDRAWING_ROLES,
    DocumentAccess,
    document_stream,
)
from services.catalog.commands import (
    CheckAttribute,
    DetermineAttribute,
    JustifyFinding,
    ProposeAttribute,
    PublishDocument,
    RecordChannelStatus,
    RecordReview,
    RepealDocument,
    ReviseDocument,
    WithdrawDocument,
)
from services.catalog.events import PublicationChannel
from shared.envelope import SYSTEM_ACTOR, NewEvent, RecordedEvent, StreamWrite
from shared.errors import ConcurrencyConflict
from shared.identity import Principal, Role
from shared.registry import DomainEvent, payload_of
from shared.workdays import local_date


class DocumentSteps(DocumentAccess):
    """Each step: who may act (roles, duties), what the domain decides, one append."""

    async def revise(
        self,
        document_id: UUID,
        cmd: ReviseDocument,
        principal: Principal,
        correlation: UUID,
        expected: int | None,
    ) -> list[RecordedEvent]:
        state = await self.visible(document_id, principal)
        columns = await self.columns_of(state.township)
        today = local_date(self.clock())
        return await self._act(
            document_id,
            principal,
            correlation,
            expected,
            lambda s: (Role.DRAFTER,),
            lambda s: domain.revise(
                s, cmd.content, cmd.reason, today, columns, reviser=principal.sub
            ),
            self._separate(principal, "drafting"),
        )

    async def redact(
        self,
        document_id: UUID,
        fingerprints: frozenset[str] | None,
        principal: Principal,
        correlation: UUID,
        expected: int | None,
    ) -> list[RecordedEvent]:
        """删减: a new revision with the open findings masked, then scanned again."""
        today = local_date(self.clock())

        def decide(s: domain.DocumentState) -> Sequence[DomainEvent]:
            content = domain.redacted_content(s, fingerprints)
            reason = REDACTION_REASON if s.published_revision is not None else None
            columns = frozenset({content.column})
            return domain.revise(s, content, reason, today, columns, reviser=principal.sub)

        return await self._act(
            document_id,
            principal,
            correlation,
            expected,
            lambda s: (Role.DRAFTER,),
            decide,
            self._separate(principal, "drafting"),
        )

    async def propose(
        self,
        document_id: UUID,
        cmd: ProposeAttribute,
        principal: Principal,
        corr: UUID,
        exp: int | None,
    ) -> list[RecordedEvent]:
        return await self._act(
            document_id,
            principal,
            corr,
            exp,
            lambda s: (Role.DRAFTER,),
            lambda s: [domain.propose(s, cmd, principal.sub)],
            self._separate(principal, "drafting"),
        )

    async def check(
        self,
        document_id: UUID,
        cmd: CheckAttribute,
        principal: Principal,
        corr: UUID,
        exp: int | None,
    ) -> list[RecordedEvent]:
        return await self._act(
            document_id,
            principal,
            corr,
            exp,
            lambda s: (Role.ATTRIBUTE_OFFICER,),
            lambda s: [domain.check(s, cmd, principal.sub)],
            self._not_drafter(principal),
        )

    async def determine(
        self,
        document_id: UUID,
        cmd: DetermineAttribute,
        principal: Principal,
        corr: UUID,
        exp: int | None,
    ) -> list[RecordedEvent]:
        return await self._act(
            document_id,
            principal,
            corr,
            exp,
            lambda s: SIGNING_ROLES,
            lambda s: [domain.determine(s, cmd, principal.sub)],
            self._not_drafter(principal),
        )

    async def review(
        self,
        document_id: UUID,
        cmd: RecordReview,
        principal: Principal,
        corr: UUID,
        exp: int | None,
    ) -> list[RecordedEvent]:
        return await self._act(
            document_id,
            principal,
            corr,
            exp,
            lambda s: domain.stage_roles(s, cmd.stage),
            lambda s: [domain.review(s, cmd, principal.sub)],
            self._separate(principal, cmd.stage.value),
        )

    async def justify(
        self,
        document_id: UUID,
        cmd: JustifyFinding,
        principal: Principal,
        corr: UUID,
        exp: int | None,
    ) -> list[RecordedEvent]:
        return await self._act(
            document_id,
            principal,
            corr,
            exp,
            lambda s: JUSTIFYING_ROLES,
            lambda s: [domain.justify(s, cmd, principal.sub)],
            self._not_drafter(principal),
        )

    async def publish(
        self,
        document_id: UUID,
        cmd: PublishDocument,
        principal: Principal,
        corr: UUID,
        exp: int | None,
    ) -> list[RecordedEvent]:
        now = self.clock()
        today = local_date(now)
        calendar = self.calendar()
        return await self._act(
            document_id,
            principal,
            corr,
            exp,
            lambda s: PUBLISHING_ROLES,
            lambda s: [
                domain.publish(
                    s, cmd, publisher=principal.sub, now=now, today=today, calendar=calendar
                )
            ],
        )

    async def channel_status(
        self,
        document_id: UUID,
        channel: PublicationChannel,
        cmd: RecordChannelStatus,
        principal: Principal,
        corr: UUID,
        exp: int | None,
    ) -> list[RecordedEvent]:
        return await self._act(
            document_id,
            principal,
            corr,
            exp,
            lambda s: PUBLISHING_ROLES,
            lambda s: [domain.channel_status(s, channel, cmd)],
        )

    async def withdraw(
        self,
        document_id: UUID,
        cmd: WithdrawDocument,
        principal: Principal,
        corr: UUID,
        exp: int | None,
    ) -> list[RecordedEvent]:
        return await self._act(
            document_id,
            principal,
            corr,
            exp,
            lambda s: WITHDRAWING_ROLES,
            lambda s: [domain.withdraw(s, cmd, principal.sub)],
        )

    async def repeal(
        self,
        document_id: UUID,
        cmd: RepealDocument,
        principal: Principal,
        corr: UUID,
        exp: int | None,
    ) -> list[RecordedEvent]:
        today = local_date(self.clock())
        return await self._act(
            document_id,
            principal,
            corr,
            exp,
            lambda s: SIGNING_ROLES,
            lambda s: [domain.repeal(s, cmd, today)],
        )

    async def flag_overdue(self, document_id: UUID, correlation: UUID) -> RecordedEvent | None:
        """Record Art. 26 overdue once (the sweep's step; safe to repeat and to race)."""
        state = await self.load(document_id)
        event = domain.missed_deadline(state, local_date(self.clock()), self.calendar())
        if event is None:
            return None
        try:
            (recorded,) = await self.store.append(
                [
                    StreamWrite(
                        stream_id=document_stream(document_id),
                        stream_type="document",
                        expected_version=state.version,
                        events=(
                            NewEvent(
                                type=event.event_type,
                                schema_version=event.schema_version,
                                tenant=state.drafting_unit,
                                actor=SYSTEM_ACTOR,
                                correlation_id=correlation,
                                payload=payload_of(event),
                            ),
                        ),
                    )
                ]
            )
        except ConcurrencyConflict:
            return None  # the document moved on (or another sweep got there): next round
        return recorded
