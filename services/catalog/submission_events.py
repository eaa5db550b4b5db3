"""Events of 信息报送 (方案§18: 完善向政府网站报送部门文件制度，建立联络员制度和报送刊登情况
通报制度): a unit's 联络员 submits an item, the openness office edits, accepts it into a
catalog draft or declines it with a reason, and issues the monthly 刊登情况通报.

An item's events share the stream `submission-<id>`, their envelope tenant the submitting
unit. A township's bulletin of one month is the stream `submission-bulletin-<home>-<month>`
(one event, tenant the township or, for district-level units, the district).
Registered on the catalog's registry (events.py imports this module at its end).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.catalog.content import DocumentContent
from services.catalog.events import PrivacyFinding, registry
from shared.fields import NOT_PERSONAL, LabelledEnum
from shared.registry import DomainEvent

SUBMISSION_STREAM = "submission"
BULLETIN_STREAM = "submission_bulletin"


class SubmissionStatus(LabelledEnum):
    """Where a 报送 item stands; `published` is the read model's (its draft was published)."""

    received = "received", "待处理"
    held = "held", "含个人信息，暂缓处理"
    accepted = "accepted", "已采用"
    declined = "declined", "未采用"
    published = "published", "已刊登"


@registry.register
class SubmissionReceived(DomainEvent):
    """报送: a unit's 联络员 submits an item for publication; the privacy guard scans it."""

    event_type = "SubmissionReceived"
    stream_type = SUBMISSION_STREAM

    submission_id: UUID
    unit: str = Field(description="报送单位 org path")
    unit_name: str
    township: str = Field(description="受理的政务公开机构所在乡镇（区直单位为区）")
    liaison: str = Field(description="联络员")
    content: DocumentContent = Field(json_schema_extra=NOT_PERSONAL)
    findings: list[PrivacyFinding] = Field(description="隐私检测结果（只含脱敏值）")
    submitted_at: datetime


@registry.register
class SubmissionEdited(DomainEvent):
    """编辑: the office changes the item before accepting it (or masks its personal data)."""

    event_type = "SubmissionEdited"
    stream_type = SUBMISSION_STREAM

    submission_id: UUID
    content: DocumentContent = Field(json_schema_extra=NOT_PERSONAL)
    findings: list[PrivacyFinding]
    editor: str
    redacted: bool = Field(description="删减个人信息（按隐私检测结果脱敏）")
    note: str | None = None
    edited_at: datetime


@registry.register
class SubmissionAccepted(DomainEvent):
    """采用: the item becomes a catalog draft (`document_id`), written in the same append;
    the draft goes through 公开属性认定 and 三审三校 like any other."""

    event_type = "SubmissionAccepted"
    stream_type = SUBMISSION_STREAM

    submission_id: UUID
    document_id: UUID
    accepted_by: str
    comment: str | None = None
    accepted_at: datetime


@registry.register
class SubmissionDeclined(DomainEvent):
    """不予采用, with the reason the unit reads."""

    event_type = "SubmissionDeclined"
    stream_type = SUBMISSION_STREAM

    submission_id: UUID
    reason: str
    declined_by: str
    declined_at: datetime


class BulletinRow(BaseModel):
    """One unit's line of a month's 刊登情况通报."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: str
    unit_name: str
    submitted: int = Field(ge=0, description="报送")
    accepted: int = Field(ge=0, description="采用")
    published: int = Field(ge=0, description="刊登")
    declined: int = Field(ge=0, description="未采用")


@registry.register
class SubmissionBulletinIssued(DomainEvent):
    """报送刊登情况通报: a township's (or the district's own units') month, frozen as issued.

    Every unit is listed, those that submitted nothing too: the assessment charges them
    (signal `submission.none_in_month`)."""

    event_type = "SubmissionBulletinIssued"
    stream_type = BULLETIN_STREAM

    township: str
    township_name: str
    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="通报月份 YYYY-MM")
    rows: list[BulletinRow]
    issued_by: str
    issued_at: datetime
