"""Stored rows of the event store, decoded: as `RecordedEvent`s, or framed for the wire.

Both engines hand the same columns (tests/integration/test_eventstore_conformance.py);
PostgreSQL's driver gives UUIDs, aware datetimes and JSONB text, SQLite's gives text.
Decoding was most of the cost of a catch-up read and of a replay, and framing a row for
Kafka without decoding it first is what lets the relay keep up with the raw client
(issue #10, bench/kafka.py, bench/replay.py): so both are written with care, once, here.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID, SafeUUID

import orjson

from shared.envelope import JSON_OPTIONS, Actor, RecordedEvent, canonical_json

if TYPE_CHECKING:
    from shared.db import Row

COLUMNS = (
    "position, event_id, stream_id, stream_type, version, type, schema_version, tenant, "
    "actor, correlation_id, causation_id, occurred_at, recorded_at, payload"
)
"""The columns every read of the `events` table selects, in the order `record_of` reads."""


def parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is UTC else value.astimezone(UTC)
    return datetime.fromisoformat(value).astimezone(UTC)


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


_SAFE_UNKNOWN = SafeUUID.unknown


def _uuid(value: Any) -> UUID:
    """A UUID from a stored value; the canonical text SQLite holds is parsed in one step."""
    if isinstance(value, UUID):
        return value
    if isinstance(value, str) and len(value) == 36:
        parsed = UUID.__new__(UUID)
        object.__setattr__(parsed, "int", int(value.replace("-", ""), 16))
        object.__setattr__(parsed, "is_safe", _SAFE_UNKNOWN)
        return parsed
    return UUID(str(value))


def _optional_uuid(value: Any) -> UUID | None:
    return None if value is None else _uuid(value)


#: Actors repeat (a few clerks and service accounts write most events): per distinct stored
#: value, one validated frozen Actor and (once the relay asked) its canonical JSON, instead
#: of one pydantic validation and one encoding per row.
_ACTORS: dict[Any, tuple[Actor, orjson.Fragment | None]] = {}
_ACTOR_CACHE_MAX = 10_000
_EVENT_FIELDS = frozenset(RecordedEvent.model_fields)
_new_record = RecordedEvent.__new__
_set = object.__setattr__


def _actor_entry(value: Any) -> tuple[Actor, orjson.Fragment | None]:
    key = value if isinstance(value, str | bytes) else orjson.dumps(value)
    entry = _ACTORS.get(key)
    if entry is None:
        if len(_ACTORS) >= _ACTOR_CACHE_MAX:
            _ACTORS.clear()
        entry = _ACTORS[key] = (Actor.model_validate(_json(value)), None)
    return entry


def _actor(value: Any) -> Actor:
    return _actor_entry(value)[0]


def _actor_wire(value: Any) -> orjson.Fragment:
    """The actor's canonical JSON, once per distinct stored value."""
    actor, wire = _actor_entry(value)
    if wire is None:
        wire = orjson.Fragment(canonical_json(actor.model_dump(mode="json")))
        key = value if isinstance(value, str | bytes) else orjson.dumps(value)
        _ACTORS[key] = (actor, wire)
    return wire


#: The other way, for appends: per distinct Actor, its canonical JSON as the store keeps it.
_ACTOR_TEXT: dict[Actor, str] = {}
_ACTOR_TEXT_MAX = 1024


def stored_actor(actor: Actor) -> tuple[str, Actor]:
    """The actor's JSON as the store keeps it, and the Actor a read decodes from it (the
    same `_actor` as `record_of`, so an appended record equals the one read back)."""
    try:
        text = _ACTOR_TEXT.get(actor)
    except TypeError:  # unhashable (built with model_construct): no caching
        return (text := canonical_json(actor.model_dump(mode="json")).decode()), _actor(text)
    if text is None:
        text = canonical_json(actor.model_dump(mode="json")).decode()
        if len(_ACTOR_TEXT) >= _ACTOR_TEXT_MAX:
            _ACTOR_TEXT.clear()
        _ACTOR_TEXT[actor] = text
    return text, _actor(text)


def new_record(fields: dict[str, Any]) -> RecordedEvent:
    """A RecordedEvent of `fields` (every field, already of its type), not validated again.

    What `RecordedEvent.model_construct` does, minus its per-field bookkeeping: for values
    that come from the store or were validated on their way in (a catch-up read, a replay,
    an append's result; issue #10, bench/replay.py, bench/eventstore.py).
    """
    event = _new_record(RecordedEvent)
    _set(event, "__dict__", fields)
    _set(event, "__pydantic_fields_set__", set(_EVENT_FIELDS))
    _set(event, "__pydantic_extra__", None)
    _set(event, "__pydantic_private__", None)
    return event


def record_of(row: Row) -> RecordedEvent:
    """A stored row as a RecordedEvent, without re-validating what the store validated."""
    return new_record(
        {
            "event_id": _uuid(row["event_id"]),
            "stream_id": row["stream_id"],
            "stream_type": row["stream_type"],
            "version": row["version"],
            "position": row["position"],
            "type": row["type"],
            "schema_version": row["schema_version"],
            "tenant": row["tenant"],
            "actor": _actor(row["actor"]),
            "correlation_id": _uuid(row["correlation_id"]),
            "causation_id": _optional_uuid(row["causation_id"]),
            "occurred_at": parse_time(row["occurred_at"]),
            "recorded_at": parse_time(row["recorded_at"]),
            "payload": _json(row["payload"]),
        }
    )


_WIRE_FIELDS = frozenset(
    "event_id stream_id stream_type version position type schema_version tenant actor "
    "correlation_id causation_id occurred_at recorded_at payload".split()
)
#: False if RecordedEvent gained or lost a field: then wire_of_row is `to_wire()` itself.
_FAST_WIRE = _EVENT_FIELDS == _WIRE_FIELDS
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def uuid_text(value: Any) -> str:
    """`str(_uuid(value))`: SQLite already holds that canonical text; PostgreSQL a UUID."""
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return value
    return str(_uuid(value))


def wire_of_row(row: Row) -> bytes:
    """`record_of(row).to_wire()`, byte for byte, framed from the stored columns.

    For the relay (issue #10 item 2): a stored row goes to Kafka without becoming a
    RecordedEvent and being encoded again. The envelope's columns are normalised as
    `record_of` does (UUIDs as canonical text, times as aware UTC, the actor validated once
    per distinct value) and the payload's stored JSON is parsed by orjson only, then the
    whole is written once with `canonical_json`'s options. orjson writes UUID text, aware
    UTC datetimes (`Z`) and JSON-native values exactly as pydantic's JSON mode does;
    anything it refuses (an integer beyond 64 bits), or a changed envelope, takes
    `record_of(row).to_wire()`. tests/unit/test_kafka_relay.py and
    tests/integration/test_eventstore_conformance.py compare the two on both backends.
    """
    if not _FAST_WIRE:
        return record_of(row).to_wire()
    causation = row["causation_id"]
    try:
        return orjson.dumps(
            {
                "event_id": uuid_text(row["event_id"]),
                "stream_id": row["stream_id"],
                "stream_type": row["stream_type"],
                "version": row["version"],
                "position": row["position"],
                "type": row["type"],
                "schema_version": row["schema_version"],
                "tenant": row["tenant"],
                "actor": _actor_wire(row["actor"]),
                "correlation_id": uuid_text(row["correlation_id"]),
                "causation_id": None if causation is None else uuid_text(causation),
                "occurred_at": parse_time(row["occurred_at"]),
                "recorded_at": parse_time(row["recorded_at"]),
                "payload": _json(row["payload"]),
            },
            option=JSON_OPTIONS,
        )
    except TypeError:
        return record_of(row).to_wire()


def read_log_file(path: Path, *, stream_id: str | None = None) -> list[RecordedEvent]:
    """An embedded store's log, or one stream of it, read at once without an event loop.

    For the quick commands an operator types (`gongkai workdays due`, `gongkai token
    issue`: issue #21 asks for under 0.3 s), which read a few events and stop: opening the
    store itself would load the PostgreSQL client, aiosqlite and asyncio for nothing. The
    file is only read (WAL lets it be read while the suite writes); a missing file is an
    empty log, and none is created.
    """
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        if stream_id is None:
            rows = conn.execute(f"SELECT {COLUMNS} FROM events ORDER BY position").fetchall()
        else:
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM events WHERE stream_id = ? ORDER BY version",
                (stream_id,),
            ).fetchall()
    finally:
        conn.close()
    return [record_of(row) for row in rows]
