"""Events of the policy Q&A knowledge base (政策问答库, 方案§16 做好政策咨询服务, §五(三)).

One aggregate of the interpretation service, stream `qa-<qa_id>`: a citizen's or a
business's question about one published policy, from any channel (12345, 区长信箱, the
portal, 窗口/现场), answered by an officer, approved by a reviewer who is not the answerer,
and published beside the policy. The envelope tenant is the unit that owns the policy's
interpretation (谁起草、谁解读), so the drafting unit's staff and the township's see it.

The asker and the question as asked are personal (marked, never published); what the
portal shows is the officer's `public_question` and `answer`, scanned by the catalog's
privacy guard before a reviewer may approve them (方案§8).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.catalog.events import PrivacyFinding
from services.interpretation.events import registry
from shared.fields import NOT_PERSONAL, PERSONAL, LabelledEnum
from shared.registry import DomainEvent

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: The longest question or answer a Q&A entry keeps.
MAX_QA_CHARS = 5000


class QuestionChannel(LabelledEnum):
    """咨询渠道 (方案§五(三): 12345一号通、政务服务窗口; 方案§17 信箱、留言)."""

    hotline = "hotline", "12345热线"
    mailbox = "mailbox", "区长信箱"
    portal = "portal", "门户网站留言"
    in_person = "in_person", "政务服务窗口/现场咨询"


class Asker(BaseModel):
    """Who asked: kept for the answer to reach them, never published, never logged."""

    model_config = _FROZEN

    name: str | None = Field(default=None, max_length=100, json_schema_extra=PERSONAL)
    phone: str | None = Field(default=None, max_length=30, json_schema_extra=PERSONAL)


class SimilarEntry(BaseModel):
    """A published answer to the same question, suggested when the question arrived."""

    model_config = _FROZEN

    qa_id: UUID
    similarity: float = Field(ge=0, le=1)


@registry.register
class QuestionRegistered(DomainEvent):
    """A question about a policy was recorded, with its answer clock (咨询 limit)."""

    event_type = "QuestionRegistered"
    stream_type = "qa"

    qa_id: UUID
    document_id: UUID
    policy_title: str
    document_number: str | None = None
    township: str
    channel: QuestionChannel
    source_ref: str | None = Field(
        default=None, description="来源编号：12345工单号、留言编号", json_schema_extra=NOT_PERSONAL
    )
    question: str = Field(max_length=MAX_QA_CHARS, json_schema_extra=PERSONAL)
    asker: Asker | None = Field(default=None, json_schema_extra=PERSONAL)
    received_at: datetime
    due_at: datetime
    limit_working_days: int
    due_provisional: bool = False
    interpretation_ids: list[UUID] = Field(default_factory=list, description="该政策已发布的解读")
    similar: list[SimilarEntry] = Field(default_factory=list, description="相似的已发布问答")
    registered_by: str


@registry.register
class QuestionAnswered(DomainEvent):
    """An officer answered (again): the text to publish, scanned by the privacy guard."""

    event_type = "QuestionAnswered"
    stream_type = "qa"

    qa_id: UUID
    revision: int = Field(ge=1)
    public_question: str = Field(
        max_length=MAX_QA_CHARS,
        description="公开的问题（不含提问人信息）",
        json_schema_extra=NOT_PERSONAL,
    )
    answer: str = Field(max_length=MAX_QA_CHARS, json_schema_extra=NOT_PERSONAL)
    answered_by: str
    answered_at: datetime
    #: Whether the first answer came within the limit; later revisions keep that verdict.
    on_time: bool
    privacy_findings: list[PrivacyFinding] = Field(default_factory=list)


@registry.register
class AnswerRedacted(DomainEvent):
    """The privacy guard's findings were masked in the text to publish."""

    event_type = "AnswerRedacted"
    stream_type = "qa"

    qa_id: UUID
    revision: int = Field(ge=1)
    public_question: str = Field(max_length=MAX_QA_CHARS, json_schema_extra=NOT_PERSONAL)
    answer: str = Field(max_length=MAX_QA_CHARS, json_schema_extra=NOT_PERSONAL)
    redacted: list[PrivacyFinding]
    redacted_by: str


@registry.register
class AnswerReturned(DomainEvent):
    """The reviewer sent the answer back to the officer, with the reason."""

    event_type = "AnswerReturned"
    stream_type = "qa"

    qa_id: UUID
    revision: int = Field(ge=1)
    reason: str = Field(json_schema_extra=NOT_PERSONAL)
    returned_by: str


@registry.register
class AnswerPublished(DomainEvent):
    """The reviewer approved the answer; it is published beside the policy (方案§16)."""

    event_type = "AnswerPublished"
    stream_type = "qa"

    qa_id: UUID
    revision: int = Field(ge=1)
    document_id: UUID
    township: str
    policy_title: str
    document_number: str | None = None
    public_question: str = Field(max_length=MAX_QA_CHARS, json_schema_extra=NOT_PERSONAL)
    answer: str = Field(max_length=MAX_QA_CHARS, json_schema_extra=NOT_PERSONAL)
    channel: QuestionChannel
    answered_by: str
    approved_by: str
    received_at: datetime
    due_at: datetime
    answered_at: datetime
    on_time: bool
    published_at: datetime
    interpretation_ids: list[UUID] = Field(default_factory=list)
