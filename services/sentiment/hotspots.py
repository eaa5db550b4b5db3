"""Hotspot detection: a sliding window per township and topic (方案§五(四): see a storm coming).

Pure window logic. The embedded and distributed background job feeds it the classified
messages of the window from the read model; the HotspotDetected stream id carries the
window's bucket, so the same hotspot is never announced twice, whichever process sees it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class HotspotRules:
    """[ours; configurable]: 5 messages on one topic in one township within 24 hours, or a
    summed negative intensity of 3.0 (e.g. four strongly angry messages)."""

    window: timedelta = timedelta(hours=24)
    count_threshold: int = 5
    negative_threshold: float = 3.0


@dataclass(frozen=True)
class Observation:
    township: str
    category: str
    at: datetime
    negative_intensity: float


@dataclass(frozen=True)
class Hotspot:
    township: str
    category: str
    window_start: datetime
    window_end: datetime
    message_count: int
    negative_intensity: float
    crossed: tuple[str, ...]

    @property
    def bucket(self) -> str:
        """The window's bucket (start rounded down to the window length): the stream key."""
        return self.window_start.strftime("%Y%m%d%H")


def detect(
    observations: Iterable[Observation], now: datetime, rules: HotspotRules | None = None
) -> list[Hotspot]:
    """Township/topic pairs whose window ending `now` crosses a threshold."""
    r = rules or HotspotRules()
    start = now - r.window
    counts: dict[tuple[str, str], list[float]] = {}
    for o in observations:
        if start < o.at <= now:
            counts.setdefault((o.township, o.category), []).append(o.negative_intensity)
    found: list[Hotspot] = []
    span = r.window.total_seconds()
    bucket_start = datetime.fromtimestamp((start.timestamp() // span) * span, tz=start.tzinfo)
    for (township, category), values in sorted(counts.items()):
        negative = round(sum(values), 3)
        crossed = []
        if len(values) >= r.count_threshold:
            crossed.append("count")
        if negative >= r.negative_threshold:
            crossed.append("negative_intensity")
        if crossed:
            found.append(
                Hotspot(
                    township=township,
                    category=category,
                    window_start=bucket_start,
                    window_end=now,
                    message_count=len(values),
                    negative_intensity=negative,
                    crossed=tuple(crossed),
                )
            )
    return found
