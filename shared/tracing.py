"""Traces: W3C trace context from the HTTP request through the event to what applies it.

One id follows a command: **the trace id is the envelope's correlation id** (both 128 bits;
decision 114). The request context middleware (shared/http.py) takes the trace id of a
valid `traceparent` header as the request's correlation id (else the caller's
`X-Correlation-ID`, else a new UUIDv7), so every event the command writes carries it in
`correlation_id`, the audit chain hashes it, and no column or wire field is added. Each
event also has a span id of its own, derived from its event id (`event_span_id`), so any
process holding the envelope can continue the trace under the event:

    HTTP POST /v1/…              (server span; child of the caller's span if it sent one)
      eventstore.append          (the command's append)
        event <type>             (span id = the event id's low 64 bits)
          relay.send <topic>     (serve: the relay, once the broker acknowledged)
          projection.apply …     (every consumer that applied it: embedded runner,
                                  Kafka worker, faust app)

The relay writes `traceparent` (`00-<correlation hex>-<event span id>-01`) into every Kafka
record's headers, so a consumer outside the suite (kcat, another team's service) continues
the trace by the standard header; the suite's Kafka worker reads that header too.

Logs carry `trace_id` (the correlation id as 32 hex digits, what a tracing UI shows) next
to `correlation_id`: bound per request by the middleware, and on every per-event log line
of the consumers.

Spans are exported with the OpenTelemetry SDK over OTLP/HTTP (protobuf) only when an
endpoint is configured (`GONGKAI_OTLP_ENDPOINT`, or the standard
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`); the SDK is imported
only then. Not configured, `enabled()` is False, `span()` returns one shared no-op context
and the hot paths skip their span bookkeeping: the only cost left is the `traceparent`
header of each relayed record (bench/tracing.py, docs/operations.md "Tracing").
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any
from uuid import UUID

#: `traceparent` version 00 (W3C Trace Context, level 1): version-trace id-parent id-flags.
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_LOW64 = (1 << 64) - 1

#: The OpenTelemetry tracer and provider while an exporter is configured, else None.
_tracer: Any = None
_provider: Any = None
_endpoint: str | None = None

#: Ids the next span must take (read by the id generator at the span's start).
_next_trace_id: ContextVar[int | None] = ContextVar("gongkai_next_trace_id", default=None)
_next_span_id: ContextVar[int | None] = ContextVar("gongkai_next_span_id", default=None)

_NOOP = contextlib.nullcontext()


def enabled() -> bool:
    """Whether spans are recorded and exported (an OTLP endpoint is configured)."""
    return _tracer is not None


# --- ids ----------------------------------------------------------------------------------


def parse_traceparent(value: str | bytes | None) -> tuple[int, int, int] | None:
    """(trace id, parent span id, flags) of a valid version-00 `traceparent`, else None
    (all-zero ids are invalid: W3C Trace Context §3.2.2.3/§3.2.2.4)."""
    if not value:
        return None
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    found = _TRACEPARENT.fullmatch(text.strip())
    if found is None:
        return None
    trace_id, parent_id = int(found[1], 16), int(found[2], 16)
    if trace_id == 0 or parent_id == 0:
        return None
    return trace_id, parent_id, int(found[3], 16)


def format_traceparent(trace_id: int, span_id: int, flags: int = 1) -> str:
    return f"00-{trace_id:032x}-{span_id:016x}-{flags:02x}"


def trace_id_of(correlation_id: UUID | str) -> str:
    """The trace id of a correlation id, as tracing UIs and the logs show it (32 hex)."""
    value = correlation_id if isinstance(correlation_id, UUID) else UUID(str(correlation_id))
    return value.hex


def event_span_id(event_id: UUID | str) -> int:
    """The span id of an event: its event id's low 64 bits (random in a UUIDv7)."""
    value = event_id if isinstance(event_id, UUID) else UUID(str(event_id))
    return (value.int & _LOW64) or 1


def event_traceparent(correlation_id: UUID | str, event_id: UUID | str) -> bytes:
    """The `traceparent` of an event's Kafka record: its trace, under the event's span.

    From the canonical UUID texts the relay holds, by slicing (the low 64 bits of a UUID
    are its last 16 hex digits): every relayed record pays for this, traced or not."""
    trace = correlation_id.hex if isinstance(correlation_id, UUID) else None
    event = str(event_id)
    if trace is None:
        text = str(correlation_id)
        trace = text.replace("-", "") if len(text) == 36 else UUID(text).hex
    span = f"{event[19:23]}{event[24:]}" if len(event) == 36 else f"{event_span_id(event):016x}"
    if span == "0000000000000000":
        span = "0000000000000001"
    return f"00-{trace.lower()}-{span.lower()}-01".encode("ascii")


# --- configuration ------------------------------------------------------------------------


def endpoint_from(configured: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The OTLP/HTTP traces URL: GONGKAI_OTLP_ENDPOINT (a collector's base URL or the full
    `/v1/traces` URL), else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else
    OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`; None when none is set or
    OTEL_SDK_DISABLED=true."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    base = configured or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    traces = None if configured else env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if traces:
        return traces
    if not base:
        return None
    base = base.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


def configure_tracing(service_name: str, endpoint: str | None) -> bool:
    """Export spans to `endpoint` (an OTLP/HTTP traces URL), or stop tracing (None).

    Idempotent for the same endpoint. The provider is this module's own, not the global
    one of the OpenTelemetry API, so a process (or a test) may reconfigure it."""
    global _tracer, _provider, _endpoint
    if endpoint == _endpoint and (_tracer is not None) == (endpoint is not None):
        return enabled()
    shutdown_tracing()
    if endpoint is None:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

    class _Ids(RandomIdGenerator):
        """Random ids, except where the suite names them (a trace = a correlation id,
        an event's span = its event id)."""

        def generate_trace_id(self) -> int:
            forced = _next_trace_id.get()
            return forced if forced else int(super().generate_trace_id())

        def generate_span_id(self) -> int:
            forced = _next_span_id.get()
            return forced if forced else int(super().generate_span_id())

    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = TracerProvider(resource=Resource.create({"service.name": name}), id_generator=_Ids())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    _provider, _endpoint = provider, endpoint
    _tracer = provider.get_tracer("gongkai")
    return True


def force_flush(timeout_ms: int = 10_000) -> bool:
    """Export the spans ended so far (tests, and before a process exits)."""
    return bool(_provider.force_flush(timeout_ms)) if _provider is not None else True


def shutdown_tracing() -> None:
    global _tracer, _provider, _endpoint
    provider, _tracer, _provider, _endpoint = _provider, None, None, None
    if provider is not None:
        provider.shutdown()


# --- spans --------------------------------------------------------------------------------

_KINDS = ("internal", "server", "client", "producer", "consumer")


def _start(
    name: str,
    *,
    trace_id: int | None,
    parent_span_id: int | None,
    span_id: int | None,
    kind: str,
    attributes: Mapping[str, Any] | None,
    start_time: int | None,
    trace_state: str | None = None,
) -> Any:
    from opentelemetry import context as otel_context
    from opentelemetry import trace

    parent: Any = None  # the current context
    forced_trace = None
    if trace_id is not None and parent_span_id is not None:
        state = trace.TraceState.from_header([trace_state]) if trace_state else None
        remote = trace.SpanContext(
            trace_id, parent_span_id, True, trace.TraceFlags(1), trace_state=state
        )
        parent = trace.set_span_in_context(trace.NonRecordingSpan(remote))
    elif trace_id is not None:
        current = trace.get_current_span().get_span_context()
        if not (current.is_valid and current.trace_id == trace_id):
            parent, forced_trace = otel_context.Context(), trace_id  # a root of that trace
    tokens = (_next_trace_id.set(forced_trace), _next_span_id.set(span_id))
    try:
        return _tracer.start_span(
            name,
            context=parent,
            kind=trace.SpanKind[kind.upper()],
            attributes=dict(attributes or {}),
            start_time=start_time,
        )
    finally:
        _next_span_id.reset(tokens[1])
        _next_trace_id.reset(tokens[0])


@contextlib.contextmanager
def _current(span_: Any) -> Iterator[Any]:
    from opentelemetry import trace

    with trace.use_span(span_, end_on_exit=True, record_exception=True):
        yield span_


def span(
    name: str,
    *,
    trace_id: int | None = None,
    parent_span_id: int | None = None,
    span_id: int | None = None,
    kind: str = "internal",
    attributes: Mapping[str, Any] | None = None,
    trace_state: str | None = None,
) -> contextlib.AbstractContextManager[Any]:
    """A span, current while the block runs; a no-op (yielding None) when tracing is off.

    `trace_id` alone: a child of the current span if it is of that trace, else a root of
    it. With `parent_span_id`: a child of that (remote) span. `span_id` names the span's
    own id (an event's span)."""
    if _tracer is None:
        return _NOOP
    return _current(
        _start(
            name,
            trace_id=trace_id,
            parent_span_id=parent_span_id,
            span_id=span_id,
            kind=kind,
            attributes=attributes,
            start_time=None,
            trace_state=trace_state,
        )
    )


def record(
    name: str,
    *,
    trace_id: int,
    parent_span_id: int | None = None,
    span_id: int | None = None,
    kind: str = "internal",
    start_ns: int,
    end_ns: int | None = None,
    attributes: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """A span that already happened (a relayed or applied batch, timed by the caller)."""
    if _tracer is None:
        return
    started = _start(
        name,
        trace_id=trace_id,
        parent_span_id=parent_span_id,
        span_id=span_id,
        kind=kind,
        attributes=attributes,
        start_time=start_ns,
    )
    if error is not None:
        from opentelemetry.trace import Status, StatusCode

        started.set_status(Status(StatusCode.ERROR, error[:500]))
    started.end(end_time=end_ns or time.time_ns())


def record_events(
    name: str,
    events: Sequence[tuple[UUID | str, UUID | str, Mapping[str, Any]]],
    *,
    kind: str,
    start_ns: int,
    end_ns: int | None = None,
    parents: Sequence[tuple[int, int] | None] | None = None,
    errors: Mapping[str, str] | None = None,
) -> None:
    """One span per event (correlation id, event id, attributes), a child of the event's
    span (or of `parents[i]`, a (trace id, span id) a Kafka header named), all timed as
    the batch that carried them."""
    if _tracer is None:
        return
    end = end_ns or time.time_ns()
    for index, (correlation, event_id, attributes) in enumerate(events):
        given = parents[index] if parents is not None else None
        trace_id, parent = given or (
            (correlation if isinstance(correlation, UUID) else UUID(str(correlation))).int,
            event_span_id(event_id),
        )
        record(
            name,
            trace_id=trace_id,
            parent_span_id=parent,
            kind=kind,
            start_ns=start_ns,
            end_ns=end,
            attributes={"gongkai.event_id": str(event_id), **attributes},
            error=(errors or {}).get(str(event_id)),
        )
