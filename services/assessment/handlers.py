"""Application layer of 考核: the command tables the kernel runs (shared/commands.py), and
the steps that are not one command on one existing instance.

Completing a task ledger item and recording a training session as held are rows of
`TASK_COMMANDS` and `SESSION_COMMANDS`: the kernel loads the stream, hides other
townships' items (404), checks role and If-Match, decides (ledger.py) and appends.
Publishing a scheme (streams named by year, level and owner; the same text twice is one
publication), closing a period (reads the scheme and the findings) and creating a task,
session or highlight (a new stream) are plain functions below.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

import orjson

from services.assessment import commands as c
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
from shared.commands import Aggregate, Command, CommandTable, Context, acting_role, actor_of
from shared.envelope import RecordedEvent, StreamWrite, new_id
from shared.errors import NotFound, ValidationFailed
from shared.eventstore import EventStore
from shared.identity import Principal, Role, authorize, require_role
from shared.registry import DomainEvent, to_new_event
from shared.service import Runtime
from shared.tenancy import OrgLevel, OrgTree
from shared.workdays import local_date

PREFIX = "/v1/assessment"
#: Who keeps a township's task ledger and training plan (方案§三 领导组, 责任人).
LEDGER_ROLES = (
    Role.OPENNESS_OFFICE_HEAD,
    Role.PRINCIPAL_LEADER,
    Role.LEADER_IN_CHARGE,
    Role.DISTRICT_ASSESSOR,
)
SCHEME_ROLES = (Role.DISTRICT_ASSESSOR, Role.OPENNESS_OFFICE_HEAD, Role.PRINCIPAL_LEADER)
DISTRICT = (Role.DISTRICT_ASSESSOR,)
#: Every role, the ledger roles first: the owner (责任人) of a task may complete it whatever
#: role they hold; the actor's role is their first ledger role, else their first role.
ANY_ROLE = LEDGER_ROLES + tuple(sorted(set(Role) - set(LEDGER_ROLES)))


def _first_tenant(state: object, events: Sequence[RecordedEvent]) -> str:
    return events[0].tenant


TASKS: Aggregate[ledger.TaskState] = Aggregate(
    kind="assessment-task",
    id_field="task_id",
    label_zh="台账事项",
    label_en="task",
    registry=registry,
    initial=ledger.TaskState,
    evolve=ledger.evolve_task,
    tenant=_first_tenant,
    # Clients know `task.not_found`, not `assessment-task.not_found`.
    noun="task",
)

SESSIONS: Aggregate[ledger.SessionState] = Aggregate(
    kind="assessment-training",
    id_field="session_id",
    label_zh="培训场次",
    label_en="training session",
    registry=registry,
    initial=ledger.SessionState,
    evolve=ledger.evolve_session,
    tenant=_first_tenant,
    noun="training",
)


def accepted(event: RecordedEvent) -> dict[str, Any]:
    """What every 考核 command answers: the event written, with its stream and version."""
    return {
        "event_id": str(event.event_id),
        "stream_id": event.stream_id,
        "version": event.version,
        "type": event.type,
        **event.payload,
    }


def _answer(events: Sequence[RecordedEvent], instance: UUID) -> dict[str, Any]:
    return accepted(events[-1])


def _completers(state: ledger.TaskState, cmd: c.CompleteTask) -> tuple[Role, ...]:
    return ANY_ROLE


def _owner_or_ledger_role(state: ledger.TaskState, cmd: c.CompleteTask, x: Context) -> None:
    """The task's owner (责任人) completes it; anyone else needs a ledger role."""
    if x.principal.sub != state.owner:
        require_role(x.principal, *LEDGER_ROLES)


TASK_COMMANDS: CommandTable[ledger.TaskState] = CommandTable(
    aggregate=TASKS,
    prefix=f"{PREFIX}/tasks",
    tag="assessment 考核",
    answer=_answer,
    commands=(
        Command(
            "complete_task",
            c.CompleteTask,
            "台账事项完成",
            "Complete a task",
            _completers,
            lambda s, cmd, x: ledger.complete_task(s, cmd.completed_on, cmd.evidence, x.today),
            guard=_owner_or_ledger_role,
            path="/{task_id}/complete",
            basis="考核方案第二十条（工作台账）",
        ),
    ),
)


async def _people(
    runtime: Any, state: object, cmd: object, principal: Principal, tenant: str
) -> Mapping[str, Any]:
    """Who may be named as an attendee: the people of the org tree (学法记录, 方案§六(一))."""
    return {"people": frozenset(person.id for _unit, person in runtime.orgs.people())}


SESSION_COMMANDS: CommandTable[ledger.SessionState] = CommandTable(
    aggregate=SESSIONS,
    prefix=f"{PREFIX}/training/sessions",
    tag="assessment 考核",
    answer=_answer,
    commands=(
        Command(
            "hold_session",
            c.HoldSession,
            "培训已举办",
            "Record a session",
            LEDGER_ROLES,
            lambda s, cmd, x: ledger.hold_session(
                s,
                cmd.held_on,
                cmd.attendees,
                x.today,
                cmd.covers_regulation,
                cmd.attendee_ids,
                x.given["people"],
            ),
            prepare=_people,
            path="/{session_id}/held",
            basis="考核方案第二十条、第六部分（一）（年度培训计划）",
        ),
    ),
)

TABLES = (TASK_COMMANDS, SESSION_COMMANDS)


# --- streams and the one append of a new event ---------------------------------------


def scheme_stream(year: int, level: Level, owner: str) -> str:
    return f"assessment-scheme-{year}-{level.value}-{owner}"


def period_stream(year: int, level: Level, owner: str) -> str:
    return f"assessment-period-{year}-{level.value}-{owner}"


async def _append(
    store: EventStore,
    stream: str,
    expected: int,
    event: DomainEvent,
    tenant: str,
    principal: Principal,
    roles: Sequence[Role],
    correlation_id: UUID,
) -> RecordedEvent:
    """Append one event as the principal acting in the first of `roles` they hold."""
    actor = actor_of(principal, acting_role(principal, roles))
    write = StreamWrite(
        stream_id=stream,
        stream_type=event.stream_type,
        expected_version=expected,
        events=(to_new_event(event, tenant, actor, correlation_id),),
    )
    (recorded,) = await store.append([write])
    return recorded


def subjects_of(orgs: OrgTree, level: Level, owner: str) -> tuple[list[str], dict[str, str]]:
    """Who a scheme ranks, with display names: the townships, or a township's units and
    its own offices (镇本级)."""
    names = {str(u.path): u.name for u in orgs}
    if level is Level.township:
        return [str(t.path) for t in orgs.townships()], names
    names[owner] = f"{names.get(owner, owner)}（镇本级）"
    return [owner, *(str(u.path) for u in orgs.units_of(owner))], names


# --- schemes ---------------------------------------------------------------------------


async def publish_scheme(
    store: EventStore,
    orgs: OrgTree,
    data: object,
    source_text: str,
    principal: Principal,
    correlation_id: UUID,
) -> tuple[RecordedEvent, bool]:
    """Publish (or replace) a scheme; the same text twice is one publication."""
    scheme = parse_scheme(data)
    _check_owner(orgs, scheme.owner, scheme.level)
    authorize(principal, scheme.owner, *SCHEME_ROLES)
    if scheme.level is Level.township:
        authorize(principal, scheme.owner, Role.DISTRICT_ASSESSOR)
    sha = hashlib.sha256(source_text.encode()).hexdigest()
    stream = scheme_stream(scheme.year, scheme.level, scheme.owner)
    existing = await store.read_stream(stream)
    if existing and existing[-1].payload.get("source_sha256") == sha:
        return existing[-1], False
    event = SchemePublished(scheme_id=scheme.scheme_id, source_sha256=sha, **scheme.model_dump())
    recorded = await _append(
        store, stream, len(existing), event, scheme.owner, principal, SCHEME_ROLES, correlation_id
    )
    return recorded, True


def _check_owner(orgs: OrgTree, owner: str, level: Level | None) -> None:
    """The owner is in the org tree; district schemes score townships, township schemes
    score their units (level None: only the first check)."""
    if owner not in orgs:
        raise ValidationFailed(
            rule="scheme.unknown_owner",
            field="owner",
            message_zh=f"发布机关 {owner} 不在组织机构中",
            message_en=f"owner {owner} is not in the org tree",
        )
    if level is None:
        return
    wanted = OrgLevel.DISTRICT if level is Level.township else OrgLevel.TOWNSHIP
    if orgs.level(owner) is not wanted:
        raise ValidationFailed(
            rule="scheme.owner_level",
            field="owner",
            message_zh="考核乡镇的方案由区发布，考核站所的方案由乡镇发布",
            message_en=(
                "a township-level scheme is owned by the district, a unit-level one by a township"
            ),
        )


def source_text_of(data: object) -> str:
    """The canonical text a scheme given as JSON is fingerprinted by."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()


# --- periods ---------------------------------------------------------------------------


async def _published_scheme(store: EventStore, year: int, level: Level, owner: str) -> Scheme:
    published = await store.read_stream(scheme_stream(year, level, owner))
    if not published:
        sid = scheme_id(year, level.value, owner)
        raise NotFound(
            rule="scheme.not_found",
            field="year",
            message_zh=f"尚未发布考核方案 {sid}",
            message_en=f"no published scheme {sid}",
        )
    return scheme_from_payload(dict(published[-1].payload))


def _closed(history: Sequence[RecordedEvent]) -> list[Period]:
    return [
        Period(
            str(e.payload["period"]),
            date.fromisoformat(str(e.payload["starts_on"])),
            date.fromisoformat(str(e.payload["ends_on"])),
        )
        for e in history
    ]


async def close_period(
    rt: Runtime, cmd: c.ClosePeriod, principal: Principal, correlation_id: UUID
) -> RecordedEvent:
    """Freeze a period's scoreboard (periods.py); the period stream's version orders
    concurrent closes (the second is a version conflict, nothing written)."""
    level, owner = cmd.level, cmd.owner or str(rt.orgs.district.path)
    _check_owner(rt.orgs, owner, None)
    roles = DISTRICT if level is Level.township else SCHEME_ROLES
    authorize(principal, owner, *roles)
    scheme = await _published_scheme(rt.store, cmd.year, level, owner)
    stream = period_stream(cmd.year, level, owner)
    history = await rt.store.read_stream(stream)
    today = local_date(rt.clock())
    check_close(cmd.year, Period(cmd.period, cmd.starts_on, cmd.ends_on), _closed(history), today)
    already = [i for e in history for i in e.payload["frozen_event_ids"]]
    findings = await findings_in(rt.views, scheme.year, scheme.owner)
    frozen = frozen_by(scheme, findings, cmd.ends_on, already)
    subjects, names = subjects_of(rt.orgs, level, owner)
    event = PeriodClosed(
        scheme_id=scheme_id(cmd.year, level.value, owner),
        year=cmd.year,
        level=level,
        owner=owner,
        period=cmd.period,
        starts_on=cmd.starts_on,
        ends_on=cmd.ends_on,
        closed_on=today,
        frozen_event_ids=sorted({f.event_id for f in frozen}),
        snapshot=snapshot(scheme, subjects, names, frozen),
    )
    return await _append(
        rt.store, stream, len(history), event, owner, principal, roles, correlation_id
    )


# --- creating a task, a training session, a highlight ----------------------------------


async def add_task(
    rt: Runtime, cmd: c.AddTask, principal: Principal, correlation_id: UUID
) -> RecordedEvent:
    """工作台账 item (方案§20): a new stream, owned by a person of the org tree."""
    rt.orgs.get(cmd.org)
    authorize(principal, cmd.org, *LEDGER_ROLES)
    rt.orgs.find_person(cmd.owner)
    event = TaskAdded(task_id=new_id(), **cmd.model_dump())
    stream = TASKS.stream(event.task_id)
    return await _append(
        rt.store, stream, 0, event, cmd.org, principal, LEDGER_ROLES, correlation_id
    )


async def plan_session(
    rt: Runtime, cmd: c.PlanSession, principal: Principal, correlation_id: UUID
) -> RecordedEvent:
    """年度培训计划的一场 (方案§20, §六(一))."""
    rt.orgs.get(cmd.org)
    authorize(principal, cmd.org, *LEDGER_ROLES)
    event = TrainingSessionPlanned(session_id=new_id(), **cmd.model_dump())
    stream = SESSIONS.stream(event.session_id)
    return await _append(
        rt.store, stream, 0, event, cmd.org, principal, LEDGER_ROLES, correlation_id
    )


async def recognize_highlight(
    rt: Runtime, cmd: c.RecognizeHighlight, principal: Principal, correlation_id: UUID
) -> RecordedEvent:
    """亮点工程 are recognised by the district (方案§21), never by the township itself."""
    rt.orgs.get(cmd.org)
    authorize(principal, cmd.org, *DISTRICT)
    event = HighlightProjectRecognized(
        project_id=new_id(),
        org=cmd.org,
        title=cmd.title,
        recognized_on=cmd.recognized_on or local_date(rt.clock()),
        basis=cmd.basis,
    )
    stream = f"assessment-highlight-{event.project_id}"
    return await _append(rt.store, stream, 0, event, cmd.org, principal, DISTRICT, correlation_id)
