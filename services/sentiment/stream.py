"""Hotspot detection as a faust-streaming agent, for distributed mode (方案§五(四)).

The same pure window logic as the embedded job (hotspots.detect), on event time: each
MessageClassified on `gongkai.sentiment.events` joins the window of its township and topic,
kept in a changelog-backed table, so a restarted worker recovers its windows from Kafka.
A second table remembers which (township, topic, bucket) was announced, and the announcer
appends HotspotDetected with expected version 0 on a stream named after that bucket: a
re-delivered event, a restart or a second announcer (the embedded-style job) announces
nothing twice.

Limit: one worker instance per consumer group partition set; windows are keyed by township
and topic, but the input topic is keyed by message stream, so several instances would each
see part of a window (a `group_by` repartition is the next step).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import faust

from services.sentiment.hotspots import Hotspot, HotspotRules, Observation, detect
from shared.kafka import DEFAULT_PARTITIONS, DEFAULT_PREFIX
from shared.service import Runtime, Suite
from shared.streams import create_stream_app, dead_letter, decode, events_topic

Announce = Callable[[Hotspot], Awaitable[None]]


def township_of(tenant: str) -> str:
    """district/township of an org path (a unit's messages count for its township)."""
    return "/".join(tenant.split("/")[:2])


def bucket_key(spot: Hotspot) -> str:
    return f"{spot.township}|{spot.category}|{spot.bucket}"


@dataclass
class HotspotApp:
    app: faust.App
    windows: Any
    announced: Any
    seen: int = 0
    dead_lettered: int = 0
    detected: list[Hotspot] = field(default_factory=list)

    @property
    def progress(self) -> int:
        """Input events handled (the watchdog of shared.streams.run_stream_processor)."""
        return self.seen


def build_hotspot_app(
    bootstrap: str,
    *,
    prefix: str = DEFAULT_PREFIX,
    rules: HotspotRules | None = None,
    announce: Announce | None = None,
    app_id: str = "sentiment-hotspots",
    store: str = "memory://",
    datadir: str | None = None,
    partitions: int = DEFAULT_PARTITIONS,
    **settings: Any,
) -> HotspotApp:
    """`settings` go to faust (e.g. broker_session_timeout for a faster rejoin)."""
    r = rules or HotspotRules()
    conf: dict[str, Any] = {"datadir": datadir} if datadir else {}
    conf["topic_partitions"] = partitions  # tables match the input topic's partitions
    conf.update(settings)
    if datadir:
        Path(datadir).parent.mkdir(parents=True, exist_ok=True)  # faust makes only the leaf
    app = create_stream_app(app_id, bootstrap, prefix=prefix, store=store, **conf)
    windows = app.Table("sentiment-hotspot-windows", default=None, partitions=partitions)
    announced = app.Table("sentiment-hotspot-announced", default=None, partitions=partitions)
    hot = HotspotApp(app, windows, announced)

    @app.agent(events_topic(app, "sentiment", prefix))
    async def watch(stream):  # type: ignore[no-untyped-def]
        async for value in stream:
            hot.seen += 1
            try:
                event = decode(value)
            except Exception as exc:  # poison: to the dead-letter topic, and go on
                hot.dead_lettered += 1
                await dead_letter(app, prefix, value, exc, consumer=app_id)
                continue
            if event.type != "MessageClassified":
                continue
            p = event.payload
            township = township_of(event.tenant)
            key = f"{township}|{p['category']}"
            negative = float(p["intensity"]) if p["polarity"] == "negative" else 0.0
            window: dict[str, list[Any]] = dict(windows.get(key) or {})
            window[str(event.event_id)] = [event.occurred_at.isoformat(), negative]
            now = max(datetime.fromisoformat(at) for at, _ in window.values())
            window = {
                k: v for k, v in window.items() if datetime.fromisoformat(v[0]) > now - r.window
            }
            windows[key] = window
            observations = [
                Observation(township, p["category"], datetime.fromisoformat(at), neg)
                for at, neg in window.values()
            ]
            for spot in detect(observations, now, r):
                if announced.get(bucket_key(spot)) is not None:
                    continue
                announced[bucket_key(spot)] = spot.message_count
                hot.detected.append(spot)
                if announce is not None:
                    await announce(spot)

    return hot


def hotspot_processor(runtime: Runtime, suite: Suite) -> HotspotApp:
    """The agent as `gongkai worker sentiment` runs it (ServiceDefinition.stream_processors).

    It announces into the service's own store; the polling job in `gongkai serve
    sentiment` may announce the same bucket too, and the expected version 0 of the bucket's
    stream keeps that to one HotspotDetected.
    """
    from services.sentiment.jobs import announce_hotspot

    settings = suite.settings
    assert settings.kafka_bootstrap, "stream processors run in distributed mode only"

    async def announce(spot: Hotspot) -> None:
        await announce_hotspot(runtime.store, spot)

    return build_hotspot_app(
        settings.kafka_bootstrap,
        prefix=settings.topic_prefix,
        announce=announce,
        datadir=str(Path(settings.var_dir) / "sentiment" / "faust"),
        partitions=runtime.partitions,
    )
