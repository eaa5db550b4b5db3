"""faust-streaming apps: stateful stream processors over the service topics.

Plain relays and projections use aiokafka (shared/kafka.py); processors that
keep state across events — assessment scoring, hotspot detection — are faust
agents with tables (changelog-backed, so a restarted worker recovers its state
from Kafka). Values on the service topics are the canonical JSON envelope
(contracts/events/envelope.v1.json), read here as raw bytes and decoded with the
same model every other consumer uses.
"""

from __future__ import annotations

from typing import Any

import faust

from shared.envelope import RecordedEvent
from shared.kafka import DEFAULT_PREFIX, topic_for


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
