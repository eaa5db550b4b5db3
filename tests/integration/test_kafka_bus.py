"""The Kafka bus on a real broker: relay, consumer group, duplicates, dead letters, restarts.

ARCHITECTURE.md "The event": at-least-once delivery, consumers idempotent by
event_id with the checkpoint in the read-model transaction, poison messages to
the dead-letter topic while the consumer goes on. Redelivery, restarts and parking
are also in the delivery conformance suite (test_delivery_conformance.py), run
against every engine.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.db import Database, SqliteDatabase
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.kafka import KafkaProjectionWorker, Relay, dlq_for, ensure_topics, topic_for
from tests.integration.test_projections import TownshipTally, register, tally


@pytest.fixture
def prefix() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path, kafka_bootstrap: str
) -> AsyncIterator[tuple[SqlEventStore, Database]]:
    if request.param == "sqlite":
        store = await open_sqlite_store(str(tmp_path / "events.db"), name="applications")
        views: Database = await SqliteDatabase.open(tmp_path / "views.db")
    else:
        schema = request.getfixturevalue("pg_schema")
        store = await open_postgres_store(request.getfixturevalue("pg_url"), schema=schema)
        views = store.db
    yield store, views
    if views is not store.db:
        await views.close()
    await store.close()


async def read_topic(bootstrap: str, topic: str, count: int, timeout: float = 20) -> list:  # type: ignore[type-arg]
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    messages = []
    try:
        async with asyncio.timeout(timeout):
            async for message in consumer:
                messages.append(message)
                if len(messages) >= count:
                    break
    finally:
        await consumer.stop()
    return messages


async def drain(worker: KafkaProjectionWorker, until: int, timeout: float = 30) -> None:
    """Poll until the worker has applied `until` events in total."""
    async with asyncio.timeout(timeout):
        while worker.applied < until:
            await worker.poll_once(timeout_ms=200)


async def test_relay_publishes_in_order_keyed_by_stream_and_resumes_from_its_checkpoint(
    backend: tuple[SqlEventStore, Database], kafka_bootstrap: str, prefix: str
) -> None:
    store, views = backend
    topic = topic_for("applications", prefix)
    for n in range(1, 7):
        await register(store, "shangdang/sudian", n, stream=f"request-{n % 2}")
    relay = Relay(store, views, kafka_bootstrap, topic, dlq=dlq_for(prefix))
    await relay.setup()
    await relay.start()
    try:
        assert await relay.publish_available() == 6
        assert await relay.publish_available() == 0  # nothing new, nothing sent
    finally:
        await relay.stop()
    restarted = Relay(store, views, kafka_bootstrap, topic, dlq=dlq_for(prefix))
    await restarted.start()
    try:
        await register(store, "shangdang/sudian", 7, stream="request-1")
        assert await restarted.publish_available() == 1  # resumes after its checkpoint
    finally:
        await restarted.stop()
    messages = await read_topic(kafka_bootstrap, topic, 7)
    by_key: dict[bytes, list[int]] = {}
    for m in messages:
        headers = dict(m.headers)
        assert headers["type"] == b"RequestRegistered"
        assert headers["tenant"] == b"shangdang/sudian"
        by_key.setdefault(m.key, []).append(int(m.value.split(b'"number":"')[1].split(b"\xe5")[0]))
    # One stream = one key = one partition, in the order it was written.
    assert by_key == {b"request-0": [2, 4, 6], b"request-1": [1, 3, 5, 7]}


async def test_poison_messages_go_to_the_dead_letter_topic_and_the_worker_goes_on(
    backend: tuple[SqlEventStore, Database], kafka_bootstrap: str, prefix: str
) -> None:
    store, views = backend
    topic, dlq = topic_for("applications", prefix), dlq_for(prefix)
    await ensure_topics(kafka_bootstrap, [topic, dlq])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, key=b"request-x", value=b"\xff not json {")
    finally:
        await producer.stop()
    await register(store, "shangdang/sudian", 1, stream="request-bad", poison=True)
    await register(store, "shangdang/handian", 2, stream="request-good")
    relay = Relay(store, views, kafka_bootstrap, topic, dlq=dlq)
    await relay.setup()
    await relay.start()
    try:
        await relay.publish_available()
    finally:
        await relay.stop()
    worker = KafkaProjectionWorker(
        [TownshipTally()], views, kafka_bootstrap, topic, group=f"{prefix}.g", dlq=dlq
    )
    await worker.start()
    try:
        await drain(worker, 1)
    finally:
        await worker.stop()
    assert await tally(views) == {"shangdang/handian": (1, 2)}
    dead = await read_topic(kafka_bootstrap, dlq, 2)
    reasons = sorted(dict(m.headers)["dlq.reason"].decode() for m in dead)
    assert reasons[0].startswith("test.township_tally: ValueError: cannot read this payload")
    assert reasons[1].startswith("undecodable")
    assert all(dict(m.headers)["dlq.topic"] == topic.encode() for m in dead)
    parked = await views.fetch("SELECT stream_id FROM dead_letters")
    assert [r["stream_id"] for r in parked] == ["request-bad"]
