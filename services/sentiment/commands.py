"""Commands of the sentiment service: API input, validated at the edge."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.sentiment.events import MAX_TEXT_CHARS, Citizen, MessageKind
from shared.fields import Moment

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReceiveMessage(BaseModel):
    """One message from a source. `source` is checked by the domain (unknown → 422 with rule)."""

    model_config = _STRICT

    tenant: str | None = Field(
        default=None, title="所属乡镇", description="township org path; default caller's"
    )
    source: str = Field(
        title="来源", description="hotline 12345 / mailbox 区长信箱 / message_board / media"
    )
    kind: MessageKind | None = Field(
        default=None, title="工单类型", description="12345 工单类型; default by source"
    )
    external_id: str | None = Field(default=None, max_length=100, title="来源编号（工单号）")
    title: str | None = Field(default=None, max_length=200, title="留言标题")
    text: str = Field(title="留言内容", description=f"留言内容, 1..{MAX_TEXT_CHARS} characters")
    received_at: Moment | None = Field(default=None, title="收到时间", description="default: now")
    citizen: Citizen | None = None
    location: str | None = Field(default=None, max_length=200, title="事发地点")


class AssignCase(BaseModel):
    """派单."""

    model_config = _STRICT

    unit: str = Field(
        min_length=1, max_length=200, title="承办单位", description="承办单位 org path"
    )
    officer: str = Field(
        min_length=1, max_length=200, title="舆情专职工作人员", description="person id"
    )
    note: str | None = Field(default=None, max_length=1000, title="备注")


class AcceptCase(BaseModel):
    """签收."""

    model_config = _STRICT


class ReturnCase(BaseModel):
    """退单."""

    model_config = _STRICT

    reason: str = Field(min_length=2, max_length=1000, title="退单理由")


class RequestExtension(BaseModel):
    """延期申请."""

    model_config = _STRICT

    reason: str = Field(min_length=2, max_length=1000, title="延期理由")
    requested_due: Moment = Field(title="申请延至")


class DecideExtension(BaseModel):
    """延期审批."""

    model_config = _STRICT

    approved: bool = Field(title="是否同意延期")
    note: str | None = Field(default=None, max_length=1000, title="备注")


class RemindCase(BaseModel):
    """催办 / 督办."""

    model_config = _STRICT

    level: Literal["reminder", "supervision"] = Field(default="reminder", title="催办或督办")
    note: str | None = Field(default=None, max_length=1000, title="备注")


class RespondCase(BaseModel):
    """办结: the response to the citizen(s)."""

    model_config = _STRICT

    response: str = Field(min_length=2, max_length=MAX_TEXT_CHARS, title="答复内容")


class PublishResult(BaseModel):
    """Publication of the result on the government website (DOMAIN.md §4)."""

    model_config = _STRICT

    channel: str = Field(default="政府网站", min_length=1, max_length=100, title="公开渠道")
    url: str | None = Field(default=None, max_length=500, title="公开网址")


class FollowUpCase(BaseModel):
    """回访."""

    model_config = _STRICT

    satisfaction: Literal["satisfied", "basically_satisfied", "dissatisfied"] = Field(
        title="满意度"
    )
    note: str | None = Field(default=None, max_length=1000, title="备注")


class ReopenCase(BaseModel):
    """重办."""

    model_config = _STRICT

    reason: str = Field(min_length=2, max_length=1000, title="重办理由")


class LinkPolicy(BaseModel):
    """误读政策: link the case to the misread policy and ask for a follow-up interpretation."""

    model_config = _STRICT

    document_id: UUID = Field(title="被误读的政策", description="the catalog's published document")
    misreading: str = Field(
        min_length=4, max_length=2000, title="误读内容", description="what was misread"
    )


class CorrectClassification(BaseModel):
    """纠正分类: the officer's category and/or polarity (checked by the domain: an unknown one
    is 422 with the known ones; one that changes nothing is refused)."""

    model_config = _STRICT

    category: str | None = Field(default=None, max_length=50, title="类别", description="一级分类")
    polarity: str | None = Field(
        default=None,
        title="情感倾向",
        description="情感倾向: negative 负面 / neutral 中性 / positive 正面",
    )
    reason: str | None = Field(default=None, max_length=1000, title="纠正理由")


class StartShadow(BaseModel):
    """影子运行: the registered model answers beside the live one for the next N messages."""

    model_config = _STRICT

    model_id: str = Field(min_length=1, max_length=100)
    messages: int = Field(default=200, ge=1, le=100_000, description="N messages in shadow")


class PromoteModel(BaseModel):
    """推广: the model in shadow becomes the live one (after its N messages)."""

    model_config = _STRICT

    model_id: str = Field(min_length=1, max_length=100)
    reason: str | None = Field(default=None, max_length=1000)


class RollBackModel(BaseModel):
    """回滚: stop the model in shadow, or take the live model back to the one before."""

    model_config = _STRICT

    model_id: str = Field(min_length=1, max_length=100)
    reason: str | None = Field(default=None, max_length=1000)
