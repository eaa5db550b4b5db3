"""Historic schema versions of assessment events, frozen as they were published.

SchemePublished v1 (before rate indicators): its indicators had no `rate`. The classes
keep their published names and docstrings so that contracts/ sees the same schema; never
edit them (add a new version instead). The upcaster lifts v1 payloads to v2.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.assessment.scheme import BonusRule, DeductionRule, Level, Veto
from shared.fields import NOT_PERSONAL
from shared.registry import DomainEvent


class Indicator(BaseModel):
    """指标: a weight and the deductions taken from it (never more than the weight)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,59}$")
    name: str = Field(min_length=1, max_length=200, json_schema_extra=NOT_PERSONAL)
    weight: float = Field(gt=0, le=1000)
    basis: str | None = Field(default=None, max_length=500, description="依据，如 条例第二十六条")
    deductions: list[DeductionRule] = Field(default_factory=list, max_length=50)


class SchemePublished(DomainEvent):
    """考核方案 set in advance for one year and level (方案§20). A later version replaces it."""

    event_type = "SchemePublished"
    schema_version = 1
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


def scheme_published_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 indicators are all per-case deductions: no rate rule."""
    return {**payload, "indicators": [{**i, "rate": None} for i in payload["indicators"]]}


class TrainingSessionHeld(DomainEvent):
    event_type = "TrainingSessionHeld"
    stream_type = "assessment-training"

    session_id: UUID
    held_on: date
    attendees: int = Field(ge=1)


def training_session_held_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """A v1 session recorded neither the 条例 nor who attended: not a 学法 session."""
    return {**payload, "covers_regulation": False, "attendee_ids": []}
