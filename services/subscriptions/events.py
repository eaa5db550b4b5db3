"""Events of the subscriptions service (订阅推送与专栏热度). The source of contracts/.

Rules: 方案§五(二) (精准推送服务，实现"政策找人、政策找企业"), §21 (亮点工程：群众口碑，
争创最受群众欢迎的政务公开专栏); docs/subscriptions.md. Streams:
- `subscription-<id>`: a citizen's or a business's subscription: requested (e-mail, organ,
  topics), confirmed by the link in the confirmation mail, unsubscribed. Tenant: the organ.
- `delivery-<id>`: one e-mail (the delivery record): queued, each failed attempt, delivered
  or dead-lettered. Holds no address: the address is read from the subscription when sent.
- `publication-<key>`: a publication (the catalog's DocumentPublished, the interpretation
  service's InterpretationPublished with 定向推送) was dispatched to its subscribers.
- `page-views-<day>`, `rating-<document_id>`, `popularity-<period>`: the portal's counts of
  page views, the public's 有用/没用 ratings and the monthly 最受欢迎专栏 ranking. No
  personal data: no address, no cookie, no visitor id.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.fields import NOT_PERSONAL, PERSONAL, LabelledEnum
from shared.registry import DomainEvent, EventRegistry

registry = EventRegistry(service="subscriptions")

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class TopicKind(LabelledEnum):
    """What a subscriber follows."""

    column = "column", "目录栏目"
    kind = "kind", "文件类型（标签）"
    group = "group", "政策对象（政策找人、政策找企业）"


class Topic(BaseModel):
    model_config = _FROZEN

    kind: TopicKind
    code: str = Field(min_length=1, max_length=60, description="栏目代码、文件类型代码或对象群体")


class UnsubscribeWay(LabelledEnum):
    link = "link", "点击退订链接"
    one_click = "one_click", "邮件客户端一键退订（RFC 8058）"


class NoticeKind(LabelledEnum):
    confirmation = "confirmation", "订阅确认"
    publication = "publication", "新发布信息"
    interpretation = "interpretation", "政策解读（定向推送）"


class ViewCount(BaseModel):
    """Visitors of one page on one day: a column page (`document_id` null) or a document."""

    model_config = _FROZEN

    township: str
    column: str
    document_id: UUID | None = None
    views: int = Field(ge=1)


class RankedColumn(BaseModel):
    model_config = _FROZEN

    rank: int = Field(ge=1)
    township: str
    column: str
    column_name: str = Field(json_schema_extra=NOT_PERSONAL)
    views: int = Field(ge=0)
    useful: int = Field(ge=0)
    not_useful: int = Field(ge=0)


@registry.register
class SubscriptionRequested(DomainEvent):
    """Someone asked for notices; nothing is sent but the confirmation mail until the owner
    of the address confirms (double opt-in)."""

    event_type = "SubscriptionRequested"
    stream_type = "subscription"

    subscription_id: UUID
    organ: str = Field(description="org path of the organ whose publications are followed")
    email: str = Field(json_schema_extra=PERSONAL, description="the subscriber's address")
    email_key: str = Field(
        json_schema_extra=PERSONAL, description="HMAC of the normalised address (look-ups)"
    )
    topics: list[Topic] = Field(min_length=1, max_length=60)
    requested_at: datetime
    confirm_by: datetime = Field(description="the confirmation link is valid until then")


@registry.register
class SubscriptionConfirmed(DomainEvent):
    event_type = "SubscriptionConfirmed"
    stream_type = "subscription"

    subscription_id: UUID
    confirmed_at: datetime


@registry.register
class Unsubscribed(DomainEvent):
    event_type = "Unsubscribed"
    stream_type = "subscription"

    subscription_id: UUID
    unsubscribed_at: datetime
    way: UnsubscribeWay


@registry.register
class NoticeQueued(DomainEvent):
    """One e-mail to one subscription, queued for the delivery job (the delivery record)."""

    event_type = "NoticeQueued"
    stream_type = "delivery"

    delivery_id: UUID
    subscription_id: UUID
    kind: NoticeKind
    publication_key: str | None = None
    document_id: UUID | None = None
    subject: str = Field(json_schema_extra=NOT_PERSONAL)
    title: str | None = Field(default=None, json_schema_extra=NOT_PERSONAL)
    summary: str | None = Field(default=None, json_schema_extra=NOT_PERSONAL)
    url: str | None = Field(default=None, description="the page the notice points to")
    message_id: str = Field(description="RFC 5322 Message-ID, the same on every attempt")
    queued_at: datetime


@registry.register
class DeliveryAttemptFailed(DomainEvent):
    """The mail server could not be reached or refused for now; tried again at `retry_at`."""

    event_type = "DeliveryAttemptFailed"
    stream_type = "delivery"

    delivery_id: UUID
    attempt: int = Field(ge=1)
    error: str = Field(description="the error's kind and SMTP code, never an address")
    failed_at: datetime
    retry_at: datetime


@registry.register
class NoticeDelivered(DomainEvent):
    """The mail server accepted the message (SMTP 250 after DATA)."""

    event_type = "NoticeDelivered"
    stream_type = "delivery"

    delivery_id: UUID
    attempt: int = Field(ge=1)
    delivered_at: datetime


@registry.register
class NoticeDeadLettered(DomainEvent):
    """Given up: every attempt failed, the server refused for good, or the subscription
    ended before the message went out. Staff see it in the delivery records."""

    event_type = "NoticeDeadLettered"
    stream_type = "delivery"

    delivery_id: UUID
    attempts: int = Field(ge=0)
    reason: str
    dead_at: datetime


@registry.register
class PublicationDispatched(DomainEvent):
    """A publication's notices are queued for every matching confirmed subscription."""

    event_type = "PublicationDispatched"
    stream_type = "publication"

    publication_key: str
    notices: int = Field(ge=0)
    dispatched_at: datetime


@registry.register
class SubscriberDataRead(DomainEvent):
    """Someone was shown subscribers' e-mail addresses: who, whose, through which endpoint.
    References only, never the address (the audit chain records it like any other)."""

    event_type = "SubscriberDataRead"
    stream_type = "personal-data-access"

    subscription_ids: list[UUID] = Field(min_length=1)
    endpoint: str
    fields: list[str]


@registry.register
class PageViewsCounted(DomainEvent):
    """The portal's visitors per page over a few minutes of one day, flushed as one
    aggregate (a visitor counted once per page and day, recognised by a salted hash the
    portal keeps in memory only and forgets at midnight)."""

    event_type = "PageViewsCounted"
    stream_type = "page-views"

    day: date
    counts: list[ViewCount] = Field(min_length=1, max_length=5000)
    counted_until: datetime


@registry.register
class DocumentRated(DomainEvent):
    """有用/没用 on a published document (the rater is not recorded)."""

    event_type = "DocumentRated"
    stream_type = "rating"

    document_id: UUID
    township: str
    column: str
    useful: bool
    day: date


@registry.register
class PopularColumnsRanked(DomainEvent):
    """最受欢迎专栏 of a month across the district: the leading columns by visitors, with
    their documents' 有用/没用 (方案§21 群众口碑; the assessment reads it)."""

    event_type = "PopularColumnsRanked"
    stream_type = "popularity"

    period: str = Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")
    first_day: date
    last_day: date
    ranking: list[RankedColumn] = Field(max_length=50)
    ranked_at: datetime
