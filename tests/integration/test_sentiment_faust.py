"""Hotspots as a faust agent on a real broker (services/sentiment/stream.py, 方案§五(四)).

Five classified messages on one topic in one township within the window: one hotspot.
After a restart with everything re-published (a relay crash before its checkpoint), the
windows come back from their changelog and nothing is announced twice. The agent runs
under the worker's watchdog (shared.streams.run_stream_processor), as `gongkai worker
sentiment` runs it: a processor that stops making progress with input waiting is rebuilt,
and a message that is not an event goes to the dead-letter topic.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from services.sentiment.hotspots import Hotspot, HotspotRules
from services.sentiment.stream import HotspotApp, build_hotspot_app
from shared.db import SqliteDatabase
from shared.envelope import Actor, NewEvent, StreamWrite
from shared.eventstore import SqlEventStore, open_sqlite_store
from shared.kafka import Relay, dlq_for, ensure_topics, topic_for
from shared.streams import StreamProcessorStuck, run_stream_processor

SUDIAN = "shangdang/sudian"
OFFICER = Actor(id="liu-yang", role="opinion_officer")
START = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
#: A restarted member rejoins its group without waiting out the default 60 s session.
FAST_REJOIN = {"broker_session_timeout": 10.0, "broker_heartbeat_interval": 1.0}


async def classified(store: SqlEventStore, n: int, category: str, minutes: int) -> None:
    message_id = str(uuid.uuid4())
    event = NewEvent(
        type="MessageClassified",
        tenant=SUDIAN,
        actor=OFFICER,
        occurred_at=START + timedelta(minutes=minutes),
        payload={
            "message_id": message_id,
            "model_id": "lexicon-default-v1",
            "category": category,
            "category_confidence": 0.9,
            "category_reasons": [],
            "tags": [],
            "polarity": "negative",
            "sentiment_score": -0.5,
            "intensity": 0.4,
            "sentiment_reasons": [],
            "urgency": "normal",
            "urgency_classes": [],
            "urgency_reasons": [],
        },
    )
    await store.append(
        [StreamWrite(stream_id=f"message-{message_id}", stream_type="message", events=(event,))]
    )


async def read_topic(bootstrap: str, topic: str, count: int) -> list[ConsumerRecord]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    found: list[ConsumerRecord] = []
    try:
        while len(found) < count:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                found.extend(records)
    finally:
        await consumer.stop()
    return found


async def relay_all(store: SqlEventStore, views_path: Path, prefix: str, kafka: str) -> None:
    views = await SqliteDatabase.open(views_path)
    relay = Relay(store, views, kafka, topic_for("sentiment", prefix), dlq=dlq_for(prefix))
    await relay.setup()
    await relay.start()
    try:
        await relay.publish_available()
    finally:
        await relay.stop()
        await views.close()


class Supervised:
    """The processor under the watchdog, rebuilt after a crash or a hang (as Suite does)."""

    def __init__(self, build: Callable[[], HotspotApp], stuck_after: float = 30.0) -> None:
        self.build = build
        self.stuck_after = stuck_after
        self.handles: list[HotspotApp] = []
        self.failures: list[str] = []
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def _build(self) -> HotspotApp:
        self.handles.append(self.build())
        return self.handles[-1]

    async def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                await run_stream_processor(self._build, self.stop, stuck_after=self.stuck_after)
            except Exception as exc:
                self.failures.append(repr(exc))
                await asyncio.sleep(0.5)

    def start(self) -> None:
        self.task = asyncio.create_task(self._loop())

    @property
    def seen(self) -> int:
        return sum(h.seen for h in self.handles)

    async def until_seen(self, count: int, timeout: float = 180) -> None:
        async def probe() -> None:
            while True:
                if self.seen >= count:
                    return
                await asyncio.sleep(0.2)

        try:
            await asyncio.wait_for(probe(), timeout)
        except TimeoutError:
            raise AssertionError(f"saw {self.seen} of {count}; failures: {self.failures}") from None

    async def close(self) -> None:
        self.stop.set()
        assert self.task is not None
        await self.task


async def test_hotspot_agent_announces_once_across_a_restart_and_a_republish(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix = f"t-{uuid.uuid4().hex[:10]}"
    store = await open_sqlite_store(str(tmp_path / "sentiment.db"), name="sentiment")
    for i in range(5):
        await classified(store, i, "环境保护", minutes=10 * i)
    await classified(store, 99, "交通运输", minutes=5)
    await relay_all(store, tmp_path / "views-1.db", prefix, kafka_bootstrap)
    announced: list[Hotspot] = []

    async def announce(spot: Hotspot) -> None:
        announced.append(spot)

    def build() -> HotspotApp:
        return build_hotspot_app(
            kafka_bootstrap,
            prefix=prefix,
            announce=announce,
            datadir=str(tmp_path / "faust"),
            **FAST_REJOIN,
        )

    first = Supervised(build)
    first.start()
    try:
        await first.until_seen(6)
    finally:
        await first.close()
    assert [(s.township, s.category, s.message_count) for s in announced] == [
        (SUDIAN, "环境保护", 5)
    ]
    assert announced[0].crossed == ("count",)

    await relay_all(store, tmp_path / "views-2.db", prefix, kafka_bootstrap)  # re-published
    second = Supervised(build)
    second.start()
    try:
        await second.until_seen(6)
    finally:
        await second.close()
        await store.close()
    assert len(announced) == 1


async def test_a_message_that_is_not_an_event_goes_to_the_dead_letter_topic_and_the_agent_goes_on(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix = f"t-{uuid.uuid4().hex[:10]}"
    topic = topic_for("sentiment", prefix)
    await ensure_topics(kafka_bootstrap, [topic, dlq_for(prefix)])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"not an event", key=b"x", partition=0)
    finally:
        await producer.stop()
    store = await open_sqlite_store(str(tmp_path / "sentiment.db"), name="sentiment")
    for i in range(5):
        await classified(store, i, "环境保护", minutes=i)
    await relay_all(store, tmp_path / "views.db", prefix, kafka_bootstrap)
    announced: list[Hotspot] = []

    async def announce(spot: Hotspot) -> None:
        announced.append(spot)

    hot = Supervised(
        lambda: build_hotspot_app(
            kafka_bootstrap, prefix=prefix, announce=announce, datadir=str(tmp_path / "faust")
        )
    )
    hot.start()
    try:
        await hot.until_seen(6)
    finally:
        await hot.close()
        await store.close()
    assert [s.message_count for s in announced] == [5]
    assert sum(h.dead_lettered for h in hot.handles) == 1
    parked = await read_topic(kafka_bootstrap, dlq_for(prefix), 1)
    assert parked[0].value == b"not an event"
    assert dict(parked[0].headers)["dlq.reason"].startswith(b"JSONDecodeError")


async def test_a_processor_that_makes_no_progress_with_input_waiting_is_declared_stuck(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """The watchdog's rule, on a real app whose agent never finishes its first event."""
    prefix = f"t-{uuid.uuid4().hex[:10]}"
    store = await open_sqlite_store(str(tmp_path / "sentiment.db"), name="sentiment")
    for i in range(3):
        await classified(store, i, "环境保护", minutes=i)
    await relay_all(store, tmp_path / "views.db", prefix, kafka_bootstrap)
    await store.close()
    never = asyncio.Event()

    async def hang(spot: Hotspot) -> None:
        await never.wait()

    def build() -> HotspotApp:
        hot = build_hotspot_app(
            kafka_bootstrap,
            prefix=prefix,
            announce=hang,
            datadir=str(tmp_path / "faust"),
            rules=HotspotRules(count_threshold=1),
        )
        return hot

    stop = asyncio.Event()
    started = time.monotonic()
    try:
        await asyncio.wait_for(
            run_stream_processor(build, stop, stuck_after=5.0, poll=0.5), timeout=120
        )
    except StreamProcessorStuck as stuck:
        assert "no progress for 5 s" in str(stuck)
        assert "input lag=" in str(stuck)
    else:
        raise AssertionError("the watchdog did not fire")
    assert time.monotonic() - started >= 5.0
