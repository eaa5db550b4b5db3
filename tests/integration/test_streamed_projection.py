"""A projection fed by a faust app (shared.streams.build_projection_app) on a real broker.

ARCHITECTURE.md "The event": at-least-once delivery, consumers idempotent by event_id; the
issue #7 wording: a faust-streaming application whose tables recover after a worker restart
without double counting. Here: the relay publishes, the app applies; a restart with
everything re-published (a relay that crashed before its checkpoint) counts nothing twice;
a message that is not an event and an event the projection refuses go to the dead-letter
topic, and the next events are applied.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from faust.types import TP

from shared.eventstore import open_postgres_store
from shared.kafka import Relay, dlq_for, ensure_topics, topic_for
from shared.streams import (
    ProjectionApp,
    build_projection_app,
    partitions_of,
    run_stream_processor,
    setup_projection_app,
)
from tests.integration.test_kafka_bus import read_topic
from tests.integration.test_projections import TownshipTally, register, tally

SUDIAN, HANDIAN = "shangdang/sudian", "shangdang/handian"


async def test_streamed_projection_applies_each_event_once_across_a_restart_and_poison(
    kafka_bootstrap: str, pg_url: str, pg_schema: str, tmp_path: Path
) -> None:
    prefix = f"t-{uuid.uuid4().hex[:10]}"
    topic = topic_for("applications", prefix)
    store = await open_postgres_store(pg_url, schema=pg_schema)
    views = store.db
    projection = TownshipTally()
    await setup_projection_app(views, [projection])
    for n in range(1, 7):
        await register(store, SUDIAN if n % 2 else HANDIAN, n)

    async def relay_all() -> None:
        """Publish from the start: a relay that crashed before saving its checkpoint."""
        relay = Relay(store, views, kafka_bootstrap, topic, dlq=dlq_for(prefix))
        await relay.setup()
        async with views.transaction() as tx:
            await tx.execute("DELETE FROM relay_checkpoints WHERE name = $1", topic)
        await relay.start()
        try:
            await relay.publish_available()
        finally:
            await relay.stop()

    # Six partitions, as a deployment may size them: the app's table follows the topic.
    await ensure_topics(kafka_bootstrap, [topic], partitions=6)
    await ensure_topics(kafka_bootstrap, [dlq_for(prefix)])
    partitions = await partitions_of(kafka_bootstrap, topic)
    assert partitions == 6
    await relay_all()
    handles: list[ProjectionApp] = []

    def build() -> ProjectionApp:
        handles.append(
            build_projection_app(
                [projection],
                views,
                kafka_bootstrap,
                [topic],
                app_id="tally",
                prefix=prefix,
                partitions=partitions,
                datadir=str(tmp_path / "faust"),
                broker_session_timeout=10.0,
                broker_heartbeat_interval=1.0,
            )
        )
        return handles[-1]

    async def run_until(predicate: Callable[[ProjectionApp], bool], timeout: float = 120) -> None:
        """Run a new app under the watchdog until `predicate(app)` holds, then stop it."""
        before = len(handles)
        stop = asyncio.Event()
        task = asyncio.create_task(run_stream_processor(build, stop, stuck_after=30))
        try:
            async with asyncio.timeout(timeout):
                while len(handles) == before or not predicate(handles[-1]):
                    assert not task.done(), task.exception()
                    await asyncio.sleep(0.2)
        finally:
            stop.set()
            await task

    await run_until(lambda app: app.applied >= 6)
    assert await tally(views) == {HANDIAN: (3, 6), SUDIAN: (3, 5)}

    # The relay re-publishes all six (new offsets), a poison payload and a non-event follow.
    await register(store, SUDIAN, 7, poison=True)
    await register(store, HANDIAN, 8)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"{not an event", key=b"x")
    finally:
        await producer.stop()
    await relay_all()

    # 6 again + the poison event + event 8 + the non-event: 9 messages for the new app.
    await run_until(lambda app: app.progress >= 9)
    again = handles[-1]
    assert (again.applied, again.dead_lettered) == (1, 2)
    assert await tally(views) == {HANDIAN: (4, 8), SUDIAN: (3, 5)}
    parked = await read_topic(kafka_bootstrap, dlq_for(prefix), 2)
    reasons = sorted(dict(m.headers)["dlq.reason"].decode() for m in parked)
    assert reasons[0].startswith("JSONDecodeError")
    assert reasons[1].startswith("test.township_tally: ValueError")  # the refusing projection
    assert await views.fetchval("SELECT count(*) FROM dead_letters") == 1
    await store.close()


async def test_messages_the_consumer_skips_are_read_again_from_the_applied_position(
    kafka_bootstrap: str, pg_url: str, pg_schema: str, tmp_path: Path
) -> None:
    """faust-streaming 0.15.3 can drop a fetched batch in a rebalance and count the skipped
    offsets as a gap, committing past messages no agent saw (decision 141: 28 events lost in
    a stress run with a member joining and leaving). Here the consumer jumps ahead by itself
    (a seek past the next two messages, the state such a drop leaves): the agent sees an
    offset beyond the position it applied, reads the partition again from there, and every
    event is applied once."""
    prefix = f"t-{uuid.uuid4().hex[:10]}"
    topic = topic_for("applications", prefix)
    store = await open_postgres_store(pg_url, schema=pg_schema)
    views = store.db
    await setup_projection_app(views, [TownshipTally()])
    await ensure_topics(kafka_bootstrap, [topic, dlq_for(prefix)], partitions=1)
    relay = Relay(store, views, kafka_bootstrap, topic, dlq=dlq_for(prefix))
    await relay.setup()
    await relay.start()
    handles: list[ProjectionApp] = []

    def build() -> ProjectionApp:
        handles.append(
            build_projection_app(
                [TownshipTally()],
                views,
                kafka_bootstrap,
                [topic],
                app_id="tally",
                prefix=prefix,
                partitions=1,
                datadir=str(tmp_path / "faust"),
            )
        )
        return handles[-1]

    async def until(predicate: Callable[[], Any], timeout: float = 60) -> None:
        async with asyncio.timeout(timeout):
            while not await predicate():
                assert not task.done(), task.exception()
                await asyncio.sleep(0.1)

    async def counted() -> int:
        return sum(n for n, _ in (await tally(views)).values())

    stop = asyncio.Event()
    task = asyncio.create_task(run_stream_processor(build, stop))
    try:
        for n in range(1, 4):
            await register(store, SUDIAN, n)
        await relay.publish_available()
        await until(lambda: _at_least(counted, 3))
        app = handles[-1]
        # Offsets 0-2 applied; the consumer now skips 3 and 4, as a dropped batch does.
        await app.app.consumer.seek(TP(topic, 0), 5)
        for n in range(4, 8):
            await register(store, HANDIAN, n)
        await relay.publish_available()
        await until(lambda: _at_least(counted, 7))
        assert await tally(views) == {HANDIAN: (4, 7), SUDIAN: (3, 3)}
        assert app.applied == 7 and len(handles) == 1  # read again, not rebuilt
    finally:
        stop.set()
        await task
        await relay.stop()
        await store.close()


async def _at_least(count: Callable[[], Awaitable[int]], n: int) -> bool:
    return await count() >= n
