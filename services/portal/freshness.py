"""How long a kept public page stays current: until an event that changes pages arrives.

The portal keeps rendered pages (pagecache.py) and whole answers (fastpath.py) instead of
building a page on every hit. What ends a kept page is an event of a service whose data the
pages show — a publication, a withdrawal, an interpretation, a gazette issue, an annual
report, a new ranking of columns (`CHANGES`). The portal follows those services' events
(`follow`: the stores' tails in one embedded process, the Kafka topics in a `serve portal`
process) and notes when the newest one arrived; a page built before that moment is over
(decision 157).

A page built just after an event may not show it yet: the event reaches the portal and the
service's read model at about the same time, and the page is built from the read model.
So a page is kept as long as the data was quiet before its build began: built t seconds
after the last change, it is kept max(settle, t) seconds, and at most `max_age`. Right
after a change the pages are rebuilt every `settle` seconds, then ever less often, until a
quiet portal keeps them `max_age` (5 minutes by default: what changes with the clock alone,
the day a document's validity ends or a column's days since its last update, shows within
that). A read model late by some seconds only makes the pages built meanwhile short-lived.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shared.lazylog import LazyLogger

log = LazyLogger(__name__)

#: The services whose events change public pages, and which of their events do (None: all).
CHANGES: dict[str, frozenset[str] | None] = {
    "catalog": None,  # documents, columns, gazette issues, history entries
    "interpretation": None,  # 政策解读 and the policy Q&A
    "enforcement": None,  # 行政执法 decisions published
    "applications": frozenset({"AnnualReportPublished", "AnnualReportTextRecorded"}),
    "subscriptions": frozenset({"PopularColumnsRanked"}),
}


def changes_pages(service: str, event_type: str) -> bool:
    if service not in CHANGES:
        return False
    types = CHANGES[service]
    return types is None or event_type in types


@dataclass
class Freshness:
    #: Longest a page is kept without any change (GONGKAI_PORTAL_PAGE_SECONDS; 0: no cache).
    max_age: float = 300.0
    #: Shortest keep after a change (GONGKAI_PORTAL_SETTLE_SECONDS).
    settle: float = 2.0
    clock: Callable[[], float] = time.monotonic
    #: When the newest change arrived; the start counts as one (the read models may be
    #: catching up with their logs).
    changed: float = field(default=float("nan"))
    #: Events noted since the start (/metrics: gongkai_portal_page_changes_total).
    noted: int = 0

    def __post_init__(self) -> None:
        if self.changed != self.changed:  # NaN: not given
            self.changed = self.clock()

    @classmethod
    def from_env(cls) -> Freshness:
        return cls(
            max_age=float(os.environ.get("GONGKAI_PORTAL_PAGE_SECONDS", "300")),
            settle=float(os.environ.get("GONGKAI_PORTAL_SETTLE_SECONDS", "2")),
        )

    @property
    def on(self) -> bool:
        return self.max_age > 0

    def note(self) -> None:
        """An event that changes pages arrived."""
        self.noted += 1
        self.changed = self.clock()

    def distrust(self) -> None:
        """Events may have been missed (a source was away): every kept page is over."""
        self.changed = self.clock()

    def until(self, started: float) -> float:
        """When a page whose build began at `started` stops being current."""
        if started < self.changed:
            return min(self.changed, started + self.max_age)
        quiet = started - self.changed
        return started + min(self.max_age, max(self.settle, quiet))


async def follow(freshness: Freshness, suite: Any, stop: asyncio.Event) -> None:
    """Note every event in CHANGES as it arrives, until `stop`; a broken source is
    followed again after a pause, and the pages built meanwhile are not trusted."""
    delay = 0.5
    while not stop.is_set():
        try:
            async for service, event_type in _events(suite):
                if changes_pages(service, event_type):
                    freshness.note()
                delay = 0.5
                if stop.is_set():
                    return
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a broker or a store away: follow again, trust nothing
            log.warning("portal.follow_failed", error=repr(exc), delay=delay)
            freshness.distrust()
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                pass
            freshness.distrust()
            delay = min(delay * 2, 10.0)


async def catching_up(freshness: Freshness, suite: Any, stop: asyncio.Event) -> None:
    """In one embedded process started on a long log: while a projection of a service in
    CHANGES is behind its log, its read model is still changing though no new event
    arrives, so nothing kept is trusted; checked every second until every one has caught up
    once (from then on each change arrives as an event, which `follow` notes). A `serve
    portal` process runs no projection and sees no other process's lag: there the pages
    built during a catch-up are kept as long as the data was quiet (docs/portal.md)."""
    behind = [r for r in getattr(suite, "runners", ()) if r.source.name in CHANGES]
    while behind and not stop.is_set():
        try:
            behind = [r for r in behind if await r.lag() > 0]
        except Exception:  # the store closing at shutdown
            pass
        if behind:
            freshness.distrust()
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            pass


async def _events(suite: Any) -> AsyncIterator[tuple[str, str]]:
    """(service, event type) of every new event of the services in CHANGES."""
    settings = suite.settings
    if settings.kafka_bootstrap:
        from shared.kafka import follow_new, topic_for

        topics = {topic_for(s, settings.topic_prefix): s for s in CHANGES}
        async for topic, event in follow_new(settings.kafka_bootstrap, topics):
            yield topics[topic], event.type
        return
    async for item in _tails(
        (name, runtime.store) for name, runtime in suite.runtimes.items() if name in CHANGES
    ):
        yield item


async def _tails(stores: Iterable[tuple[str, Any]]) -> AsyncIterator[tuple[str, str]]:
    """The new events of several embedded stores, merged as they come."""
    from shared.eventstore import tail

    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

    async def one(name: str, store: Any) -> None:
        # woken by the store's notifier on every append; the wait is only a backstop
        async for event in tail(store, await store.head_position(), idle_wait=5.0):
            queue.put_nowait((name, event.type))

    tasks = [asyncio.ensure_future(one(name, store)) for name, store in stores]
    getter: asyncio.Future[tuple[str, str]] | None = None
    try:
        while True:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait([getter, *tasks], return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                yield getter.result()
                continue
            for task in done:  # a tail ended: only by failing (raised here), else say so
                task.result()
            raise RuntimeError("an event store's tail ended")
    finally:
        for waiting in (*tasks, getter):
            if waiting is not None:
                waiting.cancel()
