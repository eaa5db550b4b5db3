"""Application layer of 行政执法公示: the command table the kernel runs (publish, annul,
信用修复) and the steps written by hand because they may create the stream: recording a
legal review and recording a decision (the stream id is derived from the decision's
township, kind and reference, so a retry or a re-imported file is recorded once).

A refusal writes nothing: every check runs before the one append.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from pydantic import BaseModel

from services.enforcement import commands as c
from services.enforcement import domain
from services.enforcement.domain import DecisionInput, DecisionState, Rules
from services.enforcement.events import LegalReviewRecorded, registry
from shared.commands import Aggregate, Command, CommandTable, Context, Deps, acting_role, actor_of
from shared.envelope import Actor, RecordedEvent, StreamWrite
from shared.errors import ConcurrencyConflict
from shared.eventstore import EventStore
from shared.identity import Principal, Role, authorize
from shared.registry import DomainEvent, to_new_event
from shared.tenancy import OrgTree
from shared.workdays import WorkdayCalendar, local_date

__all__ = ["DECISIONS", "DECISION_COMMANDS", "SCHEDULER", "EnforcementHandlers"]

#: The unit's approval or enforcement system (service account), or its staff.
RECORD_ROLES = (Role.SERVICE, Role.SECTION_HEAD, Role.LEADER_IN_CHARGE, Role.PRINCIPAL_LEADER)
#: 法制审核 is recorded by the reviewing office's system or its leaders.
REVIEW_ROLES = RECORD_ROLES
PUBLISH_ROLES = (
    Role.OPENNESS_OFFICE_HEAD,
    Role.SECTION_HEAD,
    Role.LEADER_IN_CHARGE,
    Role.PRINCIPAL_LEADER,
    Role.SERVICE,
)
SCHEDULER = Actor(id="enforcement-scheduler", kind="service", role="service")

DECISIONS: Aggregate[DecisionState] = Aggregate(
    kind="enforcement",
    id_field="decision_id",
    label_zh="执法决定",
    label_en="enforcement decision",
    registry=registry,
    initial=DecisionState,
    evolve=domain.evolve,
    tenant=lambda state, events: state.unit,
    noun="decision",
)


def _answer(events: Sequence[RecordedEvent], instance: UUID) -> dict[str, Any]:
    last = events[-1]
    return {
        "decision_id": str(instance),
        "version": last.version,
        "events": [e.type for e in events],
        "event_ids": [str(e.event_id) for e in events],
        **{k: v for k, v in last.payload.items() if k not in ("decision_id", "text")},
    }


class Runtime(Deps, Protocol):
    @property
    def handlers(self) -> EnforcementHandlers: ...


async def _for_publication(
    rt: Runtime, state: DecisionState, cmd: BaseModel, p: Principal, t: str
) -> Mapping[str, Any]:
    h = rt.handlers
    return {"unit_name": str(h.orgs.get(state.unit).name), "rules": h.rules}


async def _rules(
    rt: Runtime, state: DecisionState, cmd: BaseModel, p: Principal, t: str
) -> Mapping[str, Any]:
    return {"rules": rt.handlers.rules}


def _publish(state: DecisionState, cmd: c.Publish, x: Context) -> DomainEvent:
    return domain.publish(
        state,
        x.given["unit_name"],
        cmd.summary,
        x.calendar,
        x.today,
        x.given["rules"],
        x.principal.sub,
    )


DECISION_COMMANDS: CommandTable[DecisionState] = CommandTable(
    aggregate=DECISIONS,
    prefix="/v1/enforcement/decisions",
    tag="enforcement 行政执法公示",
    answer=_answer,
    commands=(
        Command(
            "publish",
            c.Publish,
            "执法决定公示",
            "Publish the decision, masked and checked by the privacy guard",
            PUBLISH_ROLES,
            _publish,
            prepare=_for_publication,
            basis=domain.BASIS_PUBLICATION,
        ),
        Command(
            "annul",
            c.Annul,
            "决定变更或撤销",
            "Record that the decision was changed, revoked, or confirmed illegal or void; "
            "a public decision is withdrawn at once",
            RECORD_ROLES,
            lambda s, cmd, x: domain.annul(
                s, cmd.outcome, cmd.annulled_on, cmd.basis, x.calendar, x.today, x.principal.sub
            ),
            basis=domain.BASIS_WITHDRAWAL,
        ),
        Command(
            "credit-repair",
            c.CreditRepair,
            "信用修复",
            "End a penalty's publication early after its minimum period (信用修复)",
            PUBLISH_ROLES,
            lambda s, cmd, x: domain.credit_repair(
                s, x.today, x.given["rules"], x.principal.sub, cmd.basis
            ),
            prepare=_rules,
            basis="《失信行为纠正后的信用信息修复管理办法（试行）》（国家发展改革委令2023年第58号）",
        ),
    ),
)


def _input(cmd: c.RecordDecision, unit: str) -> DecisionInput:
    return DecisionInput(
        unit=unit,
        kind=cmd.kind,
        action=cmd.action,
        reference=cmd.reference,
        title=cmd.title,
        facts=cmd.facts,
        legal_basis=tuple(cmd.legal_basis),
        party=cmd.party,
        amount_yuan=cmd.amount_yuan,
        decided_on=cmd.decided_on,
        major=cmd.major,
        records=tuple(cmd.records),
        publish=cmd.publish,
        not_published_reason=cmd.not_published_reason,
        source=cmd.source,
    )


@dataclass
class EnforcementHandlers:
    store: EventStore
    orgs: OrgTree
    calendar: Callable[[], WorkdayCalendar]
    clock: Callable[[], datetime]
    views: Any
    rules: Rules

    def _placed(
        self, unit: str | None, principal: Principal, roles: tuple[Role, ...]
    ) -> tuple[str, str]:
        """The unit (default: the caller's org) and its township, authorized."""
        target = unit or str(principal.org)
        self.orgs.get(target)  # an unknown unit is 404 org.unknown
        authorize(principal, target, *roles)
        township = self.orgs.township_of(target)
        return target, str(township.path) if township else target

    async def _state(self, did: UUID) -> tuple[DecisionState, list[RecordedEvent]]:
        events = list(await self.store.read_stream(DECISIONS.stream(did)))
        return DECISIONS.fold(events), events

    async def record_review(
        self, cmd: c.RecordReview, principal: Principal, correlation_id: UUID
    ) -> dict[str, Any]:
        unit, township = self._placed(cmd.unit, principal, REVIEW_ROLES)
        did = domain.decision_id(township, cmd.kind, cmd.reference)
        state, _ = await self._state(did)
        event = domain.record_review(
            state,
            did,
            township,
            unit,
            cmd.kind,
            cmd.reference,
            cmd.reviewer,
            cmd.opinion,
            cmd.approved,
            cmd.reviewed_on,
            local_date(self.clock()),
            principal.sub,
        )
        actor = actor_of(principal, acting_role(principal, REVIEW_ROLES))
        (recorded,) = await self.store.append(
            [_write(did, state.version, unit, actor, correlation_id, event)]
        )
        return {
            "decision_id": str(did),
            "version": recorded.version,
            "event_id": str(recorded.event_id),
            "approved": cmd.approved,
        }

    def precheck(
        self, cmd: c.RecordDecision, principal: Principal
    ) -> tuple[UUID, str, DecisionInput]:
        """Authorized and well-formed, or refused; the decision's id and township."""
        unit, township = self._placed(cmd.unit, principal, RECORD_ROLES)
        d = _input(cmd, unit)
        domain.check(d, local_date(self.clock()), self.rules)
        return domain.decision_id(township, d.kind, d.reference), township, d

    async def is_recorded(self, cmd: c.RecordDecision, principal: Principal) -> bool:
        """Whether the import row's decision is in (its review is then not recorded again);
        checks the row first, so a bad row records no review either."""
        did, _, _ = self.precheck(cmd, principal)
        state, _ = await self._state(did)
        return state.decision is not None

    async def record_decision(
        self, cmd: c.RecordDecision, principal: Principal, correlation_id: UUID
    ) -> dict[str, Any]:
        """Check, derive the stream, and record once; the same decision again is a duplicate."""
        did, township, d = self.precheck(cmd, principal)
        for attempt in range(2):
            state, events = await self._state(did)
            if state.decision is not None and state.decision.fingerprint == domain.fingerprint(d):
                return {"decision_id": str(did), "duplicate": True}
            event = domain.record_decision(
                state, did, township, d, self.calendar(), principal.sub, _review_id(events)
            )
            actor = actor_of(principal, acting_role(principal, RECORD_ROLES))
            try:
                (recorded,) = await self.store.append(
                    [_write(did, state.version, d.unit, actor, correlation_id, event)]
                )
            except ConcurrencyConflict:
                if attempt:
                    raise
                continue  # a concurrent sending of the same decision: judge again
            return {
                "decision_id": str(did),
                "duplicate": False,
                "version": recorded.version,
                "event_id": str(recorded.event_id),
                "must_publish": event.must_publish,
                "publication_due": event.publication_due.isoformat()
                if event.publication_due
                else None,
            }
        raise AssertionError("unreachable")

    async def scheduler_step(self, did: UUID, today: date) -> int:
        """Overdue publications are flagged once; periods that ended are withdrawn."""
        state, _ = await self._state(did)
        event: DomainEvent | None = domain.overdue(state, today) or domain.period_ended(
            state, today, SCHEDULER.id
        )
        if event is None:
            return 0
        try:
            await self.store.append(
                [_write(did, state.version, state.unit, SCHEDULER, None, event)]
            )
        except ConcurrencyConflict:
            return 0  # changed meanwhile: decided again next tick
        return 1


def _review_id(events: Sequence[RecordedEvent]) -> UUID | None:
    """The event id of the latest approving legal review on the stream."""
    found: UUID | None = None
    for e in events:
        if e.type == LegalReviewRecorded.event_type and e.payload.get("approved") is True:
            found = e.event_id
    return found


def _write(
    did: UUID,
    expected: int,
    tenant: str,
    actor: Actor,
    correlation_id: UUID | None,
    event: DomainEvent,
) -> StreamWrite:
    return StreamWrite(
        stream_id=DECISIONS.stream(did),
        stream_type=DECISIONS.kind,
        expected_version=expected,
        events=(to_new_event(event, tenant, actor, correlation_id),),
    )
