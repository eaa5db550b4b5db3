"""Parked events (`dead_letters`): list, show, retry and discard them after a fix.

A consumer (a projection runner, a Kafka consumer group, a faust app) parks an event it
cannot apply, and every later event of the same stream behind it (shared/projections.py),
so a stream is never applied out of order. This module is what an operator does next:

- `list_parked`: how many events are parked, per consumer and stream;
- `show`: one stream's parked events, in version order, with their reasons;
- `retry`: apply them again, in version order, through the consumer's projections, in
  ONE transaction with the parked rows: each event that applies leaves `dead_letters`;
  the first that still fails is parked again with its new reason, and the events behind
  it stay parked behind it;
- `discard`: remove them (the read model skips them; who and why is recorded by the
  caller as an operations event, services/platform).

The parked rows name an event by id and stream; the event itself is read again from the
source store (the log is the truth), so nothing is copied into the read model's schema.
"""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.db import Database, Tx
from shared.envelope import RecordedEvent
from shared.errors import NotFound, ValidationFailed
from shared.eventstore import EventStore
from shared.projections import Projection, is_poison

#: A source service's event store, by name (opened on demand by the composition root).
StoreOf = Callable[[str], Awaitable[EventStore]]

#: Rounds of `retry` when an event of the stream was parked behind while it ran.
_ROUNDS = 3


@dataclass(frozen=True)
class Consumer:
    """What parks events under one `dead_letters.consumer` name.

    `projections` in the order the consumer applies them; `sources[p]` the services
    whose events projection `p` applies. Every engine applies an event to all its
    projections under one savepoint (shared/delivery.py), so a parked event took effect
    in none of them and a retry applies it to all. `inbox`: the consumer deduplicates by
    `consumer_inbox` (distributed consumers); a retried event is recorded there, so a
    re-publication of it is not applied twice.
    """

    name: str
    service: str
    projections: Sequence[Projection]
    sources: Mapping[str, Sequence[str]]
    inbox: bool = False

    def all_sources(self) -> list[str]:
        return sorted({s for p in self.projections for s in self.sources[p.name]})


@dataclass(frozen=True)
class Parked:
    consumer: str
    event_id: str
    stream_id: str
    position: int | None
    event_type: str
    reason: str
    parked_at: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "consumer": self.consumer,
            "event_id": self.event_id,
            "stream_id": self.stream_id,
            "position": self.position,
            "event_type": self.event_type,
            "reason": self.reason,
            "parked_at": self.parked_at,
        }


@dataclass
class RetryOutcome:
    consumer: str
    stream_id: str
    applied: list[str] = field(default_factory=list)
    still_parked: list[str] = field(default_factory=list)
    #: The reason of the event that failed again (None when every event applied).
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "consumer": self.consumer,
            "stream_id": self.stream_id,
            "applied": self.applied,
            "still_parked": self.still_parked,
            "reason": self.reason,
        }


_COLUMNS = "consumer, event_id, stream_id, position, event_type, reason, parked_at"


def _parked(row: Mapping[str, Any]) -> Parked:
    position = row["position"]
    return Parked(
        consumer=row["consumer"],
        event_id=str(row["event_id"]),
        stream_id=row["stream_id"],
        position=None if position is None else int(position),
        event_type=row["event_type"],
        reason=row["reason"],
        parked_at=row["parked_at"],
    )


async def has_table(db: Database) -> bool:
    """Whether the read model has a `dead_letters` table (a service without projections
    has none)."""
    try:
        await db.fetchval("SELECT COUNT(*) FROM dead_letters WHERE 1 = 0")
    except Exception:
        return False
    return True


async def list_parked(db: Database, consumer: str | None = None) -> list[dict[str, Any]]:
    """Per consumer and stream: how many events are parked, the first one and its reason."""
    if not await has_table(db):
        return []
    args: list[Any] = []
    where = ""
    if consumer is not None:
        where, args = "WHERE consumer = $1", [consumer]
    rows = await db.fetch(f"SELECT {_COLUMNS} FROM dead_letters {where}", *args)
    groups: dict[tuple[str, str], list[Parked]] = {}
    for row in rows:
        p = _parked(row)
        groups.setdefault((p.consumer, p.stream_id), []).append(p)
    out = []
    for (name, stream), parked in sorted(groups.items()):
        parked.sort(key=_order)
        first = parked[0]
        out.append(
            {
                "consumer": name,
                "stream_id": stream,
                "parked": len(parked),
                "first_event_id": first.event_id,
                "first_event_type": first.event_type,
                "reason": first.reason.split("\n", 1)[0],
                "parked_at": first.parked_at,
            }
        )
    return out


def _order(p: Parked) -> tuple[int, str]:
    # Positions of one stream come from one store, so they follow its versions.
    return (p.position if p.position is not None else 0, p.event_id)


async def counts(db: Database) -> dict[str, int]:
    """Parked events per consumer (the `gongkai_parked_events` gauge)."""
    if not await has_table(db):
        return {}
    rows = await db.fetch("SELECT consumer, COUNT(*) AS n FROM dead_letters GROUP BY consumer")
    return {r["consumer"]: int(r["n"]) for r in rows}


async def show(db: Database, consumer: str, stream_id: str) -> list[Parked]:
    """The stream's parked events under `consumer`, in stream order; 404 if none."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM dead_letters WHERE consumer = $1 AND stream_id = $2",
        consumer,
        stream_id,
    )
    if not rows:
        raise _none_parked(consumer, stream_id)
    return sorted((_parked(r) for r in rows), key=_order)


def _none_parked(consumer: str, stream_id: str) -> NotFound:
    return NotFound(
        rule="dead_letters.none_parked",
        field="stream_id",
        message_zh=f"{consumer} 没有暂存流 {stream_id} 的事件",
        message_en=f"{consumer} has no parked event of stream {stream_id}",
    )


async def _events(
    consumer: Consumer, parked: Sequence[Parked], store_of: StoreOf
) -> list[tuple[str, RecordedEvent]]:
    """The parked events read again from their source stores, in version order, with the
    service each came from."""
    wanted = {p.event_id for p in parked}
    stream_id = parked[0].stream_id
    found: dict[str, tuple[str, RecordedEvent]] = {}
    for source in consumer.all_sources():
        store = await store_of(source)
        for event in await store.read_stream(stream_id):
            if str(event.event_id) in wanted:
                found[str(event.event_id)] = (source, event)
        if len(found) == len(wanted):
            break
    missing = sorted(wanted - set(found))
    if missing:
        raise ValidationFailed(
            rule="dead_letters.event_missing",
            field="stream_id",
            message_zh=f"在 {consumer.name} 的来源事件库中找不到暂存的事件 {', '.join(missing)}",
            message_en=(
                f"parked events {', '.join(missing)} are in none of the source stores of "
                f"{consumer.name} ({', '.join(consumer.all_sources())})"
            ),
        )
    return sorted(found.values(), key=lambda item: item[1].version)


def _projections_for(consumer: Consumer, source: str) -> list[Projection]:
    return [p for p in consumer.projections if source in consumer.sources[p.name]]


async def _retry_once(
    db: Database, consumer: Consumer, stream_id: str, store_of: StoreOf, out: RetryOutcome
) -> bool:
    """One round; True if every event parked when it started was applied."""
    parked = await show(db, consumer.name, stream_id)
    events = await _events(consumer, parked, store_of)
    async with db.transaction() as tx:
        # Lock the stream's parked rows (PostgreSQL): a concurrent retry waits for this one
        # and then finds the rows it applied gone. SQLite has one writer anyway.
        await tx.execute(
            "UPDATE dead_letters SET parked_at = parked_at WHERE consumer = $1 AND stream_id = $2",
            consumer.name,
            stream_id,
        )
        still = {
            str(r["event_id"])
            for r in await tx.fetch(
                "SELECT event_id FROM dead_letters WHERE consumer = $1 AND stream_id = $2",
                consumer.name,
                stream_id,
            )
        }
        for i, (source, event) in enumerate(events):
            event_id = str(event.event_id)
            if event_id not in still:
                continue  # applied by a concurrent retry
            projections = _projections_for(consumer, source)
            failure = await _apply(tx, projections, event)
            if failure is not None:
                await tx.execute(
                    "UPDATE dead_letters SET reason = $1, parked_at = $2 "
                    "WHERE consumer = $3 AND event_id = $4",
                    failure[:4000],
                    datetime.now(UTC).isoformat(),
                    consumer.name,
                    event_id,
                )
                out.reason = failure
                out.still_parked = [str(e.event_id) for _, e in events[i:]]
                return False
            await tx.execute(
                "DELETE FROM dead_letters WHERE consumer = $1 AND event_id = $2",
                consumer.name,
                event_id,
            )
            if consumer.inbox:
                await tx.execute(
                    "INSERT INTO consumer_inbox (consumer, event_id) VALUES ($1, $2) "
                    "ON CONFLICT (consumer, event_id) DO NOTHING",
                    consumer.name,
                    event_id,
                )
            out.applied.append(event_id)
    return True


async def _apply(tx: Tx, projections: Sequence[Projection], event: RecordedEvent) -> str | None:
    """Apply `event` to `projections` in a savepoint; the failure's reason, or None."""
    await tx.execute("SAVEPOINT retry_event")
    for projection in projections:
        try:
            await projection.apply(tx, event)
        except Exception as exc:
            if not is_poison(exc):
                raise
            await tx.execute("ROLLBACK TO SAVEPOINT retry_event")
            return (
                f"{projection.name}: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
            )
    await tx.execute("RELEASE SAVEPOINT retry_event")
    return None


async def retry(
    db: Database, consumer: Consumer, stream_id: str, store_of: StoreOf
) -> RetryOutcome:
    """Apply the stream's parked events again, in version order (see the module's text).

    If the consumer parked another event of the stream behind them while this ran (it
    read the stream as blocked just before this committed), that one is retried too.
    """
    out = RetryOutcome(consumer.name, stream_id)
    for _ in range(_ROUNDS):
        if not await _retry_once(db, consumer, stream_id, store_of, out):
            return out
        remaining = await db.fetch(
            "SELECT event_id FROM dead_letters WHERE consumer = $1 AND stream_id = $2",
            consumer.name,
            stream_id,
        )
        if not remaining:
            return out
    out.still_parked = [str(r["event_id"]) for r in remaining]
    return out


def check_reason(reason: str) -> str:
    """A discard says why, in a few words (2 to 500 characters)."""
    text = reason.strip()
    if not 2 <= len(text) <= 500:
        raise ValidationFailed(
            rule="dead_letters.reason_required",
            field="reason",
            message_zh="丢弃暂存事件须说明理由（2 至 500 个字符）",
            message_en="discarding parked events needs a reason of 2 to 500 characters",
        )
    return text


async def discard(db: Database, consumer: str, stream_id: str) -> list[Parked]:
    """Remove the stream's parked events under `consumer`; return what was removed.

    The read model will never apply them (a rebuild would meet them again): the caller
    records who discarded what and why.
    """
    async with db.transaction() as tx:
        rows = await tx.fetch(
            f"DELETE FROM dead_letters WHERE consumer = $1 AND stream_id = $2 RETURNING {_COLUMNS}",
            consumer,
            stream_id,
        )
    if not rows:
        raise _none_parked(consumer, stream_id)
    return sorted((_parked(r) for r in rows), key=_order)
