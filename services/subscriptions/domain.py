"""The rules of 订阅推送 and 专栏热度, pure: no I/O, no clock (time comes in as arguments).

- A subscription is double opt-in: requested, then confirmed by the link sent to the address
  within `confirm_hours`; only confirmed, not unsubscribed subscriptions get notices.
- A publication matches a subscription when it is the organ's (its township, or anything
  under the district when the district is followed) and one of the topics matches: its
  column, its document kind (the "tag"), or, for an interpretation pushed to target groups
  (定向推送, 方案§五(二) 政策找人、政策找企业), one of its groups.
- A failed delivery is tried again after a doubling delay (first_retry, 2×, 4× … capped at
  max_retry) up to max_attempts; a permanent refusal (SMTP 5xx) or the last attempt
  dead-letters it. Every message ends delivered or dead-lettered, with its record.
- Ratings: one per visitor, document and day; at most `per_visitor_day` a day.
- 最受欢迎专栏: the columns with the most visitors in a month (column page + its documents).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from uuid import UUID

from services.subscriptions import events as ev
from shared.errors import DomainRuleViolated, NotFound, ValidationFailed
from shared.registry import DomainEvent

#: A practical address check (RFC 5321 lengths, one @, a dotted domain, no spaces).
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MAX_EMAIL = 254

#: 政策找人、政策找企业: the groups a citizen or a business can follow. An interpretation's
#: free-text target group matches a followed group when either contains the other.
POLICY_GROUPS: tuple[str, ...] = (
    "企业",
    "个体工商户",
    "农民",
    "老年人",
    "残疾人",
    "退役军人",
    "学生及家长",
    "就业创业人员",
    "低收入群众",
)

LABELS = {
    "email": ("电子邮箱", "e-mail"),
    "organ": ("订阅机关", "organ"),
    "topics": ("订阅内容", "topics"),
}


def invalid(field_name: str, rule: str, zh: str, en: str) -> ValidationFailed:
    label_zh, label_en = LABELS.get(field_name, (field_name, field_name))
    return ValidationFailed(
        rule=rule,
        field=field_name,
        message_zh=f"{label_zh}：{zh}",
        message_en=f"{label_en}: {en}",
        details={"label_zh": label_zh},
    )


def normalise_email(text: str) -> str:
    """Trimmed; the domain in lower case (the local part is the server's business)."""
    value = text.strip()
    if "@" not in value:
        return value
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def check_email(text: str) -> str:
    value = normalise_email(text)
    if not value:
        raise invalid("email", "email.required", "请填写电子邮箱", "required")
    if len(value) > MAX_EMAIL or not EMAIL.match(value):
        raise invalid(
            "email",
            "email.format",
            "格式不正确，应类似 name@example.com",
            "not an e-mail address (name@example.com)",
        )
    return value


@dataclass(frozen=True)
class Choices:
    """What can be followed: organs (org paths), column codes, document kinds, groups."""

    organs: frozenset[str]
    columns: frozenset[str]
    kinds: frozenset[str]
    groups: frozenset[str] = frozenset(POLICY_GROUPS)


def check_topics(organ: str, topics: Sequence[ev.Topic], choices: Choices) -> list[ev.Topic]:
    if organ not in choices.organs:
        raise invalid("organ", "organ.unknown", "请选择一个机关", "unknown organ")
    if not topics:
        raise invalid(
            "topics", "topics.required", "请至少选择一项订阅内容", "choose at least one topic"
        )
    allowed = {
        ev.TopicKind.column: choices.columns,
        ev.TopicKind.kind: choices.kinds,
        ev.TopicKind.group: choices.groups,
    }
    for topic in topics:
        if topic.code not in allowed[topic.kind]:
            raise invalid(
                "topics",
                "topics.unknown",
                f"没有“{topic.code}”这一项，请从列表中选择",
                f"unknown {topic.kind.value} {topic.code}",
            )
    unique: dict[tuple[str, str], ev.Topic] = {(t.kind.value, t.code): t for t in topics}
    return list(unique.values())


@dataclass(frozen=True)
class SubscriptionRules:
    confirm_hours: int = 72


@dataclass(frozen=True)
class SubscriptionState:
    version: int = 0
    subscription_id: UUID | None = None
    organ: str = ""
    topics: tuple[ev.Topic, ...] = ()
    confirm_by: datetime | None = None
    confirmed_at: datetime | None = None
    unsubscribed_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


def evolve(state: SubscriptionState, event: DomainEvent) -> SubscriptionState:
    state = replace(state, version=state.version + 1)
    if isinstance(event, ev.SubscriptionRequested):
        return replace(
            state,
            subscription_id=event.subscription_id,
            organ=event.organ,
            topics=tuple(event.topics),
            confirm_by=event.confirm_by,
        )
    if isinstance(event, ev.SubscriptionConfirmed):
        return replace(state, confirmed_at=event.confirmed_at)
    if isinstance(event, ev.Unsubscribed):
        return replace(state, unsubscribed_at=event.unsubscribed_at)
    return state


def request(
    subscription_id: UUID,
    email: str,
    email_key: str,
    organ: str,
    topics: list[ev.Topic],
    now: datetime,
    rules: SubscriptionRules,
) -> ev.SubscriptionRequested:
    return ev.SubscriptionRequested(
        subscription_id=subscription_id,
        organ=organ,
        email=email,
        email_key=email_key,
        topics=topics,
        requested_at=now,
        confirm_by=now + timedelta(hours=rules.confirm_hours),
    )


def _missing() -> NotFound:
    return NotFound(
        rule="subscription.not_found",
        field="token",
        message_zh="链接无效或订阅不存在",
        message_en="no such subscription",
    )


def confirm(state: SubscriptionState, now: datetime) -> ev.SubscriptionConfirmed | None:
    """None when already confirmed (a second click changes nothing)."""
    if state.subscription_id is None:
        raise _missing()
    if state.unsubscribed_at is not None:
        raise DomainRuleViolated(
            rule="subscription.unsubscribed",
            field="token",
            message_zh="该订阅已退订，如需继续接收请重新订阅",
            message_en="the subscription was cancelled; subscribe again",
        )
    if state.confirmed_at is not None:
        return None
    assert state.confirm_by is not None
    if now > state.confirm_by:
        raise DomainRuleViolated(
            rule="subscription.confirm_expired",
            field="token",
            message_zh="确认链接已过期，请重新订阅",
            message_en="the confirmation link expired; subscribe again",
        )
    return ev.SubscriptionConfirmed(subscription_id=state.subscription_id, confirmed_at=now)


def unsubscribe(
    state: SubscriptionState, now: datetime, way: ev.UnsubscribeWay
) -> ev.Unsubscribed | None:
    """None when already unsubscribed: one click, and every later click, just works."""
    if state.subscription_id is None:
        raise _missing()
    if state.unsubscribed_at is not None:
        return None
    return ev.Unsubscribed(subscription_id=state.subscription_id, unsubscribed_at=now, way=way)


# --- publications and matching ----------------------------------------------------------


@dataclass(frozen=True)
class Publication:
    """A publication as the dispatcher sees it (from the catalog or interpretation)."""

    key: str
    kind: ev.NoticeKind
    document_id: UUID
    township: str
    title: str
    column: str = ""
    document_kind: str = ""
    groups: tuple[str, ...] = ()
    summary: str = ""


def organ_covers(organ: str, township: str) -> bool:
    return township == organ or township.startswith(organ + "/")


def group_matches(followed: str, target: str) -> bool:
    return bool(target) and (followed in target or target in followed)


def matches(state: SubscriptionState, pub: Publication) -> bool:
    if not state.active or not organ_covers(state.organ, pub.township):
        return False
    for topic in state.topics:
        if pub.kind is ev.NoticeKind.interpretation:
            if topic.kind is ev.TopicKind.group and any(
                group_matches(topic.code, g) for g in pub.groups
            ):
                return True
            continue
        if topic.kind is ev.TopicKind.column and topic.code == pub.column:
            return True
        if topic.kind is ev.TopicKind.kind and topic.code == pub.document_kind:
            return True
    return False


def subject_of(pub: Publication) -> str:
    what = "政策解读" if pub.kind is ev.NoticeKind.interpretation else "新发布"
    return f"【政务公开·{what}】{pub.title}"[:200]


# --- delivery ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryRules:
    max_attempts: int = 10
    first_retry: timedelta = timedelta(seconds=30)
    max_retry: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class DeliveryState:
    version: int = 0
    delivery_id: UUID | None = None
    subscription_id: UUID | None = None
    kind: ev.NoticeKind | None = None
    attempts: int = 0
    next_at: datetime | None = None
    done: bool = False
    queued: ev.NoticeQueued | None = field(default=None, compare=False)


def evolve_delivery(state: DeliveryState, event: DomainEvent) -> DeliveryState:
    state = replace(state, version=state.version + 1)
    if isinstance(event, ev.NoticeQueued):
        return replace(
            state,
            delivery_id=event.delivery_id,
            subscription_id=event.subscription_id,
            kind=event.kind,
            next_at=event.queued_at,
            queued=event,
        )
    if isinstance(event, ev.DeliveryAttemptFailed):
        return replace(state, attempts=event.attempt, next_at=event.retry_at)
    if isinstance(event, (ev.NoticeDelivered, ev.NoticeDeadLettered)):
        return replace(state, done=True, next_at=None)
    return state


def retry_delay(attempt: int, rules: DeliveryRules) -> timedelta:
    """After the n-th failed attempt: first_retry × 2^(n-1), at most max_retry."""
    delay: timedelta = rules.first_retry * 2 ** (attempt - 1)
    return min(delay, rules.max_retry)


def due(state: DeliveryState, now: datetime) -> bool:
    return not state.done and state.next_at is not None and state.next_at <= now


def after_success(state: DeliveryState, now: datetime) -> ev.NoticeDelivered:
    assert state.delivery_id is not None
    return ev.NoticeDelivered(
        delivery_id=state.delivery_id, attempt=state.attempts + 1, delivered_at=now
    )


def after_failure(
    state: DeliveryState, now: datetime, error: str, permanent: bool, rules: DeliveryRules
) -> ev.DeliveryAttemptFailed | ev.NoticeDeadLettered:
    assert state.delivery_id is not None
    attempt = state.attempts + 1
    if permanent or attempt >= rules.max_attempts:
        why = "邮件服务器拒收" if permanent else f"{attempt}次发送均失败"
        return ev.NoticeDeadLettered(
            delivery_id=state.delivery_id, attempts=attempt, reason=f"{why}：{error}", dead_at=now
        )
    return ev.DeliveryAttemptFailed(
        delivery_id=state.delivery_id,
        attempt=attempt,
        error=error,
        failed_at=now,
        retry_at=now + retry_delay(attempt, rules),
    )


def not_sendable(
    state: DeliveryState, subscription: SubscriptionState, now: datetime
) -> ev.NoticeDeadLettered | None:
    """A publication notice to a subscription that ended (or never started) is not sent."""
    assert state.delivery_id is not None
    if subscription.subscription_id is None:
        reason = "订阅不存在"
    elif subscription.unsubscribed_at is not None:
        reason = "发送前已退订"
    elif state.kind is not ev.NoticeKind.confirmation and not subscription.active:
        reason = "订阅未确认"
    else:
        return None
    return ev.NoticeDeadLettered(
        delivery_id=state.delivery_id, attempts=state.attempts, reason=reason, dead_at=now
    )


# --- ratings and popularity -------------------------------------------------------------


@dataclass(frozen=True)
class RatingRules:
    per_visitor_day: int = 30


def check_rating(already_rated: bool, ratings_today: int, rules: RatingRules) -> None:
    if already_rated:
        raise DomainRuleViolated(
            rule="rating.once_a_day",
            field="useful",
            message_zh="您今天已经评价过这份文件，谢谢",
            message_en="already rated this document today",
        )
    if ratings_today >= rules.per_visitor_day:
        raise DomainRuleViolated(
            rule="rating.flood",
            field="useful",
            message_zh="今天的评价次数已达上限，请明天再试",
            message_en="too many ratings from this visitor today",
        )


@dataclass(frozen=True)
class ColumnTally:
    township: str
    column: str
    views: int
    useful: int = 0
    not_useful: int = 0


def month_of(day: date) -> tuple[str, date, date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return f"{first:%Y-%m}", first, following - timedelta(days=1)


def previous_month(today: date) -> tuple[str, date, date]:
    return month_of(today.replace(day=1) - timedelta(days=1))


def rank(
    tallies: Iterable[ColumnTally], names: Mapping[str, str], top: int = 10
) -> list[ev.RankedColumn]:
    """Most visitors first; ties by more 有用, then fewer 没用, then by name (stable)."""
    rows = [t for t in tallies if t.views > 0]
    rows.sort(key=lambda t: (-t.views, -t.useful, t.not_useful, t.township, t.column))
    return [
        ev.RankedColumn(
            rank=i,
            township=t.township,
            column=t.column,
            column_name=names.get(t.column, t.column),
            views=t.views,
            useful=t.useful,
            not_useful=t.not_useful,
        )
        for i, t in enumerate(rows[:top], start=1)
    ]
