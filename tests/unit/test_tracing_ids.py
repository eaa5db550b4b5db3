"""W3C trace context ids (shared/tracing.py): parsing, the event's span, the Kafka header."""

from __future__ import annotations

from uuid import UUID

from shared import tracing


def test_a_valid_traceparent_is_read_and_invalid_ones_are_not() -> None:
    value = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert tracing.parse_traceparent(value) == (
        0x4BF92F3577B34DA6A3CE929D0E0E4736,
        0x00F067AA0BA902B7,
        1,
    )
    assert tracing.parse_traceparent(value.encode()) is not None
    for bad in (
        "",
        "00-bad",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # unknown version
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # zero parent id
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
    ):
        assert tracing.parse_traceparent(bad) is None, bad


def test_an_events_traceparent_is_its_correlation_id_under_its_own_span() -> None:
    correlation = UUID("4bf92f35-77b3-4da6-a3ce-929d0e0e4736")
    event_id = UUID("01a21faf-7bda-778b-9f6a-3c9be0a67d8d")
    assert tracing.event_span_id(event_id) == 0x9F6A3C9BE0A67D8D
    assert tracing.event_traceparent(str(correlation), event_id) == (
        b"00-4bf92f3577b34da6a3ce929d0e0e4736-9f6a3c9be0a67d8d-01"
    )
    assert tracing.trace_id_of(correlation) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert tracing.event_span_id(UUID(int=1 << 64)) == 1  # never the invalid zero span


def test_tracing_is_off_and_free_without_an_endpoint() -> None:
    tracing.shutdown_tracing()
    assert not tracing.enabled()
    with tracing.span("anything", trace_id=1) as span:
        assert span is None
    tracing.record("nothing", trace_id=1, start_ns=0)  # no provider: nothing recorded
