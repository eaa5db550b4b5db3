"""Commands of 考核: API input, validated at the edge."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services.assessment.scheme import Level
from shared.fields import Day


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AddTask(_Command):
    """工作台账 item (方案§20)."""

    org: str = Field(min_length=1, max_length=200, description="责任单位 org path")
    owner: str = Field(min_length=1, max_length=100, description="责任人 person id")
    title: str = Field(min_length=2, max_length=300)
    due_on: Day
    basis: str | None = Field(default=None, max_length=200, description="方案条目")


class CompleteTask(_Command):
    completed_on: Day
    evidence: str = Field(min_length=2, max_length=1000, description="完成佐证")


class PlanSession(_Command):
    """年度培训计划的一场 (方案§20, §六(一))."""

    org: str = Field(min_length=1, max_length=200)
    topic: str = Field(min_length=2, max_length=300)
    planned_on: Day


class HoldSession(_Command):
    """培训已举办; 学法 (方案§六(一)): whether the 条例 was covered and which staff attended."""

    held_on: Day = Field(title="举办日期")
    attendees: int = Field(title="参加人数", ge=1, le=100_000)
    covers_regulation: bool = Field(
        default=False, title="学习《政府信息公开条例》", description="本场培训是否学习了条例"
    )
    attendee_ids: list[str] = Field(
        default_factory=list,
        title="参加人员",
        max_length=1000,
        description="组织机构中的人员 id（领导干部学法记录据此统计）",
    )


class RecognizeHighlight(_Command):
    """亮点工程 (方案§21)."""

    org: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=2, max_length=300)
    basis: str = Field(min_length=2, max_length=1000, description="认定依据")
    recognized_on: Day | None = None


class ClosePeriod(_Command):
    """考核周期关闭: freeze the scoreboard of one period of a scheme (periods.py)."""

    year: int = Field(ge=2008, le=2100, title="考核年度")
    level: Level = Field(default=Level.township, title="考核层级")
    owner: str | None = Field(
        default=None, max_length=200, title="方案发布机关", description="方案发布机关；默认区"
    )
    period: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$",
        title="周期编号",
        description="字母、数字、连字符，如 2026-H1",
    )
    starts_on: Day = Field(title="周期开始日期")
    ends_on: Day = Field(title="周期截止日期")
