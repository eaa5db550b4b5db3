"""The request-context middleware (shared/http.py `RequestContextMiddleware`): correlation
ids and request metrics, as a plain ASGI middleware (issue #10 item 3).

ARCHITECTURE.md "HTTP conventions": every request carries a correlation id (the caller's
`X-Correlation-ID`, or a new one), bound into the log context and echoed in the response;
/metrics counts requests by route and status and times them.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import structlog

from shared.http import Metrics, RequestContextMiddleware


class Route:
    path = "/v1/requests/{request_id}"


def http_scope(headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/v1/requests/1", "headers": headers or []}


async def call(app: Any, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def counted(metrics: Metrics, route: str, status: str) -> float:
    value = metrics.registry.get_sample_value(
        "gongkai_http_requests_total", {"method": "GET", "route": route, "status": status}
    )
    return value or 0.0


def test_the_callers_correlation_id_is_bound_echoed_and_on_the_request() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen["log"] = structlog.contextvars.get_contextvars().get("correlation_id")
        seen["state"] = scope["state"]["correlation_id"]
        scope["route"] = Route()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    metrics = Metrics()
    given = b"trace-2026-12-05-0001"
    sent = asyncio.run(
        call(RequestContextMiddleware(app, metrics), http_scope([(b"x-correlation-id", given)]))
    )
    assert seen == {"log": given.decode(), "state": given.decode()}
    assert (b"x-correlation-id", given) in sent[0]["headers"]
    assert counted(metrics, Route.path, "200") == 1


def test_a_missing_or_unfit_correlation_id_is_replaced_by_a_new_uuid() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = RequestContextMiddleware(app, Metrics())
    for headers in ([], [(b"x-correlation-id", b"x" * 129)], [(b"x-correlation-id", b"a b")]):
        sent = asyncio.run(call(middleware, http_scope(headers)))
        (echoed,) = [v for k, v in sent[0]["headers"] if k == b"x-correlation-id"]
        assert UUID(echoed.decode()).version == 7


def test_a_streamed_response_is_counted_and_timed_when_it_starts() -> None:
    """The board's live stream lasts minutes: its count must not wait for the end, and its
    time is the time to the first byte, not the stream's length."""
    metrics = Metrics()
    during: dict[str, float] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope["route"] = Route()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        during["count"] = counted(metrics, Route.path, "200")
        await asyncio.sleep(0.2)  # the body streams on
        await send({"type": "http.response.body", "body": b"data: 1\n\n"})

    asyncio.run(call(RequestContextMiddleware(app, metrics), http_scope()))
    assert during["count"] == 1 and counted(metrics, Route.path, "200") == 1
    total = metrics.registry.get_sample_value(
        "gongkai_http_request_seconds_sum", {"method": "GET", "route": Route.path}
    )
    assert total is not None and total < 0.2


def test_other_scopes_pass_through_untouched() -> None:
    received: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        received.append(scope)

    scope = {"type": "lifespan"}
    asyncio.run(call(RequestContextMiddleware(app, Metrics()), scope))
    assert received == [{"type": "lifespan"}]
