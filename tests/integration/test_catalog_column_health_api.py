"""Stale columns through the HTTP API, on a clock the test moves (embedded mode, in process).

Rule: DOMAIN.md §1 — dynamic columns updated at least every 2 weeks, others every 6 months
[local: 玉环, 国办秘函〔2019〕19号]. The e2e suites run on the real clock, where nothing can
be two weeks old, so this test builds the embedded app itself with a clock it controls and
goes through `GET /v1/catalog/columns` and `POST /v1/catalog/column-checks`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gongkai.app import create_app
from shared.identity import Role
from shared.settings import Settings
from tests import accounts

pytestmark = pytest.mark.integration

SECRET = "column-health-" + "x" * 40
SUDIAN = "shangdang/sudian"
PEOPLE = {
    "li-na": ("shangdang/sudian/party-office", Role.DRAFTER),
    "chen-jing": ("shangdang/sudian/finance", Role.DRAFTER),
    "zhang-wei": ("shangdang/sudian/party-office", Role.SECTION_HEAD),
    "guo-xinxin": (SUDIAN, Role.LEADER_IN_CHARGE, Role.OPENNESS_OFFICE_HEAD),
    "wang-xiaole": (SUDIAN, Role.LEADER_IN_CHARGE),
    "wang-tietong": (SUDIAN, Role.ATTRIBUTE_OFFICER),
}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[TestClient, Clock]]:
    clock = Clock()
    settings = Settings(var_dir=tmp_path / "var", token_secret=SECRET, log_level="warning")
    with TestClient(create_app(settings, clock=clock)) as client:  # every service, embedded
        yield client, clock


def headers(client: TestClient, person: str) -> dict[str, str]:
    org, *roles = PEOPLE[person]
    token = accounts.token(client, SECRET, person, org, *(Role(r) for r in roles))
    return {"Authorization": f"Bearer {token}"}


def post(client: TestClient, person: str, path: str, body: dict[str, Any]) -> Any:
    r = client.post(path, json=body, headers=headers(client, person))
    assert r.status_code in (200, 201), r.text
    return r.json()


def eventually(probe: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        assert time.monotonic() < deadline, "not visible in time"
        time.sleep(0.05)
    return value


def publish_work_news(client: TestClient, on: str) -> str:
    content = {
        "title": "苏店镇召开春季森林防火工作部署会",
        "body": "3月2日，苏店镇召开春季森林防火工作部署会，安排野外用火管控和巡山护林工作。",
        "issue_date": on,
        "kind": "work_news",
        "column": "work_news",
    }
    document_id = post(client, "li-na", "/v1/catalog/documents", {"content": content})[
        "document_id"
    ]
    doc = f"/v1/catalog/documents/{document_id}"
    post(client, "li-na", doc + "/attribute/proposal", {"attribute": "proactive"})
    post(client, "wang-tietong", doc + "/attribute/check", {"agrees": True})
    post(client, "wang-xiaole", doc + "/attribute/decision", {"attribute": "proactive"})
    for person, stage in (
        ("chen-jing", "first_review"),
        ("zhang-wei", "second_review"),
        ("guo-xinxin", "final_review"),
    ):
        body = {"stage": stage, "outcome": "pass", "proofreading": {"signed": True}}
        post(client, person, doc + "/reviews", body)
    post(client, "guo-xinxin", doc + "/publish", {"channels": ["website"]})
    return str(document_id)


def columns(client: TestClient) -> dict[str, Any]:
    r = client.get("/v1/catalog/columns", headers=headers(client, "guo-xinxin"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_dynamic_column_is_stale_after_two_weeks_and_recorded_once__s4(
    app: tuple[TestClient, Clock],
) -> None:
    client, clock = app
    publish_work_news(client, "2026-03-02")
    fresh = eventually(lambda: (c := columns(client)) and "work_news" not in c["empty"] and c)
    assert "work_news" not in fresh["stale"]
    checks = post(client, "guo-xinxin", "/v1/catalog/column-checks", {})["recorded"]
    assert not any(e["column"] == "work_news" for e in checks)
    # 14 days is the rule; on day 15 without a publication the column is stale.
    clock.now += timedelta(days=14)
    assert "work_news" not in columns(client)["stale"]
    clock.now += timedelta(days=1)
    report = columns(client)
    row = next(i for i in report["items"] if i["code"] == "work_news")
    assert "work_news" in report["stale"]
    assert (row["days_since_update"], row["max_age_days"], row["last_published_on"]) == (
        15,
        14,
        "2026-03-02",
    )
    # The check records ColumnStale once for this episode; a second run records nothing.
    recorded = post(client, "guo-xinxin", "/v1/catalog/column-checks", {})["recorded"]
    stale = [e for e in recorded if e["column"] == "work_news"]
    assert [(e["type"], e["days_since_update"]) for e in stale] == [("ColumnStale", 15)]
    again = post(client, "guo-xinxin", "/v1/catalog/column-checks", {})["recorded"]
    assert not any(e["column"] == "work_news" for e in again)
    # A new publication ends the episode.
    publish_work_news(client, "2026-03-17")
    eventually(lambda: "work_news" not in columns(client)["stale"])
