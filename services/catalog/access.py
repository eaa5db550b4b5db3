"""Who may act on a document, and the one shape every document command has.

Staff of the document's township (or above it) see and act on its documents; anyone
else gets 404, so another township's documents do not leak (decision 5 of
docs/decisions.md). Each step needs its role; one person never holds two duties on
one document [ours]; refusals come before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.catalog import domain
from services.catalog.columns import SEED_CODES
from services.catalog.events import DocumentRevised, registry
from shared.envelope import Actor, NewEvent, RecordedEvent, StreamWrite
from shared.errors import NotFound
from shared.eventstore import EventStore
from shared.eventstore import version_conflict as _version_conflict
from shared.identity import (
    Principal,
    Role,
    require_not_same_person,
    require_role,
    require_write,
    within_scope,
)
from shared.registry import DomainEvent, payload_of
from shared.tenancy import OrgTree
from shared.workdays import WorkdayCalendar

PUBLISHING_ROLES = (
    Role.DRAFTER,
    Role.OPENNESS_OFFICE_HEAD,
    Role.LEADER_IN_CHARGE,
    Role.PRINCIPAL_LEADER,
)
JUSTIFYING_ROLES = (
    Role.SECTION_HEAD,
    Role.LEADER_IN_CHARGE,
    Role.PRINCIPAL_LEADER,
    Role.OPENNESS_OFFICE_HEAD,
)
SIGNING_ROLES = (Role.LEADER_IN_CHARGE, Role.PRINCIPAL_LEADER)
WITHDRAWING_ROLES = (Role.OPENNESS_OFFICE_HEAD, Role.LEADER_IN_CHARGE, Role.PRINCIPAL_LEADER)
COLUMN_ROLES = (Role.OPENNESS_OFFICE_HEAD, Role.ADMINISTRATOR)
NUMBERING_ATTEMPTS = 50
REDACTION_REASON = "隐私信息删减"


def document_stream(document_id: UUID) -> str:
    return f"document-{document_id}"


def column_stream(township: str) -> str:
    return f"catalog-columns-{township}"


def gazette_stream(township: str, year: int) -> str:
    return f"gazette-{township}-{year}"


def not_found(document_id: UUID | str) -> NotFound:
    return NotFound(
        rule="document.not_found",
        field="document_id",
        message_zh=f"未找到文件 {document_id}",
        message_en=f"document {document_id} not found",
    )


Decide = Callable[[domain.DocumentState], Sequence[DomainEvent]]


@dataclass
class DocumentAccess:
    store: EventStore
    orgs: OrgTree
    calendar: Callable[[], WorkdayCalendar]
    clock: Callable[[], datetime]

    # ---------------------------------------------------------------- helpers

    def home(self, org: str) -> str:
        """The township an org belongs to; the district itself for district-level units."""
        township = self.orgs.township_of(org)
        return str(township.path if township else self.orgs.district.path)

    def can_see(self, principal: Principal, state: domain.DocumentState) -> bool:
        """In scope, or staff of the same township (units of one township review together)."""
        if within_scope(principal, state.drafting_unit):
            return True
        return str(principal.org) in self.orgs and self.home(principal.org) == state.township

    async def load(self, document_id: UUID) -> domain.DocumentState:
        events = await self.store.read_stream(document_stream(document_id))
        state = domain.DocumentState()
        for event in events:
            decoded = registry.decode(event)
            if isinstance(decoded, DocumentRevised) and decoded.revised_by is None:
                # A v1 revision did not name its reviser; the envelope's actor wrote it.
                decoded = decoded.model_copy(update={"revised_by": event.actor.id})
            state = domain.evolve(state, decoded)
        return state

    async def visible(self, document_id: UUID, principal: Principal) -> domain.DocumentState:
        state = await self.load(document_id)
        if not state.exists or not self.can_see(principal, state):
            raise not_found(document_id)
        return state

    async def columns_of(self, township: str) -> frozenset[str]:
        events = await self.store.read_stream(column_stream(township))
        return SEED_CODES | {str(e.payload["code"]) for e in events}

    def _event(
        self, event: DomainEvent, tenant: str, principal: Principal, role: Role, correlation: UUID
    ) -> NewEvent:
        return NewEvent(
            type=event.event_type,
            schema_version=event.schema_version,
            tenant=tenant,
            actor=Actor(id=principal.sub, kind=principal.kind, role=role.value),
            correlation_id=correlation,
            payload=payload_of(event),
        )

    async def _act(
        self,
        document_id: UUID,
        principal: Principal,
        correlation: UUID,
        expected: int | None,
        roles: Callable[[domain.DocumentState], tuple[Role, ...]],
        decide: Decide,
        separate: Callable[[domain.DocumentState], None] = lambda s: None,
    ) -> list[RecordedEvent]:
        """The shape of every document command; refusals happen before anything is written."""
        state = await self.visible(document_id, principal)
        require_write(principal)
        needed = roles(state)
        require_role(principal, *needed)
        if expected is not None and expected != state.version:
            # A precondition is judged before the command itself (RFC 9110 §13.2.2).
            raise _version_conflict(document_stream(document_id), expected, state.version)
        separate(state)
        events = decide(state)
        role = next(r for r in needed if r in principal.roles)
        return await self.store.append(
            [
                StreamWrite(
                    stream_id=document_stream(document_id),
                    stream_type="document",
                    expected_version=state.version,
                    events=tuple(
                        self._event(e, state.drafting_unit, principal, role, correlation)
                        for e in events
                    ),
                )
            ]
        )

    @staticmethod
    def _separate(principal: Principal, duty: str) -> Callable[[domain.DocumentState], None]:
        """One person, one duty per document: refuse anyone who held another duty."""

        def check(state: domain.DocumentState) -> None:
            for person, held in sorted(state.duties.items()):
                for other in sorted(held - {duty}):
                    require_not_same_person(principal, person, other)

        return check

    @staticmethod
    def _not_drafter(principal: Principal) -> Callable[[domain.DocumentState], None]:
        def check(state: domain.DocumentState) -> None:
            for person, held in sorted(state.duties.items()):
                if "drafting" in held:
                    require_not_same_person(principal, person, "drafting")

        return check
