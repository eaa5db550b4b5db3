"""订阅推送 end to end below HTTP, on real stores (SQLite and PostgreSQL) and a real SMTP
server (aiosmtpd) reached through a real client (aiosmtplib), with an injected clock.

方案§五(二): 通过精准推送服务，实现"政策找人、政策找企业". A subscription is confirmed by the
mailed link; a publication in a followed column (the catalog's DocumentPublished) or an
interpretation pushed to a followed group (定向推送) becomes one e-mail per subscriber, with
its delivery record. While the mail server is down the job retries with a doubling delay;
when it is back the message goes out once; a server down for good dead-letters it. Every
message ends delivered or dead-lettered. The address never reaches a log line.
"""

from __future__ import annotations

import email
import hashlib
import re
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import structlog
from aiosmtpd.controller import Controller

from services.catalog import events as catalog
from services.catalog.columns import SEED_COLUMNS
from services.catalog.content import DocumentKind
from services.interpretation import examples as itp_examples
from services.interpretation.events import Channel
from services.subscriptions import tokens
from services.subscriptions.domain import Choices, DeliveryRules
from services.subscriptions.events import Topic, TopicKind, UnsubscribeWay, ViewCount
from services.subscriptions.handlers import SubscriptionHandlers
from services.subscriptions.jobs import tick
from services.subscriptions.mail import SmtpMailer
from services.subscriptions.projections import (
    DeliveryLedger,
    Popularity,
    PublicationInbox,
    SubscriberBook,
)
from shared.db import Database, SqliteDatabase
from shared.envelope import Actor, NewEvent, StreamWrite, new_id
from shared.errors import DomainRuleViolated
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.projections import ProjectionRunner
from shared.registry import payload_of

SECRET = "subscriptions-test-" + "s" * 30
ADDRESS = "wang.xiuying@example.com"
SUDIAN = "shangdang/sudian"
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """aiosmtpd's handler: every message the server accepted."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


@dataclass
class MailServer:
    port: int
    inbox: Inbox = field(default_factory=Inbox)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    server = MailServer(free_port())
    server.start()
    yield server
    server.stop()


@dataclass
class World:
    catalog: SqlEventStore
    interpretation: SqlEventStore
    store: SqlEventStore
    views: Database
    h: SubscriptionHandlers
    runners: list[ProjectionRunner]
    now: list[datetime]

    async def project(self) -> None:
        for runner in self.runners:
            await runner.run_once()

    async def tick(self) -> dict[str, int]:
        await self.project()
        done = await tick(self.h, self.now[0])
        await self.project()
        return done

    def later(self, **delta: float) -> None:
        self.now[0] += timedelta(**delta)

    async def records(self) -> list[dict[str, Any]]:
        rows = await self.views.fetch("SELECT * FROM sub_deliveries ORDER BY queued_at")
        return [dict(r) for r in rows]


@pytest.fixture(params=["sqlite", "postgres"])
async def world(
    request: pytest.FixtureRequest, tmp_path: Path, smtp: MailServer
) -> AsyncIterator[World]:
    if request.param == "sqlite":
        cat = await open_sqlite_store(str(tmp_path / "catalog.db"), name="catalog")
        itp = await open_sqlite_store(str(tmp_path / "itp.db"), name="interpretation")
        store = await open_sqlite_store(str(tmp_path / "events.db"), name="subscriptions")
        views: Database = await SqliteDatabase.open(tmp_path / "views.db")
    else:
        url = request.getfixturevalue("pg_url")
        schema = request.getfixturevalue("pg_schema")
        cat = await open_postgres_store(url, schema=schema + "_cat", listen=False)
        itp = await open_postgres_store(url, schema=schema + "_itp", listen=False)
        store = await open_postgres_store(url, schema=schema, listen=False)
        views = store.db
    now = [T0]
    h = SubscriptionHandlers(
        store=store,
        views=views,
        secret=SECRET,
        clock=lambda: now[0],
        choices=Choices(
            organs=frozenset({"shangdang", SUDIAN, "shangdang/xihuo"}),
            columns=frozenset(c.code for c in SEED_COLUMNS),
            kinds=frozenset(k.value for k in DocumentKind),
        ),
        district="shangdang",
        base_url="https://gk.shangdang.example",
        sender="noreply@shangdang.example",
        mailer=SmtpMailer(
            host="127.0.0.1", port=smtp.port, sender="noreply@shangdang.example", timeout=5
        ),
        column_names={c.code: c.name for c in SEED_COLUMNS},
        delivery=DeliveryRules(
            max_attempts=4, first_retry=timedelta(seconds=30), max_retry=timedelta(minutes=5)
        ),
    )
    inbox = PublicationInbox()
    runners = [
        ProjectionRunner(inbox, cat, views, checkpoint_name=inbox.name + "@catalog"),
        ProjectionRunner(inbox, itp, views, checkpoint_name=inbox.name + "@interpretation"),
        ProjectionRunner(inbox, store, views),
        ProjectionRunner(SubscriberBook(), store, views),
        ProjectionRunner(DeliveryLedger(), store, views),
        ProjectionRunner(Popularity(), store, views),
    ]
    for runner in runners:
        await runner.setup()
    yield World(cat, itp, store, views, h, runners, now)
    if views is not store.db:
        await views.close()
    for s in (store, itp, cat):
        await s.close()
    if request.param == "postgres":
        import asyncpg

        conn = await asyncpg.connect(request.getfixturevalue("pg_url"))
        for suffix in ("_cat", "_itp"):
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema}{suffix} CASCADE")
        await conn.close()


async def publish(w: World, title: str, column: str = "livelihood") -> UUID:
    """A DocumentPublished as the catalog writes it (its own model, so a change shows here)."""
    document_id = new_id()
    body = "各村（社区）：\n为保障群众温暖安全过冬，现就供暖设施安全检查工作通知如下。"
    content = catalog.DocumentContent(
        title=title,
        body=body,
        document_number="苏政发〔2026〕31号",
        issue_date=date(2026, 11, 28),
        kind=DocumentKind("notice"),
        column=column,
    )
    event = catalog.DocumentPublished(
        document_id=document_id,
        township=SUDIAN,
        drafting_unit=f"{SUDIAN}/party-office",
        drafting_unit_name="苏店镇党政办",
        revision=1,
        is_update=False,
        kind=content.kind,
        title=title,
        document_number=content.document_number,
        issue_date=content.issue_date,
        column=column,
        content=content,
        content_hash=hashlib.sha256(body.encode()).hexdigest(),
        attribute=catalog.DisclosureAttribute.proactive,
        needs_interpretation=False,
        channels=[catalog.PublicationChannel.website],
        published_at=w.now[0],
        publisher="tian-yiming",
        drafter="yang-fan",
        reviewers=catalog.Reviewers(
            first_review="zhao-lei",
            second_review="cui-xulin",
            final_review="tian-yiming",
            proofreaders=["zhao-lei"],
        ),
        publication_due=date(2026, 12, 25),
        due_provisional=False,
        late=False,
        working_days_taken=2,
    )
    await w.catalog.append(
        [
            StreamWrite(
                stream_id=f"document-{document_id}",
                stream_type="document",
                events=(
                    NewEvent(
                        type=event.event_type,
                        tenant=f"{SUDIAN}/party-office",
                        actor=Actor(id="tian-yiming", role="principal_leader"),
                        payload=payload_of(event),
                    ),
                ),
            )
        ]
    )
    return document_id


def link(msg: EmailMessage, path: str) -> str:
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(rf"https://gk\.shangdang\.example{path}\?token=([\w.-]+)", text)
    assert found, text
    return found.group(1)


async def subscribed(w: World, smtp: MailServer, *topics: Topic) -> str:
    """Subscribe, receive the confirmation mail over SMTP, confirm by its link; the
    unsubscribe token of the subscription."""
    answer = await w.h.subscribe(ADDRESS, SUDIAN, list(topics), None)
    assert answer == {"status": "confirmation_sent"}
    before = len(smtp.inbox.messages)
    assert (await w.tick())["delivered"] == 1
    mail = smtp.inbox.messages[before]
    assert mail["To"] == ADDRESS and "确认" in mail["Subject"]
    assert "List-Unsubscribe" not in mail  # not on a list until confirmed
    await w.h.confirm(link(mail, "/gk/subscribe/confirm"), None)
    await w.project()
    return link(mail, "/gk/unsubscribe")


async def test_a_publication_in_a_followed_column_reaches_the_subscriber_by_smtp__fang_an_5_2(
    world: World, smtp: MailServer
) -> None:
    w = world
    await subscribed(w, smtp, Topic(kind=TopicKind.column, code="livelihood"))
    await publish(w, "苏店镇关于做好今冬明春农村供暖设施安全检查工作的通知")
    await publish(w, "苏店镇2026年第四季度财政预算执行情况", column="finance")  # not followed
    w.later(seconds=5)
    done = await w.tick()
    assert done["queued"] == 1 and done["delivered"] == 1
    notice = smtp.inbox.messages[-1]
    assert (
        notice["Subject"]
        == "【政务公开·新发布】苏店镇关于做好今冬明春农村供暖设施安全检查工作的通知"
    )
    assert notice["Message-ID"].endswith("@shangdang.example>")
    assert notice["Date"] and notice["From"].addresses[0].addr_spec == "noreply@shangdang.example"
    assert notice["List-Unsubscribe"].startswith("<https://gk.shangdang.example/gk/unsubscribe?")
    assert notice["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # RFC 8058
    assert notice.get_content_type() == "multipart/alternative"
    plain = notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = notice.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "您订阅的新发布的政府信息" in plain and "/gk/doc/" in plain
    assert '<html lang="zh-CN">' in html and "退订" in html
    assert smtp.inbox.envelopes[-1] == ("noreply@shangdang.example", [ADDRESS])
    records = await w.records()
    assert [(r["kind"], r["status"], r["attempts"]) for r in records] == [
        ("confirmation", "delivered", 1),
        ("publication", "delivered", 1),
    ]


async def test_a_mail_server_down_for_a_while_loses_nothing__retries_with_backoff(
    world: World, smtp: MailServer
) -> None:
    w = world
    await subscribed(w, smtp, Topic(kind=TopicKind.kind, code="notice"))
    received = len(smtp.inbox.messages)
    smtp.stop()
    await publish(w, "苏店镇关于开展冬季森林防火专项检查的通知")
    with structlog.testing.capture_logs() as logs:
        assert (await w.tick())["retrying"] == 1  # attempt 1 fails: retry after 30 s
        (record,) = [r for r in await w.records() if r["kind"] == "publication"]
        assert record["status"] == "retrying" and record["attempts"] == 1
        w.later(seconds=20)
        assert (await w.tick())["retrying"] == 0  # not due yet: nothing tried
        w.later(seconds=15)
        assert (await w.tick())["retrying"] == 1  # attempt 2 fails: retry after 60 s
        smtp.start()
        w.later(seconds=30)
        assert (await w.tick())["delivered"] == 0  # back, but the retry is not due yet
        w.later(seconds=31)
        assert (await w.tick())["delivered"] == 1
    assert len(smtp.inbox.messages) == received + 1  # once, not once per attempt
    (record,) = [r for r in await w.records() if r["kind"] == "publication"]
    assert record["status"] == "delivered" and record["attempts"] == 3
    stream = await w.store.read_stream(f"delivery-{record['delivery_id']}")
    assert [e.type for e in stream] == [
        "NoticeQueued",
        "DeliveryAttemptFailed",
        "DeliveryAttemptFailed",
        "NoticeDelivered",
    ]
    assert stream[1].payload["retry_at"] != stream[2].payload["retry_at"]
    assert all("@" not in e.payload.get("error", "") for e in stream)
    assert ADDRESS not in repr(logs) and logs  # logged, never with the address


async def test_a_mail_server_down_for_good_dead_letters_the_message_with_its_record(
    world: World, smtp: MailServer
) -> None:
    w = world
    await subscribed(w, smtp, Topic(kind=TopicKind.column, code="livelihood"))
    smtp.stop()
    await publish(w, "苏店镇关于调整农村低保标准的通知")
    outcomes = []
    for _ in range(6):
        w.later(minutes=10)
        outcomes.append(await w.tick())
    (record,) = [r for r in await w.records() if r["kind"] == "publication"]
    assert record["status"] == "dead" and record["attempts"] == 4
    assert "4次发送均失败" in record["last_error"]
    assert sum(o["dead"] for o in outcomes) == 1
    assert await w.h.due_deliveries(w.now[0] + timedelta(days=1)) == []


async def test_targeted_push_reaches_the_followed_group_and_unsubscribe_stops_it__fang_an_5_2(
    world: World, smtp: MailServer
) -> None:
    """定向推送: an interpretation published with the targeted_push channel and target group
    个体工商户 reaches a subscriber of 个体工商户; one click unsubscribes (RFC 8058)."""
    w = world
    unsubscribe = await subscribed(w, smtp, Topic(kind=TopicKind.group, code="个体工商户"))
    published = itp_examples.EXAMPLES["interpretation/InterpretationPublished.v1"]()
    pushed = published.model_copy(
        update={
            "interpretation_id": new_id(),
            "channels": [Channel.website, Channel.targeted_push],
            "target_groups": ["辖区个体工商户", "小微企业"],
            "published_at": w.now[0],
        }
    )
    plain = published.model_copy(update={"interpretation_id": new_id(), "published_at": w.now[0]})
    for event in (pushed, plain):
        await w.interpretation.append(
            [
                StreamWrite(
                    stream_id=f"interpretation-{event.interpretation_id}",  # type: ignore[attr-defined]
                    stream_type="interpretation",
                    events=(
                        NewEvent(
                            type=event.event_type,
                            tenant=SUDIAN,
                            actor=Actor(id="zhao-lei"),
                            payload=payload_of(event),
                        ),
                    ),
                )
            ]
        )
    done = await w.tick()
    assert done["queued"] == 1 and done["delivered"] == 1
    assert smtp.inbox.messages[-1]["Subject"].startswith("【政务公开·政策解读】")
    answer = await w.h.unsubscribe(unsubscribe, UnsubscribeWay.one_click, None)
    assert answer["status"] == "unsubscribed"
    again = await w.h.unsubscribe(unsubscribe, UnsubscribeWay.link, None)  # a second click
    assert again["status"] == "unsubscribed"
    await w.project()
    await publish(w, "苏店镇关于个体工商户年报的通知")
    assert (await w.tick())["queued"] == 0
    assert tokens.verify(SECRET, tokens.UNSUBSCRIBE, unsubscribe + "x") is None


async def test_the_confirmation_mail_is_sent_once_an_hour_per_address_and_organ(
    world: World, smtp: MailServer
) -> None:
    w = world
    topic = [Topic(kind=TopicKind.column, code="livelihood")]
    head = await w.store.head_position()
    for _ in range(3):
        await w.h.subscribe(" Wang.Xiuying@EXAMPLE.com ", SUDIAN, topic, None)
        await w.project()
    assert await w.store.head_position() == head + 2  # one request + one queued mail


async def test_views_and_ratings_make_the_months_most_popular_columns__fang_an_21(
    world: World,
) -> None:
    """最受欢迎专栏: flushed view counts add up, a rating is refused (and writes nothing) the
    second time the same visitor rates a document on a day, and the month's ranking is
    recorded once, on the first tick of the next month."""
    w = world
    doc = new_id()
    xihuo = "shangdang/xihuo"
    day = date(2026, 11, 20)
    await w.h.count_views(
        day,
        [
            ViewCount(township=SUDIAN, column="livelihood", views=3),
            ViewCount(township=SUDIAN, column="livelihood", document_id=doc, views=4),
            ViewCount(township=xihuo, column="finance", views=5),
        ],
    )
    await w.h.count_views(day, [ViewCount(township=xihuo, column="finance", views=1)])
    w.now[0] = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    await w.h.rate(doc, SUDIAN, "livelihood", True, "visitor-key-1")
    await w.h.rate(doc, SUDIAN, "livelihood", False, "visitor-key-2")
    head = await w.store.head_position()
    with pytest.raises(DomainRuleViolated) as twice:
        await w.h.rate(doc, SUDIAN, "livelihood", True, "visitor-key-1")
    assert twice.value.rule == "rating.once_a_day"
    assert await w.store.head_position() == head  # a refused rating writes no event
    stored = [e for e in await w.store.read_all(0) if e.type == "DocumentRated"]
    assert all("visitor" not in str(e.payload) for e in stored)  # the key never in an event
    await w.project()
    running = await w.h.popular_columns(date(2026, 11, 1))
    assert not running["recorded"]
    assert [(r["township"], r["views"]) for r in running["ranking"]] == [
        (SUDIAN, 7),
        (xihuo, 6),
    ]
    w.now[0] = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)  # 08:05 on 1 December in Beijing
    await w.tick()
    recorded = await w.h.popular_columns(date(2026, 11, 1))
    assert recorded["recorded"] and recorded["ranking"][0]["useful"] == 1
    assert recorded["ranking"][0]["not_useful"] == 1
    assert await w.h.rank_month(date(2026, 12, 2)) is None  # once a month
