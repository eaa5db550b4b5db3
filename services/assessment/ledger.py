"""The aggregates of 考核 itself: task ledger items, training sessions, highlight projects.

方案§20: the work-plan items become a task ledger (工作台账) with owners and dates, and
their completion is part of the annual target assessment; a yearly training plan is made
and carried out (方案§六(一)). 方案§21: highlight projects (亮点工程) earn recognition.
Overdue items and missed sessions are noticed once by the scheduler (TaskOverdue,
TrainingSessionMissed) and score through signals.py like any other service's event.
Pure: decide(...) -> events, evolve(state, event) -> state; no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date
from uuid import UUID

from services.assessment.events import (
    TaskAdded,
    TaskCompleted,
    TaskOverdue,
    TrainingSessionHeld,
    TrainingSessionMissed,
    TrainingSessionPlanned,
)
from shared.errors import DomainRuleViolated, ValidationFailed
from shared.registry import DomainEvent


@dataclass(frozen=True)
class TaskState:
    version: int = 0
    task_id: UUID | None = None
    org: str = ""
    owner: str = ""
    due_on: date | None = None
    completed_on: date | None = None
    overdue_noticed: bool = False


@dataclass(frozen=True)
class SessionState:
    version: int = 0
    session_id: UUID | None = None
    org: str = ""
    planned_on: date | None = None
    held_on: date | None = None
    missed_noticed: bool = False


def evolve_task(state: TaskState, event: DomainEvent) -> TaskState:
    state = replace(state, version=state.version + 1)
    if isinstance(event, TaskAdded):
        return replace(
            state, task_id=event.task_id, org=event.org, owner=event.owner, due_on=event.due_on
        )
    if isinstance(event, TaskCompleted):
        return replace(state, completed_on=event.completed_on)
    if isinstance(event, TaskOverdue):
        return replace(state, overdue_noticed=True)
    return state


def evolve_session(state: SessionState, event: DomainEvent) -> SessionState:
    state = replace(state, version=state.version + 1)
    if isinstance(event, TrainingSessionPlanned):
        return replace(
            state, session_id=event.session_id, org=event.org, planned_on=event.planned_on
        )
    if isinstance(event, TrainingSessionHeld):
        return replace(state, held_on=event.held_on)
    if isinstance(event, TrainingSessionMissed):
        return replace(state, missed_noticed=True)
    return state


def _not_future(day: date, today: date, field: str) -> None:
    if day > today:
        raise ValidationFailed(
            rule="date.in_future",
            field=field,
            message_zh="日期不能晚于今天",
            message_en="the date cannot be after today",
        )


def complete_task(
    state: TaskState, completed_on: date, evidence: str, today: date
) -> TaskCompleted:
    """Done on a day; done after its due date still counts as overdue (late=True)."""
    if state.task_id is None or state.due_on is None:
        raise ValidationFailed(
            rule="task.not_found",
            field="task_id",
            message_zh="台账事项不存在",
            message_en="no such task",
        )
    if state.completed_on is not None:
        raise DomainRuleViolated(
            rule="task.already_completed",
            field="task_id",
            message_zh=f"该台账事项已于 {state.completed_on} 完成",
            message_en=f"the task was already completed on {state.completed_on}",
        )
    _not_future(completed_on, today, "completed_on")
    return TaskCompleted(
        task_id=state.task_id,
        completed_on=completed_on,
        evidence=evidence,
        late=completed_on > state.due_on,
    )


def notice_overdue_task(state: TaskState, today: date) -> TaskOverdue | None:
    """Once, the day after the due date, if the task is still open."""
    if state.task_id is None or state.due_on is None:
        return None
    if state.completed_on is not None or state.overdue_noticed or today <= state.due_on:
        return None
    return TaskOverdue(task_id=state.task_id, org=state.org, due_on=state.due_on, noticed_on=today)


def hold_session(
    state: SessionState,
    held_on: date,
    attendees: int,
    today: date,
    covers_regulation: bool = False,
    attendee_ids: Sequence[str] = (),
    known_people: Collection[str] = frozenset(),
) -> TrainingSessionHeld:
    """Held on a day; 学法 (方案§六(一)): whether the 条例 was covered and who attended, by
    their ids in the org tree (each once, no more named than the head count)."""
    if state.session_id is None:
        raise ValidationFailed(
            rule="training.not_found",
            field="session_id",
            message_zh="培训场次不存在",
            message_en="no such training session",
        )
    if state.held_on is not None:
        raise DomainRuleViolated(
            rule="training.already_held",
            field="session_id",
            message_zh=f"该培训已于 {state.held_on} 举办",
            message_en=f"the session was already held on {state.held_on}",
        )
    _not_future(held_on, today, "held_on")
    _check_attendees(attendees, attendee_ids, known_people)
    return TrainingSessionHeld(
        session_id=state.session_id,
        held_on=held_on,
        attendees=attendees,
        covers_regulation=covers_regulation,
        attendee_ids=list(attendee_ids),
    )


def _check_attendees(
    attendees: int, attendee_ids: Sequence[str], known_people: Collection[str]
) -> None:
    for i, person in enumerate(attendee_ids):
        if person not in known_people:
            raise ValidationFailed(
                rule="training.unknown_attendee",
                field=f"attendee_ids[{i}]",
                message_zh=f"参加人员 {person} 不在组织机构中",
                message_en=f"{person} is not a person of the org tree",
            )
        if person in attendee_ids[:i]:
            raise ValidationFailed(
                rule="training.duplicate_attendee",
                field=f"attendee_ids[{i}]",
                message_zh=f"参加人员 {person} 重复",
                message_en=f"{person} is listed twice",
            )
    if len(attendee_ids) > attendees:
        raise ValidationFailed(
            rule="training.attendees_below_named",
            field="attendees",
            message_zh=f"参加人数 {attendees} 少于列出的参加人员 {len(attendee_ids)} 人",
            message_en=f"{attendees} attendees, fewer than the {len(attendee_ids)} named",
        )


def notice_missed_session(state: SessionState, today: date) -> TrainingSessionMissed | None:
    if state.session_id is None or state.planned_on is None:
        return None
    if state.held_on is not None or state.missed_noticed or today <= state.planned_on:
        return None
    return TrainingSessionMissed(
        session_id=state.session_id, org=state.org, planned_on=state.planned_on, noticed_on=today
    )
