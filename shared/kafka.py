"""The Kafka bus: relays from each service's store to its topic, and consumers from topics.

- `Relay` publishes a store's events in position order to `gongkai.<service>.events`,
  keyed by stream id (one aggregate stays in one partition, in order), with the
  idempotent producer and acks=all. Its checkpoint is saved after the broker
  acknowledged a batch; after a crash it resumes there and may publish a batch
  again: delivery is at least once, and consumers dedupe by event_id.
- `KafkaProjectionWorker` is a consumer group feeding projections. In ONE
  transaction per fetch it applies the events, records their ids in an
  inbox (duplicates are skipped) and stores the next offset; on (re)assignment it
  seeks to the offsets in the database, so the read model and the offsets never
  disagree (the batch step is `shared.delivery.deliver`, shared with the embedded
  runner and the faust app). A message it cannot decode goes to `gongkai.dlq`; an
  event a projection refuses is parked in `dead_letters` (its stream's later events
  behind it) and sent to `gongkai.dlq` too, with the reason in headers; the worker
  goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import struct
import time
from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, IllegalStateError, TopicAlreadyExistsError
from aiokafka.structs import ConsumerRecord

from shared import tracing
from shared.db import Database, Row, Tx
from shared.delivery import INBOX_TABLES, KERNEL_TABLES, Delivery, Projection, deliver
from shared.envelope import RecordedEvent
from shared.eventstore import EventStore
from shared.rows import uuid_text, wire_of_row

log = structlog.get_logger("gongkai.kafka")

DEFAULT_PREFIX = "gongkai"
DEFAULT_PARTITIONS = 3
#: How long a silent consumer stays in its group (GONGKAI_KAFKA_SESSION_TIMEOUT_MS).
DEFAULT_SESSION_TIMEOUT_MS = 30_000
#: Bytes per record batch of the relay (aiokafka's default is 16 KiB, ~12 events of ~1.3 KB):
#: 128 KiB batches halve the produce requests' cost (bench/kafka.py); brokers take 1 MiB.
RELAY_BATCH_BYTES = 128 * 1024


def topic_for(service: str, prefix: str = DEFAULT_PREFIX) -> str:
    """`gongkai.<service>.events`; another prefix separates environments on one cluster."""
    return f"{prefix}.{service}.events"


def dlq_for(prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}.dlq"


#: Services whose topic every process reads whole at start-up (reference data such as the
#: working-day calendars). Their topics are compacted, keyed by stream: the latest event of
#: each stream stays forever, whatever the retention of ordinary event topics.
COMPACTED_SERVICES = ("platform",)


#: Services whose topic every process reads whole and whose streams are folded from their
#: first event (the accounts: decision 84): kept forever, never compacted.
KEPT_SERVICES = ("accounts",)


def _of_any(topic: str, services: Sequence[str]) -> bool:
    return any(topic.endswith(f".{service}.events") for service in services)


def is_compacted(topic: str) -> bool:
    """A reference topic, compacted: its offsets have gaps of the log's own making."""
    return _of_any(topic, COMPACTED_SERVICES)


def topic_config(topic: str) -> dict[str, str]:
    """Kafka configuration of a topic: compacted for reference topics, kept whole for the
    accounts, else the defaults."""
    if is_compacted(topic):
        return {"cleanup.policy": "compact"}
    if _of_any(topic, KEPT_SERVICES):
        return {"retention.ms": "-1"}
    return {}


def per_topic(rows: Iterable[tuple[str, int, int | None]]) -> dict[str, Any]:
    """(topic, partition, messages waiting or None if unknown) of each partition held, as
    /ready shows a consumer: its partitions per topic, and what waits, per topic and in all."""
    held: dict[str, list[int]] = {}
    waiting: dict[str, int] = {}
    for topic, partition, lag in rows:
        held.setdefault(topic, []).append(partition)
        if lag is not None:
            waiting[topic] = waiting.get(topic, 0) + lag
    return {
        "partitions": {topic: sorted(parts) for topic, parts in sorted(held.items())},
        "waiting": sum(waiting.values()),
        "by_topic": {topic: n for topic, n in sorted(waiting.items()) if n},
    }


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


@functools.lru_cache(maxsize=65_536)
def murmur2(key: bytes) -> int:
    """Kafka's murmur2 of a key (Java client `Utils.murmur2`, aiokafka's DefaultPartitioner).

    The same function as aiokafka's, with the 4-byte words unpacked at once rather than
    byte by byte (~4× faster; tests/unit/test_kafka_relay.py compares them); cached,
    as a stream's events share their key.
    """
    m, length = 0x5BD1E995, len(key)
    h = 0x9747B28C ^ length
    words = length // 4
    for k in struct.unpack_from(f"<{words}I", key):
        k = (k * m) & 0xFFFFFFFF
        k = ((k ^ (k >> 24)) * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = key[words * 4 :]
    if len(tail) >= 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h = ((h ^ tail[0]) * m) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * m) & 0xFFFFFFFF
    return h ^ (h >> 15)


def partition_of(key: bytes, partitions: Sequence[int]) -> int:
    """The partition aiokafka's default partitioner picks for `key` (`partitions` sorted)."""
    return partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]


def _headers(
    type_: str, version: int, tenant: str, event_id: str, correlation_id: str
) -> list[tuple[str, bytes]]:
    return [
        ("type", type_.encode()),
        ("schema_version", str(version).encode()),
        ("tenant", tenant.encode()),
        ("event_id", event_id.encode()),
        # W3C trace context: the event's trace (its correlation id), under the event's span
        ("traceparent", tracing.event_traceparent(correlation_id, event_id)),
    ]


def headers_of(event: RecordedEvent) -> list[tuple[str, bytes]]:
    """The headers of an event's message (type, schema version, tenant, event id, and the
    W3C `traceparent` of its trace: shared/tracing.py)."""
    return _headers(
        event.type,
        event.schema_version,
        event.tenant,
        str(event.event_id),
        str(event.correlation_id),
    )


def headers_of_row(row: Row) -> list[tuple[str, bytes]]:
    """`headers_of(_record(row))` from a stored row (`SqlEventStore.read_all_rows`)."""
    return _headers(
        row["type"],
        row["schema_version"],
        row["tenant"],
        uuid_text(row["event_id"]),
        uuid_text(row["correlation_id"]),
    )


def trace_parent_of(message: ConsumerRecord[Any, Any]) -> tuple[int, int] | None:
    """(trace id, span id) of a record's `traceparent` header, if it has a valid one."""
    for key, value in message.headers or ():
        if key == "traceparent":
            parsed = tracing.parse_traceparent(value)
            return None if parsed is None else (parsed[0], parsed[1])
    return None


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
        # one statement, committed on its own (one round trip; no BEGIN/COMMIT around it)
        await self.db.execute(
            """INSERT INTO relay_checkpoints (name, position, updated_at) VALUES ($1, $2, $3)
               ON CONFLICT (name) DO UPDATE SET position = excluded.position,
                   updated_at = excluded.updated_at""",
            self.topic,
            position,
            datetime.now(UTC).isoformat(),
        )

    async def start(self) -> None:
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            enable_idempotence=True,
            acks="all",
            linger_ms=2,
            max_batch_size=RELAY_BATCH_BYTES,
        )
        await self.producer.start()

    async def stop(self) -> None:
        if self.producer is not None:
            await self.producer.stop()
            self.producer = None

    async def publish_available(self) -> int:
        """Publish every stored event after the checkpoint; return how many were sent."""
        sent, _ = await self.publish_from(await self.checkpoint())
        return sent

    async def publish_from(self, position: int) -> tuple[int, int]:
        """Publish every stored event after `position` (the saved checkpoint); return how
        many were sent and the checkpoint after them.

        The store hands over its rows undecoded (`read_all_rows`) and each message value
        is framed from them (`wire_of_row`: `RecordedEvent.to_wire()`, byte for byte),
        so no event becomes a model on its way to the broker.

        Pipelined: batch k+1 is read while batch k is encoded, and queued while batch k
        waits for the broker's acknowledgements (acks=all); the checkpoint moves to the end
        of batch k only once all of batch k is acknowledged, so it never passes an
        unacknowledged event, and batches are queued in position order. A short batch is
        the end of the log: nothing more is read until the store says there is more.
        """
        assert self.producer is not None
        sent = 0
        in_flight: tuple[list[asyncio.Future[Any]], int, Sequence[Row] | None, int] | None = None
        reading: asyncio.Future[list[Row]] | None = asyncio.ensure_future(
            self.store.read_all_rows(position, self.batch)
        )
        try:
            while reading is not None and (rows := await reading):
                position = rows[-1]["position"]
                # the database reads batch k+1 while this process encodes batch k
                reading = (
                    asyncio.ensure_future(self.store.read_all_rows(position, self.batch))
                    if len(rows) == self.batch
                    else None
                )
                queued_at = time.time_ns()
                queued = await self._send(rows)
                if in_flight is not None:
                    await self._acknowledged(*in_flight)
                in_flight = (queued, position, rows if tracing.enabled() else None, queued_at)
                sent += len(rows)
            if in_flight is not None:
                await self._acknowledged(*in_flight)
        finally:
            if reading is not None and not reading.done():
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reading
        return sent, position

    async def _acknowledged(
        self,
        queued: list[asyncio.Future[Any]],
        position: int,
        traced: Sequence[Row] | None,
        queued_at: int,
    ) -> None:
        await asyncio.gather(*queued)
        await self._save(position)
        if traced:  # tracing on: a producer span per event, queued to acknowledged
            tracing.record_events(
                f"relay.send {self.topic}",
                [
                    (
                        uuid_text(row["correlation_id"]),
                        uuid_text(row["event_id"]),
                        {
                            "messaging.system": "kafka",
                            "messaging.destination.name": self.topic,
                            "gongkai.event_type": row["type"],
                            "gongkai.position": row["position"],
                        },
                    )
                    for row in traced
                ],
                kind="producer",
                start_ns=queued_at,
            )

    async def _send(self, rows: Sequence[Row]) -> list[asyncio.Future[Any]]:
        """Queue the stored events `rows` in position order, a record batch per partition;
        return the futures of the broker's acknowledgements.

        The key is the stream id, the partition the one `producer.send` would pick (the
        default murmur2 partitioner over the sorted partitions), so a stream stays in its
        partition, and batches of one partition are queued in order: per-key order is
        kept. Building the batches here instead of one `send` per event is ~2.5× faster on
        aiokafka.
        """
        producer = self.producer
        assert producer is not None
        partitions = sorted(await producer.partitions_for(self.topic))
        batches: dict[int, Any] = {}
        pending: list[asyncio.Future[Any]] = []
        for row in rows:
            key = row["stream_id"].encode()
            partition = partition_of(key, partitions)
            value, headers = wire_of_row(row), headers_of_row(row)
            batch = batches.get(partition)
            if batch is None:
                batch = batches[partition] = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is not None:
                continue
            # the batch is full: queue it, then start the next one with this event
            pending.append(await producer.send_batch(batch, self.topic, partition=partition))
            batch = batches[partition] = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                # larger than a batch: on its own, after the batches queued before it
                del batches[partition]
                pending.append(
                    await producer.send(
                        self.topic, value=value, key=key, partition=partition, headers=headers
                    )
                )
        for partition, batch in batches.items():
            pending.append(await producer.send_batch(batch, self.topic, partition=partition))
        return pending

    async def run(self, stop: asyncio.Event, idle_wait: float = 1.0) -> None:
        await self.start()
        try:
            while not stop.is_set():
                # The stored checkpoint, read at every wake-up: another replica's relay (a
                # second `serve` of the service, or the old pod during a rolling update)
                # may have moved it, or an operator reset it.
                _, position = await self.publish_from(await self.checkpoint())
                # publish_from stops at a short batch, the end of the log as it read it
                await self.store.wait_for_events(position, idle_wait)
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
    *INBOX_TABLES,
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
        session_timeout_ms: int = DEFAULT_SESSION_TIMEOUT_MS,
        instance_id: str | None = None,
    ) -> None:
        """`routes` maps a projection's name to the topics it applies (default: all).

        `session_timeout_ms`: how long the group waits for a silent member before it moves
        its partitions (docs/decisions.md item 17; GONGKAI_KAFKA_SESSION_TIMEOUT_MS).
        `instance_id`: static group membership (GONGKAI_KAFKA_INSTANCE_ID): the member
        that restarts with it takes its partitions back at once, with no rebalance.
        """
        self.session_timeout_ms = session_timeout_ms
        self.instance_id = instance_id
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
        #: The next offset of each partition this worker delivered (its position, as
        #: stored with the read model); with the broker's high watermarks, the lag.
        self.next_offsets: dict[tuple[str, int], int] = {}

    def status(self) -> dict[str, Any]:
        """What /ready shows of this consumer: the partitions it holds per topic, the
        subscribed topics it holds none of, and how far behind the broker it is (per
        topic, from the high watermarks the last fetches carried; a partition not fetched
        yet counts nothing). An operator reads here that a worker follows every topic."""
        consumer = self.consumer
        if consumer is None:
            return {"group": self.group, "started": False}

        def waiting(tp: Any) -> int | None:
            high = consumer.highwater(tp)
            done = self.next_offsets.get((tp.topic, tp.partition))
            return None if high is None or done is None else max(0, high - done)

        held = per_topic((tp.topic, tp.partition, waiting(tp)) for tp in consumer.assignment())
        return {
            "group": self.group,
            "started": True,
            "partitions": held["partitions"],
            "topics_without_partitions": sorted(set(self.topics) - set(held["partitions"])),
            "lag": held["waiting"],
            "lag_by_topic": held["by_topic"],
            "applied": self.applied,
            "dead_lettered": self.dead_lettered,
        }

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
                self.next_offsets[(tp.topic, tp.partition)] = int(offset)
            else:
                await self.consumer.seek_to_beginning(tp)
                self.next_offsets[(tp.topic, tp.partition)] = 0

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
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=max(100, min(3_000, self.session_timeout_ms // 3)),
            group_instance_id=self.instance_id,
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
        """Handle one fetched batch; return how many messages it held.

        The whole fetch (every partition) is one `shared.delivery.deliver`: the inbox
        claimed, the events applied, the next offset of each partition stored, in one
        transaction; a poison event makes it deliver the fetch again event by event and
        park exactly that event (and its stream's later ones). A message that is not an
        event, and each parked event, also go to the dead-letter topic.
        """
        assert self.consumer is not None
        fetched = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=500)
        batches = {tp: messages for tp, messages in fetched.items() if messages}
        if not batches:
            return 0
        deliveries: list[Delivery] = []
        for messages in batches.values():
            for message in messages:
                try:
                    event = RecordedEvent.from_wire(message.value)
                except Exception as exc:
                    await self._dead_letter(message, f"undecodable: {type(exc).__name__}: {exc}")
                    continue
                deliveries.append(Delivery(event, message.topic, message, trace_parent_of(message)))

        async def record(tx: Tx) -> None:
            for tp, messages in batches.items():
                await self._store_offset(tx, tp, messages[-1].offset + 1)

        outcome = await deliver(
            self.db,
            self.projections,
            deliveries,
            consumer=self.group,
            routes=self.routes,
            inbox=True,
            record=record,
        )
        self.applied += outcome.applied
        for delivery, reason in outcome.parked:
            await self._dead_letter(delivery.message, reason)
        for tp, messages in batches.items():
            self.next_offsets[(tp.topic, tp.partition)] = messages[-1].offset + 1
        await self._commit({tp: messages[-1].offset + 1 for tp, messages in batches.items()})
        return sum(len(messages) for messages in batches.values())

    async def _store_offset(self, tx: Tx, tp: Any, next_offset: int) -> None:
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
            next_offset,
        )

    async def _commit(self, offsets: Mapping[Any, int]) -> None:
        # Kafka's own committed offsets are informational (lag tools); the database rules.
        # A commit refused during a rebalance is harmless: the next owner seeks to the
        # offsets stored with the read model.
        assert self.consumer is not None
        assigned = self.consumer.assignment()
        owned = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        if not owned:  # revoked mid-batch: nothing to commit
            return
        try:
            await self.consumer.commit(owned)
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning("kafka.commit_skipped", error=type(exc).__name__)

    async def _dead_letter(self, message: ConsumerRecord[Any, Any], reason: str) -> None:
        assert self.producer is not None
        self.dead_lettered += 1
        parent = trace_parent_of(message)
        log.warning(
            "kafka.dead_lettered",
            trace_id=f"{parent[0]:032x}" if parent else None,
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


async def follow_new(
    bootstrap: str, topics: Iterable[str]
) -> AsyncIterator[tuple[str, RecordedEvent]]:
    """(topic, event) of every event published to `topics` from now on (no group, no
    offsets kept): for a process that reacts to changes as they happen (the portal's kept
    pages) and has nothing to catch up on."""
    async for item in _follow(bootstrap, sorted(topics), "latest"):
        yield item


async def follow_topic(bootstrap: str, topic: str) -> AsyncIterator[RecordedEvent]:
    """Every event of a topic from the beginning, then new ones (no group, no offsets kept).

    For small reference topics every process needs whole (the platform's calendars).
    """
    async for _, event in _follow(bootstrap, [topic], "earliest"):
        yield event


async def _follow(
    bootstrap: str, topics: list[str], start: str
) -> AsyncIterator[tuple[str, RecordedEvent]]:
    await ensure_topics(bootstrap, topics)
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset=start,
        # a revoked role must reach every process within seconds (the accounts topic):
        # the broker answers a fetch after 100 ms without news rather than 500
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    try:
        async for message in consumer:
            try:
                yield message.topic, RecordedEvent.from_wire(message.value)
            except Exception:
                log.warning("kafka.follow_undecodable", topic=message.topic, offset=message.offset)
    finally:
        await consumer.stop()
