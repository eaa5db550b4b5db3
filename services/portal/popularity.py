"""Page views and 有用/没用, counted by the portal without personal data (docs/subscriptions.md).

Views are counted in memory per (day, township, column, document) and flushed as one
aggregate event a few times a minute (`flush_job`), so a page view costs a dictionary
update, never a write in the request path. A visitor is counted once per page and day: the
portal remembers `HMAC(salt, address)` for the pages seen today, with a random salt that
lives only in this process's memory and is replaced at midnight (Beijing time), together
with everything remembered. Nothing of it leaves the process except the daily-rotating key
sent with a rating for the flood limit, which the subscriptions service keeps for the day
and never puts into an event. No cookie, no script, no third party.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import structlog

from shared.workdays import local_date

log = structlog.get_logger("gongkai.portal.popularity")
#: Pages remembered per day before a visitor is no longer told apart (memory bound).
MAX_SEEN = 200_000

Page = tuple[str, str, str]  # township, column, document id ('' for a column page)


@dataclass
class Engagement:
    """The portal's counter; one per process (a field of the Portal object)."""

    day: date | None = None
    salt: bytes = b""
    seen: set[str] = field(default_factory=set)
    counts: Counter[tuple[str, Page]] = field(default_factory=Counter)

    def _rotate(self, today: date) -> None:
        if today != self.day:
            self.day, self.salt, self.seen = today, secrets.token_bytes(32), set()

    def visitor(self, address: str, now: datetime) -> str:
        """The visitor's key of the day: HMAC of the address under today's salt."""
        self._rotate(local_date(now))
        digest = hmac.new(self.salt, address.encode(), hashlib.sha256).digest()
        return digest[:12].hex()

    def view(self, address: str, now: datetime, page: Page) -> None:
        key = self.visitor(address, now)
        seen = f"{key}:{'/'.join(page)}"
        if seen in self.seen:
            return
        if len(self.seen) < MAX_SEEN:
            self.seen.add(seen)
        assert self.day is not None
        self.counts[(self.day.isoformat(), page)] += 1

    def drain(self) -> dict[str, list[dict[str, Any]]]:
        """The counts so far, by day, as the subscriptions API takes them; reset."""
        taken, self.counts = self.counts, Counter()
        by_day: dict[str, list[dict[str, Any]]] = {}
        for (day, page), views in taken.items():
            township, column, doc_id = page
            item: dict[str, Any] = {"township": township, "column": column, "views": views}
            if doc_id:
                item["document_id"] = doc_id
            by_day.setdefault(day, []).append(item)
        return by_day

    def put_back(self, day: str, counts: list[dict[str, Any]]) -> None:
        for c in counts:
            page = (c["township"], c["column"], c.get("document_id", ""))
            self.counts[(day, page)] += int(c["views"])


async def flush(engagement: Engagement, post: Callable[[dict[str, Any]], Any]) -> int:
    """Send the counts; what could not be sent is kept for the next flush."""
    sent = 0
    for day, counts in engagement.drain().items():
        try:
            answer = await post({"day": day, "counts": counts})
            ok = bool(answer.ok)
        except Exception as exc:
            log.warning("views.flush_failed", error=type(exc).__name__)
            ok = False
        if ok:
            sent += sum(int(c["views"]) for c in counts)
        else:
            engagement.put_back(day, counts)
    return sent


async def flush_job(runtime: Any, suite: Any, stop: asyncio.Event) -> None:
    """Every GONGKAI_PORTAL_VIEWS_FLUSH_SECONDS (default 30) and once more at shutdown."""
    interval = float(os.environ.get("GONGKAI_PORTAL_VIEWS_FLUSH_SECONDS", "30"))
    portal = runtime.handlers

    async def post(body: dict[str, Any]) -> Any:
        async with portal.api(runtime_app(portal)) as api:
            return await api.post("subscriptions", "/v1/popularity/views", body)

    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        if portal.app is not None:
            await flush(portal.engagement, post)


def runtime_app(portal: Any) -> Any:
    return portal.app
