"""Completeness: does the chain hold every event of every service's store?

For each service, the event ids of its store are compared with the ids chained for
that service, per hour, day or month (UTC, by recorded_at): counts on both sides, the
ids missing from the chain, and ids chained but absent from the store (which no
legitimate path makes).
Events recorded in the last `settle` seconds are left out: the chain follows the stores
asynchronously and may simply not have received them yet.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.audit.chain import time_key
from shared.db import Database
from shared.eventstore import SqlEventStore

#: Length of the time-key prefix naming a period ("2026-06-30T17", "2026-06-30", "2026-06").
PERIOD_WIDTH = {"hour": 13, "day": 10, "month": 7}


@dataclass
class Period:
    service: str
    day: str
    in_store: int = 0
    in_chain: int = 0
    missing: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.unknown


async def check_service(
    service: str,
    store: SqlEventStore,
    chain_db: Database,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    period: str = "day",
) -> list[Period]:
    """Per `period` (hour, day or month, UTC) of the events' recorded_at."""
    width = PERIOD_WIDTH[period]
    periods: dict[str, Period] = {}

    def bucket(day: str) -> Period:
        return periods.setdefault(day, Period(service, day))

    def inside(day_key: str) -> bool:
        return (start is None or day_key >= time_key(start)) and (
            end is None or day_key <= time_key(end)
        )

    stored: dict[str, str] = {}
    for row in await store.db.fetch("SELECT event_id, recorded_at FROM events"):
        moment = row["recorded_at"]
        key = time_key(moment if isinstance(moment, datetime) else datetime.fromisoformat(moment))
        if inside(key):
            stored[str(row["event_id"])] = key
    chained: dict[str, str] = {
        str(r["event_id"]): str(r["recorded_at"])
        for r in await chain_db.fetch(
            "SELECT event_id, recorded_at FROM audit_chain WHERE service = $1", service
        )
        if inside(str(r["recorded_at"]))
    }
    for event_id, key in stored.items():
        p = bucket(key[:width])
        p.in_store += 1
        if event_id not in chained:
            p.missing.append(event_id)
    for event_id, key in chained.items():
        p = bucket(key[:width])
        p.in_chain += 1
        if event_id not in stored:
            p.unknown.append(event_id)
    return [periods[d] for d in sorted(periods)]


def settle_end(end: datetime | None, now: datetime, settle_seconds: float) -> datetime:
    cutoff = now - timedelta(seconds=settle_seconds)
    return cutoff if end is None or end > cutoff else end


def summarize(periods: list[Period]) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for p in periods:
        t = totals[p.service]
        t["in_store"] += p.in_store
        t["in_chain"] += p.in_chain
        t["missing"] += len(p.missing)
        t["unknown"] += len(p.unknown)
    return {k: dict(v) for k, v in totals.items()}
