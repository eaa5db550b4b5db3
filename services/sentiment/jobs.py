"""Background jobs of 舆情回应: escalation of overdue cases and hotspot detection.

They run in the API process (embedded `gongkai run`, distributed `gongkai serve sentiment`),
read the read model and append events. Both are safe with several processes: escalation
appends with the case's expected version, and a hotspot's stream id names its township,
topic and window bucket, appended with expected version 0 — a second announcer conflicts
and stays silent. One hotspot that fails to be announced is logged, counted and skipped
(shared/jobs.py); the escalation's per-case loop lives in handlers.escalate_overdue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from services.sentiment.events import HotspotDetected
from services.sentiment.handlers import SCHEDULER, utc_text
from services.sentiment.hotspots import Hotspot, HotspotRules, Observation, detect
from shared.envelope import StreamWrite, new_id
from shared.errors import ConcurrencyConflict
from shared.eventstore import EventStore
from shared.jobs import ItemFailures
from shared.registry import to_new_event
from shared.service import Runtime, Suite

log = logging.getLogger("gongkai.sentiment.jobs")
INTERVAL_SECONDS = 2.0


async def _every(stop: asyncio.Event, work: Callable[[], Awaitable[Any]], name: str) -> None:
    while not stop.is_set():
        try:
            await work()
        except Exception:  # a job must survive one failed round; it says which job failed
            log.exception("sentiment job %s failed; retrying", name)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), INTERVAL_SECONDS)


async def escalation_job(runtime: Runtime, suite: Suite, stop: asyncio.Event) -> None:
    await _every(stop, runtime.handlers.escalate_overdue, "escalation")


def hotspot_stream(spot: Hotspot) -> str:
    return f"hotspot-{spot.township}-{spot.category}-{spot.bucket}"


async def detect_hotspots(
    runtime: Runtime, now: datetime, rules: HotspotRules, failures: ItemFailures | None = None
) -> int:
    rows = await runtime.views.fetch(
        """SELECT tenant, category, received_at, negative_intensity FROM sent_messages
           WHERE received_at > $1 AND received_at <= $2 AND category IS NOT NULL""",
        utc_text(now - rules.window),
        utc_text(now),
    )
    townships = runtime.handlers.orgs
    observations = []
    for r in rows:
        unit = townships.township_of(r["tenant"])
        observations.append(
            Observation(
                township=unit.path if unit is not None else r["tenant"],
                category=r["category"],
                at=datetime.fromisoformat(r["received_at"]),
                negative_intensity=float(r["negative_intensity"] or 0.0),
            )
        )
    failures = failures or ItemFailures("sentiment-hotspots")
    announced = 0
    for spot in detect(observations, now, rules):
        done = await failures.run_async(
            hotspot_stream(spot), partial(announce_hotspot, runtime.store, spot)
        )
        announced += int(bool(done))
    return announced


async def announce_hotspot(store: EventStore, spot: Hotspot) -> bool:
    """Append HotspotDetected once per township, topic and window bucket (expected version 0)."""
    event = HotspotDetected(
        township=spot.township,
        category=spot.category,
        window_start=spot.window_start,
        window_end=spot.window_end,
        message_count=spot.message_count,
        negative_intensity=spot.negative_intensity,
        crossed=list(spot.crossed),
    )
    try:
        await store.append(
            [
                StreamWrite(
                    stream_id=hotspot_stream(spot),
                    stream_type=event.stream_type,
                    expected_version=0,
                    events=(to_new_event(event, spot.township, SCHEDULER, new_id()),),
                )
            ]
        )
    except ConcurrencyConflict:
        return False
    return True


async def hotspot_job(runtime: Runtime, suite: Suite, stop: asyncio.Event) -> None:
    rules = HotspotRules()
    failures = ItemFailures("sentiment-hotspots")

    async def once() -> None:
        now = suite.clock() if callable(getattr(suite, "clock", None)) else datetime.now(UTC)
        await detect_hotspots(runtime, now, rules, failures)

    await _every(stop, once, "hotspots")
