"""Rendered public pages kept until an event changes them, built once per key at a time.

Public traffic reads the same few pages over and over: the column index, the newest
documents. Building one means one to three calls to other services and a template; keeping
the bytes makes a page's cost under load one dictionary look-up. A kept page is current
until an event that changes pages arrives (freshness.py: a publication, a withdrawal …;
at most GONGKAI_PORTAL_PAGE_SECONDS, 300 by default, 0 turns the cache off). Concurrent
misses of one key wait for the one build in flight (no stampede), and a page past its time
is answered as it was while one rebuild runs (stale while revalidating, up to
`stale_seconds`; decision 153), so readers wait for a build only when the cache has nothing
for them. Only 200 pages are kept, and a page whose rebuild is no longer a 200 is dropped;
the key is the path with its query (the pages do not depend on cookies or on the visitor).
Decisions 116 and 157.

Per process, like the flood gate: several portal replicas each keep their own copy.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.portal.freshness import Freshness


@dataclass(frozen=True)
class Page:
    html: str
    #: When its data last changed (Last-Modified), if the data says.
    changed: datetime | None = None
    status: int = 200
    #: What the route needs on every hit besides the bytes (e.g. the view counter's keys).
    meta: dict[str, Any] = field(default_factory=dict)
    #: When its build began (the freshness clock): what the page can have seen.
    started: float = 0.0


@dataclass
class PageCache:
    freshness: Freshness = field(default_factory=Freshness)
    max_pages: int = 2000
    #: How long after its time a kept page may still be answered while its rebuild runs.
    stale_seconds: float = 30.0
    _pages: OrderedDict[str, Page] = field(default_factory=OrderedDict)
    _building: dict[str, asyncio.Task[Page]] = field(default_factory=dict)

    async def get(self, key: str, build: Callable[[], Awaitable[Page]]) -> Page:
        if not self.freshness.on:
            return replace(await build(), started=self.freshness.clock())
        page = self._pages.get(key)
        if page is not None:
            expires = self.freshness.until(page.started)
            now = self.freshness.clock()
            if expires > now:
                self._pages.move_to_end(key)
                return page
            if now - expires <= self.stale_seconds:
                # Stale while revalidating: the reader gets the page it would have got a
                # moment ago, and one rebuild runs behind it, so no reader waits on a build
                # of a page the cache holds (a column index of 10,000 documents takes tens
                # of milliseconds to build: bench/portal.py measured p99 90 ms without this).
                self._start(key, build)
                return page
        return await asyncio.shield(self._start(key, build))

    def _start(self, key: str, build: Callable[[], Awaitable[Page]]) -> asyncio.Task[Page]:
        """The build of `key` in flight, or a new one: one at a time per key."""
        running = self._building.get(key)
        if running is None:
            running = asyncio.ensure_future(self._build(key, build))
            running.add_done_callback(_retrieved)
            self._building[key] = running
        return running

    async def _build(self, key: str, build: Callable[[], Awaitable[Page]]) -> Page:
        started = self.freshness.clock()
        try:
            page = replace(await build(), started=started)
        finally:
            del self._building[key]
        if page.status == 200:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)
        else:
            # Gone (a withdrawn document's page is now a 404): never answered stale again.
            self._pages.pop(key, None)
        return page


def _retrieved(task: asyncio.Task[Page]) -> None:
    """A rebuild no reader waited for may fail (the catalog unreachable): the stale page
    stays for its `stale_seconds`, and the failure is not logged as never retrieved."""
    if not task.cancelled():
        task.exception()


#: Where a route leaves its page's build time for the fast path (fastpath.py): an answer
#: made from a kept page is as old as the page, not as the request.
BUILT_KEY = "portal_built"


async def kept(
    request: Any, pages: PageCache, key: str, build: Callable[[], Awaitable[Page]]
) -> Page:
    """`pages.get`, noting in the request's state when the page's build began."""
    page = await pages.get(key, build)
    request.scope.setdefault("state", {})[BUILT_KEY] = page.started
    return page
