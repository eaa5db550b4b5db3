"""The relay encodes each event and picks its partition itself (it sends record batches, not one
`send` per event), so it must pick what aiokafka's default partitioner would: one stream,
one partition, whether an event went out before or after the change (ARCHITECTURE.md,
"Kafka bus": per-aggregate order rests on the key → partition mapping)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from asyncpg.pgproto.pgproto import UUID as PgUUID

from services.applications.events import Channel
from shared.envelope import Actor, RecordedEvent
from shared.kafka import murmur2, partition_of, wire_of

pytestmark = pytest.mark.unit


def test_murmur2_equals_aiokafkas_for_keys_of_every_length() -> None:
    rng = random.Random(10)
    keys = [rng.randbytes(n) for n in range(0, 70) for _ in range(20)]
    keys += ["request-苏店〔2026〕1号".encode(), b""]
    for key in keys:
        assert murmur2.__wrapped__(key) == aiokafka_murmur2(key), key


def test_a_stream_lands_in_the_partition_aiokafka_would_choose() -> None:
    keys = [
        f"request-{uuid.UUID(int=random.Random(i).getrandbits(128))}".encode() for i in range(500)
    ]
    for count in (1, 3, 6, 12):
        partitions = list(range(count))
        for key in keys:
            expected = DefaultPartitioner()(key, partitions, partitions)
            assert partition_of(key, partitions) == expected


def _event(
    payload: dict[str, Any], when: datetime, role: str | None = "registrar"
) -> RecordedEvent:
    return RecordedEvent(
        event_id=uuid.uuid4(),
        stream_id="request-01936f0e",
        stream_type="request",
        version=3,
        position=42,
        type="RequestRegistered",
        schema_version=2,
        tenant="shangdang/sudian",
        actor=Actor(id="wang-tietong", role=role),
        correlation_id=uuid.uuid4(),
        causation_id=None if role else uuid.uuid4(),
        occurred_at=when,
        recorded_at=when,
        payload=payload,
    )


def test_the_relays_message_value_is_the_events_canonical_wire_bytes() -> None:
    """Consumers (and the audit chain, which hashes `to_wire()`) read the same bytes
    whichever encoder the relay used."""
    payload = {
        "number": "苏店〔2026〕1号",
        "applicant": {"name": "张三", "phone": "13903551234", "email": None},
        "received_on": date(2026, 2, 10),
        "fee_yuan": 0,
        "ratio": 0.1,
        "tags": ("依申请公开", "财政"),
        "kind": Channel.online,
        "id": uuid.uuid4(),
    }
    moments = [
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 3, 1, 1, 2, 3, 400000, tzinfo=UTC),
        datetime(2026, 3, 1, 9, 2, 3, 5, tzinfo=timezone(timedelta(hours=8))),
        datetime(2026, 3, 1, 1, 2, 3, 5),  # naive: the fallback
    ]
    for when in moments:
        for role in ("registrar", None):
            event = _event(payload, when, role)
            assert wire_of(event) == event.to_wire()
    from_db = _event(payload, moments[1]).model_copy(
        update={"event_id": PgUUID(str(uuid.uuid4()))}  # asyncpg's own UUID type
    )
    assert wire_of(from_db) == from_db.to_wire()
    odd = _event({"amount": Decimal("1.50"), "set": {"a"}}, moments[0])
    assert wire_of(odd) == odd.to_wire()  # orjson refuses these: to_wire() answers
