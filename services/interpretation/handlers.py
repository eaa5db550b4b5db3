"""Application layer of 政策解读: load streams -> decide (domain.py) -> append, guarded by versions.

Obligation commands are in obligation_handlers.py, the shared machinery in handler_base.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from services.interpretation import domain
from services.interpretation.commands import (
    DraftInterpretation,
    QualityCheck,
    Review,
    ReviseInterpretation,
)
from services.interpretation.handler_base import (
    DRAFTING_ROLES,
    PUBLISH_ROLES,
    REVIEW_ROLES,
    actor_of,
    interpretation_stream,
    obligation_stream,
)
from services.interpretation.obligation_handlers import ObligationHandlers
from shared.envelope import NewEvent, RecordedEvent, new_id
from shared.identity import Principal, authorize, require_not_same_person
from shared.registry import to_new_event
from shared.workdays import local_date

__all__ = ["InterpretationHandlers", "obligation_stream"]


class InterpretationHandlers(ObligationHandlers):
    # ------------------------------------------------------------------ interpretations

    async def check(self, cmd: QualityCheck, principal: Principal) -> dict[str, Any]:
        state = await self.obligation(cmd.document_id)
        authorize(principal, state.owner_unit, write=False)
        text = await self.policy_text(cmd.document_id)
        return domain.check_quality(cmd.content, text, self.quality).as_dict()

    async def draft(
        self, cmd: DraftInterpretation, principal: Principal, correlation_id: UUID
    ) -> tuple[list[RecordedEvent], dict[str, Any]]:
        obligation = await self.obligation(cmd.document_id)
        self.require_owner(principal, obligation.owner_unit, *DRAFTING_ROLES)
        await self.refuse_withdrawn(cmd.document_id)
        report = domain.check_quality(
            cmd.content, await self.policy_text(cmd.document_id), self.quality
        )
        interpretation_id = new_id()
        event = domain.draft(
            obligation,
            interpretation_id,
            obligation.owner_unit,
            principal.sub,
            cmd.content,
            domain.summary(report, self.quality),
            cmd.follow_up_id,
        )
        recorded = await self._append(
            (
                interpretation_stream(interpretation_id),
                "interpretation",
                0,
                [to_new_event(event, obligation.owner_unit, actor_of(principal), correlation_id)],
            )
        )
        return recorded, report.as_dict()

    async def revise(
        self,
        interpretation_id: UUID,
        cmd: ReviseInterpretation,
        principal: Principal,
        correlation_id: UUID,
        expected: int | None,
    ) -> tuple[list[RecordedEvent], dict[str, Any]]:
        state = await self.interpretation(interpretation_id)
        obligation = await self.obligation_of(state)
        self.require_owner(principal, obligation.owner_unit, *DRAFTING_ROLES)
        stream = interpretation_stream(interpretation_id)
        version = self._precondition(stream, expected, state.version)
        assert state.document_id is not None
        report = domain.check_quality(
            cmd.content, await self.policy_text(state.document_id), self.quality
        )
        event = domain.revise(
            state, obligation, principal.sub, cmd.content, domain.summary(report, self.quality)
        )
        recorded = await self._append(
            (
                stream,
                "interpretation",
                version,
                [to_new_event(event, state.unit, actor_of(principal), correlation_id)],
            )
        )
        return recorded, report.as_dict()

    async def review(
        self,
        interpretation_id: UUID,
        cmd: Review,
        principal: Principal,
        correlation_id: UUID,
        expected: int | None,
    ) -> list[RecordedEvent]:
        state = await self.interpretation(interpretation_id)
        obligation = await self.obligation_of(state)
        self.require_owner(principal, obligation.owner_unit, *REVIEW_ROLES)
        for author in sorted(state.authors):
            require_not_same_person(principal, author, "drafting")
        stream = interpretation_stream(interpretation_id)
        version = self._precondition(stream, expected, state.version)
        event = domain.review(state, obligation, principal.sub, cmd.approve, cmd.comment)
        return await self._append(
            (
                stream,
                "interpretation",
                version,
                [to_new_event(event, state.unit, actor_of(principal), correlation_id)],
            )
        )

    async def publish(
        self,
        interpretation_id: UUID,
        principal: Principal,
        correlation_id: UUID,
        expected: int | None,
    ) -> list[RecordedEvent]:
        state = await self.interpretation(interpretation_id)
        obligation = await self.obligation_of(state)
        self.require_owner(principal, obligation.owner_unit, *PUBLISH_ROLES)
        stream = interpretation_stream(interpretation_id)
        version = self._precondition(stream, expected, state.version)
        assert state.document_id is not None and state.content is not None
        await self.refuse_withdrawn(state.document_id)
        report = domain.check_quality(
            state.content, await self.policy_text(state.document_id), self.quality
        )
        now = self.clock()
        published, follow_on = domain.publish(
            state,
            obligation,
            report,
            self.quality,
            obligation.township,
            principal.sub,
            now,
            local_date(now),
        )
        actor = actor_of(principal)
        writes: list[tuple[str, str, int, Sequence[NewEvent]]] = [
            (
                stream,
                "interpretation",
                version,
                [to_new_event(published, state.unit, actor, correlation_id)],
            )
        ]
        if follow_on is not None:
            writes.append(
                (
                    obligation_stream(state.document_id),
                    "obligation",
                    obligation.version,
                    [to_new_event(follow_on, obligation.owner_unit, actor, correlation_id)],
                )
            )
        return await self._append(*writes)
