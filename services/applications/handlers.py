"""Application layer of 依申请公开: load -> decide -> append with the expected version."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from services.applications import clock, domain, lifecycle_handlers, reviews
from services.applications.commands import AssignRequest, RegisterRequest
from services.applications.events import ApplicantDataRead, RegistrationNumberIssued, registry
from shared.envelope import Actor, RecordedEvent, StreamWrite, new_id
from shared.errors import ConcurrencyConflict, NotFound
from shared.eventstore import EventStore
from shared.eventstore import version_conflict as _version_conflict
from shared.identity import Principal, Role, authorize, within_scope
from shared.registry import access_write, to_new_event
from shared.tenancy import OrgTree
from shared.workdays import WorkdayCalendar, local_date

HANDLING_ROLES = (Role.REQUEST_HANDLER, Role.OPENNESS_OFFICE_HEAD)
NUMBERING_ATTEMPTS = 50


def request_stream(request_id: UUID) -> str:
    return f"request-{request_id}"


def register_stream(tenant: str, year: int) -> str:
    return f"request-register-{tenant}-{year}"


def actor_of(principal: Principal, role: Role) -> Actor:
    return Actor(id=principal.sub, kind=principal.kind, role=role.value)


@dataclass
class ApplicationsHandlers:
    store: EventStore
    orgs: OrgTree
    calendar: Callable[[], WorkdayCalendar]
    clock: Callable[[], datetime]
    views: Any = None
    #: Per register stream: a lock, so this process's registrations of one township take
    #: turns instead of conflicting, and the register's version as of this process's last
    #: append, so a registration is one round trip (the append) instead of two.
    _turns: dict[str, asyncio.Lock] = field(default_factory=dict, init=False, repr=False)
    _registers: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    async def execute(
        self,
        name: str,
        request_id: UUID,
        cmd: Any,
        principal: Principal,
        correlation_id: UUID,
        expected_version: int | None,
        sub_id: UUID | None = None,
    ) -> RecordedEvent:
        """Run one lifecycle command (lifecycle_handlers.COMMANDS) on a request."""
        return await lifecycle_handlers.execute(
            self, name, request_id, cmd, principal, correlation_id, expected_version, sub_id
        )

    async def record_applicant_read(
        self,
        principal: Principal,
        request_ids: list[str],
        endpoint: str,
        correlation_id: UUID,
    ) -> None:
        """Record that `principal` was shown these requests' applicant identity."""
        event = ApplicantDataRead(
            request_ids=[UUID(i) for i in request_ids], endpoint=endpoint, fields=["applicant"]
        )
        actor = actor_of(principal, _acting_role(principal))
        await self.store.append([access_write(event, str(principal.org), actor, correlation_id)])

    async def clock_of(self, request_id: UUID, principal: Principal) -> dict[str, Any]:
        """The reply clock as of today, with its explanation (clock.py), for one request."""
        state, tenant = await self.load(request_id)
        if not within_scope(principal, tenant):
            raise _not_found(request_id)
        view = clock.compute(state, self.calendar(), local_date(self.clock())).as_dict()
        return {"request_id": str(request_id), "status": state.status, **view}

    async def history(self, request_id: UUID, principal: Principal) -> list[dict[str, Any]]:
        """The request's events without personal data: what happened, when, by whom."""
        events = await self.store.read_stream(request_stream(request_id))
        if not events or not within_scope(principal, events[0].tenant):
            raise _not_found(request_id)
        return [
            {
                "version": e.version,
                "type": e.type,
                "recorded_at": e.recorded_at.isoformat(),
                "actor": e.actor.id,
                "payload": {k: v for k, v in e.payload.items() if k != "applicant"},
            }
            for e in events
        ]

    async def register(
        self, cmd: RegisterRequest, principal: Principal, correlation_id: UUID
    ) -> RecordedEvent:
        """Register a request with the next number of its tenant's yearly register.

        The number is the version of the register stream; the register and the
        request are appended in one atomic write, so numbers have no gaps and no
        duplicates. Registrations in this process take turns per register (a lock), and
        the register's version is remembered from the last append, so the usual
        registration is one append. Another process registering in the same township
        (a second replica) makes the append conflict: the version is read again and the
        registration retried with the next number.
        """
        tenant = cmd.tenant or str(principal.org)
        org = self.orgs.get(tenant)
        authorize(principal, tenant, *HANDLING_ROLES)
        actor = actor_of(principal, _acting_role(principal))
        today = local_date(self.clock())
        year = today.year
        request_id = new_id()
        register = register_stream(tenant, year)
        turn = self._turns.get(register)
        if turn is None:
            turn = self._turns[register] = asyncio.Lock()
        async with turn:
            for attempt in range(NUMBERING_ATTEMPTS):
                current = self._registers.get(register)
                if current is None:
                    current = await self.store.stream_version(register)
                sequence = current + 1
                registered = domain.register(
                    cmd,
                    request_id=request_id,
                    short_name=org.short_name,
                    year=year,
                    sequence=sequence,
                    today=today,
                    calendar=self.calendar(),
                )
                issued = RegistrationNumberIssued(
                    year=year, sequence=sequence, number=registered.number, request_id=request_id
                )
                try:
                    recorded = await self.store.append(
                        [
                            StreamWrite(
                                stream_id=register,
                                stream_type=issued.stream_type,
                                expected_version=current,
                                events=(to_new_event(issued, tenant, actor, correlation_id),),
                            ),
                            StreamWrite(
                                stream_id=request_stream(request_id),
                                stream_type=registered.stream_type,
                                expected_version=0,
                                events=(to_new_event(registered, tenant, actor, correlation_id),),
                            ),
                        ]
                    )
                except ConcurrencyConflict:
                    self._registers.pop(register, None)  # another process numbered: read again
                    await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                    continue
                except BaseException:
                    self._registers.pop(register, None)  # committed or not: read again
                    raise
                self._registers[register] = sequence
                return recorded[1]
        raise ConcurrencyConflict(
            rule="register.busy",
            field="tenant",
            message_zh="登记编号分配繁忙，请重试",
            message_en="too many concurrent registrations; please retry",
        )

    async def load(self, request_id: UUID) -> tuple[domain.RequestState, str]:
        events = await self.store.read_stream(request_stream(request_id))
        if not events:
            raise _not_found(request_id)
        state = domain.RequestState()
        for event in events:
            state = domain.evolve(state, registry.decode(event))
        return state, events[0].tenant

    async def assign(
        self,
        request_id: UUID,
        cmd: AssignRequest,
        principal: Principal,
        correlation_id: UUID,
        expected_version: int | None,
    ) -> RecordedEvent:
        state, tenant = await self.load(request_id)
        authorize(principal, tenant, *HANDLING_ROLES)
        if expected_version is not None and expected_version != state.version:
            # A precondition is judged before the command itself (RFC 9110 §13.2.2).
            raise _version_conflict(request_stream(request_id), expected_version, state.version)
        unit, person = self.orgs.find_person(cmd.handler)
        authorize_handler = Principal(sub=person.id, org=unit.path, roles=person.roles)
        authorize(authorize_handler, tenant, Role.REQUEST_HANDLER)
        event = domain.assign(state, cmd)
        (recorded,) = await self.store.append(
            [
                StreamWrite(
                    stream_id=request_stream(request_id),
                    stream_type=event.stream_type,
                    expected_version=state.version
                    if expected_version is None
                    else expected_version,
                    events=(
                        to_new_event(
                            event,
                            tenant,
                            actor_of(principal, _acting_role(principal)),
                            correlation_id,
                        ),
                    ),
                )
            ]
        )
        return recorded


def _not_found(request_id: UUID) -> NotFound:
    return NotFound(
        rule="request.not_found",
        field="request_id",
        message_zh=f"未找到申请 {request_id}",
        message_en=f"request {request_id} not found",
    )


def _acting_role(principal: Principal) -> Role:
    for role in HANDLING_ROLES:
        if role in principal.roles:
            return role
    return next(iter(sorted(principal.roles)))


async def annual_report_of(
    h: ApplicationsHandlers, tenant: str, year: int, principal: Principal
) -> dict[str, Any]:
    """Section 三 of the annual report for `tenant` and `year`, from the event log."""
    from services.applications import report

    authorize(principal, tenant, write=False)
    h.orgs.get(tenant)
    events = await report.read_log(h.store)
    townships = [str(t.path) for t in h.orgs.townships()]
    return report.build(events, tenant, year, townships)


async def open_review(
    h: ApplicationsHandlers,
    request_id: UUID,
    cmd: reviews.OpenCase,
    principal: Principal,
    correlation_id: UUID,
) -> RecordedEvent:
    """Record a 行政复议 or 行政诉讼 about a request's decision (report section 四)."""
    state, tenant = await h.load(request_id)
    if not within_scope(principal, tenant):
        raise _not_found(request_id)
    authorize(principal, tenant, *HANDLING_ROLES)
    assert state.received_on is not None
    case_id = new_id()
    event = reviews.open_case(cmd, case_id, request_id, state.received_on, local_date(h.clock()))
    (recorded,) = await h.store.append(
        [
            StreamWrite(
                stream_id=f"review-case-{case_id}",
                stream_type=event.stream_type,
                expected_version=0,
                events=(
                    to_new_event(
                        event, tenant, actor_of(principal, _acting_role(principal)), correlation_id
                    ),
                ),
            )
        ]
    )
    return recorded


async def decide_review(
    h: ApplicationsHandlers,
    request_id: UUID,
    case_id: UUID,
    cmd: reviews.DecideCase,
    principal: Principal,
    correlation_id: UUID,
) -> RecordedEvent:
    stream = f"review-case-{case_id}"
    events = await h.store.read_stream(stream)
    cases = reviews.fold_cases(events)
    opened = events[0].payload.get("request_id") if events else None
    if case_id not in cases or opened != str(request_id):
        raise NotFound(
            rule="review_case.not_found",
            field="case_id",
            message_zh="未找到该复议或诉讼案件",
            message_en=f"no case {case_id} for request {request_id}",
        )
    case = cases[case_id]
    if not within_scope(principal, case.tenant):
        raise _not_found(request_id)
    authorize(principal, case.tenant, *HANDLING_ROLES)
    event = reviews.decide_case(case, cmd, local_date(h.clock()))
    (recorded,) = await h.store.append(
        [
            StreamWrite(
                stream_id=stream,
                stream_type=event.stream_type,
                expected_version=len(events),
                events=(
                    to_new_event(
                        event,
                        case.tenant,
                        actor_of(principal, _acting_role(principal)),
                        correlation_id,
                    ),
                ),
            )
        ]
    )
    return recorded
