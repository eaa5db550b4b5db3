"""Operations endpoints of every process (ARCHITECTURE.md "HTTP conventions")."""

from __future__ import annotations

from shared.identity import Role
from tests.e2e.conftest import SuiteHandle
from tests.e2e.factories import registration


def test_metrics_report_store_heads_and_http_traffic(suite: SuiteHandle) -> None:
    with suite.client() as c:
        assert c.get("/health").json() == {"status": "ok"}
        metrics = c.get("/metrics").text
    assert 'gongkai_store_head_position{service="applications"}' in metrics
    assert "gongkai_http_requests_total" in metrics


def test_embedded_metrics_include_projection_lag(suite: SuiteHandle) -> None:
    with suite.client() as c:
        metrics = c.get("/metrics").text
    if suite.mode == "embedded":
        assert 'gongkai_projection_lag_events{projection="applications.request_ledger"}' in metrics
    else:  # the API process runs no projections; its worker reports them
        assert "gongkai_projection_lag_events{" not in metrics


def test_the_relay_reports_what_it_published_and_what_waits(suite: SuiteHandle) -> None:
    """Distributed: the API process's relay publishes the store to Kafka; /metrics says how
    far it got, so an operator sees a stalled relay (docs/operations.md, GongkaiRelayStalled)."""
    if suite.mode == "embedded":
        with suite.client() as c:
            assert "gongkai_relay_position{" not in c.get("/metrics").text  # no relay
        return
    handler = suite.token("wang-tietong", "shangdang/sudian", Role.REQUEST_HANDLER)
    with suite.client(handler) as c:
        assert c.post("/v1/requests", json=registration()).status_code == 201
    head = suite.head_position()

    def relayed() -> str | None:
        with suite.client() as c:
            metrics = c.get("/metrics").text
        line = f'gongkai_relay_position{{service="applications"}} {float(head)}'
        return metrics if line in metrics else None

    metrics = suite.eventually(relayed)
    assert 'gongkai_relay_lag_events{service="applications"} 0.0' in metrics
