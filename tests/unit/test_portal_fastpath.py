"""The portal's fast path (services/portal/fastpath.py, decision 154): a cached public page
is answered in front of the framework for the page cache's seconds, exactly as the stack
answered it (minus what belongs to one request), with its conditional 304, its page view
counted and its request in the metrics; nothing that differs per reader is ever kept."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from services.portal.fastpath import VIEWS_KEY, FastPath
from services.portal.freshness import Freshness

PAGE = "<html><body>苏店镇 政府信息公开</body></html>".encode()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Stack:
    """Stands for the suite's app: answers like the portal's routes, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.headers: list[tuple[bytes, bytes]] = [
            (b"cache-control", b"public, no-cache"),
            (b"etag", b'"v1"'),
            (b"last-modified", b"Mon, 07 Dec 2026 01:00:00 GMT"),
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(PAGE)).encode()),
        ]
        self.status = 200

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        scope.setdefault("state", {})[VIEWS_KEY] = ("shangdang/sudian", "livelihood", "")
        headers = [*self.headers, (b"x-correlation-id", str(self.calls).encode())]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": PAGE, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def parts() -> tuple[Stack, Clock, list[Any], list[Any], FastPath]:
    stack, clock, views, observed = Stack(), Clock(), [], []
    quiet = Freshness(max_age=2, clock=clock, changed=float("-inf"))  # each kept 2 s
    front = FastPath(
        stack,
        freshness=lambda: quiet,
        count=lambda address, page: views.append((address, page)),
        observe=lambda route, status, seconds: observed.append((route, status)),
    )
    return stack, clock, views, observed, front


def client(front: FastPath) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=front), base_url="http://portal")


async def test_a_public_page_is_answered_from_the_fast_path_for_its_seconds(
    parts: tuple[Stack, Clock, list[Any], list[Any], FastPath],
) -> None:
    stack, clock, views, observed, front = parts
    async with client(front) as c:
        first = await c.get("/gk/sudian/column/livelihood")
        hits = [await c.get("/gk/sudian/column/livelihood") for _ in range(5)]
        assert stack.calls == 1
        for hit in hits:
            assert (hit.status_code, hit.content) == (200, PAGE)
            assert hit.headers["etag"] == '"v1"' and hit.headers["cache-control"].startswith(
                "public"
            )
            assert "x-correlation-id" not in hit.headers  # one request's, never replayed
        assert first.headers["x-correlation-id"] == "1"
        # Each reader the fast path answers is counted as the route counts its own reader
        # (最受欢迎专栏), by address and page, and each request is in the metrics.
        assert views == [("127.0.0.1", ("shangdang/sudian", "livelihood", ""))] * 5
        assert observed == [("unmatched", 200)] * 5
        clock.now += 2.1  # the page cache's seconds are over: through the stack again
        await c.get("/gk/sudian/column/livelihood")
        assert stack.calls == 2


async def test_a_current_copy_gets_a_304_without_a_body(
    parts: tuple[Stack, Clock, list[Any], list[Any], FastPath],
) -> None:
    stack, _, views, observed, front = parts
    async with client(front) as c:
        await c.get("/gk/sudian")
        not_modified = await c.get("/gk/sudian", headers={"If-None-Match": '"v1"'})
        changed = await c.get("/gk/sudian", headers={"If-None-Match": '"v0"'})
        since = await c.get(
            "/gk/sudian", headers={"If-Modified-Since": "Mon, 07 Dec 2026 02:00:00 GMT"}
        )
    assert (not_modified.status_code, not_modified.content) == (304, b"")
    assert "content-length" not in not_modified.headers
    assert not_modified.headers["etag"] == '"v1"'
    assert changed.status_code == 200 and changed.content == PAGE
    assert since.status_code == 304
    assert stack.calls == 1 and len(views) == 3  # a 304 is a view too
    assert [status for _, status in observed] == [304, 200, 304]


async def test_readers_who_take_gzip_or_ask_another_query_have_their_own_entry(
    parts: tuple[Stack, Clock, list[Any], list[Any], FastPath],
) -> None:
    stack, _, _, _, front = parts
    async with client(front) as c:
        await c.get("/gk/search?q=供暖", headers={"Accept-Encoding": "identity"})
        await c.get("/gk/search?q=供暖", headers={"Accept-Encoding": "gzip"})
        await c.get("/gk/search?q=补贴", headers={"Accept-Encoding": "identity"})
        assert stack.calls == 3
        await c.get("/gk/search?q=供暖", headers={"Accept-Encoding": "gzip, br"})
        assert stack.calls == 3


@pytest.mark.parametrize(
    ("change", "method", "path"),
    [
        ({"status": 404}, "GET", "/gk/doc/1"),  # a missing page: never kept
        ({"header": (b"set-cookie", b"gk_text=large")}, "GET", "/gk/text-size"),
        ({"header": (b"vary", b"Cookie")}, "GET", "/gk/static/site.css"),  # 大字 varies
        ({"cache": b"no-store"}, "GET", "/gk/track"),  # private answers
        ({}, "POST", "/gk/message"),
        ({}, "GET", "/v1/public/catalog/documents"),  # not a portal page
    ],
)
async def test_nothing_that_differs_per_reader_or_is_not_a_public_page_is_kept(
    parts: tuple[Stack, Clock, list[Any], list[Any], FastPath],
    change: dict[str, Any],
    method: str,
    path: str,
) -> None:
    stack, _, _, _, front = parts
    stack.status = change.get("status", 200)
    if "header" in change:
        stack.headers.append(change["header"])
    if "cache" in change:
        stack.headers[0] = (b"cache-control", change["cache"])
    async with client(front) as c:
        for _ in range(3):
            await c.request(method, path)
    assert stack.calls == 3


async def test_zero_seconds_turns_it_off() -> None:
    stack = Stack()
    off = Freshness(max_age=0)
    front = FastPath(stack, freshness=lambda: off, count=lambda *a: None, observe=lambda *a: None)
    async with client(front) as c:
        for _ in range(3):
            await c.get("/gk/sudian")
    assert stack.calls == 3
