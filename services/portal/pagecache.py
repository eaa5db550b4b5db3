"""Rendered public pages kept for a few seconds (a micro-cache), built once per key at a time.

Public traffic reads the same few pages over and over: the column index, the newest
documents. Building one means one to three calls to other services and a template; keeping
the bytes for `seconds` (GONGKAI_PORTAL_PAGE_SECONDS, 2 by default; 0 turns it off) makes a
page's cost under load one dictionary look-up, while a change (a publication, a withdrawal)
shows within those seconds. Concurrent misses of one key wait for the one build in flight
(no stampede on a page that just expired). Only 200 pages are kept; the key is the path
with its query (the pages do not depend on cookies or on the visitor). Decision 116.

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
    clock: Callable[[], float] = time.monotonic
    _pages: OrderedDict[str, tuple[float, Page]] = field(default_factory=OrderedDict)
    _building: dict[str, asyncio.Future[Page]] = field(default_factory=dict)

    async def get(self, key: str, build: Callable[[], Awaitable[Page]]) -> Page:
        if self.seconds <= 0:
            return await build()
        kept = self._pages.get(key)
        if kept is not None and kept[0] > self.clock():
            self._pages.move_to_end(key)
            return kept[1]
        waiting = self._building.get(key)
        if waiting is not None:
            return await asyncio.shield(waiting)
        future: asyncio.Future[Page] = asyncio.get_running_loop().create_future()
        self._building[key] = future
        try:
            page = await build()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a build no one else waited for logs nothing
            raise
        finally:
            del self._building[key]
        future.set_result(page)
        if page.status == 200:
            self._pages[key] = (self.clock() + self.seconds, page)
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)
        return page
