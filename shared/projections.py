"""Projections: read models built from events, with the checkpoint in the same transaction.

A projection is a name, its tables (portable DDL) and `apply(tx, event)`. The
runner feeds it every event of a source log in position order; after each batch
it writes the read-model changes and its checkpoint in ONE transaction, so a
crash at any point resumes exactly where the read model stands (no event lost,
none applied twice). A rebuild drops the tables and replays from position 0.

What the runner does with a batch (park a poison event and its stream's later events,
fall back from `apply_batch` to event by event) is `shared.delivery.deliver`, the one
delivery step the Kafka worker and the faust app share; the runner only reads the log
and keeps its position in `projection_checkpoints`. `apply_batch(tx, events)`, where a
projection has it, must have the effect of `apply` on each event in order and keep no
state beyond its transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Sequence
from datetime import UTC, datetime

from shared.db import Database, Tx
from shared.delivery import (
    INFRASTRUCTURE_ERRORS,
    KERNEL_TABLES,
    BatchProjection,
    Delivery,
    Projection,
    deliver,
    is_poison,
    park,
    parked_streams,
)
from shared.envelope import RecordedEvent
from shared.eventstore import EventStore

__all__ = [
    "INFRASTRUCTURE_ERRORS",
    "KERNEL_TABLES",
    "BatchProjection",
    "Projection",
    "ProjectionRunner",
    "apply_chunk",
    "is_poison",
    "pages",
    "park",
    "parked_streams",
    "save_checkpoint",
    "setup_projection",
]


async def setup_projection(db: Database, projection: Projection) -> None:
    await db.execute_script([*KERNEL_TABLES, *projection.schema])
    if db.dialect == "postgres":
        await db.execute_script(postgres_storage(projection))


def postgres_storage(projection: Projection) -> list[str]:
    """A projection's `fillfactor` ({table: percent}, PostgreSQL only): room left on each
    page, so an update that changes no indexed column stays on its page and writes no index
    entry (a HOT update) — a read model whose rows are updated many times over their life.
    Pages written from then on keep it; SQLite has no such setting."""
    fill: dict[str, int] = dict(getattr(projection, "fillfactor", {}) or {})
    return [f"ALTER TABLE {table} SET (fillfactor = {int(pct)})" for table, pct in fill.items()]


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
    """Apply `events` and move `consumer`'s checkpoint past them, in one transaction
    (`shared.delivery.deliver`, no inbox: a log's positions are exact). Returns how many
    events were applied (the others were parked)."""

    async def record(tx: Tx) -> None:
        await save_checkpoint(tx, consumer, events[-1].position)

    outcome = await deliver(
        db, [projection], [Delivery(e) for e in events], consumer=consumer, record=record
    )
    return outcome.applied


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
