"""Operations endpoints of every process (ARCHITECTURE.md "HTTP conventions")."""

from __future__ import annotations

from tests.e2e.conftest import SuiteHandle


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
