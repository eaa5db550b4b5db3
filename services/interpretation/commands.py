"""Commands of the interpretation service: API input, validated at the edge."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.interpretation.events import InterpretationContent
from shared.fields import Day

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RegisterPolicy(BaseModel):
    """The manual path: a policy published outside the system (e.g. on paper, by a higher
    level on behalf of the township) is registered so that its interpretation is owed."""

    model_config = _STRICT

    document_id: UUID | None = Field(default=None, description="已有文件编号；缺省时新建")
    lead_unit: str = Field(description="起草单位；联合发文为牵头单位 (org path)")
    joint_units: list[str] = Field(default_factory=list, max_length=20)
    title: str = Field(min_length=2, max_length=300)
    document_number: str | None = Field(default=None, max_length=100)
    kind: str = Field(
        pattern="^(normative|policy|implementation_plan|regulation|work_news|notice|other)$"
    )
    needs_interpretation: bool = Field(default=False, description="拟稿人标记需解读")
    text: str = Field(min_length=20, max_length=200_000, description="政策全文（查重依据）")
    published_on: Day


class Delegate(BaseModel):
    model_config = _STRICT

    to_unit: str = Field(description="受托解读单位 (org path)")
    reason: str = Field(min_length=4, max_length=1000)


class RequestFollowUp(BaseModel):
    """Sent by the sentiment service (or an opinion officer) when a policy is misread."""

    model_config = _STRICT

    case_ids: list[str] = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=4, max_length=2000)


class DraftInterpretation(BaseModel):
    model_config = _STRICT

    document_id: UUID
    follow_up_id: UUID | None = None
    content: InterpretationContent


class ReviseInterpretation(BaseModel):
    model_config = _STRICT

    content: InterpretationContent


class Review(BaseModel):
    model_config = _STRICT

    approve: bool = Field(title="审核结果", description="通过或退回修改")
    comment: str | None = Field(default=None, title="审核意见", max_length=4000)


class QualityCheck(BaseModel):
    """Measure a text before drafting (writes nothing)."""

    model_config = _STRICT

    document_id: UUID
    content: InterpretationContent
