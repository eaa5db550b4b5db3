"""The command spine (shared/commands.py) on both engines: one kernel function runs every
command of every service, so its guarantees are proven once, here, on a small aggregate
written for the test (a township's 工作台账 task, with separation of duties).

Guarantees: the actor and tenant are recorded; another township's instance is absent, not
forbidden (decision 5: no existence leak); a missing role, a read-only auditor, a stale
If-Match, a guard and a refusing decision each write nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel

from shared.commands import (
    Aggregate,
    Command,
    CommandTable,
    Context,
    catalogue,
    decide,
    execute,
    label_of,
)
from shared.envelope import SYSTEM_ACTOR, StreamWrite, new_id
from shared.errors import ConcurrencyConflict, DomainRuleViolated, Forbidden, NotFound
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.identity import Principal, Role, require_not_same_person
from shared.registry import DomainEvent, EventRegistry, to_new_event
from shared.workdays import WorkdayCalendar

registry = EventRegistry(service="spine-test")


class Urgency(StrEnum):
    normal = "normal"
    urgent = "urgent"

    @property
    def label_zh(self) -> str:
        return {"normal": "一般", "urgent": "紧急"}[self.value]


@registry.register
class TaskOpened(DomainEvent):
    event_type = "SpineTaskOpened"
    stream_type = "task"
    task_id: UUID
    opened_by: str


@registry.register
class TaskDone(DomainEvent):
    event_type = "SpineTaskDone"
    stream_type = "task"
    task_id: UUID
    urgency: Urgency
    done_on: str


@dataclass(frozen=True)
class Task:
    task_id: UUID | None = None
    opened_by: str = ""
    done: bool = False


def evolve(state: Task, event: DomainEvent) -> Task:
    if isinstance(event, TaskOpened):
        return Task(task_id=event.task_id, opened_by=event.opened_by)
    if isinstance(event, TaskDone):
        return replace(state, done=True)
    return state


class Finish(BaseModel):
    urgency: Urgency = Urgency.normal


def finish(state: Task, cmd: Finish, x: Context) -> TaskDone:
    if state.done:
        raise DomainRuleViolated(
            rule="task.already_done",
            field="task_id",
            message_zh="该任务已完成",
            message_en="the task is already done",
        )
    assert state.task_id is not None
    return TaskDone(task_id=state.task_id, urgency=cmd.urgency, done_on=x.today.isoformat())


def not_the_opener(state: Task, cmd: Finish, x: Context) -> None:
    require_not_same_person(x.principal, state.opened_by, "drafting")


TASKS: Aggregate[Task] = Aggregate(
    kind="task",
    id_field="task_id",
    label_zh="任务",
    label_en="task",
    registry=registry,
    initial=Task,
    evolve=evolve,
    tenant=lambda state, events: events[0].tenant,
)
TABLE: CommandTable[Task] = CommandTable(
    aggregate=TASKS,
    prefix="/v1/tasks",
    tag="tasks",
    commands=(
        Command(
            "finish",
            Finish,
            "办结",
            "Finish the task",
            (Role.OPENNESS_OFFICE_HEAD,),
            finish,
            guard=not_the_opener,
            basis="方案§二",
        ),
    ),
)
SUDIAN = "shangdang/sudian"
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Beijing, a Monday


@dataclass
class Deps:
    store: SqlEventStore
    orgs: Any = None  # the default visibility (the subtree) needs no tree

    def clock(self) -> datetime:
        return NOW

    def calendar(self) -> WorkdayCalendar:
        return WorkdayCalendar()


def head(org: str = SUDIAN, sub: str = "li-head", *roles: Role) -> Principal:
    return Principal(sub=sub, org=org, roles=roles or (Role.OPENNESS_OFFICE_HEAD,))


@pytest.fixture(params=["sqlite", "postgres"])
async def deps(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Deps]:
    if request.param == "sqlite":
        store = await open_sqlite_store(str(tmp_path / "events.db"), name="spine")
    else:
        store = await open_postgres_store(
            request.getfixturevalue("pg_url"), schema=request.getfixturevalue("pg_schema")
        )
    yield Deps(store)
    await store.close()


async def opened(deps: Deps, by: str = "wang-drafter", tenant: str = SUDIAN) -> UUID:
    task_id = new_id()
    event = TaskOpened(task_id=task_id, opened_by=by)
    await deps.store.append(
        [
            StreamWrite(
                stream_id=TASKS.stream(task_id),
                stream_type="task",
                expected_version=0,
                events=(to_new_event(event, tenant, SYSTEM_ACTOR),),
            )
        ]
    )
    return task_id


async def run(
    deps: Deps, task_id: UUID, who: Principal, expected: int | None = None
) -> Sequence[object]:
    return await execute(
        deps, TABLE, "finish", task_id, Finish(urgency=Urgency.urgent), who, new_id(), expected
    )


async def versions(deps: Deps, task_id: UUID) -> int:
    return len(await deps.store.read_stream(TASKS.stream(task_id)))


async def test_a_command_appends_its_decision_under_the_actor_and_tenant(deps: Deps) -> None:
    task_id = await opened(deps)
    (recorded,) = await run(deps, task_id, head(), expected=1)
    stored = (await deps.store.read_stream(TASKS.stream(task_id)))[-1]
    assert stored.event_id == recorded.event_id  # type: ignore[attr-defined]
    assert (stored.type, stored.version, stored.tenant) == ("SpineTaskDone", 2, SUDIAN)
    assert (stored.actor.id, stored.actor.role) == ("li-head", "openness_office_head")
    assert stored.payload["done_on"] == "2026-03-02"  # the day in Beijing, from the clock


async def test_another_townships_task_is_absent_not_forbidden__decision_5(deps: Deps) -> None:
    task_id = await opened(deps)
    outsider = head("shangdang/xiliang", "zhao-head")
    with pytest.raises(NotFound) as refused:
        await run(deps, task_id, outsider)
    assert refused.value.rule == "task.not_found"
    assert "shangdang/sudian" not in refused.value.message_zh  # nothing tells where it is
    with pytest.raises(NotFound):
        await run(deps, new_id(), head())  # and a task that never existed looks the same
    assert await versions(deps, task_id) == 1


async def test_refusals_write_nothing(deps: Deps) -> None:
    task_id = await opened(deps)
    clerk = head(SUDIAN, "wang-clerk", Role.REQUEST_HANDLER)
    auditor = head(SUDIAN, "sun-auditor", Role.AUDITOR, Role.OPENNESS_OFFICE_HEAD)
    opener = head(SUDIAN, "wang-drafter")
    with pytest.raises(Forbidden) as no_role:
        await run(deps, task_id, clerk)
    with pytest.raises(Forbidden) as read_only:
        await run(deps, task_id, auditor)
    with pytest.raises(Forbidden) as same_person:
        await run(deps, task_id, opener)  # the guard: one person, one duty
    with pytest.raises(ConcurrencyConflict):
        await run(deps, task_id, head(), expected=7)  # If-Match names a stale version
    assert (no_role.value.rule, read_only.value.rule, same_person.value.rule) == (
        "role.missing",
        "auditor.read_only",
        "duty.same_person",
    )
    assert await versions(deps, task_id) == 1
    await run(deps, task_id, head())
    with pytest.raises(DomainRuleViolated):
        await run(deps, task_id, head())  # the decision itself refuses a second finish
    assert await versions(deps, task_id) == 2


def test_the_catalogue_gives_each_command_its_schema_roles_and_chinese_labels() -> None:
    (entry,) = catalogue([TABLE])
    assert entry["path"] == "/v1/tasks/{task_id}/finish"
    assert (entry["label_zh"], entry["basis"]) == ("办结", "方案§二")
    head_label = "政府信息公开工作机构负责人"
    assert entry["roles"] == [{"code": "openness_office_head", "label_zh": head_label}]
    assert entry["schema"]["properties"]["urgency"]["default"] == "normal"
    assert entry["enum_labels_zh"] == {"Urgency": {"normal": "一般", "urgent": "紧急"}}
    assert label_of(Urgency.urgent) == "紧急"


UNIT = "shangdang/sudian/party-office"
UNIT_TABLE: CommandTable[Task] = CommandTable(
    # every unit of the township sees its tasks; each step belongs to one unit
    aggregate=replace(
        TASKS, noun="job", visible=lambda who, state, tenant, orgs: who.org.startswith(tenant)
    ),
    prefix="/v1/tasks",
    tag="tasks",
    commands=(
        Command(
            "finish",
            Finish,
            "办结",
            "Finish the task",
            (Role.OPENNESS_OFFICE_HEAD,),
            finish,
            scope=lambda state, tenant: UNIT,  # the unit's own step, not the township's
            status=201,
            answer=lambda events, task_id, x: {"done_on": x.today.isoformat()},
        ),
    ),
)


async def test_a_command_may_narrow_its_scope_and_shape_its_answer(deps: Deps) -> None:
    task_id = await opened(deps)
    other_unit = head("shangdang/sudian/finance-office")  # sees it; the step is not theirs
    with pytest.raises(Forbidden) as refused:
        await execute(deps, UNIT_TABLE, "finish", task_id, Finish(), other_unit, new_id())
    assert refused.value.rule == "org.outside_subtree"
    with pytest.raises(NotFound) as absent:
        await execute(deps, UNIT_TABLE, "finish", new_id(), Finish(), head(UNIT), new_id())
    assert absent.value.rule == "job.not_found"  # the noun clients know
    decided = await decide(deps, UNIT_TABLE, "finish", task_id, Finish(), head(UNIT, "unit-head"))
    assert await versions(deps, task_id) == 1  # deciding writes nothing
    assert [e.event_type for e in decided.events] == ["SpineTaskDone"]
    events = await deps.store.append([decided.write(new_id(), "task")])
    assert UNIT_TABLE.respond(decided, events) == {"done_on": "2026-03-02"}
    assert catalogue([UNIT_TABLE])[0]["status"] == 201
