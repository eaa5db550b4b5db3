"""One delivery conformance suite, run unchanged against every projection engine.

The engines (docs/architecture.md "Projections"): the embedded runner on SQLite and on
PostgreSQL, the Kafka consumer-group worker and the faust projection app (real Kafka +
PostgreSQL). Each is driven through `Engine` below: feed events, run until caught up,
read the view, the parked events and what was reported. The rules (ARCHITECTURE.md "The
event"; Axon's sequenced dead letters):

- an event delivered again takes effect once (the log's exact positions for the runner,
  the inbox by event_id for the Kafka engines);
- a poison event is parked with its reason, its stream's later events behind it, while
  other streams flow; the operator sees every parked event (dead_letters, and the
  dead-letter topic for the Kafka engines);
- a batch with a poison event falls back to event by event: only that event is parked;
- a restarted engine resumes from its stored position: nothing lost, nothing twice.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from shared.db import Database, SqliteDatabase, Tx
from shared.envelope import RecordedEvent
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.kafka import KafkaProjectionWorker, Relay, dlq_for, ensure_topics, topic_for
from shared.projections import Projection, ProjectionRunner
from shared.streams import (
    ProjectionApp,
    build_projection_app,
    partitions_of,
    run_stream_processor,
    setup_projection_app,
)
from tests.integration.test_projections import TownshipTally, register, tally

SUDIAN, HANDIAN, XIHUO = "shangdang/sudian", "shangdang/handian", "shangdang/xihuo"


class Engine(Protocol):
    """What the suite needs of an engine; each adapter keeps its own reading and position."""

    store: SqlEventStore
    views: Database

    async def run_until_caught_up(self) -> None:
        """Deliver every event written so far (started on first use)."""

    async def redeliver(self) -> None:
        """Make every event already delivered arrive again."""

    async def restart(self) -> None:
        """Stop, and start a new engine (a new process) on the same database."""

    def applied(self) -> int:
        """Events applied since the engine (re)started."""

    async def reported(self) -> list[str]:
        """The reasons the engine reported to operators for the events it parked."""

    async def close(self) -> None: ...


class Embedded:
    """The embedded runner: reads the store's log, keeps `projection_checkpoints`."""

    def __init__(self, store: SqlEventStore, views: Database, projection: Projection) -> None:
        self.store, self.views, self.projection = store, views, projection
        self.runner: ProjectionRunner | None = None
        self.count = 0

    async def run_until_caught_up(self) -> None:
        if self.runner is None:
            self.runner = ProjectionRunner(self.projection, self.store, self.views)
            await self.runner.setup()
        before = await self.views.fetchval("SELECT count(*) FROM dead_letters")
        read = await self.runner.run_once(batch=50)
        parked = await self.views.fetchval("SELECT count(*) FROM dead_letters")
        self.count += read - (parked - before)
        assert await self.runner.checkpoint() == await self.store.head_position()

    async def redeliver(self) -> None:
        # The log's positions are exact: "again" is a new process reading from the
        # checkpoint stored with the read model.
        self.runner = None

    async def restart(self) -> None:
        self.runner, self.count = None, 0

    def applied(self) -> int:
        return self.count

    async def reported(self) -> list[str]:
        rows = await self.views.fetch("SELECT reason FROM dead_letters ORDER BY position")
        return [r["reason"] for r in rows]

    async def close(self) -> None:
        return None


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    partitions = [TopicPartition(topic, p) for p in range(await partitions_of(bootstrap, topic))]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def dlq_reasons(bootstrap: str, dlq: str) -> list[str]:
    """Every message on the dead-letter topic so far, its `dlq.reason` header."""
    ends = await end_offsets(bootstrap, dlq)
    consumer = AIOKafkaConsumer(
        dlq, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    reasons: list[str] = []
    try:
        async with asyncio.timeout(20):
            while sum(ends.values()) > len(reasons):
                batch = await consumer.getmany(timeout_ms=200)
                for messages in batch.values():
                    reasons += [dict(m.headers)["dlq.reason"].decode() for m in messages]
    finally:
        await consumer.stop()
    return reasons


class _OnKafka:
    """The relay from the store to a fresh topic, shared by both Kafka engines."""

    def __init__(self, store: SqlEventStore, views: Database, bootstrap: str) -> None:
        self.store, self.views, self.bootstrap = store, views, bootstrap
        self.prefix = f"t-{uuid.uuid4().hex[:10]}"
        self.topic, self.dlq = topic_for("applications", self.prefix), dlq_for(self.prefix)
        self.relay = Relay(store, views, bootstrap, self.topic, dlq=self.dlq)

    async def publish(self) -> dict[int, int]:
        """Publish what the store holds; the topic's end offsets after it."""
        if self.relay.producer is None:
            await self.relay.setup()
            await self.relay.start()
        await self.relay.publish_available()
        return await end_offsets(self.bootstrap, self.topic)

    async def redeliver(self) -> None:
        # A relay that crashed before saving its checkpoint publishes everything again.
        await self.views.execute("DELETE FROM relay_checkpoints")

    async def reported(self) -> list[str]:
        return await dlq_reasons(self.bootstrap, self.dlq)


class KafkaWorker(_OnKafka):
    """The consumer-group worker: keeps `consumer_offsets` with the read model."""

    def __init__(
        self, store: SqlEventStore, views: Database, bootstrap: str, projection: Projection
    ) -> None:
        super().__init__(store, views, bootstrap)
        self.projection = projection
        self.worker: KafkaProjectionWorker | None = None

    async def run_until_caught_up(self) -> None:
        ends = await self.publish()
        if self.worker is None:
            self.worker = KafkaProjectionWorker(
                [self.projection],
                self.views,
                self.bootstrap,
                self.topic,
                group=f"{self.prefix}.g",
                dlq=self.dlq,
            )
            await self.worker.start()
        async with asyncio.timeout(60):
            while True:
                await self.worker.poll_once(timeout_ms=200)
                rows = await self.views.fetch(
                    "SELECT partition, next_offset FROM consumer_offsets WHERE topic = $1",
                    self.topic,
                )
                stored = {r["partition"]: r["next_offset"] for r in rows}
                if all(stored.get(p, 0) >= end for p, end in ends.items()):
                    return

    async def restart(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
            self.worker = None

    def applied(self) -> int:
        return 0 if self.worker is None else self.worker.applied

    async def close(self) -> None:
        await self.restart()
        await self.relay.stop()


class FaustApp(_OnKafka):
    """The faust projection app: keeps its applied offsets in a changelog-backed table."""

    def __init__(
        self, store: SqlEventStore, bootstrap: str, projection: Projection, datadir: Path
    ) -> None:
        super().__init__(store, store.db, bootstrap)
        self.projection, self.datadir = projection, datadir
        self.handle: ProjectionApp | None = None
        self.stop: asyncio.Event | None = None
        self.task: asyncio.Task[None] | None = None

    def build(self) -> ProjectionApp:
        self.handle = build_projection_app(
            [self.projection],
            self.views,
            self.bootstrap,
            [self.topic],
            app_id="tally",
            prefix=self.prefix,
            datadir=str(self.datadir),
            broker_session_timeout=10.0,
            broker_heartbeat_interval=1.0,
        )
        return self.handle

    async def run_until_caught_up(self) -> None:
        ends = await self.publish()
        if self.task is None:
            await ensure_topics(self.bootstrap, [self.dlq])
            await setup_projection_app(self.views, [self.projection])
            self.handle, self.stop = None, asyncio.Event()
            self.task = asyncio.create_task(run_stream_processor(self.build, self.stop))
        async with asyncio.timeout(90):
            while True:
                assert not self.task.done(), self.task.exception()
                if self.handle is not None:
                    done = self.handle.offsets
                    if all((done.get(f"{self.topic}|{p}") or 0) >= end for p, end in ends.items()):
                        return
                await asyncio.sleep(0.1)

    async def restart(self) -> None:
        if self.task is not None:
            assert self.stop is not None
            self.stop.set()
            await self.task
            self.task = None

    def applied(self) -> int:
        return 0 if self.handle is None else self.handle.applied

    async def close(self) -> None:
        await self.restart()
        await self.relay.stop()


EngineFactory = Callable[[pytest.FixtureRequest, Path, Projection], Awaitable[Engine]]


async def _embedded_sqlite(request: pytest.FixtureRequest, tmp: Path, p: Projection) -> Engine:
    store = await open_sqlite_store(str(tmp / "events.db"), name="applications")
    return Embedded(store, await SqliteDatabase.open(tmp / "views.db"), p)


async def _pg_store(request: pytest.FixtureRequest) -> SqlEventStore:
    schema = request.getfixturevalue("pg_schema")
    return await open_postgres_store(request.getfixturevalue("pg_url"), schema=schema)


async def _embedded_pg(request: pytest.FixtureRequest, tmp: Path, p: Projection) -> Engine:
    store = await _pg_store(request)
    return Embedded(store, store.db, p)


async def _kafka_worker(request: pytest.FixtureRequest, tmp: Path, p: Projection) -> Engine:
    store = await _pg_store(request)
    return KafkaWorker(store, store.db, request.getfixturevalue("kafka_bootstrap"), p)


async def _kafka_worker_sqlite(request: pytest.FixtureRequest, tmp: Path, p: Projection) -> Engine:
    store = await open_sqlite_store(str(tmp / "events.db"), name="applications")
    views = await SqliteDatabase.open(tmp / "views.db")
    return KafkaWorker(store, views, request.getfixturevalue("kafka_bootstrap"), p)


async def _faust_app(request: pytest.FixtureRequest, tmp: Path, p: Projection) -> Engine:
    bootstrap = request.getfixturevalue("kafka_bootstrap")
    return FaustApp(await _pg_store(request), bootstrap, p, tmp / "faust")


#: Every engine the suite runs against; a new engine is one line here.
ENGINES: dict[str, EngineFactory] = {
    "embedded-sqlite": _embedded_sqlite,
    "embedded-postgres": _embedded_pg,
    "kafka-worker": _kafka_worker,
    "kafka-worker-sqlite": _kafka_worker_sqlite,
    "faust-app": _faust_app,
}


class BatchTally(TownshipTally):
    """The tally with `apply_batch`, refusing the whole batch if any event is poison."""

    name = "test.township_tally"

    def __init__(self) -> None:
        self.batches = 0

    async def apply_batch(self, tx: Tx, events: Sequence[RecordedEvent]) -> None:
        self.batches += 1
        for event in events:
            await self.apply(tx, event)


@pytest.fixture(params=list(ENGINES))
async def make_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[[Projection], Awaitable[Engine]]]:
    made: list[Engine] = []

    async def make(projection: Projection) -> Engine:
        made.append(await ENGINES[request.param](request, tmp_path, projection))
        return made[-1]

    yield make
    for engine in made:
        await engine.close()
        if engine.views is not engine.store.db:
            await engine.views.close()
        await engine.store.close()


async def test_an_event_delivered_again_takes_effect_once(
    make_engine: Callable[[Projection], Awaitable[Engine]],
) -> None:
    engine = await make_engine(TownshipTally())
    for n in range(1, 4):
        await register(engine.store, SUDIAN, n)
    await engine.run_until_caught_up()
    assert engine.applied() == 3
    await engine.redeliver()
    await engine.run_until_caught_up()
    assert await tally(engine.views) == {SUDIAN: (3, 3)}
    assert engine.applied() == 3  # the second delivery applied nothing
    assert await engine.views.fetch("SELECT * FROM dead_letters") == []


async def test_a_poison_event_is_parked_with_its_streams_later_events_others_flow(
    make_engine: Callable[[Projection], Awaitable[Engine]],
) -> None:
    engine = await make_engine(TownshipTally())
    await register(engine.store, SUDIAN, 1, stream="request-a")
    await register(engine.store, SUDIAN, 2, stream="request-a", poison=True)
    await register(engine.store, SUDIAN, 3, stream="request-a")  # behind the poison one
    await register(engine.store, HANDIAN, 4, stream="request-b")
    await engine.run_until_caught_up()
    assert await tally(engine.views) == {HANDIAN: (1, 4), SUDIAN: (1, 1)}
    parked = await engine.views.fetch(
        "SELECT stream_id, reason FROM dead_letters ORDER BY position"
    )
    assert [r["stream_id"] for r in parked] == ["request-a", "request-a"]
    assert parked[0]["reason"].startswith("test.township_tally: ValueError: cannot read this")
    assert "earlier event of this stream is parked" in parked[1]["reason"]
    # a later event of the parked stream waits too; another stream's goes on
    await register(engine.store, SUDIAN, 5, stream="request-a")
    await register(engine.store, HANDIAN, 6, stream="request-b")
    await engine.run_until_caught_up()
    assert await tally(engine.views) == {HANDIAN: (2, 6), SUDIAN: (1, 1)}
    assert await engine.views.fetchval("SELECT count(*) FROM dead_letters") == 3


async def test_every_parked_event_is_reported_with_its_reason(
    make_engine: Callable[[Projection], Awaitable[Engine]],
) -> None:
    engine = await make_engine(TownshipTally())
    await register(engine.store, SUDIAN, 1, stream="request-a", poison=True)
    await register(engine.store, SUDIAN, 2, stream="request-a")
    await register(engine.store, HANDIAN, 3, stream="request-b")
    await engine.run_until_caught_up()
    reasons = sorted(await engine.reported())
    assert len(reasons) == 2
    assert reasons[0].startswith("an earlier event of this stream is parked")
    assert reasons[1].startswith("test.township_tally: ValueError: cannot read this payload")


async def test_a_batch_with_a_poison_event_falls_back_and_parks_only_that_event(
    make_engine: Callable[[Projection], Awaitable[Engine]],
) -> None:
    projection = BatchTally()
    engine = await make_engine(projection)
    for n in range(1, 7):  # six streams, one event each; the third is poison
        await register(engine.store, XIHUO, n, stream=f"request-{n}", poison=n == 3)
    await engine.run_until_caught_up()
    assert projection.batches >= 1  # tried as a batch first
    assert await tally(engine.views) == {XIHUO: (5, 6)}
    parked = await engine.views.fetch("SELECT stream_id FROM dead_letters")
    assert [r["stream_id"] for r in parked] == ["request-3"]
    # the fallback was one delivery: the batch path works again afterwards
    batches = projection.batches
    await register(engine.store, XIHUO, 7, stream="request-7")
    await engine.run_until_caught_up()
    assert projection.batches == batches + 1
    assert await tally(engine.views) == {XIHUO: (6, 7)}


async def test_a_restarted_engine_resumes_from_its_stored_position(
    make_engine: Callable[[Projection], Awaitable[Engine]],
) -> None:
    engine = await make_engine(TownshipTally())
    for n in range(1, 11):
        await register(engine.store, XIHUO, n)
    await engine.run_until_caught_up()
    assert engine.applied() == 10
    await engine.restart()  # a new process, same database
    for n in range(11, 16):
        await register(engine.store, XIHUO, n)
    await engine.run_until_caught_up()
    assert engine.applied() == 5  # only the new ones: nothing lost, nothing twice
    assert await tally(engine.views) == {XIHUO: (15, 15)}
