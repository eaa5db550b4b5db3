"""Cached public pages answered in front of the web framework (decision 154).

The portal's page cache (pagecache.py) spares a page's build, but a cached page still went
through the whole ASGI stack of the suite (request context, routing, the route, the
response's gzip and ETag): about 850 pages/s a process, 0.02 of what Debian's nginx serves
from disk (bench/portal.py; issue #18 asks for 0.3). This middleware, the outermost of a
process that serves the portal, keeps the exact answer a public page got (status 200,
`Cache-Control: public`, no cookie involved: the headers and bytes the stack produced) as
long as the page is current (freshness.py: until an event that changes pages arrives), and
answers the next readers of that URL from it: the 200, or a 304 when their copy is
current, in a few microseconds of Python.

What a hit still does that the stack did: the page view is counted (the same
`count_view`, for 最受欢迎专栏), and the request is counted and timed in the metrics under
its route. What it does not: a hit carries no correlation id (nothing is logged or
recorded for it, as for a file nginx serves) and opens no trace span. Only GET, only
under /gk, only answers the route marked cacheable; the key is the path, the query and
whether the reader takes gzip. An answer is as old as the kept page it was made from (the
route leaves the page's build time in the request's state, pagecache.BUILT_KEY), so it is
never kept past that page's time; then the next reader goes through the stack again.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from prometheus_client.core import CounterMetricFamily
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.portal import shape
from services.portal.freshness import Freshness
from services.portal.pagecache import BUILT_KEY

PREFIX = "/gk"
#: Where a route leaves the page view a hit must count again (engagement.count_view).
VIEWS_KEY = "portal_views"
#: Per request, never replayed to another reader.
_PER_REQUEST = frozenset({b"x-correlation-id", b"date", b"server"})
#: Left out of a 304 (RFC 9110 §15.4.5: it describes the body a 304 does not send).
_NOT_ON_304 = frozenset({b"content-length", b"content-encoding", b"content-type"})


@dataclass(frozen=True)
class Hot:
    #: When the page it was made from began to be built (the freshness clock).
    started: float
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: str
    last_modified: datetime | None
    views: tuple[str, str, str] | None
    route: str


class FastPath:
    """The ASGI middleware. `count(address, views)` counts a page view; `observe(route,
    status, seconds)` counts and times a request in the metrics."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        freshness: Callable[[], Freshness],
        count: Callable[[str, tuple[str, str, str]], None],
        observe: Callable[[str, int, float], None],
        max_entries: int = 2000,
    ) -> None:
        self.app = app
        self.freshness = freshness
        self.count = count
        self.observe = observe
        self.max_entries = max_entries
        self.entries: OrderedDict[tuple[str, bytes, bool], Hot] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith(PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        fresh = self.freshness()
        if not fresh.on:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = _conditions(scope["headers"])
        key = (scope["path"], scope["query_string"], shape.accepts_gzip(headers))
        hot = self.entries.get(key)
        if hot is not None and fresh.until(hot.started) > fresh.clock():
            status = await self._answer(scope, headers, hot, send)
            self.observe(hot.route, status, time.perf_counter() - started)
            return
        asked = fresh.clock()
        await self.app(scope, receive, self._capture(scope, key, send, asked))

    async def _answer(self, scope: Scope, headers: dict[str, str], hot: Hot, send: Send) -> int:
        if hot.views is not None:
            client = scope.get("client")
            self.count(client[0] if client else "unknown", hot.views)
        if shape.not_modified(headers, hot.etag, hot.last_modified):
            kept = [(k, v) for k, v in hot.headers if k not in _NOT_ON_304]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return 304
        await send({"type": "http.response.start", "status": 200, "headers": hot.headers})
        await send({"type": "http.response.body", "body": hot.body})
        return 200

    def _capture(
        self, scope: Scope, key: tuple[str, bytes, bool], send: Send, asked: float
    ) -> Send:
        """`send`, keeping a cacheable 200 whole as it goes out."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message if _cacheable(message) else None
            elif start is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self._keep(scope, key, start, b"".join(chunks), asked)
            await send(message)

        return capture

    def _keep(
        self,
        scope: Scope,
        key: tuple[str, bytes, bool],
        start: Message,
        body: bytes,
        asked: float,
    ) -> None:
        headers = [(k, v) for k, v in start.get("headers", ()) if k.lower() not in _PER_REQUEST]
        found = Headers(raw=headers)
        etag = found.get("etag")
        if etag is None:
            return
        modified = found.get("last-modified")
        state = scope.get("state", {})
        views = state.get(VIEWS_KEY)
        route = getattr(scope.get("route"), "path", "unmatched")
        self.entries[key] = Hot(
            # made from a kept page: as old as that page; built for this request: as old as it
            started=state.get(BUILT_KEY, asked),
            headers=headers,
            body=body,
            etag=etag,
            last_modified=parsedate_to_datetime(modified) if modified else None,
            views=tuple(views) if views else None,
            route=route,
        )
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)


#: The request headers a hit reads (the key and the conditional request).
_CONDITIONS = {b"accept-encoding", b"if-none-match", b"if-modified-since"}


def _conditions(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Those headers from the raw list (names arrive lower-case, RFC 9113 and uvicorn)."""
    return {k.decode(): v.decode("latin-1") for k, v in raw if k in _CONDITIONS}


def _cacheable(start: Message) -> bool:
    """A 200 marked public, with nothing that differs per reader (no cookie set or read)."""
    if start["status"] != 200:
        return False
    headers: dict[bytes, bytes] = {k.lower(): v for k, v in start.get("headers", ())}
    if b"set-cookie" in headers or b"cookie" in headers.get(b"vary", b"").lower():
        return False
    return b"public" in headers.get(b"cache-control", b"")


def install(app: ASGIApp, suite: Any, metrics: Any) -> FastPath:
    """The fast path in front of `app` (a process that serves the portal,
    `ServiceDefinition.front`): views counted by the portal's engagement book, requests in
    the suite's metrics, entries current as long as the page cache's pages (one
    Freshness)."""

    def count(address: str, views: tuple[str, str, str]) -> None:
        portal = suite.runtimes["portal"].handlers
        portal.engagement.view(address, portal.clock(), views)

    def observe(route: str, status: int, seconds: float) -> None:
        metrics.requests.labels("GET", route, str(status)).inc()
        metrics.latency.labels("GET", route).observe(seconds)

    off = Freshness(max_age=0)

    def freshness() -> Freshness:
        runtime = suite.runtimes.get("portal")
        if runtime is None or runtime.handlers is None:  # not started yet
            return off
        found: Freshness = runtime.handlers.pages.freshness
        return found

    metrics.registry.register(_Changes(freshness))
    return FastPath(app, freshness=freshness, count=count, observe=observe)


class _Changes:
    """gongkai_portal_page_changes_total: the events that ended kept pages (freshness.py)."""

    def __init__(self, freshness: Callable[[], Freshness]) -> None:
        self.freshness = freshness

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "gongkai_portal_page_changes",
            "Events that changed public pages, as the portal followed them",
            value=self.freshness().noted,
        )
