"""Projections: read models built from events, with the checkpoint in the same transaction.

A projection is a name, its tables (portable DDL) and `apply(tx, event)`. The
runner feeds it every event of a source log in position order; after each batch
it writes the read-model changes and its checkpoint in ONE transaction, so a
crash at any point resumes exactly where the read model stands (no event lost,
none applied twice). A rebuild drops the tables and replays from position 0.

An event the projection cannot apply (a bug, a payload it cannot read) is parked
in `dead_letters` with the reason and the runner goes on: one poison event does
not stop a township's ledger. Parked events are listed by operators and can be
replayed once fixed (Axon's sequenced DLQ: later events of the same stream are
parked behind it, so a stream's events are never applied out of order).

A projection may also offer `apply_batch(tx, events)`: the same effect as `apply` on
each event in order, folded in memory and written in a few statements (the request
ledger does; issue #10 replay). The runner then applies a chunk with no savepoint per
event. If the batch meets a poison event, the whole transaction is rolled back and the
chunk is applied again event by event in a new one, so exactly the events `apply` would
park are parked. `apply_batch` must keep no state beyond its transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import traceback
from collections.abc import AsyncGenerator, Sequence
from datetime import UTC, datetime
from typing import Protocol

import asyncpg
import structlog

from shared.db import Database, Tx
from shared.envelope import RecordedEvent
from shared.eventstore import EventStore

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


async def setup_projection(db: Database, projection: Projection) -> None:
    await db.execute_script([*KERNEL_TABLES, *projection.schema])


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


_BEHIND_PARKED = "an earlier event of this stream is parked"


async def apply_or_park(
    tx: Tx, projection: Projection, event: RecordedEvent, blocked: set[str], consumer: str
) -> bool:
    """Apply one event inside a savepoint; park it (and its stream) if it fails. True if applied."""
    if event.stream_id in blocked:
        await park(tx, consumer, event, _BEHIND_PARKED)
        return False
    await tx.execute("SAVEPOINT apply_event")
    try:
        await projection.apply(tx, event)
    except Exception as exc:
        if not is_poison(exc):
            raise
        await tx.execute("ROLLBACK TO SAVEPOINT apply_event")
        reason = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
        await park(tx, consumer, event, reason)
        blocked.add(event.stream_id)
        log.warning(
            "projection.event_parked",
            projection=projection.name,
            event_id=str(event.event_id),
            event_type=event.type,
            error=type(exc).__name__,
        )
        return False
    await tx.execute("RELEASE SAVEPOINT apply_event")
    return True


async def save_checkpoint(tx: Tx, name: str, position: int) -> None:
    await tx.execute(
        """INSERT INTO projection_checkpoints (name, position, updated_at)
           VALUES ($1, $2, $3)
           ON CONFLICT (name) DO UPDATE SET position = excluded.position,
               updated_at = excluded.updated_at""",
        name,
        position,
        datetime.now(UTC).isoformat(),
    )


async def apply_chunk(
    db: Database, projection: Projection, events: Sequence[RecordedEvent], consumer: str
) -> int:
    """Apply `events` and move `consumer`'s checkpoint past them, in one transaction.

    Returns how many events were applied (the others were parked). With `apply_batch`,
    one call for the chunk; on a poison event, the chunk again event by event.
    """
    apply_batch = getattr(projection, "apply_batch", None)
    if apply_batch is not None:
        try:
            async with db.transaction() as tx:
                blocked = await parked_streams(tx, consumer)
                ready = events  # nothing parked (the usual case): the whole chunk
                if blocked:
                    ready = [e for e in events if e.stream_id not in blocked]
                    for event in events:
                        if event.stream_id in blocked:
                            await park(tx, consumer, event, _BEHIND_PARKED)
                if ready:
                    await apply_batch(tx, ready)
                await save_checkpoint(tx, consumer, events[-1].position)
            return len(ready)
        except Exception as exc:
            if not is_poison(exc):
                raise
            log.info(
                "projection.batch_fallback", projection=projection.name, error=type(exc).__name__
            )
    applied = 0
    async with db.transaction() as tx:
        blocked = await parked_streams(tx, consumer)
        for event in events:
            if await apply_or_park(tx, projection, event, blocked, consumer):
                applied += 1
        await save_checkpoint(tx, consumer, events[-1].position)
    return applied


async def pages(
    source: EventStore, after: int, batch: int, *, prefetch: bool = True
) -> AsyncGenerator[list[RecordedEvent], None]:
    """The log after `after` in pages of `batch` (keyset by position), until a short page.

    With `prefetch`, the next page is read while the caller applies this one (the read
    and the writes use different connections on both engines).
    """
    pending: asyncio.Task[list[RecordedEvent]] | None = None
    position = after
    try:
        while True:
            if pending is not None:
                events = await pending
                pending = None
            else:
                events = await source.read_all(position, batch)
            if not events:
                return
            position = events[-1].position
            if prefetch and len(events) == batch:
                pending = asyncio.ensure_future(source.read_all(position, batch))
            yield events
            if len(events) < batch:
                return
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending


class ProjectionRunner:
    """Feeds one projection from one event store's log (embedded mode, rebuilds, replays)."""

    def __init__(
        self,
        projection: Projection,
        source: EventStore,
        db: Database,
        *,
        checkpoint_name: str | None = None,
    ) -> None:
        """`checkpoint_name` tells apart one projection's runners over several sources."""
        self.projection = projection
        self.source = source
        self.db = db
        self.name = checkpoint_name or projection.name

    async def setup(self) -> None:
        await setup_projection(self.db, self.projection)

    async def checkpoint(self) -> int:
        value = await self.db.fetchval(
            "SELECT position FROM projection_checkpoints WHERE name = $1", self.name
        )
        return int(value or 0)

    async def run_once(self, batch: int = 500, until: int | None = None) -> int:
        """Apply the events available now (up to `until`, if given); return how many were read."""
        total = 0
        position = await self.checkpoint()
        if until is not None and position >= until:
            return total
        async with contextlib.aclosing(pages(self.source, position, batch)) as log:
            async for page in log:
                events = page if until is None else [e for e in page if e.position <= until]
                if events:
                    await self._apply_batch(events)
                    total += len(events)
                if len(events) < len(page):
                    break
        return total

    async def _apply_batch(self, events: Sequence[RecordedEvent]) -> None:
        await apply_chunk(self.db, self.projection, events, self.name)

    async def run_forever(self, stop: asyncio.Event, idle_wait: float = 1.0) -> None:
        while not stop.is_set():
            read = await self.run_once()
            if read == 0:
                await self.source.wait_for_events(await self.checkpoint(), idle_wait)

    async def rebuild(self) -> int:
        """Drop the read model and replay the whole log into it."""
        async with self.db.transaction() as tx:
            for table in self.projection.tables:
                await tx.execute(f"DROP TABLE IF EXISTS {table}")
            await tx.execute("DELETE FROM projection_checkpoints WHERE name = $1", self.name)
            await tx.execute("DELETE FROM dead_letters WHERE consumer = $1", self.name)
        await self.setup()
        return await self.run_once()

    async def lag(self) -> int:
        return await self.source.head_position() - await self.checkpoint()
