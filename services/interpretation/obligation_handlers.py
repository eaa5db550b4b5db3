"""Commands on obligations: open (from the catalog), register by hand, delegate, follow up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from services.interpretation import domain
from services.interpretation.commands import (
    Delegate,
    RegisterPolicy,
    RequestFollowUp,
)
from services.interpretation.domain import PolicyFacts
from services.interpretation.events import PolicyRegistered, PolicySource
from services.interpretation.handler_base import (
    DELEGATE_ROLES,
    FOLLOW_UP_ROLES,
    REGISTER_ROLES,
    HandlersBase,
    actor_of,
    obligation_stream,
    policy_stream,
)
from shared.envelope import Actor, RecordedEvent, new_id
from shared.errors import ConcurrencyConflict, DomainRuleViolated
from shared.identity import Principal, authorize
from shared.registry import to_new_event
from shared.workdays import local_date

#: The follow-up stage's reason is at most this long (the command's limit).
MAX_REASON_CHARS = 2000
SCHEDULER = Actor(id="interpretation-scheduler", kind="service", role="service")


@dataclass(frozen=True)
class MisreadingReport:
    """A case the sentiment service linked to a misread policy (its PolicyMisreadingReported)."""

    case_id: str
    misreading: str
    reported_by: str
    correlation_id: UUID | None = None


def misreading_reason(reports: Sequence[MisreadingReport]) -> str:
    """One reason for a stage from the cases' misreadings: 误读政策（舆情案件 …）：…"""
    parts = [f"误读政策（舆情案件 {r.case_id}）：{r.misreading}" for r in reports]
    reason = "；".join(parts)
    return reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 1] + "…"


class ObligationHandlers(HandlersBase):
    # ------------------------------------------------------------------ obligations

    async def open_from_policy(self, policy: PolicyFacts) -> RecordedEvent | None:
        """The scheduler's step for a catalog publication: open the obligation once."""
        event = domain.open_obligation(policy, self.calendar(), self.deadlines)
        if event is None:
            return None
        actor = Actor(id="interpretation-scheduler", kind="service", role="service")
        try:
            (recorded,) = await self._append(
                (
                    obligation_stream(policy.document_id),
                    "obligation",
                    0,
                    [to_new_event(event, policy.lead_unit, actor, None)],
                )
            )
        except ConcurrencyConflict:
            return None  # already open
        return recorded

    async def register_policy(
        self, cmd: RegisterPolicy, principal: Principal, correlation_id: UUID
    ) -> list[RecordedEvent]:
        authorize(principal, cmd.lead_unit, *REGISTER_ROLES)
        self.orgs.get(cmd.lead_unit)
        for unit in cmd.joint_units:
            self.orgs.get(unit)
        township = self.orgs.township_of(cmd.lead_unit)
        township_path = str(township.path) if township else cmd.lead_unit
        today = local_date(self.clock())
        if cmd.published_on > today:
            raise DomainRuleViolated(
                rule="policy.published_in_future",
                field="published_on",
                message_zh="公开日期不能晚于今天",
                message_en="the publication date cannot be after today",
            )
        document_id = cmd.document_id or new_id()
        facts = PolicyFacts(
            document_id=document_id,
            township=township_path,
            lead_unit=cmd.lead_unit,
            joint_units=tuple(cmd.joint_units),
            title=cmd.title,
            document_number=cmd.document_number,
            kind=cmd.kind,
            flagged=cmd.needs_interpretation,
            published_on=cmd.published_on,
            source=PolicySource.manual,
        )
        required = domain.open_obligation(facts, self.calendar(), self.deadlines)
        if required is None:
            raise DomainRuleViolated(
                rule="policy.needs_no_interpretation",
                field="kind",
                message_zh="该类文件无需解读；如确需解读，请标记 needs_interpretation",
                message_en="this kind of document needs no interpretation unless flagged",
            )
        registered = PolicyRegistered(
            document_id=document_id,
            township=township_path,
            lead_unit=cmd.lead_unit,
            joint_units=cmd.joint_units,
            title=cmd.title,
            document_number=cmd.document_number,
            kind=cmd.kind,
            flagged=cmd.needs_interpretation,
            text=cmd.text,
            published_on=cmd.published_on,
            registered_by=principal.sub,
        )
        actor = actor_of(principal)
        try:
            return await self._append(
                (
                    policy_stream(document_id),
                    "policy",
                    0,
                    [to_new_event(registered, cmd.lead_unit, actor, correlation_id)],
                ),
                (
                    obligation_stream(document_id),
                    "obligation",
                    0,
                    [to_new_event(required, cmd.lead_unit, actor, correlation_id)],
                ),
            )
        except ConcurrencyConflict:
            raise DomainRuleViolated(
                rule="policy.already_registered",
                field="document_id",
                message_zh="该政策已登记解读任务",
                message_en="this policy already has an interpretation obligation",
            ) from None

    async def delegate(
        self,
        document_id: UUID,
        cmd: Delegate,
        principal: Principal,
        correlation_id: UUID,
        expected: int | None,
    ) -> list[RecordedEvent]:
        state = await self.obligation(document_id)
        stream = obligation_stream(document_id)
        self.require_owner(principal, state.owner_unit, *DELEGATE_ROLES)
        version = self._precondition(stream, expected, state.version)
        self.orgs.get(cmd.to_unit)
        event = domain.delegate(state, cmd.to_unit, cmd.reason, principal.sub)
        return await self._append(
            (
                stream,
                "obligation",
                version,
                [to_new_event(event, state.owner_unit, actor_of(principal), correlation_id)],
            )
        )

    async def follow_up_from_cases(
        self, document_id: UUID, reports: Sequence[MisreadingReport]
    ) -> RecordedEvent | None:
        """The scheduler's step for misreading cases (the sentiment service's events): the same
        follow-up as POST /obligations/{id}/follow-ups, decided on the obligation's own stream
        and appended with its version, so a redelivered report or a second scheduler never
        opens a stage twice."""
        if not reports:
            return None
        state = await self.obligation(document_id)
        event = domain.follow_up_for_cases(
            state,
            new_id(),
            [r.case_id for r in reports],
            misreading_reason(reports),
            reports[0].reported_by,
            local_date(self.clock()),
            self.calendar(),
            self.deadlines,
        )
        if event is None:
            return None
        new_event = to_new_event(event, state.owner_unit, SCHEDULER, reports[0].correlation_id)
        try:
            (recorded,) = await self._append(
                (obligation_stream(document_id), "obligation", state.version, [new_event])
            )
        except ConcurrencyConflict:
            return None  # the obligation changed meanwhile: decide again next tick
        return recorded

    async def request_follow_up(
        self, document_id: UUID, cmd: RequestFollowUp, principal: Principal, correlation_id: UUID
    ) -> list[RecordedEvent]:
        state = await self.obligation(document_id)
        authorize(principal, state.township, *FOLLOW_UP_ROLES)
        event = domain.request_follow_up(
            state,
            new_id(),
            cmd.case_ids,
            cmd.reason,
            principal.sub,
            local_date(self.clock()),
            self.calendar(),
            self.deadlines,
        )
        return await self._append(
            (
                obligation_stream(document_id),
                "obligation",
                state.version,
                [to_new_event(event, state.owner_unit, actor_of(principal), correlation_id)],
            )
        )
