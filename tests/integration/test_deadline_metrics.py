"""A missed deadline shows on /metrics, where the GongkaiDeadlineMissed alert reads it.

The request is registered over HTTP and the applications scheduler (the real job, with the
day given) records its DeadlineMissed (条例第三十三条: 20 working days); the counter then
says so once, however often Prometheus scrapes (docs/operations.md, "A deadline was missed").
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient

from gongkai.app import create_app
from services.applications import jobs
from shared.identity import Role
from shared.settings import Settings
from shared.workdays import WorkdayCalendar
from tests import accounts
from tests.e2e.factories import registration

SECRET = "d" * 48
LINE = 'gongkai_deadlines_missed_total{service="applications",type="DeadlineMissed"}'


def test_a_missed_reply_deadline_is_counted_once_on_metrics(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var", token_secret=SECRET, log_level="warning")
    app = create_app(settings)  # every service, embedded
    with TestClient(app) as client:
        handler = ("wang-tietong", "shangdang/sudian", Role.REQUEST_HANDLER)
        token = accounts.token(client, SECRET, *handler)
        body = registration(submitted_on="2026-02-10")
        r = client.post("/v1/requests", json=body, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 201, r.text
        assert LINE not in client.get("/metrics").text
        store = app.state.runtimes["applications"].store
        calendar = WorkdayCalendar.default()
        _, written = client.portal.call(  # the scheduler's pass on the day after the limit
            lambda: jobs.tick(store, {}, 0, calendar, date(2026, 3, 17))
        )
        assert written == 1
        for _ in range(2):
            assert f"{LINE} 1.0" in client.get("/metrics").text
