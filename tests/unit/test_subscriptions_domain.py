"""The rules of 订阅推送 and 专栏热度, pure (services/subscriptions/domain.py, tokens.py,
mail.py's composition, the portal's view counter). 方案§五(二) 政策找人、政策找企业; 方案§21
最受群众欢迎的政务公开专栏; RFC 8058 one-click unsubscribe."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from services.portal.popularity import Engagement
from services.subscriptions import domain, tokens
from services.subscriptions import events as ev
from services.subscriptions.examples import EXAMPLES
from services.subscriptions.mail import Links, compose
from shared.errors import DomainRuleViolated, ValidationFailed

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
CHOICES = domain.Choices(
    organs=frozenset({"shangdang", "shangdang/sudian"}),
    columns=frozenset({"livelihood", "finance"}),
    kinds=frozenset({"notice"}),
)


def requested(**topics: str) -> domain.SubscriptionState:
    event = domain.request(
        uuid4(),
        "wang@example.com",
        "k",
        topics.pop("organ", "shangdang/sudian"),
        [ev.Topic(kind=ev.TopicKind(k), code=v) for k, v in topics.items()],
        NOW,
        domain.SubscriptionRules(),
    )
    return domain.evolve(domain.SubscriptionState(), event)


def test_an_address_is_checked_and_its_domain_lower_cased() -> None:
    assert domain.check_email(" Wang.XiuYing@Example.COM ") == "Wang.XiuYing@example.com"
    with pytest.raises(ValidationFailed) as bad:
        domain.check_email("wang at example")
    assert bad.value.field == "email" and bad.value.message_zh.startswith("电子邮箱：")


def test_topics_must_come_from_the_lists() -> None:
    with pytest.raises(ValidationFailed) as bad:
        domain.check_topics(
            "shangdang/sudian", [ev.Topic(kind=ev.TopicKind.column, code="x")], CHOICES
        )
    assert bad.value.rule == "topics.unknown"
    with pytest.raises(ValidationFailed):
        domain.check_topics("shangdang/nowhere", [], CHOICES)


def test_confirmation_is_needed_expires_and_a_second_click_changes_nothing() -> None:
    state = requested(column="livelihood")
    assert not state.active
    confirmed = domain.confirm(state, NOW + timedelta(hours=71))
    assert confirmed is not None
    state2 = domain.evolve(state, confirmed)
    assert state2.active and domain.confirm(state2, NOW) is None
    with pytest.raises(DomainRuleViolated) as late:
        domain.confirm(state, NOW + timedelta(hours=73))
    assert late.value.rule == "subscription.confirm_expired"


def test_unsubscribe_works_once_and_every_later_click_just_answers() -> None:
    state = requested(column="livelihood")
    gone = domain.unsubscribe(state, NOW, ev.UnsubscribeWay.one_click)
    assert gone is not None
    state = domain.evolve(state, gone)
    assert domain.unsubscribe(state, NOW, ev.UnsubscribeWay.link) is None


def test_matching_by_column_kind_and_targeted_group__fang_an_5_2() -> None:
    base = requested(column="livelihood", group="个体工商户")
    state = domain.evolve(
        base, ev.SubscriptionConfirmed(subscription_id=base.subscription_id, confirmed_at=NOW)
    )  # type: ignore[arg-type]
    doc = domain.Publication(
        key="k",
        kind=ev.NoticeKind.publication,
        document_id=uuid4(),
        township="shangdang/sudian",
        title="t",
        column="livelihood",
        document_kind="notice",
    )
    assert domain.matches(state, doc)
    assert not domain.matches(state, domain.Publication(**{**doc.__dict__, "column": "finance"}))
    assert not domain.matches(base, doc)  # not confirmed
    elsewhere = domain.Publication(**{**doc.__dict__, "township": "shangdang/xihuo"})
    assert not domain.matches(state, elsewhere)
    push = domain.Publication(
        key="i",
        kind=ev.NoticeKind.interpretation,
        document_id=uuid4(),
        township="shangdang/sudian",
        title="t",
        groups=("辖区个体工商户",),
    )
    assert domain.matches(state, push)
    assert not domain.matches(state, domain.Publication(**{**push.__dict__, "groups": ("老年人",)}))


def test_retries_double_up_to_the_cap_and_the_last_attempt_dead_letters() -> None:
    rules = domain.DeliveryRules(
        max_attempts=4, first_retry=timedelta(seconds=30), max_retry=timedelta(seconds=100)
    )
    assert [domain.retry_delay(n, rules).seconds for n in (1, 2, 3, 4)] == [30, 60, 100, 100]
    queued = EXAMPLES["subscriptions/NoticeQueued.v1"]()
    state = domain.evolve_delivery(domain.DeliveryState(), queued)
    for attempt in (1, 2, 3):
        failed = domain.after_failure(state, NOW, "SMTPConnectError", False, rules)
        assert isinstance(failed, ev.DeliveryAttemptFailed) and failed.attempt == attempt
        state = domain.evolve_delivery(state, failed)
    dead = domain.after_failure(state, NOW, "SMTPConnectError", False, rules)
    assert isinstance(dead, ev.NoticeDeadLettered) and dead.attempts == 4
    fresh = domain.evolve_delivery(domain.DeliveryState(), queued)
    assert isinstance(
        domain.after_failure(fresh, NOW, "SMTP 550", True, rules), ev.NoticeDeadLettered
    )


def test_ratings_once_per_document_and_day_and_a_daily_cap() -> None:
    rules = domain.RatingRules(per_visitor_day=3)
    domain.check_rating(False, 2, rules)
    with pytest.raises(DomainRuleViolated, match="once_a_day"):
        domain.check_rating(True, 0, rules)
    with pytest.raises(DomainRuleViolated, match="flood"):
        domain.check_rating(False, 3, rules)


def test_most_popular_columns_by_visitors_then_usefulness__fang_an_21() -> None:
    tallies = [
        domain.ColumnTally("shangdang/sudian", "livelihood", 120, 3, 1),
        domain.ColumnTally("shangdang/xihuo", "finance", 120, 9, 0),
        domain.ColumnTally("shangdang/sudian", "finance", 0),
        domain.ColumnTally("shangdang/xihuo", "livelihood", 300),
    ]
    ranked = domain.rank(tallies, {"finance": "财政"})
    assert [(r.rank, r.township, r.column) for r in ranked] == [
        (1, "shangdang/xihuo", "livelihood"),
        (2, "shangdang/xihuo", "finance"),
        (3, "shangdang/sudian", "livelihood"),
    ]
    assert ranked[1].column_name == "财政"
    assert domain.previous_month(date(2026, 1, 3)) == (
        "2025-12",
        date(2025, 12, 1),
        date(2025, 12, 31),
    )


def test_link_tokens_are_bound_to_subscription_and_purpose() -> None:
    sid = uuid4()
    token = tokens.sign("s" * 40, tokens.UNSUBSCRIBE, sid)
    assert tokens.verify("s" * 40, tokens.UNSUBSCRIBE, token) == sid
    assert tokens.verify("s" * 40, tokens.CONFIRM, token) is None
    assert tokens.verify("t" * 40, tokens.UNSUBSCRIBE, token) is None
    assert "@" not in token and tokens.mask("wang@example.com") == "w***@example.com"


def test_a_notice_mail_has_the_list_headers_and_both_bodies__rfc8058() -> None:
    queued = EXAMPLES["subscriptions/NoticeQueued.v1"]()
    assert isinstance(queued, ev.NoticeQueued)
    links = Links(
        confirm=None,
        unsubscribe="https://gk.example/gk/unsubscribe?token=a.b.c",
        manage="https://gk.example/gk/subscribe",
    )
    msg = compose(queued, "wang@example.com", "noreply@gk.example", links, NOW)
    assert msg["Message-ID"] == queued.message_id and msg["Date"]
    assert msg["List-Unsubscribe"] == f"<{links.unsubscribe}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Auto-Submitted"] == "auto-generated"
    kinds = [p.get_content_type() for p in msg.iter_parts()]
    assert kinds == ["text/plain", "text/html"]


def test_the_portal_counts_a_visitor_once_per_page_and_day_without_keeping_the_address() -> None:
    e = Engagement()
    page = ("shangdang/sudian", "livelihood", "")
    for _ in range(3):
        e.view("203.0.113.7", NOW, page)
    e.view("203.0.113.8", NOW, page)
    e.view("203.0.113.7", NOW + timedelta(days=1), page)  # a new day, a new salt
    assert "203.0.113.7" not in repr(e.seen)
    drained = e.drain()
    assert drained == {
        "2026-12-01": [{"township": "shangdang/sudian", "column": "livelihood", "views": 2}],
        "2026-12-02": [{"township": "shangdang/sudian", "column": "livelihood", "views": 1}],
    }
    assert e.drain() == {}
    key1 = e.visitor("203.0.113.7", NOW + timedelta(days=1))
    assert key1 == e.visitor("203.0.113.7", NOW + timedelta(days=1))
    assert key1 != e.visitor("203.0.113.7", NOW + timedelta(days=2))


def test_the_months_most_popular_columns_feed_the_highlight_evaluation__fang_an_21() -> None:
    from services.assessment.signals import Source, classify

    ranked = EXAMPLES["subscriptions/PopularColumnsRanked.v1"]()
    payload = ranked.model_dump(mode="json")
    payload["ranking"] += [
        {**payload["ranking"][0], "rank": n, "township": "shangdang/xihuo"} for n in (2, 3, 4)
    ]
    source = Source("e1", "PopularColumnsRanked", "shangdang", NOW, payload)
    found = classify(source)
    assert [(f.signal, f.org) for f in found] == [
        ("highlight.popular_column", "shangdang/sudian"),
        ("highlight.popular_column", "shangdang/xihuo"),
        ("highlight.popular_column", "shangdang/xihuo"),
    ]
    assert found[0].on == date(2026, 11, 30) and found[0].case.endswith(":2026-11")


async def test_without_a_mail_server_embedded_mode_writes_each_message_to_the_outbox(
    tmp_path: Path,
) -> None:
    """`make run` (no GONGKAI_SMTP_HOST): the message is an .eml file a developer can open."""
    from email import message_from_bytes
    from email.policy import default

    from services.subscriptions.mail import FileOutbox
    from services.subscriptions.service import mailer_of
    from shared.settings import Settings

    outbox = mailer_of(Settings(var_dir=tmp_path))
    assert isinstance(outbox, FileOutbox)
    assert mailer_of(Settings(var_dir=tmp_path, database_url="postgresql://x/y")) is None
    queued = EXAMPLES["subscriptions/NoticeQueued.v1"]()
    assert isinstance(queued, ev.NoticeQueued)
    links = Links(confirm=None, unsubscribe="https://gk.example/u", manage="https://gk.example/m")
    await outbox.send(compose(queued, "wang@example.com", "noreply@gk.example", links, NOW))
    (path,) = (tmp_path / "subscriptions" / "outbox").glob("*.eml")
    back = message_from_bytes(path.read_bytes(), policy=default)
    assert back["Subject"] == queued.subject and path.stem == str(queued.delivery_id)
