"""The Kafka bus: relays from each service's store to its topic, and consumers from topics.

- `Relay` publishes a store's events in position order to `gongkai.<service>.events`,
  keyed by stream id (one aggregate stays in one partition, in order), with the
  idempotent producer and acks=all. Its checkpoint is saved after the broker
  acknowledged a batch; after a crash it resumes there and may publish a batch
  again: delivery is at least once, and consumers dedupe by event_id.
- `KafkaProjectionWorker` is a consumer group feeding projections. In ONE
  transaction per partition batch it applies the events, records their ids in an
  inbox (duplicates are skipped) and stores the next offset; on (re)assignment it
  seeks to the offsets in the database, so the read model and the offsets never
  disagree. A message it cannot decode or apply goes to `gongkai.dlq` with the
  reason in headers, is parked in `dead_letters`, and the worker goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, IllegalStateError, TopicAlreadyExistsError
from aiokafka.structs import ConsumerRecord

from shared.db import Database, Tx
from shared.envelope import RecordedEvent
from shared.eventstore import EventStore
from shared.projections import KERNEL_TABLES, Projection, is_poison, park, parked_streams

log = structlog.get_logger("gongkai.kafka")

DEFAULT_PREFIX = "gongkai"
DEFAULT_PARTITIONS = 3


def topic_for(service: str, prefix: str = DEFAULT_PREFIX) -> str:
    """`gongkai.<service>.events`; another prefix separates environments on one cluster."""
    return f"{prefix}.{service}.events"


def dlq_for(prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}.dlq"


#: Services whose topic every process reads whole at start-up (reference data such as the
#: working-day calendars). Their topics are compacted, keyed by stream: the latest event of
#: each stream stays forever, whatever the retention of ordinary event topics.
COMPACTED_SERVICES = ("platform",)


def topic_config(topic: str) -> dict[str, str]:
    """Kafka configuration of a topic: compacted for reference topics, else the defaults."""
    if any(topic.endswith(f".{service}.events") for service in COMPACTED_SERVICES):
        return {"cleanup.policy": "compact"}
    return {}


async def ensure_topics(
    bootstrap: str, topics: Sequence[str], partitions: int = DEFAULT_PARTITIONS
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(
                            t,
                            num_partitions=partitions,
                            replication_factor=1,
                            topic_configs=topic_config(t),
                        )
                        for t in missing
                    ]
                )
    finally:
        await admin.close()


def headers_of(event: RecordedEvent) -> list[tuple[str, bytes]]:
    return [
        ("type", event.type.encode()),
        ("schema_version", str(event.schema_version).encode()),
        ("tenant", event.tenant.encode()),
        ("event_id", str(event.event_id).encode()),
    ]


RELAY_TABLES = [
    """CREATE TABLE IF NOT EXISTS relay_checkpoints (
        name TEXT PRIMARY KEY,
        position BIGINT NOT NULL,
        updated_at TEXT NOT NULL
    )"""
]


class Relay:
    def __init__(
        self,
        store: EventStore,
        db: Database,
        bootstrap: str,
        topic: str,
        *,
        dlq: str = dlq_for(),
        batch: int = 500,
    ) -> None:
        self.dlq = dlq
        self.store = store
        self.db = db
        self.bootstrap = bootstrap
        self.topic = topic
        self.batch = batch
        self.producer: AIOKafkaProducer | None = None

    async def setup(self) -> None:
        await self.db.execute_script(RELAY_TABLES)
        await ensure_topics(self.bootstrap, [self.topic, self.dlq])

    async def checkpoint(self) -> int:
        value = await self.db.fetchval(
            "SELECT position FROM relay_checkpoints WHERE name = $1", self.topic
        )
        return int(value or 0)

    async def _save(self, position: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                """INSERT INTO relay_checkpoints (name, position, updated_at) VALUES ($1, $2, $3)
                   ON CONFLICT (name) DO UPDATE SET position = excluded.position,
                       updated_at = excluded.updated_at""",
                self.topic,
                position,
                datetime.now(UTC).isoformat(),
            )

    async def start(self) -> None:
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, enable_idempotence=True, acks="all", linger_ms=2
        )
        await self.producer.start()

    async def stop(self) -> None:
        if self.producer is not None:
            await self.producer.stop()
            self.producer = None

    async def publish_available(self) -> int:
        """Publish every stored event after the checkpoint; return how many were sent."""
        assert self.producer is not None
        sent = 0
        position = await self.checkpoint()
        while events := await self.store.read_all(position, self.batch):
            pending = [
                await self.producer.send(
                    self.topic,
                    value=event.to_wire(),
                    key=event.stream_id.encode(),
                    headers=headers_of(event),
                )
                for event in events
            ]
            await asyncio.gather(*pending)  # acknowledged by the broker (acks=all)
            position = events[-1].position
            await self._save(position)
            sent += len(events)
        return sent

    async def run(self, stop: asyncio.Event, idle_wait: float = 1.0) -> None:
        await self.start()
        try:
            while not stop.is_set():
                if await self.publish_available() == 0:
                    await self.store.wait_for_events(await self.checkpoint(), idle_wait)
        finally:
            await self.stop()


CONSUMER_TABLES = [
    *KERNEL_TABLES,
    """CREATE TABLE IF NOT EXISTS consumer_offsets (
        consumer TEXT NOT NULL,
        topic TEXT NOT NULL,
        partition INTEGER NOT NULL,
        next_offset BIGINT NOT NULL,
        PRIMARY KEY (consumer, topic, partition)
    )""",
    """CREATE TABLE IF NOT EXISTS consumer_inbox (
        consumer TEXT NOT NULL,
        event_id TEXT NOT NULL,
        PRIMARY KEY (consumer, event_id)
    )""",
]


class _SeekToStoredOffsets(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: KafkaProjectionWorker) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.worker.seek_stored(assigned)


class KafkaProjectionWorker:
    def __init__(
        self,
        projections: Sequence[Projection],
        db: Database,
        bootstrap: str,
        topics: str | Sequence[str],
        *,
        group: str,
        dlq: str = dlq_for(),
        routes: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        """`routes` maps a projection's name to the topics it applies (default: all)."""
        self.dlq = dlq
        self.projections = list(projections)
        self.db = db
        self.bootstrap = bootstrap
        self.topics = [topics] if isinstance(topics, str) else list(topics)
        self.routes = routes or {}
        self.group = group
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.applied = 0
        self.dead_lettered = 0

    async def setup(self) -> None:
        await self.db.execute_script(
            [*CONSUMER_TABLES, *(ddl for p in self.projections for ddl in p.schema)]
        )
        await ensure_topics(self.bootstrap, [*self.topics, self.dlq])

    async def seek_stored(self, assigned: Any) -> None:
        assert self.consumer is not None
        for tp in assigned:
            offset = await self.db.fetchval(
                "SELECT next_offset FROM consumer_offsets "
                "WHERE consumer = $1 AND topic = $2 AND partition = $3",
                self.group,
                tp.topic,
                tp.partition,
            )
            if offset is not None:
                self.consumer.seek(tp, int(offset))
            else:
                await self.consumer.seek_to_beginning(tp)

    async def start(self) -> None:
        await self.setup()
        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await self.producer.start()
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # A busy event loop (scoring, many topics) must not look like a dead member.
            session_timeout_ms=30_000,
            heartbeat_interval_ms=3_000,
        )
        self.consumer.subscribe(self.topics, listener=_SeekToStoredOffsets(self))
        await self.consumer.start()

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()
            self.consumer = None
        if self.producer is not None:
            await self.producer.stop()
            self.producer = None

    async def poll_once(self, timeout_ms: int = 500) -> int:
        """Handle one fetched batch; return how many messages it held."""
        assert self.consumer is not None
        batches = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=500)
        handled = 0
        for tp, messages in batches.items():
            async with self.db.transaction() as tx:
                blocked = await parked_streams(tx, self.group)
                for message in messages:
                    await self._handle(tx, message, blocked)
                await tx.execute(
                    """INSERT INTO consumer_offsets (consumer, topic, partition, next_offset)
                       VALUES ($1, $2, $3, $4)
                       ON CONFLICT (consumer, topic, partition)
                       DO UPDATE SET next_offset = CASE
                           WHEN excluded.next_offset > consumer_offsets.next_offset
                           THEN excluded.next_offset ELSE consumer_offsets.next_offset END""",
                    self.group,
                    tp.topic,
                    tp.partition,
                    messages[-1].offset + 1,
                )
            # Kafka's own committed offsets are informational (lag tools); the database rules.
            # A commit refused during a rebalance is harmless: the next owner seeks to the
            # offsets stored with the read model.
            if tp in self.consumer.assignment():  # revoked mid-batch: nothing to commit
                try:
                    await self.consumer.commit({tp: messages[-1].offset + 1})
                except (CommitFailedError, IllegalStateError) as exc:
                    log.warning(
                        "kafka.commit_skipped", partition=tp.partition, error=type(exc).__name__
                    )
            handled += len(messages)
        return handled

    async def _handle(self, tx: Tx, message: ConsumerRecord[Any, Any], blocked: set[str]) -> None:
        try:
            event = RecordedEvent.from_wire(message.value)
        except Exception as exc:
            await self._dead_letter(message, f"undecodable: {type(exc).__name__}: {exc}")
            return
        seen = await tx.fetchval(
            "SELECT 1 FROM consumer_inbox WHERE consumer = $1 AND event_id = $2",
            self.group,
            str(event.event_id),
        )
        if seen:
            return  # a relay re-publication: already applied
        await tx.execute(
            "INSERT INTO consumer_inbox (consumer, event_id) VALUES ($1, $2)",
            self.group,
            str(event.event_id),
        )
        if event.stream_id in blocked:
            await park(tx, self.group, event, "an earlier event of this stream is parked")
            await self._dead_letter(message, "an earlier event of this stream is parked")
            return
        for projection in self.projections:
            wanted = self.routes.get(projection.name)
            if wanted is not None and message.topic not in wanted:
                continue
            await tx.execute("SAVEPOINT apply_event")
            try:
                await projection.apply(tx, event)
            except Exception as exc:
                if not is_poison(exc):
                    raise
                await tx.execute("ROLLBACK TO SAVEPOINT apply_event")
                reason = f"{projection.name}: {type(exc).__name__}: {exc}"
                await park(tx, self.group, event, reason + "\n" + traceback.format_exc(limit=3))
                blocked.add(event.stream_id)
                await self._dead_letter(message, reason)
                return
            await tx.execute("RELEASE SAVEPOINT apply_event")
        self.applied += 1

    async def _dead_letter(self, message: ConsumerRecord[Any, Any], reason: str) -> None:
        assert self.producer is not None
        self.dead_lettered += 1
        log.warning(
            "kafka.dead_lettered",
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            reason=reason[:200],
        )
        await self.producer.send_and_wait(
            self.dlq,
            value=message.value,
            key=message.key,
            headers=[
                ("dlq.reason", reason[:2000].encode()),
                ("dlq.topic", message.topic.encode()),
                ("dlq.partition", str(message.partition).encode()),
                ("dlq.offset", str(message.offset).encode()),
                ("dlq.consumer", self.group.encode()),
            ],
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            while not stop.is_set():
                await self.poll_once()
        finally:
            await self.stop()


async def follow_topic(bootstrap: str, topic: str) -> AsyncIterator[RecordedEvent]:
    """Every event of a topic from the beginning, then new ones (no group, no offsets kept).

    For small reference topics every process needs whole (the platform's calendars).
    """
    await ensure_topics(bootstrap, [topic])
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        async for message in consumer:
            try:
                yield RecordedEvent.from_wire(message.value)
            except Exception:
                log.warning("kafka.follow_undecodable", topic=topic, offset=message.offset)
    finally:
        await consumer.stop()
