"""Command models (API input) of the subscriptions service, with Chinese titles on fields."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.subscriptions.domain import EMAIL, MAX_EMAIL
from services.subscriptions.events import Topic, UnsubscribeWay, ViewCount
from shared.fields import PERSONAL, Day

_STRICT = ConfigDict(extra="forbid")


class Subscribe(BaseModel):
    model_config = _STRICT

    email: str = Field(
        max_length=MAX_EMAIL,
        title="电子邮箱",
        json_schema_extra={**PERSONAL, "pattern": EMAIL.pattern},
    )
    organ: str = Field(
        max_length=200, title="订阅机关", description="org path, e.g. shangdang/sudian"
    )
    topics: list[Topic] = Field(max_length=60, title="订阅内容")


class LinkToken(BaseModel):
    model_config = _STRICT

    token: str = Field(min_length=10, max_length=200, title="链接令牌")


class Unsubscribe(LinkToken):
    way: UnsubscribeWay = Field(default=UnsubscribeWay.link, title="退订方式")


class CountViews(BaseModel):
    """The portal's flushed counts (service account only)."""

    model_config = _STRICT

    day: Day = Field(title="日期")
    counts: list[ViewCount] = Field(min_length=1, max_length=5000, title="访问量")


class RateDocument(BaseModel):
    """有用/没用 from the portal (service account only); `rater` is its salted daily hash."""

    model_config = _STRICT

    document_id: UUID = Field(title="文件")
    township: str = Field(max_length=200, title="发布机关")
    column: str = Field(max_length=60, title="栏目")
    useful: bool = Field(title="是否有用")
    rater: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", title="访客标识")


__all__ = ["CountViews", "LinkToken", "RateDocument", "Subscribe", "Unsubscribe", "date"]
