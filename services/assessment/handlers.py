"""Application layer of 考核: authorize → load → decide → append with the expected version."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import orjson

from services.assessment import ledger
from services.assessment.events import (
    HighlightProjectRecognized,
    PeriodClosed,
    SchemePublished,
    TaskAdded,
    TrainingSessionPlanned,
    registry,
)
from services.assessment.periods import Period, check_close, frozen_by, snapshot
from services.assessment.scheme import Level, Scheme, parse_scheme, scheme_id
from services.assessment.score_store import findings_in, scheme_from_payload
from shared.envelope import Actor, NewEvent, RecordedEvent, StreamWrite, new_id
from shared.errors import NotFound, ValidationFailed
from shared.eventstore import EventStore
from shared.eventstore import version_conflict as _version_conflict
from shared.identity import Principal, Role, authorize
from shared.registry import DomainEvent, payload_of
from shared.tenancy import OrgLevel, OrgTree
from shared.workdays import local_date

#: Who keeps a township's task ledger and training plan (方案§三 领导组, 责任人).
LEDGER_ROLES = (
    Role.OPENNESS_OFFICE_HEAD,
    Role.PRINCIPAL_LEADER,
    Role.LEADER_IN_CHARGE,
    Role.DISTRICT_ASSESSOR,
)
SCHEME_ROLES = (Role.DISTRICT_ASSESSOR, Role.OPENNESS_OFFICE_HEAD, Role.PRINCIPAL_LEADER)


def scheme_stream(s: Scheme) -> str:
    return f"assessment-scheme-{s.year}-{s.level.value}-{s.owner}"


def period_stream(year: int, level: Level, owner: str) -> str:
    return f"assessment-period-{year}-{level.value}-{owner}"


def subjects_of(orgs: OrgTree, level: Level, owner: str) -> tuple[list[str], dict[str, str]]:
    """Who a scheme ranks, with display names: the townships, or a township's units and
    its own offices (镇本级)."""
    names = {str(u.path): u.name for u in orgs}
    if level is Level.township:
        return [str(t.path) for t in orgs.townships()], names
    names[owner] = f"{names.get(owner, owner)}（镇本级）"
    return [owner, *(str(u.path) for u in orgs.units_of(owner))], names


def task_stream(task_id: UUID) -> str:
    return f"assessment-task-{task_id}"


def session_stream(session_id: UUID) -> str:
    return f"assessment-training-{session_id}"


def _acting(principal: Principal, roles: tuple[Role, ...]) -> Actor:
    role = next((r for r in roles if r in principal.roles), None)
    name = role.value if role else sorted(principal.roles)[0]
    return Actor(id=principal.sub, kind=principal.kind, role=name)


@dataclass
class AssessmentHandlers:
    store: EventStore
    orgs: OrgTree
    clock: Callable[[], datetime]
    views: Any = None

    def today(self) -> date:
        return local_date(self.clock())

    async def _append(
        self,
        stream: str,
        expected: int,
        event: DomainEvent,
        tenant: str,
        actor: Actor,
        correlation_id: UUID,
    ) -> RecordedEvent:
        new = NewEvent(
            type=event.event_type,
            schema_version=event.schema_version,
            tenant=tenant,
            actor=actor,
            correlation_id=correlation_id,
            payload=payload_of(event),
        )
        (recorded,) = await self.store.append(
            [
                StreamWrite(
                    stream_id=stream,
                    stream_type=event.stream_type,
                    expected_version=expected,
                    events=(new,),
                )
            ]
        )
        return recorded

    # ------------------------------------------------------------------ schemes
    async def publish_scheme(
        self, data: object, source_text: str, principal: Principal, correlation_id: UUID
    ) -> tuple[RecordedEvent, bool]:
        """Publish (or replace) a scheme; the same text twice is one publication."""
        scheme = parse_scheme(data)
        self._check_owner(scheme)
        authorize(principal, scheme.owner, *SCHEME_ROLES)
        if scheme.level is Level.township:
            authorize(principal, scheme.owner, Role.DISTRICT_ASSESSOR)
        sha = hashlib.sha256(source_text.encode()).hexdigest()
        stream = scheme_stream(scheme)
        existing = await self.store.read_stream(stream)
        if existing and existing[-1].payload.get("source_sha256") == sha:
            return existing[-1], False
        event = SchemePublished(
            scheme_id=scheme.scheme_id,
            source_sha256=sha,
            **scheme.model_dump(),
        )
        recorded = await self._append(
            stream,
            len(existing),
            event,
            scheme.owner,
            _acting(principal, SCHEME_ROLES),
            correlation_id,
        )
        return recorded, True

    def _check_owner(self, scheme: Scheme) -> None:
        """District schemes score townships; township schemes score their units."""
        if scheme.owner not in self.orgs:
            raise ValidationFailed(
                rule="scheme.unknown_owner",
                field="owner",
                message_zh=f"发布机关 {scheme.owner} 不在组织机构中",
                message_en=f"owner {scheme.owner} is not in the org tree",
            )
        wanted = OrgLevel.DISTRICT if scheme.level is Level.township else OrgLevel.TOWNSHIP
        if self.orgs.level(scheme.owner) is not wanted:
            raise ValidationFailed(
                rule="scheme.owner_level",
                field="owner",
                message_zh="考核乡镇的方案由区发布，考核站所的方案由乡镇发布",
                message_en=(
                    "a township-level scheme is owned by the district, a unit-level one "
                    "by a township"
                ),
            )

    # ------------------------------------------------------------------ periods
    async def close_period(
        self, cmd: Any, principal: Principal, correlation_id: UUID
    ) -> RecordedEvent:
        """Freeze a period's scoreboard (periods.py); the period stream's version orders
        concurrent closes (the second is a version conflict, nothing written)."""
        level: Level = cmd.level
        owner = cmd.owner or str(self.orgs.district.path)
        if owner not in self.orgs:
            raise ValidationFailed(
                rule="scheme.unknown_owner",
                field="owner",
                message_zh=f"发布机关 {owner} 不在组织机构中",
                message_en=f"owner {owner} is not in the org tree",
            )
        if level is Level.township:
            authorize(principal, owner, Role.DISTRICT_ASSESSOR)
        else:
            authorize(principal, owner, *SCHEME_ROLES)
        sid = scheme_id(cmd.year, level.value, owner)
        published = await self.store.read_stream(
            f"assessment-scheme-{cmd.year}-{level.value}-{owner}"
        )
        if not published:
            raise NotFound(
                rule="scheme.not_found",
                field="year",
                message_zh=f"尚未发布考核方案 {sid}",
                message_en=f"no published scheme {sid}",
            )
        scheme = scheme_from_payload(dict(published[-1].payload))
        stream = period_stream(cmd.year, level, owner)
        history = await self.store.read_stream(stream)
        closed = [
            Period(
                str(e.payload["period"]),
                date.fromisoformat(str(e.payload["starts_on"])),
                date.fromisoformat(str(e.payload["ends_on"])),
            )
            for e in history
        ]
        check_close(cmd.year, Period(cmd.period, cmd.starts_on, cmd.ends_on), closed, self.today())
        already = [i for e in history for i in e.payload["frozen_event_ids"]]
        findings = await findings_in(self.views, scheme.year, scheme.owner)
        frozen = frozen_by(scheme, findings, cmd.ends_on, already)
        subjects, names = subjects_of(self.orgs, level, owner)
        event = PeriodClosed(
            scheme_id=sid,
            year=cmd.year,
            level=level,
            owner=owner,
            period=cmd.period,
            starts_on=cmd.starts_on,
            ends_on=cmd.ends_on,
            closed_on=self.today(),
            frozen_event_ids=sorted({f.event_id for f in frozen}),
            snapshot=snapshot(scheme, subjects, names, frozen),  # type: ignore[arg-type]
        )
        acting = (Role.DISTRICT_ASSESSOR,) if level is Level.township else SCHEME_ROLES
        return await self._append(
            stream, len(history), event, owner, _acting(principal, acting), correlation_id
        )

    # ------------------------------------------------------------------ task ledger
    async def add_task(self, cmd: Any, principal: Principal, correlation_id: UUID) -> RecordedEvent:
        self.orgs.get(cmd.org)
        authorize(principal, cmd.org, *LEDGER_ROLES)
        self.orgs.find_person(cmd.owner)
        task_id = new_id()
        event = TaskAdded(
            task_id=task_id,
            org=cmd.org,
            owner=cmd.owner,
            title=cmd.title,
            due_on=cmd.due_on,
            basis=cmd.basis,
        )
        actor = _acting(principal, LEDGER_ROLES)
        return await self._append(task_stream(task_id), 0, event, cmd.org, actor, correlation_id)

    async def load_task(self, task_id: UUID) -> tuple[ledger.TaskState, str]:
        events = await self.store.read_stream(task_stream(task_id))
        if not events:
            raise NotFound(
                rule="task.not_found",
                field="task_id",
                message_zh=f"未找到台账事项 {task_id}",
                message_en=f"task {task_id} not found",
            )
        state = ledger.TaskState()
        for e in events:
            state = ledger.evolve_task(state, registry.decode(e))
        return state, events[0].tenant

    async def complete_task(
        self,
        task_id: UUID,
        cmd: Any,
        principal: Principal,
        correlation_id: UUID,
        expected: int | None,
    ) -> RecordedEvent:
        state, tenant = await self.load_task(task_id)
        if principal.sub == state.owner:
            authorize(principal, tenant)
        else:
            authorize(principal, tenant, *LEDGER_ROLES)
        if expected is not None and expected != state.version:
            raise _version_conflict(task_stream(task_id), expected, state.version)
        event = ledger.complete_task(state, cmd.completed_on, cmd.evidence, self.today())
        actor = _acting(principal, LEDGER_ROLES)
        return await self._append(
            task_stream(task_id), state.version, event, tenant, actor, correlation_id
        )

    # ------------------------------------------------------------------ training
    async def plan_session(
        self, cmd: Any, principal: Principal, correlation_id: UUID
    ) -> RecordedEvent:
        self.orgs.get(cmd.org)
        authorize(principal, cmd.org, *LEDGER_ROLES)
        session_id = new_id()
        event = TrainingSessionPlanned(
            session_id=session_id, org=cmd.org, topic=cmd.topic, planned_on=cmd.planned_on
        )
        actor = _acting(principal, LEDGER_ROLES)
        return await self._append(
            session_stream(session_id), 0, event, cmd.org, actor, correlation_id
        )

    async def load_session(self, session_id: UUID) -> tuple[ledger.SessionState, str]:
        events = await self.store.read_stream(session_stream(session_id))
        if not events:
            raise NotFound(
                rule="training.not_found",
                field="session_id",
                message_zh=f"未找到培训场次 {session_id}",
                message_en=f"training session {session_id} not found",
            )
        state = ledger.SessionState()
        for e in events:
            state = ledger.evolve_session(state, registry.decode(e))
        return state, events[0].tenant

    async def hold_session(
        self, session_id: UUID, cmd: Any, principal: Principal, correlation_id: UUID
    ) -> RecordedEvent:
        state, tenant = await self.load_session(session_id)
        authorize(principal, tenant, *LEDGER_ROLES)
        event = ledger.hold_session(state, cmd.held_on, cmd.attendees, self.today())
        actor = _acting(principal, LEDGER_ROLES)
        return await self._append(
            session_stream(session_id), state.version, event, tenant, actor, correlation_id
        )

    # ------------------------------------------------------------------ highlights
    async def recognize_highlight(
        self, cmd: Any, principal: Principal, correlation_id: UUID
    ) -> RecordedEvent:
        """亮点工程 are recognised by the district (方案§21), never by the township itself."""
        self.orgs.get(cmd.org)
        authorize(principal, cmd.org, Role.DISTRICT_ASSESSOR)
        project_id = new_id()
        event = HighlightProjectRecognized(
            project_id=project_id,
            org=cmd.org,
            title=cmd.title,
            recognized_on=cmd.recognized_on or self.today(),
            basis=cmd.basis,
        )
        actor = _acting(principal, (Role.DISTRICT_ASSESSOR,))
        return await self._append(
            f"assessment-highlight-{project_id}", 0, event, cmd.org, actor, correlation_id
        )


def source_text_of(data: object) -> str:
    """The canonical text a scheme given as JSON is fingerprinted by."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
