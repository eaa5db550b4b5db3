"""faust-streaming apps: stateful stream processors over the service topics.

Plain relays and projections use aiokafka (shared/kafka.py); processors that
keep state across events — assessment scoring, hotspot detection — are faust
agents with tables (changelog-backed, so a restarted worker recovers its state
from Kafka). Values on the service topics are the canonical JSON envelope
(contracts/events/envelope.v1.json), read here as raw bytes and decoded with the
same model every other consumer uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import faust
import structlog
from aiokafka.admin import AIOKafkaAdminClient

from shared.db import Database
from shared.envelope import RecordedEvent
from shared.kafka import CONSUMER_TABLES, DEFAULT_PARTITIONS, DEFAULT_PREFIX, dlq_for, topic_for
from shared.projections import Projection, is_poison, park

log = structlog.get_logger("gongkai.streams")


def create_stream_app(
    app_id: str,
    bootstrap: str,
    *,
    prefix: str = DEFAULT_PREFIX,
    store: str = "memory://",
    **conf: Any,
) -> faust.App:
    """A faust app on our broker; web server off (the service's FastAPI serves health).

    `conf` overrides the defaults, e.g. `topic_partitions` to match the service topics
    (a table's changelog must have as many partitions as its source topic).
    """
    settings: dict[str, Any] = {
        "web_enabled": False,
        "topic_partitions": DEFAULT_PARTITIONS,
        "topic_replication_factor": 1,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    settings.update(conf)
    return faust.App(f"{prefix}.{app_id}", broker=f"kafka://{bootstrap}", store=store, **settings)


async def partitions_of(bootstrap: str, topic: str) -> int:
    """How many partitions `topic` has (faust tables must match their source topic's)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        return len(described["partitions"])
    finally:
        await admin.close()


def events_topic(app: faust.App, service: str, prefix: str = DEFAULT_PREFIX) -> faust.TopicT:
    return app.topic(topic_for(service, prefix), key_type=bytes, value_type=bytes)


def decode(value: bytes) -> RecordedEvent:
    return RecordedEvent.from_wire(value)


async def dead_letter(
    app: faust.App, prefix: str, value: bytes, error: Exception, *, consumer: str
) -> None:
    """Park an undecodable message on the dead-letter topic, reason in the headers."""
    reason = f"{type(error).__name__}: {error}"
    await app.topic(dlq_for(prefix), key_type=bytes, value_type=bytes).send(
        value=value,
        headers=[("dlq.reason", reason[:2000].encode()), ("dlq.consumer", consumer.encode())],
    )


class StreamHandle(Protocol):
    """A built faust app and how many input events its agents have handled so far."""

    app: faust.App

    @property
    def progress(self) -> int: ...


class StreamProcessorStuck(RuntimeError):
    """No progress while input waits (a rebalance or table recovery that never ends)."""


async def input_lag(app: faust.App) -> int:
    """Messages on the app's assigned input partitions not yet processed and committed.

    Measured from the committed offsets (faust commits acknowledged messages every
    `broker_commit_interval`), not the fetch position: faust reads ahead into its stream
    buffers, so the position says nothing about an agent that stopped. Changelog
    partitions (table recovery) are left out.
    """
    consumer = app.consumer
    committed = getattr(consumer, "_committed_offset", {})
    lag = 0
    for tp in consumer.assignment():
        if tp.topic.endswith("-changelog"):
            continue
        highwater = consumer.highwater(tp) or 0
        lag += max(0, highwater - (committed.get(tp) or 0))
    return lag


async def run_stream_processor(
    build: Callable[[], StreamHandle],
    stop: asyncio.Event,
    *,
    stuck_after: float = 120.0,
    poll: float = 1.0,
) -> None:
    """Run a freshly built faust app until `stop`; raise if it crashes or gets stuck.

    faust can hang in a rebalance or a table recovery (faust-streaming issues #21, #74;
    seen once in our CI: a restarted hotspot agent consumed nothing for 240 s). The
    watchdog raises `StreamProcessorStuck` when the app has made no progress for
    `stuck_after` seconds while it is rebalancing, recovering, or has input waiting; the
    caller's supervisor (gongkai/app.py `_supervise`) then builds a new app, which
    recovers its tables from the changelog and resumes from the committed offsets.
    An idle app with nothing to read is never "stuck".
    """
    handle = build()
    app = handle.app
    await app.start()
    try:
        mark, since = handle.progress, time.monotonic()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll)
            if app.crashed:
                raise RuntimeError(f"stream processor {app.conf.id} crashed: {app.crash_reason!r}")
            if handle.progress != mark:
                mark, since = handle.progress, time.monotonic()
                continue
            busy = bool(app.rebalancing or getattr(app, "in_recovery", False))
            lag = 0 if busy else await input_lag(app)
            if not busy and lag == 0:
                since = time.monotonic()
                continue
            if time.monotonic() - since > stuck_after:
                raise StreamProcessorStuck(
                    f"stream processor {app.conf.id}: no progress for {stuck_after:.0f} s "
                    f"(rebalancing={app.rebalancing}, in_recovery="
                    f"{getattr(app, 'in_recovery', False)}, input lag={lag})"
                )
    except StreamProcessorStuck:
        # faust's stop waits for every in-flight event to be acknowledged; a stuck agent
        # never acknowledges. Stop without waiting: what was acknowledged is committed, the
        # rest is read again by the next app (its tables and announcements are idempotent).
        app.conf.stream_wait_empty = False
        raise
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(app.stop(), timeout=60)


@dataclass
class ProjectionApp:
    """Read-model projections fed by a faust agent (see `build_projection_app`)."""

    app: faust.App
    offsets: Any
    applied: int = 0
    skipped: int = 0
    dead_lettered: int = 0

    @property
    def progress(self) -> int:
        return self.applied + self.skipped + self.dead_lettered


INBOX_CLAIM = """INSERT INTO consumer_inbox (consumer, event_id) VALUES ($1, $2)
                 ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id"""


def build_projection_app(
    projections: Sequence[Projection],
    db: Database,
    bootstrap: str,
    topics: Sequence[str],
    *,
    app_id: str,
    prefix: str = DEFAULT_PREFIX,
    routes: Mapping[str, Collection[str]] | None = None,
    partitions: int = DEFAULT_PARTITIONS,
    datadir: str | None = None,
    retry_limit: float = 10.0,
    **settings: Any,
) -> ProjectionApp:
    """A faust app applying `projections` to `db` from `topics`, each event once.

    State that survives a restart, in two places:
    - the faust table `<app_id>-offsets` (changelog-backed, recovered from Kafka): per input
      partition, the next offset already applied, so messages read again after a restart
      (faust commits every few seconds) are skipped without touching the database;
    - the `consumer_inbox` rows written in the read model's own transaction: an event the
      relay published twice (at a new offset) is applied once.
    A message that is not an event, and an event a projection refuses (shared.projections.
    is_poison), go to the dead-letter topic and the agent goes on; an infrastructure error
    (database down) is retried with backoff, holding the partition, until it passes — the
    watchdog rebuilds the app if that takes longer than its limit.
    """
    conf: dict[str, Any] = {"datadir": datadir} if datadir else {}
    conf.update(settings)
    if datadir:
        Path(datadir).parent.mkdir(parents=True, exist_ok=True)  # faust makes only the leaf
    app = create_stream_app(app_id, bootstrap, prefix=prefix, topic_partitions=partitions, **conf)
    offsets = app.Table(f"{app_id}-offsets", default=None, partitions=partitions)
    handle = ProjectionApp(app, offsets)
    consumer = f"{prefix}.{app_id}"
    wanted = {
        p.name: set(routes.get(p.name, topics)) if routes else set(topics) for p in projections
    }

    async def apply(event: RecordedEvent, topic: str) -> bool:
        async with db.transaction() as tx:
            if await tx.fetchval(INBOX_CLAIM, consumer, str(event.event_id)) is None:
                return False
            for projection in projections:
                if topic in wanted[projection.name]:
                    await projection.apply(tx, event)
        return True

    @app.agent(app.topic(*topics, key_type=bytes, value_type=bytes))
    async def project(stream):  # type: ignore[no-untyped-def]
        async for item in stream.events():
            message = item.message
            key = f"{message.topic}|{message.partition}"
            done = offsets.get(key)
            if done is not None and message.offset < done:
                handle.skipped += 1
                continue
            try:
                event = decode(item.value)
            except Exception as exc:
                handle.dead_lettered += 1
                await dead_letter(app, prefix, item.value, exc, consumer=consumer)
                offsets[key] = message.offset + 1
                continue
            delay = 0.2
            while True:
                try:
                    fresh = await apply(event, message.topic)
                    break
                except Exception as exc:
                    if is_poison(exc):
                        handle.dead_lettered += 1
                        async with db.transaction() as tx:
                            await park(tx, consumer, event, f"{type(exc).__name__}: {exc}")
                        await dead_letter(app, prefix, item.value, exc, consumer=consumer)
                        fresh = False
                        break
                    log.warning("stream.retry", app=app_id, error=repr(exc), delay=delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, retry_limit)
            handle.applied += int(fresh)
            handle.skipped += int(not fresh)
            offsets[key] = message.offset + 1

    return handle


async def setup_projection_app(db: Database, projections: Sequence[Projection]) -> None:
    """The read-model tables, the kernel's dead_letters and the consumer inbox."""
    await db.execute_script([*CONSUMER_TABLES, *(s for p in projections for s in p.schema)])
