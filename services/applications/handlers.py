"""Application layer of 依申请公开: load -> decide -> append with the expected version."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.applications import domain
from services.applications.commands import AssignRequest, RegisterRequest
from services.applications.events import RegistrationNumberIssued, registry
from shared.envelope import Actor, NewEvent, RecordedEvent, StreamWrite, new_id
from shared.errors import ConcurrencyConflict, NotFound
from shared.eventstore import EventStore
from shared.eventstore import version_conflict as _version_conflict
from shared.identity import Principal, Role, authorize
from shared.registry import DomainEvent, payload_of
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


def to_new_event(event: DomainEvent, tenant: str, actor: Actor, correlation_id: UUID) -> NewEvent:
    return NewEvent(
        type=event.event_type,
        schema_version=event.schema_version,
        tenant=tenant,
        actor=actor,
        correlation_id=correlation_id,
        payload=payload_of(event),
    )


@dataclass
class ApplicationsHandlers:
    store: EventStore
    orgs: OrgTree
    calendar: Callable[[], WorkdayCalendar]
    clock: Callable[[], datetime]

    async def register(
        self, cmd: RegisterRequest, principal: Principal, correlation_id: UUID
    ) -> RecordedEvent:
        """Register a request with the next number of its tenant's yearly register.

        The number is the version of the register stream; the register and the
        request are appended in one atomic write, so numbers have no gaps and no
        duplicates. Concurrent registrations conflict on the register stream and
        retry with the next number.
        """
        tenant = cmd.tenant or str(principal.org)
        org = self.orgs.get(tenant)
        authorize(principal, tenant, *HANDLING_ROLES)
        actor = actor_of(principal, _acting_role(principal))
        today = local_date(self.clock())
        year = today.year
        request_id = new_id()
        register = register_stream(tenant, year)
        for attempt in range(NUMBERING_ATTEMPTS):
            sequence = await self.store.stream_version(register) + 1
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
                            expected_version=sequence - 1,
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
                await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                continue
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
            raise NotFound(
                rule="request.not_found",
                field="request_id",
                message_zh=f"未找到申请 {request_id}",
                message_en=f"request {request_id} not found",
            )
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


def _acting_role(principal: Principal) -> Role:
    for role in HANDLING_ROLES:
        if role in principal.roles:
            return role
    return next(iter(sorted(principal.roles)))
