"""Reads of the audit service: checkpoints as exported, the chain's verification as
answered, and which personal fields a trail record shows (its export is a read of them)."""

from __future__ import annotations

from functools import cache
from typing import Any

from services.audit import chain
from services.audit.events import CHECKPOINT_STREAM
from services.audit.personal import personal_events
from shared.db import Database
from shared.envelope import RecordedEvent
from shared.eventstore import EventStore


def checkpoint_record(event: RecordedEvent) -> dict[str, Any]:
    """One exported checkpoint; `statement` is the exact text an operator signs."""
    p = event.payload
    statement = (
        f"gongkai audit chain seq={p['seq']} count={p['count']} head={p['head_hash']} "
        f"at={chain.time_key(event.recorded_at)}"
    )
    return {
        "seq": p["seq"],
        "count": p["count"],
        "head_hash": p["head_hash"],
        "reason": p["reason"],
        "checkpointed_at": chain.time_key(event.recorded_at),
        "event_id": str(event.event_id),
        "statement": statement,
    }


async def read_checkpoints(store: EventStore) -> list[RecordedEvent]:
    return [e for e in await store.read_stream(CHECKPOINT_STREAM) if e.type == "ChainCheckpointed"]


async def verification(views: Database, store: EventStore, from_seq: int) -> dict[str, Any]:
    """Walk the chain from `from_seq` against every checkpoint; stop at the first break."""
    await chain.setup_chain(views)
    marks = [
        (int(e.payload["seq"]), str(e.payload["head_hash"])) for e in await read_checkpoints(store)
    ]
    result = await chain.verify(views, from_seq=from_seq, checkpoints=marks)
    broken = result.broken
    return {
        "ok": broken is None,
        "verified": result.verified,
        "head_seq": result.head_seq,
        "head_hash": result.head_hash,
        "events_per_second": round(result.rate),
        "checkpoints_checked": len(marks),
        "broken": None
        if broken is None
        else {"seq": broken.seq, "event_id": broken.event_id, "reason": broken.reason},
    }


@cache
def _marked() -> dict[tuple[str, str], list[str]]:
    """(service, event type) -> its personal fields, over every service of the suite.

    Discovered when first asked, not at import: this module is imported by discovery.
    """
    from shared.service import discover

    return personal_events({n: d.registry for n, d in discover().items()})


def personal_in(record: dict[str, Any]) -> list[str]:
    """The personal fields a trail record shows, as `<event type>.<field>`."""
    event = record["event"]
    if event["stream_type"] == "personal-data-access":
        return []  # an access event holds references to personal data, not the data
    return [f"{event['type']}.{p}" for p in _marked().get((record["service"], event["type"]), [])]
