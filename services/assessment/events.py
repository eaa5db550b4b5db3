"""Events of the assessment service (考核). The source of contracts/.

ScoreChanged is deliberately NOT an event here: it is a derived read-model row
(projections.py), recomputable from the other services' logs; see docs/assessment.md.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.assessment import events_v1
from services.assessment.scheme import BonusRule, Indicator, Level, Veto
from shared.fields import NOT_PERSONAL
from shared.registry import DomainEvent, EventRegistry

registry = EventRegistry(service="assessment")


@registry.register
class SchemePublished(DomainEvent):
    """考核方案 set in advance for one year and level (方案§20). A later version replaces it.

    v2: an indicator may carry a rate rule (达标率, e.g. 多样化解读率); v1 had none."""

    event_type = "SchemePublished"
    schema_version = 2
    stream_type = "assessment-scheme"

    scheme_id: str = Field(description="<year>:<level>:<owner>")
    year: int
    level: Level
    owner: str = Field(description="发布机关 org path (district or township)")
    title: str
    total: float
    pass_line: float
    bonus_cap: float
    indicators: list[Indicator]
    bonuses: list[BonusRule]
    vetoes: list[Veto]
    source_sha256: str = Field(description="sha256 of the YAML text it was published from")


registry.register_historic(events_v1.SchemePublished, events_v1.scheme_published_v1_to_v2)


@registry.register
class TaskAdded(DomainEvent):
    """工作台账: one work-plan item with its owner and due date (方案§20)."""

    event_type = "TaskAdded"
    stream_type = "assessment-task"

    task_id: UUID
    org: str = Field(description="责任单位 org path")
    owner: str = Field(description="责任人 person id")
    title: str
    due_on: date
    basis: str | None = Field(default=None, description="方案条目，如 方案§四(一)3")


@registry.register
class TaskCompleted(DomainEvent):
    """The item was done (完成) on a day, with a short note of the evidence."""

    event_type = "TaskCompleted"
    stream_type = "assessment-task"

    task_id: UUID
    completed_on: date
    evidence: str
    late: bool


@registry.register
class TaskOverdue(DomainEvent):
    """Emitted once by the scheduler when the due date passed without completion."""

    event_type = "TaskOverdue"
    stream_type = "assessment-task"

    task_id: UUID
    org: str
    due_on: date
    noticed_on: date


@registry.register
class TrainingSessionPlanned(DomainEvent):
    """年度培训计划: one planned session (方案§20, §六(一))."""

    event_type = "TrainingSessionPlanned"
    stream_type = "assessment-training"

    session_id: UUID
    org: str
    topic: str
    planned_on: date


@registry.register
class TrainingSessionHeld(DomainEvent):
    """A planned session was held. v2 (学法, 方案§六(一)): whether it covered the 条例
    (《中华人民共和国政府信息公开条例》) and which staff of the org tree attended by id."""

    event_type = "TrainingSessionHeld"
    schema_version = 2
    stream_type = "assessment-training"

    session_id: UUID
    held_on: date
    attendees: int = Field(ge=1)
    covers_regulation: bool = Field(description="学习了《政府信息公开条例》")
    attendee_ids: list[str] = Field(description="参加人员（组织机构中的人员 id）")


registry.register_historic(events_v1.TrainingSessionHeld, events_v1.training_session_held_v1_to_v2)


@registry.register
class TrainingSessionMissed(DomainEvent):
    """Emitted once by the scheduler when a planned session's day passed unheld."""

    event_type = "TrainingSessionMissed"
    stream_type = "assessment-training"

    session_id: UUID
    org: str
    planned_on: date
    noticed_on: date


@registry.register
class HighlightProjectRecognized(DomainEvent):
    """亮点工程 recognised by the district assessor: a bonus item (方案§21)."""

    event_type = "HighlightProjectRecognized"
    stream_type = "assessment-highlight"

    project_id: UUID
    org: str
    title: str
    recognized_on: date
    basis: str


# --- issue #20 duties (D-dut): 学法 (方案§六(一)) -------------------------------------


@registry.register
class RegulationStudyMissed(DomainEvent):
    """A year passed without 学法 of the 条例 in a township: no held session covering it
    (`sessions_covering` 0), and/or leaders (镇领导: principal leader, leaders in charge)
    who attended none. Recorded once per township and year by the scheduler (study.py)."""

    event_type = "RegulationStudyMissed"
    stream_type = "assessment-study"

    org: str = Field(description="乡镇 org path")
    year: int = Field(ge=2008, le=2100)
    year_end: date
    sessions_covering: int = Field(ge=0)
    leaders: list[str] = Field(description="应学法的领导干部 person ids")
    leaders_absent: list[str]
    noticed_on: date


class SnapshotCase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    signal: str
    case: str
    event_ids: list[str]


class SnapshotLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    name: str = Field(json_schema_extra=NOT_PERSONAL)
    kind: str = Field(description="indicator | bonus")
    weight: float
    points: float
    raw: float
    cases: list[SnapshotCase]


class SnapshotRow(BaseModel):
    """One subject of a frozen scoreboard: its rank and its whole card."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rank: int = Field(ge=1)
    subject: str
    name: str = Field(json_schema_extra=NOT_PERSONAL)
    total: float
    bonus: float
    passed: bool
    vetoed: list[str]
    lines: list[SnapshotLine]


@registry.register
class PeriodClosed(DomainEvent):
    """考核周期关闭: the scoreboard of a period frozen (scores, ranks, breakdown).

    `frozen_event_ids` are the events whose findings the period holds; they no longer count
    on the live cards, and every later event counts in the next period (periods.py)."""

    event_type = "PeriodClosed"
    stream_type = "assessment-period"

    scheme_id: str = Field(description="<year>:<level>:<owner>")
    year: int
    level: Level
    owner: str
    period: str = Field(description="周期代码，如 2026-H1")
    starts_on: date
    ends_on: date
    closed_on: date
    frozen_event_ids: list[str]
    snapshot: list[SnapshotRow]
