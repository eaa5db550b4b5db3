"""Commands of the enforcement service: API input, validated at the edge.

Fields the law requires (legal basis, party, amount) are optional here on purpose: their
absence is refused by the domain (domain.check) with its own rule and the field named,
not by a generic schema error.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from services.enforcement.events import (
    AnnulmentOutcome,
    DecisionAction,
    DecisionKind,
    Party,
    RecordRef,
)
from shared.fields import NOT_PERSONAL, Day

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RecordDecision(BaseModel):
    """One decision from a unit's approval or enforcement system (or an import row)."""

    model_config = _STRICT

    unit: str | None = Field(
        default=None,
        title="执法单位",
        description="作出决定的单位 (org path)；缺省为调用者所在单位",
    )
    kind: DecisionKind = Field(title="执法类别")
    action: DecisionAction | None = Field(
        default=None, title="决定类型", description="行政许可必填；其他类别可缺省"
    )
    reference: str = Field(
        min_length=1, max_length=100, title="文号", description="决定书文号、许可证号或收费票据号"
    )
    title: str = Field(
        min_length=2, max_length=300, title="事项名称", description="许可事项、案由或收费项目"
    )
    facts: str = Field(
        default="",
        max_length=5000,
        title="主要内容",
        description="违法事实、许可内容、强制措施或收费说明",
        json_schema_extra=NOT_PERSONAL,
    )
    legal_basis: list[str] = Field(
        default_factory=list, max_length=20, title="法律依据", description="所依据的法律条文"
    )
    party: Party | None = Field(default=None, title="当事人")
    amount_yuan: Decimal | None = Field(
        default=None, ge=0, max_digits=14, decimal_places=2, title="金额（元）"
    )
    decided_on: Day = Field(title="决定日期")
    major: bool = Field(default=False, title="重大执法决定")
    records: list[RecordRef] = Field(default_factory=list, max_length=100, title="全过程记录")
    publish: bool = Field(default=True, title="依法公示")
    not_published_reason: str | None = Field(default=None, max_length=500, title="不予公示的依据")
    source: str = Field(default="api", max_length=100, title="来源系统")


class RecordReview(BaseModel):
    """重大执法决定法制审核, before the decision (行政处罚法第五十八条)."""

    model_config = _STRICT

    unit: str | None = Field(default=None, title="执法单位")
    kind: DecisionKind = Field(title="执法类别")
    reference: str = Field(min_length=1, max_length=100, title="文号")
    reviewer: str = Field(min_length=1, max_length=200, title="法制审核人员")
    opinion: str = Field(
        min_length=2, max_length=5000, title="审核意见", json_schema_extra=NOT_PERSONAL
    )
    approved: bool = Field(title="审核通过")
    reviewed_on: Day = Field(title="审核日期")


class Publish(BaseModel):
    """公示: optionally a masked summary in place of the decision's own text."""

    model_config = _STRICT

    summary: str | None = Field(
        default=None,
        min_length=2,
        max_length=5000,
        title="公示摘要",
        json_schema_extra=NOT_PERSONAL,
    )


class Annul(BaseModel):
    model_config = _STRICT

    outcome: AnnulmentOutcome = Field(title="结果")
    annulled_on: Day = Field(title="变更或撤销日期")
    basis: str = Field(min_length=2, max_length=500, title="依据")


class CreditRepair(BaseModel):
    model_config = _STRICT

    basis: str = Field(min_length=2, max_length=500, title="信用修复依据")
