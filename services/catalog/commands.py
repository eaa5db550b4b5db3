"""Commands of the catalog service: API input, validated at the edge."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.catalog.events import (
    ChannelStatus,
    DisclosureAttribute,
    DocumentContent,
    FilingOutcome,
    IncidentKind,
    LegalGround,
    PublicationChannel,
    ReviewStage,
)
from shared.fields import Day

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DraftDocument(BaseModel):
    """拟稿: a new document in a drafting unit (defaults to the caller's unit)."""

    model_config = _STRICT

    drafting_unit: str | None = Field(default=None, description="拟稿单位 org path")
    content: DocumentContent


class ReviseDocument(BaseModel):
    """A new revision; a published document's update needs its reason (更新原因)."""

    model_config = _STRICT

    content: DocumentContent
    reason: str | None = Field(default=None, title="修改或更新原因", max_length=1000)


class ProposeAttribute(BaseModel):
    model_config = _STRICT

    attribute: DisclosureAttribute = Field(title="公开属性")
    legal_ground: LegalGround | None = Field(
        default=None, title="法律依据", description="依申请公开、不予公开、删减后公开须选择"
    )
    reason: str | None = Field(default=None, title="理由", max_length=2000)


class CheckAttribute(BaseModel):
    model_config = _STRICT

    agrees: bool = Field(title="是否同意拟定的公开属性")
    comment: str | None = Field(default=None, title="审核意见", max_length=2000)


class DetermineAttribute(BaseModel):
    model_config = _STRICT

    attribute: DisclosureAttribute = Field(title="公开属性")
    legal_ground: LegalGround | None = Field(
        default=None, title="法律依据", description="依申请公开、不予公开、删减后公开须选择"
    )
    reason: str | None = Field(default=None, title="理由", max_length=2000)


class Proofreading(BaseModel):
    """The reviewer's proofreading sign-off of this level (一校/二校/三校)."""

    model_config = _STRICT

    signed: bool = Field(title="校对签字确认", description="校对签字确认")
    corrections: int = Field(default=0, title="校对改正处数", ge=0, le=10_000)
    note: str | None = Field(default=None, title="校对说明", max_length=2000)


class RecordReview(BaseModel):
    model_config = _STRICT

    stage: ReviewStage = Field(title="审核环节")
    outcome: Literal["pass", "reject"] = Field(title="审核结果", description="通过或退回")
    proofreading: Proofreading | None = None
    comments: str | None = Field(
        default=None, title="审核意见", description="退回时必须写明理由", max_length=5000
    )


class JustifyFinding(BaseModel):
    model_config = _STRICT

    fingerprint: str = Field(title="检测结果", min_length=3, max_length=80)
    justification: str = Field(title="保留理由", min_length=4, max_length=2000)


class PublishDocument(BaseModel):
    model_config = _STRICT

    channels: list[PublicationChannel] = Field(title="发布渠道", min_length=1, max_length=7)


class RecordChannelStatus(BaseModel):
    model_config = _STRICT

    status: ChannelStatus
    note: str | None = Field(default=None, max_length=1000)


class WithdrawDocument(BaseModel):
    model_config = _STRICT

    reason: str = Field(title="撤稿理由", min_length=2, max_length=2000)


class RepealDocument(BaseModel):
    model_config = _STRICT

    repealed_on: Day
    reason: str = Field(min_length=2, max_length=2000)


class SetValidityPeriod(BaseModel):
    """有效期: the last day the document is in force, or null for none (长期有效)."""

    model_config = _STRICT

    valid_until: Day | None = Field(
        default=None, description="有效期至（最后有效日）；不填表示未规定有效期（长期有效）"
    )


class RegisterPublishedDocument(BaseModel):
    """历史信息登记: enter a document the township published before using the platform."""

    model_config = _STRICT

    drafting_unit: str | None = Field(
        default=None, description="发布单位 org path (default: the caller's township)"
    )
    content: DocumentContent
    published_on: Day = Field(description="原发布日期 the day it was first published")
    source: str = Field(
        min_length=2,
        max_length=500,
        description="原发布位置 where it was published: the old page's address, or the print",
    )


class ConfigureColumn(BaseModel):
    """Change a seeded column's update rule or add a column [local]."""

    model_config = _STRICT

    township: str | None = None
    code: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=2, max_length=100)
    dynamic: bool
    max_age_days: int = Field(ge=1, le=3660)


class CompileGazette(BaseModel):
    """政府公报: compile published normative documents into the next numbered issue."""

    model_config = _STRICT

    township: str | None = None
    document_ids: list[str] = Field(min_length=1, max_length=200)


# --- issue #20 duties (D-dut): 规范性文件备案 (方案§18), information-security incidents -----


class FileDocument(BaseModel):
    """报送备案 of a published 规章 or 行政规范性文件 (services/catalog/filing.py)."""

    model_config = _STRICT

    filed_on: Day = Field(title="报送备案日期")
    filed_with: str = Field(
        title="备案审查机关", min_length=2, max_length=100, description="如 上党区司法局"
    )
    filing_number: str | None = Field(default=None, title="备案报告文号", max_length=100)


class ReviewFiling(BaseModel):
    """备案审查结果, as the filing body answered it (a return states its reason)."""

    model_config = _STRICT

    outcome: FilingOutcome = Field(title="审查结果")
    reason: str | None = Field(default=None, title="退回理由", min_length=2, max_length=2000)
    reviewed_on: Day = Field(title="审查日期")


class ConfirmIncident(BaseModel):
    """信息安全事件确认 (泄密 / 个人信息泄露) by the openness-office head, with its cause."""

    model_config = _STRICT

    kind: IncidentKind = Field(title="事件类型")
    org: str = Field(title="责任单位", min_length=1, max_length=200, description="org path")
    document_id: UUID | None = Field(default=None, title="涉及文件")
    occurred_on: Day = Field(title="发生日期")
    confirmed_on: Day = Field(title="确认日期")
    cause: str = Field(title="原因", min_length=4, max_length=2000)
    measures: str | None = Field(default=None, title="处置措施", max_length=2000)
