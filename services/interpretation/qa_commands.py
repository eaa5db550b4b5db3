"""Commands of the policy Q&A knowledge base (政策问答库): API input, validated at the edge.

Every field carries its Chinese label (`title`), which a refusal names (shared/http.py).
"""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.interpretation.qa_events import MAX_QA_CHARS, Asker, QuestionChannel
from shared.fields import Moment

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RegisterQuestion(BaseModel):
    """登记政策咨询: a question about one published policy, from any channel."""

    model_config = _STRICT

    document_id: UUID = Field(title="所咨询的政策文件")
    channel: QuestionChannel = Field(title="咨询渠道")
    question: str = Field(title="咨询问题", min_length=4, max_length=MAX_QA_CHARS)
    asker: Asker | None = Field(default=None, title="提问人（不公开）")
    source_ref: str | None = Field(
        default=None, title="来源编号", max_length=100, description="12345工单号、留言编号"
    )
    received_at: Moment | None = Field(
        default=None, title="收到时间", description="缺省为登记之时；答复时限由此起算"
    )


class SuggestAnswers(BaseModel):
    """查重与匹配（不写入）: the policies a question is likely about, and published answers
    to the same question (the duplicate grouping and policy matching of the sentiment
    service)."""

    model_config = _STRICT

    question: str = Field(title="咨询问题", min_length=4, max_length=MAX_QA_CHARS)
    township: str | None = Field(default=None, title="所属镇", max_length=200)


class AnswerQuestion(BaseModel):
    model_config = _STRICT

    public_question: str = Field(
        title="公开的问题",
        min_length=4,
        max_length=MAX_QA_CHARS,
        description="将在门户公开的问题表述，不含提问人信息",
    )
    answer: str = Field(title="答复内容", min_length=4, max_length=MAX_QA_CHARS)


class RedactAnswer(BaseModel):
    """Mask every finding of the privacy guard in the text to publish."""

    model_config = _STRICT


class ApproveAnswer(BaseModel):
    model_config = _STRICT


class ReturnAnswer(BaseModel):
    model_config = _STRICT

    reason: str = Field(title="退回理由", min_length=4, max_length=1000)
