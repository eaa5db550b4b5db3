"""Realistic payloads of the platform's operations events, for the contract tests' EXAMPLES
table (the calendar's own example is in tests/contract/test_contracts.py)."""

from __future__ import annotations

from collections.abc import Callable

from services.platform.events import ParkedEventsDiscarded, ParkedEventsRetried
from shared.registry import DomainEvent

_STREAM = "request-01936f0e-7c1b-7000-8000-000000000003"


def parked_events_retried() -> ParkedEventsRetried:
    return ParkedEventsRetried(
        projection_service="applications",
        consumer="applications.request_ledger",
        stream_id=_STREAM,
        applied=["01936f0e-7c1b-7000-8000-000000000011"],
        still_parked=["01936f0e-7c1b-7000-8000-000000000012"],
        reason="applications.request_ledger: KeyError: 'number'",
    )


def parked_events_discarded() -> ParkedEventsDiscarded:
    return ParkedEventsDiscarded(
        projection_service="applications",
        consumer="gongkai.applications.projections",
        stream_id=_STREAM,
        event_ids=["01936f0e-7c1b-7000-8000-000000000012"],
        reason="伪造的测试消息，不属于任何事件库",
    )


EXAMPLES: dict[str, Callable[[], DomainEvent]] = {
    "platform/ParkedEventsRetried.v1": parked_events_retried,
    "platform/ParkedEventsDiscarded.v1": parked_events_discarded,
}
