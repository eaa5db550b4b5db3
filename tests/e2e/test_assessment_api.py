"""考核 through HTTP, in embedded and distributed mode (issue #7; DOMAIN.md §5; 方案§20, §21).

Each test charges a different township, because the suite (and its log) is shared by the
module: 苏店镇 for requests, 韩店镇 for the task ledger, 荫城镇 for highlights.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shared.identity import Role
from tests.e2e.conftest import SuiteHandle, run_suite
from tests.e2e.factories import registration, today

DEMO = Path(__file__).parents[2] / "deploy" / "demo" / "assessment-scheme-2026.yaml"
DISTRICT = "shangdang"
SUDIAN, HANDIAN, YINCHENG = "shangdang/sudian", "shangdang/handian", "shangdang/yincheng"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module", params=["embedded", "distributed"])
def suite(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SuiteHandle]:
    """A fresh district for this module: the assertions are exact scores of townships,
    which other tests' overdue requests would otherwise move."""
    yield from run_suite(request, tmp_path_factory, services=("assessment", "applications"))


def scheme_body(**changes: Any) -> dict[str, Any]:
    """The demo district scheme, for this year (the scheme year must hold the events)."""
    data: dict[str, Any] = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    return data | {"year": today().year} | changes


def assessor(suite: SuiteHandle) -> str:
    return suite.token("li-qiang", DISTRICT, Role.DISTRICT_ASSESSOR)


def client(suite: SuiteHandle, token: str) -> httpx.Client:
    return suite.client(token, service="assessment")


def publish(suite: SuiteHandle) -> None:
    with client(suite, assessor(suite)) as c:
        r = c.post("/v1/assessment/schemes", json=scheme_body())
    assert r.status_code in (200, 201), r.text


def card(suite: SuiteHandle, subject: str) -> dict[str, Any]:
    with client(suite, assessor(suite)) as c:
        r = c.get("/v1/assessment/scores", params={"subject": subject, "year": today().year})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def line(body: dict[str, Any], key: str) -> dict[str, Any]:
    return next(x for x in body["lines"] if x["key"] == key)


def test_scheme_is_published_once_and_listed(suite: SuiteHandle) -> None:
    with client(suite, assessor(suite)) as c:
        first = c.post("/v1/assessment/schemes", json=scheme_body())
        again = c.post("/v1/assessment/schemes", json=scheme_body())
    assert first.status_code in (200, 201), first.text
    assert again.status_code == 200 and again.json()["event_id"] == first.json()["event_id"]
    scheme_id = f"{today().year}:township:{DISTRICT}"

    def listed() -> Any:
        with client(suite, assessor(suite)) as c:
            items = c.get("/v1/assessment/schemes").json()["items"]
        return [i for i in items if i["scheme_id"] == scheme_id]

    (found,) = suite.eventually(listed)
    assert found["pass_line"] == 60 and len(found["indicators"]) == 10


def test_bad_schemes_and_wrong_callers_are_refused_and_nothing_is_written(
    suite: SuiteHandle,
) -> None:
    head = suite.head_position("assessment")
    bad_weights = scheme_body()
    bad_weights["indicators"][0]["weight"] = 40
    too_much = scheme_body()
    too_much["indicators"][5]["deductions"][0]["points"] = 9
    unknown = scheme_body()
    unknown["indicators"][0]["deductions"][0]["signal"] = "catalog.nothing"
    cases = [
        (assessor(suite), bad_weights, 422, "scheme.weights_do_not_sum"),
        (assessor(suite), too_much, 422, "scheme.deduction_exceeds_weight"),
        (assessor(suite), unknown, 422, "scheme.unknown_signal"),
        (suite.token("liu-min", DISTRICT, Role.AUDITOR), scheme_body(), 403, "auditor.read_only"),
        (
            suite.token("tian-yiming", SUDIAN, Role.PRINCIPAL_LEADER),
            scheme_body(),
            403,
            "org.outside_subtree",
        ),
    ]
    for token, body, status, rule in cases:
        with client(suite, token) as c:
            r = c.post("/v1/assessment/schemes", json=body)
        assert r.status_code == status, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["rule"] == rule
    assert suite.head_position("assessment") == head


def test_overdue_request_reply_deducts_six_and_traces_to_its_event__art33(
    suite: SuiteHandle,
) -> None:
    """A request handed in 45 days ago and never answered: the applications scheduler
    records DeadlineMissed, and 苏店镇 loses 6 points on 依申请公开 (DOMAIN.md §5)."""
    publish(suite)
    handler = suite.token("wang-tietong", SUDIAN, Role.REQUEST_HANDLER)
    old = (today() - timedelta(days=45)).isoformat()
    with suite.client(handler) as c:
        r = c.post("/v1/requests", json=registration(submitted_on=old))
    assert r.status_code == 201, r.text

    def deducted() -> Any:
        body = card(suite, SUDIAN)
        return body if line(body, "requests")["points"] == 14 else None

    body = suite.eventually(deducted, timeout=60)
    (case,) = line(body, "requests")["cases"]
    assert case["signal"] == "request.reply_overdue" and case["event_ids"]
    assert body["total"] == 94 and body["passed"]

    with client(suite, assessor(suite)) as c:
        changes = c.get("/v1/assessment/changes", params={"day": "today"}).json()["items"]
    entry = next(i for i in changes if i["subject"] == SUDIAN and i["indicator"] == "requests")
    assert entry["delta"] == -6 and entry["cause_type"] == "DeadlineMissed"
    assert entry["caused_by"] == case["event_ids"]


def test_overdue_task_ledger_item_feeds_the_ledger_indicator__fangan20(suite: SuiteHandle) -> None:
    publish(suite)
    office = suite.token("handian-head", HANDIAN, Role.OPENNESS_OFFICE_HEAD)
    task = {
        "org": HANDIAN,
        "owner": "wang-tietong",
        "title": "更新权责清单并在政府网站公开",
        "due_on": (today() - timedelta(days=1)).isoformat(),
        "basis": "方案§四(一)2",
    }
    with client(suite, office) as c:
        r = c.post("/v1/assessment/tasks", json=task, headers={"Idempotency-Key": "task-1"})
        replay = c.post("/v1/assessment/tasks", json=task, headers={"Idempotency-Key": "task-1"})
    assert r.status_code == 201, r.text
    assert replay.headers.get("Idempotent-Replayed") == "true"

    def deducted() -> Any:
        body = card(suite, HANDIAN)
        return body if line(body, "task_ledger")["points"] == 8 else None

    body = suite.eventually(deducted, timeout=60)
    assert line(body, "task_ledger")["cases"][0]["case"] == r.json()["task_id"]

    def listed(status: str) -> list[dict[str, Any]]:
        with client(suite, office) as c:
            items = c.get("/v1/assessment/tasks", params={"org": HANDIAN}).json()["items"]
        return [i for i in items if i["task_id"] == r.json()["task_id"] and i["status"] == status]

    (row,) = suite.eventually(lambda: listed("overdue"))
    assert row["owner"] == "wang-tietong" and row["due_on"] == task["due_on"]
    # Done late afterwards: still the same one case, not a second deduction.
    with client(suite, office) as c:
        done = c.post(
            f"/v1/assessment/tasks/{r.json()['task_id']}/complete",
            json={
                "completed_on": today().isoformat(),
                "evidence": "已更新，见政府网站权责清单栏目",
            },
        )
    assert done.status_code == 200, done.text
    assert done.json()["late"] is True

    def traced_twice() -> Any:
        cases = line(card(suite, HANDIAN), "task_ledger")["cases"]
        return cases if len(cases[0]["event_ids"]) == 2 else None

    suite.eventually(lambda: listed("done_late"))
    cases = suite.eventually(traced_twice)
    assert len(cases) == 1 and line(card(suite, HANDIAN), "task_ledger")["points"] == 8


def test_another_townships_ledger_and_auditors_are_refused_without_an_event(
    suite: SuiteHandle,
) -> None:
    head = suite.head_position("assessment")
    task = {
        "org": HANDIAN,
        "owner": "wang-tietong",
        "title": "编制年度培训计划",
        "due_on": today().isoformat(),
    }
    sudian = suite.token("wang-tietong", SUDIAN, Role.OPENNESS_OFFICE_HEAD)
    auditor = suite.token("liu-min", DISTRICT, Role.AUDITOR)
    for token, rule in ((sudian, "org.outside_subtree"), (auditor, "auditor.read_only")):
        with client(suite, token) as c:
            r = c.post("/v1/assessment/tasks", json=task)
        assert r.status_code == 403 and r.json()["rule"] == rule, r.text
    with client(suite, sudian) as c:
        listing = c.get("/v1/assessment/tasks", params={"org": HANDIAN})
        assert listing.status_code == 403 and listing.json()["rule"] == "org.outside_subtree"
        r = c.post(
            "/v1/assessment/highlights",
            json={"org": SUDIAN, "title": "政务公开专区", "basis": "自评"},
        )
    assert r.status_code == 403 and r.json()["rule"] == "role.missing"
    assert suite.head_position("assessment") == head


def test_a_task_is_completed_by_its_owner_and_hidden_from_other_townships__fangan20(
    suite: SuiteHandle,
) -> None:
    """The task's owner (责任人) completes it without a ledger role; a colleague without one
    is refused; another township's staff are told it does not exist (404, issue #21); a
    stale If-Match is a 412. On time and held: nothing is deducted from 韩店镇."""
    office_org = f"{HANDIAN}/party-office"
    office = suite.token("xu-li", HANDIAN, Role.OPENNESS_OFFICE_HEAD)
    owner = suite.token("cao-yu", office_org, Role.DRAFTER)
    colleague = suite.token("tang-hui", office_org, Role.SECTION_HEAD)
    sudian = suite.token("wang-tietong", SUDIAN, Role.OPENNESS_OFFICE_HEAD)
    task = {
        "org": office_org,
        "owner": "cao-yu",
        "title": "更新党政办机构职能栏目",
        "due_on": (today() + timedelta(days=30)).isoformat(),
    }
    with client(suite, office) as c:
        added = c.post("/v1/assessment/tasks", json=task)
    assert added.status_code == 201, added.text
    path = f"/v1/assessment/tasks/{added.json()['task_id']}/complete"
    done = {"completed_on": today().isoformat(), "evidence": "栏目已更新，见政府网站"}
    head = suite.head_position("assessment")
    for token, status, rule, headers in (
        (sudian, 404, "task.not_found", {}),
        (colleague, 403, "role.missing", {}),
        (owner, 412, "if_match.stale", {"If-Match": '"7"'}),
    ):
        with client(suite, token) as c:
            r = c.post(path, json=done, headers=headers)
        assert r.status_code == status, r.text
        assert r.json()["rule"] == rule, r.text
    assert suite.head_position("assessment") == head
    with client(suite, owner) as c:
        r = c.post(path, json=done, headers={"If-Match": '"1"'})
        again = c.post(path, json=done)
        missing = c.post(f"/v1/assessment/tasks/{UNKNOWN}/complete", json=done)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "TaskCompleted" and body["late"] is False and body["version"] == 2
    assert body["stream_id"] == f"assessment-task-{body['task_id']}" and r.headers["ETag"] == '"2"'
    assert again.status_code == 409 and again.json()["rule"] == "task.already_completed"
    assert missing.status_code == 404 and missing.json()["rule"] == "task.not_found"
    plan = {"org": office_org, "topic": "政务公开条例解读", "planned_on": today().isoformat()}
    with client(suite, office) as c:
        planned = c.post("/v1/assessment/training/sessions", json=plan)
        held = c.post(
            f"/v1/assessment/training/sessions/{planned.json()['session_id']}/held",
            json={"held_on": today().isoformat(), "attendees": 12},
        )
        listed = c.get("/v1/commands").json()["items"]
    assert held.status_code == 200 and held.json()["type"] == "TrainingSessionHeld", held.text
    paths = {i["path"] for i in listed if i["aggregate"].startswith("assessment-")}
    assert paths == {
        "/v1/assessment/tasks/{task_id}/complete",
        "/v1/assessment/training/sessions/{session_id}/held",
    }


def test_highlight_bonus_lifts_a_township_to_the_top_of_the_ranking__fangan21(
    suite: SuiteHandle,
) -> None:
    publish(suite)
    with client(suite, assessor(suite)) as c:
        r = c.post(
            "/v1/assessment/highlights",
            json={
                "org": YINCHENG,
                "title": "荫城镇“政策找人”精准推送平台",
                "basis": "区政务公开领导组办公室认定",
            },
        )
    assert r.status_code == 201, r.text

    def ranked() -> Any:
        with client(suite, assessor(suite)) as c:
            board = c.get("/v1/assessment/scoreboard", params={"year": today().year}).json()
        top = board["items"][0]
        return board if top["subject"] == YINCHENG and top["total"] == 102 else None

    board = suite.eventually(ranked, timeout=60)
    assert board["items"][0]["rank"] == 1
    subjects = [i["subject"] for i in board["items"]]
    assert set(subjects) >= {SUDIAN, HANDIAN, YINCHENG, "shangdang/xihuo"}
    # A township official sees only its own row of the district ranking.
    with client(suite, suite.token("tian-yiming", SUDIAN, Role.PRINCIPAL_LEADER)) as c:
        own = c.get("/v1/assessment/scoreboard", params={"year": today().year}).json()
    assert [i["subject"] for i in own["items"]] == [SUDIAN]


def test_score_changes_stream_as_server_sent_events(suite: SuiteHandle) -> None:
    publish(suite)
    with client(suite, assessor(suite)) as c:
        suite.eventually(lambda: c.get("/v1/assessment/changes").json()["items"])
        r = c.get("/v1/assessment/changes/stream", params={"after": 0, "seconds": 1})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert "event: score-changed" in r.text and "\ndata: {" in r.text


def test_township_scheme_scores_its_units_and_a_missed_training_counts__fangan20(
    suite: SuiteHandle,
) -> None:
    """苏店镇 publishes its own unit-level scheme as YAML; a planned training session of
    its finance office passes unheld, and the office loses 5 points on 参加培训."""
    text = Path(DEMO.parent / "assessment-scheme-2026-sudian.yaml").read_text(encoding="utf-8")
    text = text.replace("year: 2026", f"year: {today().year}")
    leader = suite.token("tian-yiming", SUDIAN, Role.PRINCIPAL_LEADER)
    finance = f"{SUDIAN}/finance"
    with client(suite, leader) as c:
        r = c.post(
            "/v1/assessment/schemes",
            content=text.encode(),
            headers={"Content-Type": "application/yaml"},
        )
        assert r.status_code == 201, r.text
        plan = {
            "org": finance,
            "topic": "《政府信息公开条例》及个人信息保护专题培训",
            "planned_on": (today() - timedelta(days=3)).isoformat(),
        }
        assert c.post("/v1/assessment/training/sessions", json=plan).status_code == 201
    params = {"year": today().year, "level": "unit", "owner": SUDIAN}

    def ranked_last() -> Any:
        with client(suite, leader) as c:
            board = c.get("/v1/assessment/scoreboard", params=params).json()
        if not board.get("items"):  # the scheme is not scored yet (eventual consistency)
            return None
        last = board["items"][-1]
        return board if last["subject"] == finance and last["total"] == 95 else None

    board = suite.eventually(ranked_last, timeout=60)
    assert board["scheme_id"] == f"{today().year}:unit:{SUDIAN}"
    assert board["items"][-1]["lines"]["training"] == 5
    assert {i["subject"] for i in board["items"]} >= {SUDIAN, finance, f"{SUDIAN}/party-office"}
