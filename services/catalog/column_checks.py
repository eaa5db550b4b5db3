"""Column health from the read models, and the column check that records it as events.

Dynamic columns every 2 weeks, others every 6 months, none empty [local; DOMAIN.md §1].
The check appends ColumnStale / ColumnEmpty to `catalog-column-health-<township>-<code>`
(assessment deducts for them, DOMAIN.md §5), once per episode, with the stream's
expected version so concurrent checks do not record twice. It runs on demand
(POST /v1/catalog/column-checks), not in the background: a fresh deployment starts with
every column empty, and when that starts to count is the district's decision.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from services.catalog import columns as catalog_columns
from shared.envelope import Actor, NewEvent, RecordedEvent, StreamWrite
from shared.errors import ConcurrencyConflict
from shared.registry import payload_of
from shared.service import Runtime
from shared.workdays import local_date


def health_stream(township: str, code: str) -> str:
    return f"catalog-column-health-{township}-{code}"


async def column_health(
    runtime: Runtime, township: str
) -> tuple[date, list[catalog_columns.ColumnHealth]]:
    """Every column of a township (seeded and configured) with its count and last update."""
    configured = await runtime.views.fetch(
        "SELECT * FROM catalog_columns WHERE township = $1", township
    )
    merged = catalog_columns.merge(
        [
            catalog_columns.Column(r["code"], r["name"], bool(r["dynamic"]), int(r["max_age_days"]))
            for r in configured
        ]
    )
    stats = await runtime.views.fetch(
        "SELECT column_code, COUNT(*) AS n, MAX(updated_at) AS last FROM catalog_public "
        "WHERE township = $1 GROUP BY column_code",
        township,
    )
    by_code = {r["column_code"]: r for r in stats}
    today = local_date(runtime.handlers.clock())
    found = []
    for column in merged:
        row = by_code.get(column.code)
        last = local_date(datetime.fromisoformat(str(row["last"]))) if row else None
        found.append(catalog_columns.health(column, last, int(row["n"]) if row else 0, today))
    return today, found


async def check_columns(
    runtime: Runtime, township: str, actor: Actor, correlation: UUID
) -> list[RecordedEvent]:
    today, healths = await column_health(runtime, township)
    recorded: list[RecordedEvent] = []
    for h in healths:
        stream = health_stream(township, h.column.code)
        events = await runtime.store.read_stream(stream)
        last = events[-1].payload if events else None
        event = catalog_columns.health_event(township, h, today, last)
        if event is None:
            continue
        try:
            recorded += await runtime.store.append(
                [
                    StreamWrite(
                        stream_id=stream,
                        stream_type=event.stream_type,
                        expected_version=len(events),
                        events=(
                            NewEvent(
                                type=event.event_type,
                                schema_version=event.schema_version,
                                tenant=township,
                                actor=actor,
                                correlation_id=correlation,
                                payload=payload_of(event),
                            ),
                        ),
                    )
                ]
            )
        except ConcurrencyConflict:
            continue  # another check recorded this column just now
    return recorded
