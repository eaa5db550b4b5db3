"""Period close (考核周期关闭) through HTTP, in embedded and distributed mode (issue #7).

DOMAIN.md §5 (scoring set in advance, 方案§20; 亮点工程 方案§21): closing a period freezes
its scoreboard — scores, ranks and the breakdown — in a PeriodClosed event; the events it
holds stop counting on the live cards and every later event counts in the next period.
Closing a closed period, or one that overlaps a closed period, is refused and writes
nothing.

The period runs from 1 January to yesterday, so this test needs today not to be 1 January.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shared.identity import Role
from tests.e2e.conftest import SuiteHandle, run_suite
from tests.e2e.factories import today

DEMO = Path(__file__).parents[2] / "deploy" / "demo" / "assessment-scheme-2026.yaml"
DISTRICT = "shangdang"
YINCHENG = "shangdang/yincheng"


@pytest.fixture(scope="module", params=["embedded", "distributed"])
def suite(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SuiteHandle]:
    yield from run_suite(request, tmp_path_factory, services=("assessment",))


def assessor(suite: SuiteHandle) -> httpx.Client:
    token = suite.token("li-qiang", DISTRICT, Role.DISTRICT_ASSESSOR)
    return suite.client(token, service="assessment")


def live_total(suite: SuiteHandle, subject: str) -> float | None:
    """The live total, or None while the scheme just published is not projected yet (the
    scorer reads it from the log asynchronously: 404 scheme.not_found until then)."""
    with assessor(suite) as c:
        r = c.get("/v1/assessment/scores", params={"subject": subject, "year": today().year})
    if r.status_code == 404 and r.json().get("rule") == "scheme.not_found":
        return None
    assert r.status_code == 200, r.text
    total: float = r.json()["total"]
    return total


def highlight(suite: SuiteHandle, on: date, title: str) -> str:
    with assessor(suite) as c:
        r = c.post(
            "/v1/assessment/highlights",
            json={
                "org": YINCHENG,
                "title": title,
                "basis": "区考核办认定",
                "recognized_on": str(on),
            },
        )
    assert r.status_code == 201, r.text
    event_id: str = r.json()["event_id"]
    return event_id


def close(suite: SuiteHandle, **body: Any) -> httpx.Response:
    with assessor(suite) as c:
        return c.post("/v1/assessment/periods/close", json={"year": today().year, **body})


def test_closing_a_period_freezes_its_scoreboard_and_later_events_go_to_the_next__fangan21(
    suite: SuiteHandle,
) -> None:
    year = today().year
    start, end = date(year, 1, 1), today() - timedelta(days=1)
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8")) | {"year": year}
    with assessor(suite) as c:
        assert c.post("/v1/assessment/schemes", json=data).status_code in (200, 201)
    first = highlight(suite, start, "政策找人精准推送")
    suite.eventually(lambda: live_total(suite, YINCHENG) == 102, timeout=60)

    r = close(suite, period=f"{year}-P1", starts_on=str(start), ends_on=str(end))
    assert r.status_code == 201, r.text
    assert r.json()["frozen_event_ids"] == [first]
    top = r.json()["snapshot"][0]
    assert (top["subject"], top["rank"], top["total"]) == (YINCHENG, 1, 102)

    # The frozen snapshot is queryable; the live card starts the next period afresh.
    def frozen() -> Any:
        with assessor(suite) as c:
            got = c.get(f"/v1/assessment/periods/{year}-P1", params={"year": year})
        return got.json() if got.status_code == 200 else None

    snap = suite.eventually(frozen, timeout=60)
    (row,) = [i for i in snap["items"] if i["subject"] == YINCHENG]
    assert row["rank"] == 1 and row["total"] == 102
    (bonus,) = [line for line in row["lines"] if line["key"] == "highlight"]
    assert bonus["cases"][0]["event_ids"] == [first]
    assert all(i["rank"] == 2 and i["total"] == 100 for i in snap["items"] if i is not row)
    suite.eventually(lambda: live_total(suite, YINCHENG) == 100, timeout=60)

    # A later event about a day inside the closed period counts in the next period.
    highlight(suite, start + timedelta(days=1), "政务公开专区标准化建设")
    suite.eventually(lambda: live_total(suite, YINCHENG) == 102, timeout=60)
    with assessor(suite) as c:
        listed = c.get("/v1/assessment/periods", params={"year": year}).json()["items"]
        again = c.get(f"/v1/assessment/periods/{year}-P1", params={"year": year}).json()
    assert [p["period"] for p in listed] == [f"{year}-P1"]
    (row,) = [i for i in again["items"] if i["subject"] == YINCHENG]
    assert row["total"] == 102 and len(row["lines"][-1]["cases"]) == 1

    # Bad input: nothing written.
    head = suite.head_position("assessment")
    refusals = [
        ({"period": f"{year}-P1", "starts_on": str(start), "ends_on": str(end)}, 409,
         "period.already_closed", "period"),
        ({"period": f"{year}-P2", "starts_on": str(end), "ends_on": str(end)}, 422,
         "period.overlaps", "starts_on"),
        ({"period": f"{year}-P3", "starts_on": str(today()), "ends_on": str(today())}, 422,
         "period.not_over", "ends_on"),
        ({"period": f"{year}-P4", "starts_on": f"{year - 1}-12-01", "ends_on": str(end)}, 422,
         "period.outside_year", "starts_on"),
    ]  # fmt: skip
    for body, status, rule, field in refusals:
        r = close(suite, **body)
        assert r.status_code == status, r.text
        problem = r.json()
        assert (problem["rule"], problem["field"]) == (rule, field)
        assert problem["message_zh"] and problem["message_en"]
    auditor = suite.token("liu-min", DISTRICT, Role.AUDITOR)
    with suite.client(auditor, service="assessment") as c:
        r = c.post(
            "/v1/assessment/periods/close",
            json={"year": year, "period": "x", "starts_on": str(start), "ends_on": str(end)},
        )
    assert r.status_code == 403 and r.json()["rule"] == "auditor.read_only"
    assert suite.head_position("assessment") == head
