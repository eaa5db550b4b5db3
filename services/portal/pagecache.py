"""Rendered public pages kept for a few seconds (a micro-cache), built once per key at a time.

Public traffic reads the same few pages over and over: the column index, the newest
documents. Building one means one to three calls to other services and a template; keeping
the bytes for `seconds` (GONGKAI_PORTAL_PAGE_SECONDS, 2 by default; 0 turns it off) makes a
page's cost under load one dictionary look-up, while a change (a publication, a withdrawal)
shows within those seconds. Concurrent misses of one key wait for the one build in flight
(no stampede), and a page that just expired is answered as it was while one rebuild runs
(stale while revalidating, up to `stale_seconds`; decision 153), so readers wait for a
build only when the cache has nothing for them. Only 200 pages are kept, and a page whose
rebuild is no longer a 200 is dropped; the key is the path with its query (the pages do not
depend on cookies or on the visitor). Decision 116.

Per process, like the flood gate: several portal replicas each keep their own copy.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Page:
    html: str
    #: When its data last changed (Last-Modified), if the data says.
    changed: datetime | None = None
    status: int = 200
    #: What the route needs on every hit besides the bytes (e.g. the view counter's keys).
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class PageCache:
    seconds: float = 2.0
    max_pages: int = 2000
    #: How long after its period a kept page may still be answered while its rebuild runs.
    stale_seconds: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _pages: OrderedDict[str, tuple[float, Page]] = field(default_factory=OrderedDict)
    _building: dict[str, asyncio.Task[Page]] = field(default_factory=dict)

    async def get(self, key: str, build: Callable[[], Awaitable[Page]]) -> Page:
        if self.seconds <= 0:
            return await build()
        kept = self._pages.get(key)
        if kept is not None:
            expires, page = kept
            now = self.clock()
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
        try:
            page = await build()
        finally:
            del self._building[key]
        if page.status == 200:
            self._pages[key] = (self.clock() + self.seconds, page)
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
