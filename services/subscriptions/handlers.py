"""The application layer of 订阅推送 and 专栏热度: load a stream, decide (domain.py), append.

Everything here is a step on one or a few streams; the public routes (public_api.py), the
portal's service-account routes and the jobs (jobs.py) call these.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
import structlog

from services.subscriptions import domain, tokens
from services.subscriptions import events as ev
from services.subscriptions.mail import Links, Mailer, SendFailed, compose
from services.subscriptions.projections import utc_text
from shared.db import Database
from shared.envelope import Actor, StreamWrite
from shared.errors import ConcurrencyConflict, NotFound
from shared.eventstore import EventStore
from shared.registry import DomainEvent, access_write, to_new_event
from shared.workdays import local_date

log = structlog.get_logger("gongkai.subscriptions")

PUBLIC = Actor(id="public", kind="user", role=None)
SYSTEM = Actor(id="svc-subscriptions", kind="system", role=None)
#: Delivery ids are derived from (publication, subscription): queuing twice is impossible.
DELIVERY_NS = UUID("6c0d8f0e-2b57-5d1c-9a53-7a7a2f3c0001")
#: One confirmation mail per address and organ an hour, however often the form is sent.
CONFIRMATION_PAUSE = timedelta(hours=1)
#: A publication older than this when the dispatcher first sees it is not pushed (a replay
#: or a first start must not mail old news).
FRESH = timedelta(days=3)


def subscription_stream(subscription_id: UUID) -> str:
    return f"subscription-{subscription_id}"


def delivery_stream(delivery_id: UUID) -> str:
    return f"delivery-{delivery_id}"


@dataclass
class SubscriptionHandlers:
    store: EventStore
    views: Database
    secret: str
    clock: Callable[[], datetime]
    choices: domain.Choices
    district: str
    base_url: str
    sender: str
    #: None: no mail server configured (distributed mode): notices wait in the queue.
    mailer: Mailer | None
    column_names: dict[str, str]
    rules: domain.SubscriptionRules = field(default_factory=domain.SubscriptionRules)
    delivery: domain.DeliveryRules = field(default_factory=domain.DeliveryRules)
    ratings: domain.RatingRules = field(default_factory=domain.RatingRules)
    _flood_ready: bool = False

    # --- subscriptions -----------------------------------------------------------------

    async def subscription(self, subscription_id: UUID) -> tuple[domain.SubscriptionState, str]:
        state = domain.SubscriptionState()
        email = ""
        for recorded in await self.store.read_stream(subscription_stream(subscription_id)):
            event = ev.registry.decode(recorded)
            if isinstance(event, ev.SubscriptionRequested):
                email = event.email
            state = domain.evolve(state, event)
        return state, email

    def _message_id(self, delivery_id: UUID) -> str:
        domain_part = self.sender.rpartition("@")[2] or "gongkai.invalid"
        return f"<{delivery_id}@{domain_part}>"

    async def subscribe(
        self, email: str, organ: str, topics: list[ev.Topic], correlation: UUID | None
    ) -> dict[str, Any]:
        """Record the request and queue its confirmation mail, in one append. The answer is
        the same whether or not the address is known (no one learns who subscribes)."""
        address = domain.check_email(email)
        chosen = domain.check_topics(organ, topics, self.choices)
        key = tokens.email_key(self.secret, address)
        now = self.clock()
        recent = await self.views.fetchval(
            "SELECT COUNT(*) FROM sub_subscribers WHERE email_key = $1 AND organ = $2 "
            "AND status = 'pending' AND requested_at > $3",
            key,
            organ,
            utc_text(now - CONFIRMATION_PAUSE),
        )
        if recent:
            return {"status": "confirmation_sent"}
        subscription_id = uuid.uuid4()
        requested = domain.request(subscription_id, address, key, organ, chosen, now, self.rules)
        delivery_id = uuid.uuid5(DELIVERY_NS, f"confirmation:{subscription_id}")
        queued = ev.NoticeQueued(
            delivery_id=delivery_id,
            subscription_id=subscription_id,
            kind=ev.NoticeKind.confirmation,
            subject="【政务公开】请确认您的订阅",
            message_id=self._message_id(delivery_id),
            queued_at=now,
        )
        await self.store.append(
            [
                StreamWrite(
                    stream_id=subscription_stream(subscription_id),
                    stream_type="subscription",
                    expected_version=0,
                    events=(to_new_event(requested, organ, PUBLIC, correlation),),
                ),
                StreamWrite(
                    stream_id=delivery_stream(delivery_id),
                    stream_type="delivery",
                    expected_version=0,
                    events=(to_new_event(queued, organ, SYSTEM, correlation),),
                ),
            ]
        )
        log.info("subscription.requested", subscription=str(subscription_id), organ=organ)
        return {"status": "confirmation_sent"}

    def _token_subject(self, purpose: str, token: str) -> UUID:
        found = tokens.verify(self.secret, purpose, token)
        if found is None:
            raise NotFound(
                rule="subscription.token_invalid",
                field="token",
                message_zh="链接无效，请检查是否完整复制了邮件中的链接",
                message_en="invalid link token",
            )
        return found

    async def confirm(self, token: str, correlation: UUID | None) -> dict[str, Any]:
        subscription_id = self._token_subject(tokens.CONFIRM, token)
        state, _ = await self.subscription(subscription_id)
        event = domain.confirm(state, self.clock())
        if event is not None:
            await self._append_subscription(state, event, correlation)
        return {"subscription_id": str(subscription_id), "status": "active", "organ": state.organ}

    async def unsubscribe(
        self, token: str, way: ev.UnsubscribeWay, correlation: UUID | None
    ) -> dict[str, Any]:
        subscription_id = self._token_subject(tokens.UNSUBSCRIBE, token)
        state, _ = await self.subscription(subscription_id)
        event = domain.unsubscribe(state, self.clock(), way)
        if event is not None:
            await self._append_subscription(state, event, correlation)
        return {"subscription_id": str(subscription_id), "status": "unsubscribed"}

    async def _append_subscription(
        self, state: domain.SubscriptionState, event: DomainEvent, correlation: UUID | None
    ) -> None:
        assert state.subscription_id is not None
        await self.store.append(
            [
                StreamWrite(
                    stream_id=subscription_stream(state.subscription_id),
                    stream_type="subscription",
                    expected_version=state.version,
                    events=(to_new_event(event, state.organ, PUBLIC, correlation),),
                )
            ]
        )

    async def record_subscriber_read(
        self, reader: Actor, tenant: str, ids: list[str], endpoint: str, correlation: UUID
    ) -> None:
        event = ev.SubscriberDataRead(
            subscription_ids=[UUID(i) for i in ids], endpoint=endpoint, fields=["email"]
        )
        await self.store.append([access_write(event, tenant, reader, correlation)])

    # --- dispatch: a publication becomes notices ---------------------------------------

    async def dispatch(self, now: datetime) -> list[UUID]:
        """Queue the notices of every fresh, undispatched publication; returns their ids."""
        rows = await self.views.fetch(
            """SELECT p.* FROM sub_publications p
               LEFT JOIN sub_dispatched d ON d.publication_key = p.publication_key
               WHERE d.publication_key IS NULL AND p.withdrawn = FALSE
               ORDER BY p.published_at LIMIT 50"""
        )
        total: list[UUID] = []
        for row in rows:
            published = datetime.fromisoformat(str(row["published_at"]))
            pub = domain.Publication(
                key=row["publication_key"],
                kind=ev.NoticeKind(row["kind"]),
                document_id=UUID(row["document_id"]),
                township=row["township"],
                title=row["title"],
                column=row["column_code"],
                document_kind=row["document_kind"],
                groups=tuple(orjson.loads(row["groups"])),
                summary=row["summary"],
            )
            fresh = now - published <= FRESH
            total += await self._dispatch_one(pub, now, fresh)
        return total

    async def _dispatch_one(
        self, pub: domain.Publication, now: datetime, fresh: bool
    ) -> list[UUID]:
        writes: list[StreamWrite] = []
        queued_ids: list[UUID] = []
        if fresh:
            for row in await self.views.fetch(
                "SELECT subscription_id, organ, topics FROM sub_subscribers WHERE status = 'active'"
            ):
                state = domain.SubscriptionState(
                    version=2,
                    subscription_id=UUID(row["subscription_id"]),
                    organ=row["organ"],
                    topics=tuple(ev.Topic.model_validate(t) for t in orjson.loads(row["topics"])),
                    confirmed_at=now,
                )
                if not domain.matches(state, pub):
                    continue
                assert state.subscription_id is not None
                delivery_id = uuid.uuid5(DELIVERY_NS, f"{pub.key}:{state.subscription_id}")
                path = "doc" if pub.kind is ev.NoticeKind.publication else "interpretation"
                queued = ev.NoticeQueued(
                    delivery_id=delivery_id,
                    subscription_id=state.subscription_id,
                    kind=pub.kind,
                    publication_key=pub.key,
                    document_id=pub.document_id,
                    subject=domain.subject_of(pub),
                    title=pub.title,
                    summary=pub.summary or None,
                    url=f"{self.base_url}/gk/{path}/{pub.document_id}",
                    message_id=self._message_id(delivery_id),
                    queued_at=now,
                )
                queued_ids.append(delivery_id)
                writes.append(
                    StreamWrite(
                        stream_id=delivery_stream(delivery_id),
                        stream_type="delivery",
                        expected_version=0,
                        events=(to_new_event(queued, state.organ, SYSTEM, None),),
                    )
                )
        done = ev.PublicationDispatched(
            publication_key=pub.key, notices=len(writes), dispatched_at=now
        )
        writes.append(
            StreamWrite(
                stream_id=f"publication-{pub.key}",
                stream_type="publication",
                expected_version=0,
                events=(to_new_event(done, pub.township, SYSTEM, None),),
            )
        )
        try:
            await self.store.append(writes)
        except ConcurrencyConflict:
            return []  # another process dispatched it meanwhile
        return queued_ids

    # --- delivery: notices become e-mails ----------------------------------------------

    async def delivery_state(self, delivery_id: UUID) -> domain.DeliveryState:
        state = domain.DeliveryState()
        for recorded in await self.store.read_stream(delivery_stream(delivery_id)):
            state = domain.evolve_delivery(state, ev.registry.decode(recorded))
        return state

    async def due_deliveries(self, now: datetime, limit: int = 100) -> list[UUID]:
        rows = await self.views.fetch(
            "SELECT delivery_id FROM sub_deliveries WHERE status IN ('queued', 'retrying') "
            "AND next_at <= $1 ORDER BY next_at LIMIT $2",
            utc_text(now),
            limit,
        )
        return [UUID(r["delivery_id"]) for r in rows]

    async def deliver(self, delivery_id: UUID, now: datetime) -> str:
        """One attempt at one message: 'delivered', 'retrying', 'dead' or 'skipped'."""
        assert self.mailer is not None
        state = await self.delivery_state(delivery_id)
        if not domain.due(state, now) or state.queued is None:
            return "skipped"
        assert state.subscription_id is not None
        subscription, email = await self.subscription(state.subscription_id)
        outcome: DomainEvent | None = domain.not_sendable(state, subscription, now)
        if outcome is None:
            unsubscribe = tokens.sign(self.secret, tokens.UNSUBSCRIBE, state.subscription_id)
            confirm = tokens.sign(self.secret, tokens.CONFIRM, state.subscription_id)
            links = Links(
                confirm=f"{self.base_url}/gk/subscribe/confirm?token={confirm}",
                unsubscribe=f"{self.base_url}/gk/unsubscribe?token={unsubscribe}",
                manage=f"{self.base_url}/gk/subscribe",
            )
            message = compose(state.queued, email, self.sender, links, now)
            try:
                await self.mailer.send(message)
                outcome = domain.after_success(state, now)
            except SendFailed as failed:
                outcome = domain.after_failure(
                    state, now, failed.error, failed.permanent, self.delivery
                )
                log.warning(
                    "delivery.failed",
                    delivery=str(delivery_id),
                    error=failed.error,
                    attempt=state.attempts + 1,
                )
        try:
            await self.store.append(
                [
                    StreamWrite(
                        stream_id=delivery_stream(delivery_id),
                        stream_type="delivery",
                        expected_version=state.version,
                        events=(
                            to_new_event(outcome, subscription.organ or self.district, SYSTEM),
                        ),
                    )
                ]
            )
        except ConcurrencyConflict:
            return "skipped"
        return {
            "NoticeDelivered": "delivered",
            "DeliveryAttemptFailed": "retrying",
        }.get(outcome.event_type, "dead")

    # --- popularity ----------------------------------------------------------------------

    async def count_views(self, day: date, counts: list[ev.ViewCount]) -> int:
        event = ev.PageViewsCounted(day=day, counts=counts, counted_until=self.clock())
        await self.store.append(
            [
                StreamWrite(
                    stream_id=f"page-views-{day.isoformat()}",
                    stream_type="page-views",
                    expected_version=None,
                    events=(to_new_event(event, self.district, SYSTEM),),
                )
            ]
        )
        return sum(c.views for c in counts)

    async def _flood_table(self) -> None:
        if not self._flood_ready:
            await self.views.execute(
                """CREATE TABLE IF NOT EXISTS pop_rating_flood (
                    day TEXT NOT NULL, rater TEXT NOT NULL, document_id TEXT NOT NULL,
                    PRIMARY KEY (day, rater, document_id))"""
            )
            self._flood_ready = True

    async def rate(
        self, document_id: UUID, township: str, column: str, useful: bool, rater: str
    ) -> dict[str, Any]:
        """One 有用/没用. `rater` is the portal's salted, daily-rotating hash of the visitor's
        address: kept a day in a side table for the flood limit, never in the event."""
        await self._flood_table()
        today = local_date(self.clock())
        day = today.isoformat()
        await self.views.execute("DELETE FROM pop_rating_flood WHERE day < $1", day)
        already = await self.views.fetchval(
            "SELECT COUNT(*) FROM pop_rating_flood WHERE day = $1 AND rater = $2 "
            "AND document_id = $3",
            day,
            rater,
            str(document_id),
        )
        count = await self.views.fetchval(
            "SELECT COUNT(*) FROM pop_rating_flood WHERE day = $1 AND rater = $2", day, rater
        )
        domain.check_rating(bool(already), int(count or 0), self.ratings)
        try:
            await self.views.execute(
                "INSERT INTO pop_rating_flood (day, rater, document_id) VALUES ($1, $2, $3)",
                day,
                rater,
                str(document_id),
            )
        except Exception:  # a concurrent twin won the primary key: the same refusal
            domain.check_rating(True, 0, self.ratings)
        event = ev.DocumentRated(
            document_id=document_id, township=township, column=column, useful=useful, day=today
        )
        await self.store.append(
            [
                StreamWrite(
                    stream_id=f"rating-{document_id}",
                    stream_type="rating",
                    expected_version=None,
                    events=(to_new_event(event, township, PUBLIC),),
                )
            ]
        )
        return {"document_id": str(document_id), "useful": useful, "day": day}

    async def tallies(self, first: date, last: date) -> list[domain.ColumnTally]:
        views = await self.views.fetch(
            "SELECT township, column_code, SUM(views) AS views FROM pop_views "
            "WHERE day >= $1 AND day <= $2 GROUP BY township, column_code",
            first.isoformat(),
            last.isoformat(),
        )
        rated = await self.views.fetch(
            "SELECT township, column_code, SUM(useful) AS useful, SUM(not_useful) AS not_useful "
            "FROM pop_ratings WHERE day >= $1 AND day <= $2 GROUP BY township, column_code",
            first.isoformat(),
            last.isoformat(),
        )
        marks = {(r["township"], r["column_code"]): r for r in rated}
        tallies = []
        for r in views:
            m = marks.get((r["township"], r["column_code"]))
            tallies.append(
                domain.ColumnTally(
                    township=r["township"],
                    column=r["column_code"],
                    views=int(r["views"]),
                    useful=int(m["useful"]) if m else 0,
                    not_useful=int(m["not_useful"]) if m else 0,
                )
            )
        return tallies

    async def popular_columns(self, first: date) -> dict[str, Any]:
        """最受欢迎专栏 of the month starting `first`: recorded, or the running tally."""
        period, first, last = domain.month_of(first)
        rows = await self.views.fetch(
            "SELECT * FROM pop_rankings WHERE period = $1 ORDER BY rank", period
        )
        if rows:
            ranking = [
                {
                    "rank": r["rank"],
                    "township": r["township"],
                    "column": r["column_code"],
                    "column_name": r["column_name"],
                    "views": r["views"],
                    "useful": r["useful"],
                    "not_useful": r["not_useful"],
                }
                for r in rows
            ]
            recorded = True
        else:
            ranked = domain.rank(await self.tallies(first, last), self.column_names)
            ranking = [r.model_dump(mode="json") for r in ranked]
            recorded = False
        return {
            "period": period,
            "first_day": first.isoformat(),
            "last_day": last.isoformat(),
            "recorded": recorded,
            "ranking": ranking,
        }

    async def rank_month(self, today: date) -> ev.PopularColumnsRanked | None:
        """最受欢迎专栏 of the month before `today`, once (the stream is new or it is done)."""
        period, first, last = domain.previous_month(today)
        stream = f"popularity-{period}"
        if await self.store.stream_version(stream):
            return None
        tallies = await self.tallies(first, last)
        event = ev.PopularColumnsRanked(
            period=period,
            first_day=first,
            last_day=last,
            ranking=domain.rank(tallies, self.column_names),
            ranked_at=self.clock(),
        )
        try:
            await self.store.append(
                [
                    StreamWrite(
                        stream_id=stream,
                        stream_type="popularity",
                        expected_version=0,
                        events=(to_new_event(event, self.district, SYSTEM),),
                    )
                ]
            )
        except ConcurrencyConflict:
            return None
        return event
