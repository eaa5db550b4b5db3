"""One realistic example of every subscriptions event, for the contract tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from uuid import UUID

from services.subscriptions import events as ev
from shared.registry import DomainEvent

SUB = UUID("01936f0e-7c1b-7000-8000-0000000051b1")
DELIVERY = UUID("01936f0e-7c1b-7000-8000-00000000de11")
DOC = UUID("01936f0e-7c1b-7000-8000-00000000d0c1")
AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
SUDIAN = "shangdang/sudian"

EXAMPLES: dict[str, Callable[[], DomainEvent]] = {
    "subscriptions/SubscriptionRequested.v1": lambda: ev.SubscriptionRequested(
        subscription_id=SUB,
        organ=SUDIAN,
        email="wang.xiuying@example.com",
        email_key="q2dC7sVq1n9oJ3m4Xb0k1w",
        topics=[
            ev.Topic(kind=ev.TopicKind.column, code="livelihood"),
            ev.Topic(kind=ev.TopicKind.group, code="老年人"),
        ],
        requested_at=AT,
        confirm_by=datetime(2026, 12, 4, 2, 0, tzinfo=UTC),
    ),
    "subscriptions/SubscriptionConfirmed.v1": lambda: ev.SubscriptionConfirmed(
        subscription_id=SUB, confirmed_at=AT
    ),
    "subscriptions/Unsubscribed.v1": lambda: ev.Unsubscribed(
        subscription_id=SUB, unsubscribed_at=AT, way=ev.UnsubscribeWay.one_click
    ),
    "subscriptions/NoticeQueued.v1": lambda: ev.NoticeQueued(
        delivery_id=DELIVERY,
        subscription_id=SUB,
        kind=ev.NoticeKind.publication,
        publication_key=f"document-{DOC}-1",
        document_id=DOC,
        subject="【政务公开·新发布】苏店镇关于做好今冬明春农村供暖设施安全检查工作的通知",
        title="苏店镇关于做好今冬明春农村供暖设施安全检查工作的通知",
        summary="为保障群众温暖安全过冬，现就做好今冬明春农村供暖设施安全检查工作通知如下。",
        url=f"https://gk.shangdang.gov.cn/gk/doc/{DOC}",
        message_id=f"<{DELIVERY}@shangdang.gov.cn>",
        queued_at=AT,
    ),
    "subscriptions/DeliveryAttemptFailed.v1": lambda: ev.DeliveryAttemptFailed(
        delivery_id=DELIVERY,
        attempt=1,
        error="SMTPConnectError",
        failed_at=AT,
        retry_at=datetime(2026, 12, 1, 2, 0, 30, tzinfo=UTC),
    ),
    "subscriptions/NoticeDelivered.v1": lambda: ev.NoticeDelivered(
        delivery_id=DELIVERY, attempt=2, delivered_at=AT
    ),
    "subscriptions/NoticeDeadLettered.v1": lambda: ev.NoticeDeadLettered(
        delivery_id=DELIVERY, attempts=10, reason="10次发送均失败：SMTPConnectError", dead_at=AT
    ),
    "subscriptions/PublicationDispatched.v1": lambda: ev.PublicationDispatched(
        publication_key=f"document-{DOC}-1", notices=12, dispatched_at=AT
    ),
    "subscriptions/SubscriberDataRead.v1": lambda: ev.SubscriberDataRead(
        subscription_ids=[SUB], endpoint="GET /v1/subscriptions/{subscription_id}", fields=["email"]
    ),
    "subscriptions/PageViewsCounted.v1": lambda: ev.PageViewsCounted(
        day=date(2026, 12, 1),
        counts=[
            ev.ViewCount(township=SUDIAN, column="livelihood", views=37),
            ev.ViewCount(township=SUDIAN, column="livelihood", document_id=DOC, views=112),
        ],
        counted_until=AT,
    ),
    "subscriptions/DocumentRated.v1": lambda: ev.DocumentRated(
        document_id=DOC, township=SUDIAN, column="livelihood", useful=True, day=date(2026, 12, 1)
    ),
    "subscriptions/PopularColumnsRanked.v1": lambda: ev.PopularColumnsRanked(
        period="2026-11",
        first_day=date(2026, 11, 1),
        last_day=date(2026, 11, 30),
        ranking=[
            ev.RankedColumn(
                rank=1,
                township=SUDIAN,
                column="livelihood",
                column_name="民生（教育、医疗、就业、生态环境、水电气暖）",
                views=1834,
                useful=41,
                not_useful=3,
            )
        ],
        ranked_at=AT,
    ),
}
