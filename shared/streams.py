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
from collections.abc import Callable
from typing import Any, Protocol

import faust

from shared.envelope import RecordedEvent
from shared.kafka import DEFAULT_PREFIX, dlq_for, topic_for


def create_stream_app(
    app_id: str,
    bootstrap: str,
    *,
    prefix: str = DEFAULT_PREFIX,
    store: str = "memory://",
    **conf: Any,
) -> faust.App:
    """A faust app on our broker; web server off (the service's FastAPI serves health)."""
    return faust.App(
        f"{prefix}.{app_id}",
        broker=f"kafka://{bootstrap}",
        store=store,
        web_enabled=False,
        topic_partitions=3,
        topic_replication_factor=1,
        key_serializer="raw",
        value_serializer="raw",
        **conf,
    )


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
