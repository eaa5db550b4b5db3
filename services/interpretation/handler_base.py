"""Shared machinery of the interpretation handlers: streams, loading, ownership, appends.

Authorization follows 谁起草、谁解读 (DOMAIN.md §3): acting on an obligation needs the
caller's org subtree to hold the owning unit (the drafting unit, the lead unit of a joint
document, or the unit it was delegated to). A refusal writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from services.interpretation import domain
from services.interpretation.domain import DeadlineRules, ObligationState
from services.interpretation.events import PolicyRegistered, registry
from services.interpretation.quality import QualityRules
from shared.envelope import Actor, NewEvent, StreamWrite
from shared.errors import DomainRuleViolated, Forbidden, NotFound
from shared.eventstore import EventStore
from shared.eventstore import version_conflict as _version_conflict
from shared.identity import Principal, Role, authorize, require_write
from shared.tenancy import OrgTree, is_within
from shared.workdays import WorkdayCalendar

DRAFTING_ROLES = (Role.DRAFTER, Role.SECTION_HEAD)
REVIEW_ROLES = (Role.SECTION_HEAD, Role.LEADER_IN_CHARGE, Role.PRINCIPAL_LEADER)
PUBLISH_ROLES = (*REVIEW_ROLES, Role.OPENNESS_OFFICE_HEAD)
DELEGATE_ROLES = PUBLISH_ROLES
REGISTER_ROLES = (Role.DRAFTER, Role.SECTION_HEAD, Role.OPENNESS_OFFICE_HEAD)
FOLLOW_UP_ROLES = (Role.SERVICE, Role.OPINION_OFFICER, Role.OPENNESS_OFFICE_HEAD)


def obligation_stream(document_id: UUID) -> str:
    return f"obligation-{document_id}"


def interpretation_stream(interpretation_id: UUID) -> str:
    return f"interpretation-{interpretation_id}"


def policy_stream(document_id: UUID) -> str:
    return f"policy-{document_id}"


def actor_of(principal: Principal) -> Actor:
    role = next(iter(sorted(principal.roles)))
    return Actor(id=principal.sub, kind=principal.kind, role=role.value)


def not_interpretable(document_id: UUID) -> NotFound:
    return NotFound(
        rule="policy.not_published",
        field="document_id",
        message_zh=(
            f"文件 {document_id} 未公开，或不属于需解读的文件"
            "（规范性文件、政策性文件、实施方案及拟稿人标记需解读的文件）"
        ),
        message_en=f"document {document_id} is not a published policy that needs interpretation",
    )


@dataclass
class HandlersBase:
    store: EventStore
    orgs: OrgTree
    calendar: Callable[[], WorkdayCalendar]
    clock: Callable[[], datetime]
    views: Any
    deadlines: DeadlineRules
    quality: QualityRules

    # ------------------------------------------------------------------ loading

    async def obligation(self, document_id: UUID) -> ObligationState:
        state = ObligationState()
        for e in await self.store.read_stream(obligation_stream(document_id)):
            state = domain.evolve_obligation(state, registry.decode(e))
        if state.status == "none":
            raise not_interpretable(document_id)
        return state

    async def obligation_of(self, state: domain.InterpretationState) -> ObligationState:
        """The obligation an interpretation answers: its current owner is who may act on the
        interpretation (a delegation after drafting moves that right; issue #5 audit)."""
        assert state.document_id is not None
        return await self.obligation(state.document_id)

    async def interpretation(self, interpretation_id: UUID) -> domain.InterpretationState:
        state = domain.InterpretationState()
        for e in await self.store.read_stream(interpretation_stream(interpretation_id)):
            state = domain.evolve_interpretation(state, registry.decode(e))
        if state.status == "none":
            raise NotFound(
                rule="interpretation.not_found",
                field="interpretation_id",
                message_zh=f"未找到解读 {interpretation_id}",
                message_en=f"interpretation {interpretation_id} not found",
            )
        return state

    async def policy_text(self, document_id: UUID) -> str:
        row = await self.views.fetchrow(
            "SELECT policy_text FROM itp_policies WHERE document_id = $1", str(document_id)
        )
        if row is not None:
            return str(row["policy_text"])
        for e in await self.store.read_stream(policy_stream(document_id)):
            decoded = registry.decode(e)
            if isinstance(decoded, PolicyRegistered):
                return decoded.text
        raise DomainRuleViolated(
            rule="policy.text_pending",
            field="document_id",
            message_zh="政策原文尚未同步，请稍后重试",
            message_en="the policy text has not arrived yet; retry shortly",
        )

    async def refuse_withdrawn(self, document_id: UUID) -> None:
        """A policy withdrawn in the catalog is not interpreted, even before the scheduler
        has cancelled its obligation (the inbox knows first)."""
        row = await self.views.fetchrow(
            "SELECT withdrawn FROM itp_policies WHERE document_id = $1", str(document_id)
        )
        if row is not None and row["withdrawn"]:
            raise DomainRuleViolated(
                rule="policy.withdrawn",
                field="document_id",
                message_zh="该政策文件已撤销，不再起草或发布其解读",
                message_en="the policy was withdrawn; it is no longer interpreted",
            )

    def require_owner(self, principal: Principal, owner_unit: str, *roles: Role) -> None:
        """谁起草、谁解读: only the owning unit (or those above it) acts on the obligation."""
        require_write(principal)
        if not is_within(owner_unit, principal.org):
            raise Forbidden(
                rule="obligation.not_owner",
                field="org",
                message_zh=(
                    f"谁起草、谁解读：该政策由 {owner_unit} 负责解读，{principal.org} 无权办理；"
                    "如需由其他单位解读，应由负责单位明确委托"
                ),
                message_en=(
                    f"whoever drafts interprets: {owner_unit} owns this interpretation, not "
                    f"{principal.org}; another unit acts only after an explicit delegation"
                ),
                details={"owner_unit": owner_unit, "principal_org": str(principal.org)},
            )
        authorize(principal, owner_unit, *roles)

    async def _append(self, *writes: tuple[str, str, int, Sequence[NewEvent]]) -> list[Any]:
        return await self.store.append(
            [
                StreamWrite(stream_id=s, stream_type=t, expected_version=v, events=tuple(es))
                for s, t, v, es in writes
            ]
        )

    @staticmethod
    def _precondition(stream: str, expected: int | None, current: int) -> int:
        if expected is not None and expected != current:
            raise _version_conflict(stream, expected, current)
        return current
