"""Traces follow a command: HTTP request -> append -> event -> relay (Kafka headers) ->
the consumer that applies it (issue #21, shared/tracing.py, decision 114).

The spans go to a real OTLP/HTTP receiver: an HTTP server in this test that accepts the
exporter's protobuf POSTs on /v1/traces and decodes them with opentelemetry-proto, as a
collector does. Embedded mode: SQLite store, the embedded projection runner. Distributed
mode: PostgreSQL store, the relay to a real Kafka broker, the Kafka consumer group.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from shared import tracing
from shared.db import SqliteDatabase
from shared.envelope import NewEvent, StreamWrite
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.http import Metrics, correlation_id, install_request_context
from shared.kafka import KafkaProjectionWorker, Relay, dlq_for, topic_for
from shared.projections import ProjectionRunner
from tests.integration.test_kafka_bus import drain, read_topic
from tests.integration.test_projections import ACTOR, TownshipTally, tally


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]


class Receiver:
    """An OTLP/HTTP traces endpoint: what it received, decoded."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.posts = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path != "/v1/traces" or self.headers["Content-Type"] != (
                    "application/x-protobuf"
                ):
                    self.send_response(404)
                    self.end_headers()
                    return
                receiver.take(ExportTraceServiceRequest.FromString(body))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"

    def take(self, request: ExportTraceServiceRequest) -> None:
        with self.lock:
            self.posts += 1
            for resource_spans in request.resource_spans:
                service = next(
                    (
                        a.value.string_value
                        for a in resource_spans.resource.attributes
                        if a.key == "service.name"
                    ),
                    "",
                )
                for scope in resource_spans.scope_spans:
                    for s in scope.spans:
                        self.spans.append(
                            Span(
                                service,
                                s.name,
                                s.kind,
                                s.trace_id.hex(),
                                s.span_id.hex(),
                                s.parent_span_id.hex(),
                                {a.key: _value(a.value) for a in s.attributes},
                            )
                        )

    def of_trace(self, trace_id: str) -> list[Span]:
        with self.lock:
            return [s for s in self.spans if s.trace_id == trace_id]


def _value(value: Any) -> Any:
    return getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    assert tracing.configure_tracing("gongkai-tracing-test", found.url)
    try:
        yield found
    finally:
        tracing.shutdown_tracing()
        found.server.shutdown()
        found.server.server_close()


def command_app(store: SqlEventStore, seen: list[str]) -> FastAPI:
    """The smallest command route: the request context middleware of every service, an
    append of one event with the request's correlation id (as shared/routes.py does)."""
    app = FastAPI()
    install_request_context(app, Metrics())

    @app.post("/v1/things")
    async def register_thing(request: Request) -> JSONResponse:
        seen.append(structlog.contextvars.get_contextvars()["trace_id"])  # what logs carry
        event = NewEvent(
            type="RequestRegistered",
            tenant="shangdang/sudian",
            actor=ACTOR,
            correlation_id=correlation_id(request),
            payload={"number": "7号"},
        )
        stream = f"request-{uuid.uuid4()}"
        [recorded] = await store.append(
            [StreamWrite(stream_id=stream, stream_type="request", events=(event,))]
        )
        return JSONResponse({"event_id": str(recorded.event_id)}, status_code=201)

    return app


async def post(app: FastAPI, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gongkai") as client:
        response = await client.post("/v1/things", headers=headers)
    assert response.status_code == 201, response.text
    return response


def by_name(spans: list[Span]) -> dict[str, Span]:
    return {s.name: s for s in spans}


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqlEventStore]:
    store = await open_sqlite_store(str(tmp_path / "events.db"), name="applications")
    yield store
    await store.close()


async def test_embedded_the_callers_trace_reaches_the_projection_that_applies_the_event(
    receiver: Receiver, sqlite_store: SqlEventStore, tmp_path: Path
) -> None:
    caller_trace, caller_span = uuid.uuid4().hex, "00f067aa0ba902b7"
    seen: list[str] = []
    response = await post(
        command_app(sqlite_store, seen),
        {"traceparent": f"00-{caller_trace}-{caller_span}-01", "tracestate": "gk=1"},
    )
    # the caller's trace id is the command's correlation id, in the answer and the logs
    assert response.headers["x-correlation-id"] == str(uuid.UUID(caller_trace))
    assert seen == [caller_trace]
    event_id = uuid.UUID(response.json()["event_id"])
    [stored] = await sqlite_store.read_all(0, 10)
    assert stored.correlation_id.hex == caller_trace

    views = await SqliteDatabase.open(tmp_path / "views.db")
    try:
        runner = ProjectionRunner(TownshipTally(), sqlite_store, views)
        await runner.setup()
        assert await runner.run_once() == 1
        assert await tally(views) == {"shangdang/sudian": (1, 7)}
    finally:
        await views.close()
    assert tracing.force_flush()

    spans = by_name(receiver.of_trace(caller_trace))
    server = spans["POST /v1/things"]
    append = spans["eventstore.append"]
    event = spans["event RequestRegistered"]
    applied = spans["projection.apply test.township_tally"]
    assert server.parent_id == caller_span  # a child of the caller's span
    assert server.attributes["http.response.status_code"] == 201
    assert append.parent_id == server.span_id
    assert event.parent_id == append.span_id
    assert event.span_id == f"{tracing.event_span_id(event_id):016x}"
    assert applied.parent_id == event.span_id
    assert applied.attributes["gongkai.event_id"] == str(event_id)


async def test_distributed_one_commands_trace_is_in_the_kafka_headers_and_the_consumer(
    receiver: Receiver, pg_url: str, pg_schema: str, kafka_bootstrap: str
) -> None:
    prefix = f"t-{uuid.uuid4().hex[:10]}"
    topic = topic_for("applications", prefix)
    store = await open_postgres_store(pg_url, schema=pg_schema)
    try:
        seen: list[str] = []
        response = await post(command_app(store, seen), {})  # no trace context: a new one
        trace_id = uuid.UUID(response.headers["x-correlation-id"]).hex
        assert seen == [trace_id]
        event_id = uuid.UUID(response.json()["event_id"])
        event_span = f"{tracing.event_span_id(event_id):016x}"

        relay = Relay(store, store.db, kafka_bootstrap, topic, dlq=dlq_for(prefix))
        await relay.setup()
        await relay.start()
        try:
            assert await relay.publish_available() == 1
        finally:
            await relay.stop()
        [message] = await read_topic(kafka_bootstrap, topic, 1)
        assert dict(message.headers)["traceparent"] == f"00-{trace_id}-{event_span}-01".encode()

        worker = KafkaProjectionWorker(
            [TownshipTally()],
            store.db,
            kafka_bootstrap,
            topic,
            group=f"{prefix}.applications.projections",
            dlq=dlq_for(prefix),
        )
        await worker.start()
        try:
            await drain(worker, 1)
        finally:
            await worker.stop()
        assert await tally(store.db) == {"shangdang/sudian": (1, 7)}
    finally:
        await store.close()
    assert tracing.force_flush()

    spans = by_name(receiver.of_trace(trace_id))
    server = spans["POST /v1/things"]
    append = spans["eventstore.append"]
    event = spans["event RequestRegistered"]
    relayed = spans[f"relay.send {topic}"]
    applied = spans[f"projection.apply {prefix}.applications.projections"]
    assert server.parent_id == ""  # the trace starts at this request
    assert append.parent_id == server.span_id
    assert event.span_id == event_span and event.parent_id == append.span_id
    assert relayed.parent_id == event_span and relayed.attributes["messaging.system"] == "kafka"
    assert applied.parent_id == event_span  # from the record's traceparent header
    assert applied.attributes["gongkai.event_id"] == str(event_id)
    assert {s.service for s in spans.values()} == {"gongkai-tracing-test"}


async def test_without_an_endpoint_nothing_is_traced_and_the_headers_still_carry_the_trace(
    sqlite_store: SqlEventStore,
) -> None:
    tracing.shutdown_tracing()
    assert not tracing.enabled()
    assert tracing.endpoint_from(None, {}) is None
    assert tracing.endpoint_from(None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}) == (
        "http://c:4318/v1/traces"
    )
    assert tracing.endpoint_from("http://c:4318", {"OTEL_SDK_DISABLED": "true"}) is None
    seen: list[str] = []
    response = await post(command_app(sqlite_store, seen), {"traceparent": "00-bad"})
    trace_id = uuid.UUID(response.headers["x-correlation-id"]).hex  # invalid: a new one
    assert seen == [trace_id]
    rows = await sqlite_store.read_all_rows(0, 10)
    from shared.kafka import headers_of_row

    headers = dict(headers_of_row(rows[0]))
    assert headers["traceparent"].decode().startswith(f"00-{trace_id}-")
