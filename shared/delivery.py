"""The delivery step every projection engine shares: inbox, batch or fallback, parking, position.

Three engines feed projections: the embedded `ProjectionRunner` (a store's own log), the
`KafkaProjectionWorker` (a consumer group) and the faust projection app (a faust stream).
They differ in how they read and where they keep their position; what they do with a batch
is this module's `deliver`, one implementation:

1. in ONE transaction: claim the batch's event ids in `consumer_inbox` (with `inbox`; an
   event delivered again is skipped), park the events of streams that already have a
   parked event (Axon's sequenced dead letters: a stream is never applied out of order),
   apply the rest — one `apply_batch` call per projection where it has one, else `apply`
   per event, no savepoint — and record the engine's position (`record`);
2. if a projection refuses an event (a failure `is_poison` says belongs to the event), that
   transaction is rolled back whole and the batch is delivered again event by event in a
   new one, a savepoint per event: exactly the refused event is parked in `dead_letters`
   with its reason, later events of its stream behind it, other streams go on, and the
   position is recorded all the same;
3. an infrastructure failure (`INFRASTRUCTURE_ERRORS`: a lost connection, a missing table)
   propagates: nothing is parked, nothing recorded, the engine stops or retries.

The caller gets an `Outcome`: how many events were applied, how many were duplicates, and
the parked deliveries with their reasons (the Kafka engines send those to the dead-letter
topic, after the transaction committed).
"""

from __future__ import annotations

import sqlite3
import time
import traceback
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg
import structlog

from shared import tracing
from shared.db import IN_CHUNK, Database, Tx
from shared.envelope import RecordedEvent

log = structlog.get_logger("gongkai.projections")

KERNEL_TABLES = [
    """CREATE TABLE IF NOT EXISTS projection_checkpoints (
        name TEXT PRIMARY KEY,
        position BIGINT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS dead_letters (
        consumer TEXT NOT NULL,
        event_id TEXT NOT NULL,
        stream_id TEXT NOT NULL,
        position BIGINT,
        event_type TEXT NOT NULL,
        reason TEXT NOT NULL,
        parked_at TEXT NOT NULL,
        PRIMARY KEY (consumer, event_id)
    )""",
]

#: The inbox of a consumer fed at least once (Kafka): the ids of the events it applied.
INBOX_TABLES = [
    """CREATE TABLE IF NOT EXISTS consumer_inbox (
        consumer TEXT NOT NULL,
        event_id TEXT NOT NULL,
        PRIMARY KEY (consumer, event_id)
    )""",
]


#: Failures of the machinery, not of the event: they stop the consumer (which resumes from
#: its checkpoint once fixed) instead of dead-lettering every event that meets them.
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    sqlite3.OperationalError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.UndefinedTableError,
    asyncpg.UndefinedColumnError,
    asyncpg.InsufficientPrivilegeError,
)


def is_poison(exc: BaseException) -> bool:
    """Whether a failure belongs to the event (park it) rather than to the infrastructure."""
    return isinstance(exc, Exception) and not isinstance(exc, INFRASTRUCTURE_ERRORS)


class Projection(Protocol):
    name: str
    #: Portable DDL creating the read-model tables (CREATE TABLE IF NOT EXISTS ...).
    schema: Sequence[str]
    #: The tables a rebuild drops.
    tables: Sequence[str]

    async def apply(self, tx: Tx, event: RecordedEvent) -> None: ...


class BatchProjection(Projection, Protocol):
    async def apply_batch(self, tx: Tx, events: Sequence[RecordedEvent]) -> None: ...


async def park(tx: Tx, consumer: str, event: RecordedEvent, reason: str) -> None:
    await tx.execute(
        """INSERT INTO dead_letters
               (consumer, event_id, stream_id, position, event_type, reason, parked_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (consumer, event_id) DO NOTHING""",
        consumer,
        str(event.event_id),
        event.stream_id,
        event.position,
        event.type,
        reason[:4000],
        datetime.now(UTC).isoformat(),
    )


async def parked_streams(tx: Tx, consumer: str) -> set[str]:
    rows = await tx.fetch(
        "SELECT DISTINCT stream_id FROM dead_letters WHERE consumer = $1", consumer
    )
    return {r["stream_id"] for r in rows}


BEHIND_PARKED = "an earlier event of this stream is parked"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event to deliver; `topic` is its source for `routes`, `message` the engine's own
    handle on it (a Kafka record, a faust event) for its dead letters."""

    event: RecordedEvent
    topic: str | None = None
    message: Any = None
    #: (trace id, span id) of the W3C `traceparent` the message carried (Kafka headers);
    #: None: the event's own (shared/tracing.py).
    trace: tuple[int, int] | None = None


@dataclass(slots=True)
class Outcome:
    applied: int = 0
    duplicates: int = 0
    #: The deliveries parked by this call, each with its reason, "<projection>: <error
    #: type>: <message>" or `BEHIND_PARKED` (`dead_letters` adds a short traceback).
    parked: list[tuple[Delivery, str]] = field(default_factory=list)
    #: The event ids skipped as duplicates (filled only when there are some).
    duplicate_ids: list[str] = field(default_factory=list)


#: Writes the engine's position (checkpoint, offsets) in the delivery's transaction.
Record = Callable[[Tx], Awaitable[None]]


def _routed(
    projection: Projection, batch: Sequence[Delivery], routes: Mapping[str, Collection[str]]
) -> list[RecordedEvent]:
    wanted = routes.get(projection.name)
    if wanted is None:
        return [d.event for d in batch]
    return [d.event for d in batch if d.topic in wanted]


async def claim(tx: Tx, consumer: str, event_ids: Sequence[str]) -> set[str]:
    """Claim event ids in the inbox, a few hundred per statement; the ids claimed now (not
    applied before)."""
    claimed: set[str] = set()
    unique = list(dict.fromkeys(event_ids))
    for start in range(0, len(unique), IN_CHUNK):
        chunk = unique[start : start + IN_CHUNK]
        values = ", ".join(f"($1, ${n})" for n in range(2, len(chunk) + 2))
        rows = await tx.fetch(
            f"INSERT INTO consumer_inbox (consumer, event_id) VALUES {values} "
            "ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id",
            consumer,
            *chunk,
        )
        claimed.update(str(r["event_id"]) for r in rows)
    return claimed


async def _fresh(
    tx: Tx, consumer: str, batch: Sequence[Delivery], inbox: bool
) -> tuple[list[Delivery], int]:
    """The deliveries not applied before (first copy only), and how many were duplicates."""
    if not inbox:
        return list(batch), 0
    claimed = await claim(tx, consumer, [str(d.event.event_id) for d in batch])
    fresh = []
    for d in batch:
        event_id = str(d.event.event_id)
        if event_id in claimed:  # claimed now; a repeat in the batch is not fresh
            claimed.discard(event_id)
            fresh.append(d)
    return fresh, len(batch) - len(fresh)


def _duplicates(batch: Sequence[Delivery], fresh: Sequence[Delivery]) -> list[str]:
    kept = {id(d) for d in fresh}
    return [str(d.event.event_id) for d in batch if id(d) not in kept]


async def deliver(
    db: Database,
    projections: Sequence[Projection],
    batch: Sequence[Delivery],
    *,
    consumer: str,
    routes: Mapping[str, Collection[str]] | None = None,
    inbox: bool = False,
    record: Record | None = None,
) -> Outcome:
    """Deliver `batch` to `projections` and record the position, in one transaction (see the
    module's docstring); on a poison event, again event by event."""
    routes = routes or {}
    started = time.time_ns() if tracing.enabled() else 0
    try:
        outcome = await _together(db, projections, batch, consumer, routes, inbox, record)
    except Exception as exc:
        if not is_poison(exc):
            raise
        log.info("projection.batch_fallback", consumer=consumer, error=type(exc).__name__)
        outcome = await _one_by_one(db, projections, batch, consumer, routes, inbox, record)
    if started:
        _trace(consumer, projections, batch, outcome, started)
    return outcome


def _trace(
    consumer: str,
    projections: Sequence[Projection],
    batch: Sequence[Delivery],
    outcome: Outcome,
    started: int,
) -> None:
    """A consumer span per delivered event (duplicates left out), a child of the event's
    span (or of the span its Kafka header named), timed as the batch's transaction; a
    parked event's span is an error with the reason."""
    skipped = set(outcome.duplicate_ids)
    delivered = [d for d in batch if str(d.event.event_id) not in skipped]
    names = ",".join(p.name for p in projections)
    tracing.record_events(
        f"projection.apply {consumer}",
        [
            (
                d.event.correlation_id,
                d.event.event_id,
                {
                    "gongkai.consumer": consumer,
                    "gongkai.projections": names,
                    "gongkai.event_type": d.event.type,
                    "gongkai.position": d.event.position,
                    "gongkai.batch": len(batch),
                },
            )
            for d in delivered
        ],
        kind="consumer",
        start_ns=started,
        parents=[d.trace for d in delivered],
        errors={str(d.event.event_id): reason for d, reason in outcome.parked},
    )


async def _together(
    db: Database,
    projections: Sequence[Projection],
    batch: Sequence[Delivery],
    consumer: str,
    routes: Mapping[str, Collection[str]],
    inbox: bool,
    record: Record | None,
) -> Outcome:
    async with db.transaction() as tx:
        blocked = await parked_streams(tx, consumer)
        fresh, duplicates = await _fresh(tx, consumer, batch, inbox)
        outcome = Outcome(duplicates=duplicates)
        if duplicates:
            outcome.duplicate_ids = _duplicates(batch, fresh)
        ready = fresh  # nothing parked (the usual case): the whole batch
        if blocked:
            ready = [d for d in fresh if d.event.stream_id not in blocked]
            for d in fresh:
                if d.event.stream_id in blocked:
                    await park(tx, consumer, d.event, BEHIND_PARKED)
                    outcome.parked.append((d, BEHIND_PARKED))
        for projection in projections:
            mine = _routed(projection, ready, routes)
            if not mine:
                continue
            apply_batch = getattr(projection, "apply_batch", None)
            if apply_batch is not None:
                await apply_batch(tx, mine)
            else:
                for event in mine:
                    await projection.apply(tx, event)
        if record is not None:
            await record(tx)
    outcome.applied = len(ready)
    return outcome


async def _one_by_one(
    db: Database,
    projections: Sequence[Projection],
    batch: Sequence[Delivery],
    consumer: str,
    routes: Mapping[str, Collection[str]],
    inbox: bool,
    record: Record | None,
) -> Outcome:
    outcome = Outcome()
    async with db.transaction() as tx:
        blocked = await parked_streams(tx, consumer)
        for d in batch:
            event = d.event
            if inbox and not await claim(tx, consumer, [str(event.event_id)]):
                outcome.duplicates += 1
                outcome.duplicate_ids.append(str(event.event_id))
                continue
            if event.stream_id in blocked:
                await park(tx, consumer, event, BEHIND_PARKED)
                outcome.parked.append((d, BEHIND_PARKED))
                continue
            await tx.execute("SAVEPOINT apply_event")
            current = ""
            try:
                for projection in projections:
                    if _routed(projection, [d], routes):
                        current = projection.name
                        await projection.apply(tx, event)
            except Exception as exc:
                if not is_poison(exc):
                    raise
                await tx.execute("ROLLBACK TO SAVEPOINT apply_event")
                reason = f"{current}: {type(exc).__name__}: {exc}"
                trace = traceback.format_exc(limit=3)
                await park(tx, consumer, event, f"{reason}\n{trace}")
                blocked.add(event.stream_id)
                outcome.parked.append((d, reason))
                log.warning(
                    "projection.event_parked",
                    trace_id=event.correlation_id.hex,
                    consumer=consumer,
                    projection=current,
                    event_id=str(event.event_id),
                    event_type=event.type,
                    error=type(exc).__name__,
                )
                continue
            await tx.execute("RELEASE SAVEPOINT apply_event")
            outcome.applied += 1
        if record is not None:
            await record(tx)
    return outcome
