"""HTTP conventions every service shares (ARCHITECTURE.md "HTTP conventions").

- RFC 9457 problem+json for every refusal, with the field, the rule and a
  message in Chinese and English; domain errors are mapped here, in one place.
- Bearer tokens -> Principal; 401 for a bad token, 403 with the reason.
- Idempotency-Key on POST (stored responses replayed), If-Match on updates.
- X-Correlation-ID bound into structlog for every request (with `trace_id`: a W3C
  `traceparent`'s trace id is the correlation id, shared/tracing.py); /health, /ready,
  /metrics.
- Bodies over the configured size are refused with 413 before they are read.
- Text with control characters (a NUL in any field, query or path) is refused with 422.
- On a protected route the caller is authenticated before any refusal of the input.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from enum import Enum, EnumMeta
from typing import Annotated, Any, get_args
from uuid import UUID

import orjson
import structlog
from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic.fields import FieldInfo
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import tracing
from shared.account_book import AccountBook
from shared.db import Database
from shared.envelope import new_id
from shared.errors import (
    ConcurrencyConflict,
    GongkaiError,
    PreconditionFailed,
    Unauthenticated,
    ValidationFailed,
)
from shared.fields import EARLIEST_DAY, LATEST_DAY
from shared.identity import Principal, verify_token

log = structlog.get_logger("gongkai.http")
PROBLEM_BASE = "https://gongkai.example/problems/"
PROBLEM_JSON = "application/problem+json"

# --- problem+json -------------------------------------------------------------------------


def problem(
    status: int,
    slug: str,
    title: str,
    *,
    rule: str,
    message_zh: str,
    message_en: str,
    field: str | None = None,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": f"{message_zh} / {message_en}",
        "rule": rule,
        "field": field,
        "message_zh": message_zh,
        "message_en": message_en,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_from_error(err: GongkaiError, request: Request | None = None) -> JSONResponse:
    return problem(
        err.status,
        err.type_slug,
        err.type_slug.replace("-", " "),
        rule=err.rule,
        message_zh=err.message_zh,
        message_en=err.message_en,
        field=err.field,
        instance=str(request.url.path) if request else None,
        details=err.details or None,
        # RFC 9110 §11.6.1: a 401 names the scheme that would be accepted
        headers={"WWW-Authenticate": "Bearer"} if err.status == 401 else None,
    )


_PYDANTIC_ZH: dict[str, str] = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不允许的字段",
    "enum": "取值不在允许范围内",
    "literal_error": "取值不在允许范围内",
    "string_too_short": "内容过短",
    "string_too_long": "内容过长",
    "string_type": "应为文本",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "date_from_datetime_parsing": "应为日期 (YYYY-MM-DD)",
    "date_parsing": "应为日期 (YYYY-MM-DD)",
    "date_type": "应为日期 (YYYY-MM-DD)",
    "datetime_type": "应为时间 (ISO 8601)",
    "datetime_parsing": "应为时间 (ISO 8601)",
    "date_range": f"日期应在 {EARLIEST_DAY} 至 {LATEST_DAY} 之间",
    "datetime_range": f"时间应在 {EARLIEST_DAY} 至 {LATEST_DAY} 之间",
    "uuid_parsing": "应为 UUID",
    "bool_parsing": "应为布尔值",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "dict_type": "应为对象",
    "list_type": "应为数组",
    "value_error": "取值无效",
}


def _field_path(loc: tuple[Any, ...]) -> str:
    """`("body", "content", "body")` -> `content.body`: only the first part says where the
    input was; a field may itself be called `body` (a document's text)."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _inner_types(annotation: Any) -> list[Any]:
    args = get_args(annotation)
    return [annotation] if not args else [t for arg in args for t in _inner_types(arg)]


def _body_field_info(request: Request, loc: tuple[Any, ...]) -> FieldInfo | None:
    """The declaration of the body field an error is about (its `title` is its Chinese
    label, its type may be an enum), or None if the error is not about one."""
    body_field = getattr(request.scope.get("route"), "body_field", None)
    if body_field is None or not loc or loc[0] != "body":
        return None
    annotation, info = body_field.field_info.annotation, None
    for part in loc[1:]:
        if isinstance(part, int):  # an item of a list: its type is the list's argument
            annotation = next(iter(get_args(annotation)), None)
            continue
        declared = [getattr(t, "model_fields", {}) for t in _inner_types(annotation)]
        fields: list[FieldInfo] = [f[part] for f in declared if part in f]
        if not fields:
            return None
        info = fields[0]
        annotation = info.annotation
    return info


def _allowed_values(info: FieldInfo | None) -> str | None:
    """The values an enum field allows, each with its Chinese label where the enum has one."""
    enums = [t for t in _inner_types(getattr(info, "annotation", None)) if isinstance(t, EnumMeta)]
    if not enums:
        return None
    shown = []
    member: Enum
    for member in enums[0]:
        label = getattr(member, "label_zh", None)
        shown.append(f"{member.value}（{label}）" if isinstance(label, str) else str(member.value))
    return "、".join(shown)


def _validation_item(request: Request, error: Any) -> dict[str, Any]:
    kind = str(error.get("type", "value_error"))
    loc = tuple(error.get("loc", ()))
    info = _body_field_info(request, loc)
    message_zh = _PYDANTIC_ZH.get(kind, "取值无效")
    if kind in ("enum", "literal_error"):
        allowed = _allowed_values(info) or str((error.get("ctx") or {}).get("expected", ""))
        if allowed:
            message_zh = f"{message_zh}，允许的取值：{allowed}"
    item = {
        "field": _field_path(loc),
        "rule": f"schema.{kind}",
        "message_zh": message_zh,
        "message_en": str(error.get("msg", "invalid value")),
    }
    if info is not None and info.title:
        item["label_zh"] = info.title
    return item


async def _on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        # FastAPI parses the body before it resolves the route's dependencies: without
        # this, a caller with no token would learn how its body reads before being refused.
        refused = await _authenticate_first(request)
        if refused is not None:
            return await _on_gongkai_error(request, refused)
        return problem(
            400,
            "malformed-json",
            "malformed JSON",
            rule="body.malformed_json",
            message_zh="请求体不是合法的 JSON",
            message_en="the request body is not valid JSON",
            field="body",
            instance=str(request.url.path),
        )
    # `field` and `rule` stay machine names; the Chinese message names the field by its
    # label (`Field(title="申请提交日期")`) where the command declares one.
    items = [_validation_item(request, e) for e in errors]
    first = items[0]
    return problem(
        422,
        "validation-failed",
        "validation failed",
        rule=first["rule"],
        message_zh=f"{first.get('label_zh', first['field'])}：{first['message_zh']}",
        message_en=f"{first['field']}: {first['message_en']}",
        field=first["field"],
        instance=str(request.url.path),
        errors=items,
    )


async def _on_gongkai_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GongkaiError)
    if exc.status in (401, 403, 429):
        principal = getattr(request.state, "principal", None)
        who = {"actor": principal.sub, "org": principal.org} if principal else {}
        log.warning("http.denied", status=exc.status, rule=exc.rule, path=request.url.path, **who)
    response = problem_from_error(exc, request)
    retry_after = exc.details.get("retry_after") if exc.status == 429 else None
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)  # RFC 9110 §10.2.3
    return response


def _methods_at(routes: Any, path: str) -> set[str]:
    """The methods every route of `routes` (included routers too) serves at `path`."""
    found: set[str] = set()
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            prefix = getattr(getattr(route, "include_context", None), "prefix", "")
            if path.startswith(prefix):
                found |= _methods_at(nested.routes, path[len(prefix) :])
            continue
        regex, methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is not None and methods and regex.match(path):
            found |= set(methods)
    return found


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names only the methods of the first route matching the path; RFC 9110
        # §10.2.1 wants every method the resource serves (GET and POST /v1/requests are
        # two routes).
        methods = _methods_at(request.app.routes, request.url.path)
        if methods:
            headers["Allow"] = ", ".join(sorted(methods))
    zh = {404: "未找到该资源", 405: "不支持该请求方法"}.get(exc.status_code, "请求无法处理")
    return problem(
        exc.status_code,
        f"http-{exc.status_code}",
        str(exc.detail),
        rule=f"http.{exc.status_code}",
        message_zh=zh,
        message_en=str(exc.detail),
        instance=str(request.url.path),
        headers=headers or None,
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("http.unexpected_error", path=request.url.path)
    return _internal_error(request.url.path)


def _internal_error(path: str) -> JSONResponse:
    return problem(
        500,
        "internal",
        "internal error",
        rule="internal",
        message_zh="服务器内部错误，已记录",
        message_en="internal error; it has been logged",
        instance=path,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Every refusal the kernel makes of a request, mapped to problem+json in one place:
    the exception handlers, and the control-character check that runs before every route's
    own dependencies (so it also covers routes that take a plain dict)."""
    app.router.dependencies.append(Depends(refuse_control_characters))
    app.add_exception_handler(RequestValidationError, _on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(GongkaiError, _on_gongkai_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)


# --- input no text may carry --------------------------------------------------------------

#: Characters no field of the suite may hold: the C0 controls but tab, line feed and
#: carriage return, and DEL (docs/decisions.md). PostgreSQL refuses a NUL in text (a 500
#: before this check) and SQLite stored it raw; none of them is typed on a keyboard, and
#: a text with one cannot be shown, printed on a notice or exported. C1 controls (U+0080-
#: U+009F) are left alone: they are stored and shown harmlessly, and text imported from
#: older systems carries them.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: A lone UTF-16 surrogate (`"\ud800"` in JSON) has no UTF-8 form: neither store can hold it.
_SURROGATE = re.compile("[\ud800-\udfff]")
#: The forms such characters can take in a JSON body (raw ones make it malformed JSON):
#: checked first on the bytes, so a clean body (nearly all) is never decoded twice.
_JSON_HINTS = (b"\\u00", b"\\ud", b"\\uD", b"\\b", b"\\f", b"\x7f")


def _bad_character(text: str) -> str | None:
    found = _CONTROL.search(text) or _SURROGATE.search(text)
    return found.group() if found else None


def _bad_in_json(value: Any, path: str) -> tuple[str, str] | None:
    """(field path, character) of the first bad character in a parsed body, keys included."""
    if isinstance(value, str):
        char = _bad_character(value)
        return (path or "body", char) if char else None
    if isinstance(value, dict):
        for key, item in value.items():
            char = _bad_character(str(key))
            if char:  # the key itself: named with the character escaped
                key = str(key).encode("unicode_escape").decode("ascii")
            where = f"{path}.{key}" if path else str(key)
            if char:
                return where, char
            found = _bad_in_json(item, where)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _bad_in_json(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


#: The same characters as raw bytes (UTF-8 encodes them as themselves), for bodies that
#: are not JSON: a CSV or JSON Lines import, a YAML scheme.
_CONTROL_BYTES = re.compile(b"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]")


def _parsed(text: bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # orjson refuses lone surrogates, which the stdlib parser (FastAPI's) reads
        return json.loads(text)


def _bad_in_body(body: bytes) -> tuple[str, str] | None:
    """(field, character) of the first bad character in a body: JSON, JSON Lines (the field
    prefixed by `line.N`), or any other text (`body.line.N`)."""
    raw = _CONTROL_BYTES.search(body)
    if raw is None and not any(hint in body for hint in _JSON_HINTS):
        return None
    try:
        return _bad_in_json(_parsed(body), "")
    except ValueError:
        pass
    for number, line in enumerate(body.splitlines(), start=1):  # JSON Lines
        try:
            found = _bad_in_json(_parsed(line), f"line.{number}")
        except ValueError:
            continue
        if found:
            return found
    if raw is not None:
        number = body.count(b"\n", 0, raw.start()) + 1
        return f"body.line.{number}", raw.group().decode("ascii")
    return None


async def _bad_in_request(request: Request) -> tuple[str, str] | None:
    for name, value in (*request.path_params.items(), *request.query_params.multi_items()):
        char = _bad_character(str(name)) or _bad_character(str(value))
        if char:
            return str(name), char
    # The body is read once: FastAPI has read it when the route takes one, and a route
    # that reads it itself gets it from the same cache.
    return _bad_in_body(await request.body())


async def refuse_control_characters(request: Request) -> None:
    """Refuse a request whose fields, query or path hold a character no text may hold
    (`schema.control_character`, `schema.unpaired_surrogate`), naming the field, after
    authenticating the caller on a protected route. A dependency of every route
    (install_problem_handlers), run before the route's own."""
    found = await _bad_in_request(request)
    if found is None:
        return
    refused = await _authenticate_first(request)
    if refused is not None:
        raise refused
    field, char = found
    code = f"U+{ord(char):04X}"
    if _SURROGATE.fullmatch(char):
        raise ValidationFailed(
            rule="schema.unpaired_surrogate",
            field=field,
            message_zh=f"{field}：含有无效字符（孤立的代理项 {code}）",
            message_en=f"{field}: holds an invalid character (unpaired surrogate {code})",
        )
    raise ValidationFailed(
        rule="schema.control_character",
        field=field,
        message_zh=f"{field}：含有不允许的控制字符 {code}（仅允许制表符、换行符和回车符）",
        message_en=f"{field}: holds the control character {code} (only tab, line feed "
        "and carriage return are allowed)",
    )


# --- middleware ---------------------------------------------------------------------------


class BodyLimitMiddleware:
    """Refuse bodies over `max_bytes` with 413, by Content-Length or, for a chunked upload
    that declares none, by the bytes received.

    A chunked body is buffered here (it is at most `max_bytes`) and handed on whole: an
    error raised from inside the app's `receive` would be caught by FastAPI's body parser
    and answered as a 400, never as the 413 it is.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit():
            # The server holds the body to its declared length (h11), so within the limit
            # it passes through as it streams.
            if int(declared) > self.max_bytes:
                await self._refuse(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        buffered: list[Message] = []
        seen = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break  # the client went away: let the app see it
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413,
            "payload-too-large",
            "payload too large",
            rule="body.too_large",
            message_zh=f"请求体超过 {self.max_bytes} 字节的上限",
            message_en=f"the request body exceeds the limit of {self.max_bytes} bytes",
            field="body",
        )
        await response(scope, receive, send)


class Metrics:
    """Prometheus metrics of one process (a registry per app, no global state)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gongkai_http_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gongkai_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
        )
        self.head_position = Gauge(
            "gongkai_store_head_position",
            "Global position of the newest event in a service's store",
            ["service"],
            registry=self.registry,
        )
        self.projection_lag = Gauge(
            "gongkai_projection_lag_events",
            "Events in the source log not yet applied by a projection",
            ["projection"],
            registry=self.registry,
        )
        self.relay_lag = Gauge(
            "gongkai_relay_lag_events",
            "Events in a service's store not yet published to Kafka by its relay",
            ["service"],
            registry=self.registry,
        )
        self.deadlines_missed = Counter(
            "gongkai_deadlines_missed",
            "Missed-deadline events in a service's store (types ending in Missed or Overdue)",
            ["service", "type"],
            registry=self.registry,
        )
        self.relayed = Gauge(
            "gongkai_relay_position",
            "Global position of the last event a service's relay published to Kafka",
            ["service"],
            registry=self.registry,
        )


#: The policy of every HTML page (a report, a table) that does not set its own: nothing
#: runs, nothing loads from elsewhere, no page frames it (docs/architecture.md "HTTP").
#: A page that needs more sets its own policy (the board allows its own script).
HTML_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
#: The interactive API docs: their scripts and styles are served by the app itself
#: (`DOCS_STATIC`, fastapi-offline's pinned Swagger UI and ReDoc; no CDN on an intranet).
DOCS_PATHS = frozenset({"/docs", "/redoc"})
DOCS_STATIC = "/static-offline-docs"
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def _security_headers(
    scope: Scope, headers: list[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """The headers every response carries, and every HTML page, where the route set none:
    `X-Content-Type-Options: nosniff` on all (a JSON body is never sniffed into a page),
    and on HTML a Content-Security-Policy and `Referrer-Policy: no-referrer`."""
    present = {name.lower() for name, _ in headers}
    added = []
    if b"x-content-type-options" not in present:
        added.append((b"x-content-type-options", b"nosniff"))
    content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    if content_type.lower().startswith(b"text/html"):
        if b"content-security-policy" not in present:
            policy = DOCS_CSP if scope.get("path") in DOCS_PATHS else HTML_CSP
            added.append((b"content-security-policy", policy.encode("ascii")))
        if b"referrer-policy" not in present:
            added.append((b"referrer-policy", b"no-referrer"))
    return [*headers, *added]


#: A caller's correlation id is taken as given if it is 1-128 visible ASCII characters
#: (a UUID, a trace id); anything else gets a new one rather than travelling into logs,
#: events and response headers.
_CORRELATION = re.compile(rb"[\x21-\x7e]{1,128}")
_NO_SPAN = contextlib.nullcontext()


class RequestContextMiddleware:
    """Per request: the correlation id (the trace id of the caller's `traceparent`, else its
    `X-Correlation-ID`, else a new one) bound into structlog with `trace_id` and echoed in
    the response, the request's server span when tracing is on (shared/tracing.py), the
    request's count and latency in the metrics, the security headers of every response
    (`_security_headers`), and the 500 of an unexpected error.

    The 500 is answered here rather than by Starlette's ServerErrorMiddleware, which sends
    it and then re-raises the error for the server to log: uvicorn then closes the
    connection, so the client's next request on its keep-alive connection failed too
    (issue #21). Here the error is logged once, answered with the correlation id, and not
    re-raised. An error after the response started still reaches the server, which must
    close the connection on a half-sent response.

    A plain ASGI middleware: Starlette's `BaseHTTPMiddleware` (what `@app.middleware`
    builds) runs the app in a task group of its own and streams the response through a
    memory channel, an eighth of a serving process's time at 200 commands/s (issue #10
    item 3, py-spy).
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = traceparent = tracestate = b""
        for key, value in scope["headers"]:
            if key == b"x-correlation-id":
                given = value
            elif key == b"traceparent":
                traceparent = value
            elif key == b"tracestate":
                tracestate = value
        parent = tracing.parse_traceparent(traceparent) if traceparent else None
        if parent is not None:
            # W3C trace context: the caller's trace id is the correlation id (114)
            correlation = str(UUID(int=parent[0]))
        else:
            correlation = given.decode("ascii") if _CORRELATION.fullmatch(given) else str(new_id())
        trace_id = _uuid_of(correlation)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(correlation_id=correlation, trace_id=trace_id.hex)
        scope.setdefault("state", {})["correlation_id"] = correlation  # request.state
        echoed = (b"x-correlation-id", correlation.encode("ascii"))
        started = time.perf_counter()
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal responded
            if message["type"] == "http.response.start":
                responded = True
                message["headers"] = [
                    *_security_headers(scope, list(message.get("headers", ()))),
                    echoed,
                ]
                # counted and timed when the response starts, as a client sees it (a
                # streamed body, such as the board's live changes, may last minutes)
                route = getattr(scope.get("route"), "path", "unmatched")
                method = scope["method"]
                self.metrics.requests.labels(method, route, str(message["status"])).inc()
                elapsed = time.perf_counter() - started
                self.metrics.latency.labels(method, route).observe(elapsed)
                if server_span is not None:
                    server_span.update_name(f"{method} {route}")
                    server_span.set_attribute("http.route", route)
                    server_span.set_attribute("http.response.status_code", message["status"])
            await send(message)

        with (
            tracing.span(
                f"{scope['method']} {scope['path']}",
                trace_id=trace_id.int,
                parent_span_id=parent[1] if parent is not None else None,
                kind="server",
                attributes={"http.request.method": scope["method"], "url.path": scope["path"]},
                trace_state=tracestate.decode("ascii", "replace") if tracestate else None,
            )
            if tracing.enabled()
            else _NO_SPAN
        ) as server_span:
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                if responded:
                    raise
                log.exception("http.unexpected_error", path=scope["path"])
                await _internal_error(scope["path"])(scope, receive, send_with_id)


def install_request_context(app: FastAPI, metrics: Metrics) -> None:
    app.add_middleware(RequestContextMiddleware, metrics=metrics)


def metrics_response(metrics: Metrics) -> Response:
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _uuid_of(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        # A caller's own correlation id that is not a UUID: derive a stable one from it.
        # (a version-8 UUID, its version and variant bits set by hand: `UUID(version=8)`
        # needs Python 3.14)
        digest = bytearray(hashlib.sha256(raw.encode()).digest()[:16])
        digest[6] = (digest[6] & 0x0F) | 0x80
        digest[8] = (digest[8] & 0x3F) | 0x80
        return UUID(bytes=bytes(digest))


def correlation_id(request: Request) -> UUID:
    """The request's correlation id as events carry it: also its trace id (shared/tracing.py)."""
    return _uuid_of(str(getattr(request.state, "correlation_id", None)))


# --- identity -----------------------------------------------------------------------------

#: The attribute that marks the dependency `bearer_principal` builds, so a route's
#: protection can be found from its dependant (authenticate before refusing input).
_AUTHENTICATES = "gongkai_authenticates"


def _authenticator(dependant: Any) -> Callable[..., Awaitable[Principal]] | None:
    for sub in getattr(dependant, "dependencies", ()):
        if getattr(sub.call, _AUTHENTICATES, False):
            return sub.call  # type: ignore[no-any-return]
        found = _authenticator(sub)
        if found is not None:
            return found
    return None


async def _authenticate_first(request: Request) -> GongkaiError | None:
    """Why a protected route's caller is refused (no valid token: 401), or None
    (authenticated, or a route anyone may call)."""
    route = request.scope.get("route")
    authenticate = _authenticator(getattr(route, "dependant", None))
    if authenticate is None:
        return None
    try:
        await authenticate(request, request.headers.get("authorization"))
    except GongkaiError as error:
        return error
    return None


def bearer_principal(
    secret_of: Callable[[Request], str],
    book_of: Callable[[Request], AccountBook] | None = None,
) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency: the caller's Principal from `Authorization: Bearer <token>`,
    checked against the process's account book (`book_of`): a well-signed token of an
    unknown, suspended or signed-out account, or naming a role the account no longer holds
    where the token says it acts, is refused (401/403, logged as `http.denied`)."""

    async def dependency(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> Principal:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthenticated(
                rule="token.missing",
                field="Authorization",
                message_zh="缺少身份令牌（Authorization: Bearer …）",
                message_en="missing bearer token (Authorization: Bearer …)",
            )
        principal = verify_token(authorization[7:].strip(), secret_of(request), datetime.now(UTC))
        if book_of is not None:
            try:
                book_of(request).check(principal)
            except GongkaiError:
                # logged with the subject the token names (it is signed, not trusted)
                request.state.principal = principal
                raise
        # Async, so no worker-thread hop per request (a sync dependency runs in anyio's
        # thread pool). Bound on the request itself too, for the log lines of handlers
        # that run outside this task's context.
        request.state.principal = principal
        structlog.contextvars.bind_contextvars(actor=principal.sub, org=principal.org)
        return principal

    setattr(dependency, _AUTHENTICATES, True)
    return dependency


# --- If-Match -----------------------------------------------------------------------------


#: What `expected_version` accepts, exactly as the OpenAPI contract says (shared/openapi.py):
#: an entity tag of the version, strong or weak (`"3"`, `W/"3"`), or the bare number.
IF_MATCH_PATTERN = r'^(W/)?("[0-9]{1,18}"|[0-9]{1,18})$'
_IF_MATCH = re.compile(IF_MATCH_PATTERN)


def expected_version(if_match: str | None) -> int | None:
    """The stream version an If-Match header names (`"3"` or `W/"3"`), or None if absent."""
    if if_match is None:
        return None
    if not _IF_MATCH.match(if_match):  # ASCII digits only (`isdigit` takes "³", `int` not)
        raise ValidationFailed(
            rule="if_match.invalid",
            field="If-Match",
            message_zh='If-Match 应为资源版本号，例如 "3"',
            message_en='If-Match must name the resource version, e.g. "3"',
        )
    return int(if_match.removeprefix("W/").strip('"'))


def stale_if_match(err: ConcurrencyConflict) -> PreconditionFailed:
    return PreconditionFailed(
        rule="if_match.stale",
        field="If-Match",
        message_zh=f"If-Match 版本已过期：{err.message_zh}",
        message_en=f"If-Match names a stale version: {err.message_en}",
        details=err.details,
    )


# --- Idempotency-Key ----------------------------------------------------------------------

IDEMPOTENCY_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS idempotency_keys (
        principal TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        status INTEGER,
        body TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (principal, key)
    )"""
]


STALE_CLAIM = timedelta(seconds=60)


class Idempotency:
    """Stored responses of POSTs carrying an Idempotency-Key (per caller).

    The first request claims the key, runs, and stores its response; a retry
    with the same key and body gets the stored response; the same key with a
    different body is refused (422); a retry while the first still runs gets 409.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def setup(self) -> None:
        await self.db.execute_script(IDEMPOTENCY_SCHEMA)

    async def run(
        self,
        principal: Principal,
        key: str | None,
        body: Any,
        action: Callable[[], Awaitable[tuple[int, Any]]],
    ) -> JSONResponse:
        if key is None:
            status, payload = await action()
            return JSONResponse(payload, status_code=status)
        if not 1 <= len(key) <= 200:
            raise ValidationFailed(
                rule="idempotency_key.invalid",
                field="Idempotency-Key",
                message_zh="Idempotency-Key 长度应为 1–200 个字符",
                message_en="Idempotency-Key must be 1-200 characters",
            )
        fingerprint = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
        stored = await self._claim(principal.sub, key, fingerprint)
        if stored is not None:
            return _replayed(stored, fingerprint)
        try:
            status, payload = await action()
        except BaseException:
            async with self.db.transaction() as tx:
                await tx.execute(
                    "DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 "
                    "AND status IS NULL",
                    principal.sub,
                    key,
                )
            raise
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE idempotency_keys SET status = $1, body = $2 "
                "WHERE principal = $3 AND key = $4",
                status,
                orjson.dumps(payload).decode(),
                principal.sub,
                key,
            )
        return JSONResponse(payload, status_code=status)

    async def _claim(self, principal: str, key: str, fingerprint: str) -> Any:
        """Claim the key for this request (None), or the row of the request that holds it."""
        async with self.db.transaction() as tx:
            # Claim the key atomically: of two concurrent first requests exactly one inserts.
            claimed = await tx.fetchval(
                "INSERT INTO idempotency_keys (principal, key, fingerprint, created_at) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING key",
                principal,
                key,
                fingerprint,
                datetime.now(UTC).isoformat(),
            )
            if claimed is not None:
                return None
            # A claim whose process died before storing a response is taken over once it
            # is older than STALE_CLAIM, so retries are not refused forever.
            now = datetime.now(UTC)
            claimed = await tx.fetchval(
                "UPDATE idempotency_keys SET created_at = $1 "
                "WHERE principal = $2 AND key = $3 AND status IS NULL "
                "AND fingerprint = $4 AND created_at < $5 RETURNING key",
                now.isoformat(),
                principal,
                key,
                fingerprint,
                (now - STALE_CLAIM).isoformat(),
            )
            if claimed is not None:
                return None
            return await tx.fetchrow(
                "SELECT fingerprint, status, body FROM idempotency_keys "
                "WHERE principal = $1 AND key = $2",
                principal,
                key,
            )


def _replayed(row: Any, fingerprint: str) -> JSONResponse:
    """The stored answer of the first request with this key, or why there is none."""
    if row["fingerprint"] != fingerprint:
        raise ValidationFailed(
            rule="idempotency_key.reused",
            field="Idempotency-Key",
            message_zh="同一 Idempotency-Key 已用于内容不同的请求",
            message_en="this Idempotency-Key was used with a different request body",
        )
    if row["status"] is None:
        raise ConcurrencyConflict(
            rule="idempotency_key.in_progress",
            field="Idempotency-Key",
            message_zh="相同 Idempotency-Key 的请求正在处理，请稍后重试",
            message_en="a request with this Idempotency-Key is still being processed",
        )
    response = JSONResponse(orjson.loads(row["body"]), status_code=row["status"])
    response.headers["Idempotent-Replayed"] = "true"
    return response


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
IfMatch = Annotated[str | None, Header(alias="If-Match")]
