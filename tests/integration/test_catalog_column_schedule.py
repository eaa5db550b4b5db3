"""The daily column check: every township, every working day, nobody has to ask.

Rule: DOMAIN.md §1 — dynamic columns updated at least every 2 weeks, others every 6 months
(183 days) [local: 玉环, 国办秘函〔2019〕19号]; issue #21: a check only on demand penalised
the township that asked. The whole suite runs embedded on a clock the test moves, restarted
on later days over the same files (as a deployment is restarted); the check runs when a
process starts on a working day after the configured hour and then once a day, and a stale
column reaches the township's score on the 主动公开 line with the event that caused it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from gongkai.app import create_app
from shared.identity import Role
from shared.settings import REPO_ROOT, Settings
from tests import accounts
from tests.integration.test_catalog_column_health_api import (
    SECRET,
    Clock,
    eventually,
    post,
    publish_work_news,
)

pytestmark = pytest.mark.integration

SUDIAN = "shangdang/sudian"
SCHEME = REPO_ROOT / "deploy" / "demo" / "assessment-scheme-2026.yaml"


def at(local: str) -> datetime:
    """A local (Asia/Shanghai) time as the UTC instant the clock gives."""
    return datetime.fromisoformat(local + "+08:00").astimezone(UTC)


@contextmanager
def suite(var: Path, now: datetime, **settings: Any) -> Iterator[TestClient]:
    clock = Clock()
    clock.now = now
    options: dict[str, Any] = {"column_checks": "on", **settings}  # tests/conftest.py: off
    config = Settings(var_dir=var, token_secret=SECRET, log_level="warning", **options)
    with TestClient(create_app(config, clock=clock)) as client:
        yield client


def health_events(client: TestClient) -> list[dict[str, Any]]:
    store = client.app.state.runtimes["catalog"].store  # type: ignore[attr-defined]
    events = client.portal.call(store.read_all, 0, 100_000)  # type: ignore[union-attr]
    return [
        {"type": e.type, "tenant": e.tenant, "id": str(e.event_id), **e.payload}
        for e in events
        if e.stream_type == "catalog-column-health"
    ]


def publish_finance_notice(client: TestClient, on: str) -> None:
    """A 财政 column document (a 6-month column), through the whole 三审三校."""
    content = {
        "title": "苏店镇2026年第一季度惠民惠农财政补贴资金发放情况",
        "body": "苏店镇2026年第一季度共发放耕地地力保护补贴等惠民惠农资金，按村汇总公开。",
        "issue_date": on,
        "kind": "notice",
        "column": "finance",
    }
    doc_id = post(client, "li-na", "/v1/catalog/documents", {"content": content})["document_id"]
    doc = f"/v1/catalog/documents/{doc_id}"
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


def stale(events: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "ColumnStale" and e["column"] == column]


def test_every_township_is_checked_each_working_day_and_the_two_week_rule_scores__s4(
    tmp_path: Path,
) -> None:
    var = tmp_path / "var"
    scheme = yaml.safe_load(SCHEME.read_text(encoding="utf-8"))
    # Monday 2 March 2026, 07:30: before the hour nothing is checked; the news goes out.
    with suite(var, at("2026-03-02T07:30:00")) as client:
        token = accounts.token(client, SECRET, "li-qiang", "shangdang", Role.DISTRICT_ASSESSOR)
        r = client.post(
            "/v1/assessment/schemes", json=scheme, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code in (200, 201), r.text
        publish_work_news(client, "2026-03-02")
        assert health_events(client) == []
    # Monday 16 March, 10:00 (14 days): checked without anyone asking, every township;
    # the news column is not stale yet, empty columns are recorded.
    with suite(var, at("2026-03-16T10:00:00")) as client:
        events = eventually(lambda: health_events(client))
        every = {str(t.path) for t in client.app.state.suite.orgs.townships()}  # type: ignore[attr-defined]

        def all_checked() -> list[dict[str, Any]] | None:
            events = health_events(client)
            checked = {e["tenant"] for e in events if e["type"] == "ColumnEmpty"}
            return events if checked == every else None

        events = eventually(all_checked)
        assert len(every) == 4 and stale(events, "work_news") == []
    # Monday 23 March (21 days): stale, recorded once, and 苏店镇's 主动公开 line loses the
    # scheme's point for it, with the event named.
    with suite(var, at("2026-03-23T10:00:00")) as client:
        (event,) = eventually(lambda: stale(health_events(client), "work_news"))
        assert (event["tenant"], event["days_since_update"]) == (SUDIAN, 21)

        def stale_case() -> dict[str, Any] | None:
            r = client.get(
                "/v1/assessment/scores",
                params={"subject": SUDIAN, "year": 2026},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert r.status_code == 200, r.text
            for line in r.json()["lines"]:
                for case in line["cases"]:
                    if case["signal"] == "column.stale":
                        return {"line": line["key"], **case}
            return None

        case = eventually(stale_case)
        assert case["line"] == "proactive_disclosure"
        assert case["event_ids"] == [event["id"]]
    # The same day again (a restart): the episode is not recorded twice.
    with suite(var, at("2026-03-23T15:00:00")) as client:
        assert len(stale(health_events(client), "work_news")) == 1


def test_a_six_month_column_is_stale_after_183_days_and_not_before__s4(tmp_path: Path) -> None:
    var = tmp_path / "var"
    with suite(var, at("2026-03-02T07:00:00")) as client:
        publish_finance_notice(client, "2026-03-02")
    # Tuesday 1 September 2026: 183 days, the limit itself — not stale.
    with suite(var, at("2026-09-01T09:00:00")) as client:
        eventually(lambda: health_events(client))
        assert stale(health_events(client), "finance") == []
    # Wednesday 2 September: 184 days — stale.
    with suite(var, at("2026-09-02T09:00:00")) as client:
        (event,) = eventually(lambda: stale(health_events(client), "finance"))
        assert (event["tenant"], event["days_since_update"]) == (SUDIAN, 184)


def test_the_district_can_turn_the_daily_check_off_or_start_it_later(tmp_path: Path) -> None:
    with suite(tmp_path / "a", at("2026-03-16T10:00:00"), column_checks="off") as client:
        assert health_events(client) == []
        recorded = post(client, "guo-xinxin", "/v1/catalog/column-checks", {})["recorded"]
        assert recorded  # on demand it still works
    with suite(tmp_path / "b", at("2026-03-16T10:00:00"), column_checks_from="2026-04-01") as c:
        assert health_events(c) == []
    with suite(tmp_path / "b", at("2026-04-01T10:00:00"), column_checks_from="2026-04-01") as c:
        assert eventually(lambda: health_events(c))
