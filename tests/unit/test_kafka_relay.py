"""The relay encodes each event and picks its partition itself (it sends record batches, not one
`send` per event), so it must pick what aiokafka's default partitioner would: one stream,
one partition, whether an event went out before or after the change (ARCHITECTURE.md,
"Kafka bus": per-aggregate order rests on the key → partition mapping)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from asyncpg.pgproto.pgproto import UUID as PgUUID

from services.applications.events import Channel
from shared import rows
from shared.envelope import canonical_json
from shared.kafka import headers_of, headers_of_row, murmur2, partition_of
from shared.rows import record_of as _record
from shared.rows import wire_of_row

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


def _row(
    payload: str,
    *,
    postgres: bool,
    when: datetime,
    actor: str = '{"id": "wang-tietong", "kind": "user", "role": "registrar"}',
    causation: bool = False,
) -> dict[str, Any]:
    """A stored row as each driver hands it out: asyncpg gives its own UUID type, aware
    datetimes and JSONB text (its own spacing and key order); aiosqlite gives text."""
    ids = [uuid.uuid4() for _ in range(3)]
    as_uuid = (lambda u: PgUUID(str(u))) if postgres else str
    return {
        "position": 42,
        "event_id": as_uuid(ids[0]),
        "stream_id": "request-01936f0e",
        "stream_type": "request",
        "version": 3,
        "type": "RequestRegistered",
        "schema_version": 2,
        "tenant": "shangdang/sudian",
        "actor": actor,
        "correlation_id": as_uuid(ids[1]),
        "causation_id": as_uuid(ids[2]) if causation else None,
        "occurred_at": when if postgres else when.isoformat(),
        "recorded_at": when if postgres else when.isoformat(),
        "payload": payload,
    }


def test_the_relays_message_value_is_the_stored_events_canonical_wire_bytes() -> None:
    """The relay frames each message from the stored row (`wire_of_row`); consumers and
    the audit chain (which hashes `to_wire()`) must read the same bytes as if the row had
    become a RecordedEvent first. Both backends' column types, Chinese text, JSONB's own
    key order and spacing, numbers JSONB normalises, and the fallbacks."""
    canonical = canonical_json(
        {
            "number": "苏店〔2026〕1号",
            "applicant": {"name": "张三", "phone": "13903551234", "email": None},
            "received_on": date(2026, 2, 10),
            "fee_yuan": 0,
            "ratio": 0.1,
            "tags": ["依申请公开", "财政", "📄"],
            "kind": Channel.online,
            "id": uuid.uuid4(),
            "nested": [{"b": 1, "a": [True, False, None]}],
        }
    ).decode()
    jsonb = (  # what PostgreSQL prints for JSONB: shorter keys first, ", " and ": "
        '{"id": "0193", "big": 123456789012345678901234567890, "tags": ["依申请公开", "财政"], '
        '"ratio": 1.50, "exp": 1e2, "neg": -0.0, "quote": "他说\\"好\\"\\n", '
        '"applicant": {"name": "张三", "email": null}}'
    )
    actors = [
        '{"id": "wang-tietong", "kind": "user", "role": "registrar"}',
        '{"id":"gongkai","kind":"system","role":null}',
        '{"role": null, "id": "relay"}',  # defaults filled in by Actor
    ]
    moments = [
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 3, 1, 1, 2, 3, 400000, tzinfo=UTC),
        datetime(2026, 3, 1, 9, 2, 3, 5, tzinfo=timezone(timedelta(hours=8))),
    ]
    for postgres in (False, True):
        for payload in (canonical, jsonb, "{}"):
            for when in moments:
                for actor in actors:
                    for causation in (False, True):
                        row = _row(
                            payload, postgres=postgres, when=when, actor=actor, causation=causation
                        )
                        event = _record(row)
                        assert wire_of_row(row) == event.to_wire(), row
                        assert headers_of_row(row) == headers_of(event)
    # text the store did not write itself: an upper-case UUID, a naive time
    odd = _row(canonical, postgres=False, when=moments[1]) | {
        "event_id": str(uuid.uuid4()).upper(),
        "occurred_at": "2026-03-01T01:02:03",
    }
    assert wire_of_row(odd) == _record(odd).to_wire()
    assert headers_of_row(odd) == headers_of(_record(odd))


def test_a_changed_envelope_falls_back_to_to_wire(monkeypatch: pytest.MonkeyPatch) -> None:
    """If RecordedEvent gains or loses a field, the framing is `to_wire()` itself."""
    row = _row('{"标题": "苏店镇"}', postgres=True, when=datetime(2026, 3, 1, tzinfo=UTC))
    fast = wire_of_row(row)
    monkeypatch.setattr(rows, "_FAST_WIRE", False)
    assert wire_of_row(row) == fast == _record(row).to_wire()
