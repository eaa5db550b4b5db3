"""One district day across every service, through HTTP only (issue #9, the end-to-end test).

苏店镇 issues a 规范性文件: 公开属性认定 and 三审三校 (catalog; DOMAIN.md §1, 方案§18–19,
条例 Art. 26) → the drafting unit owes an interpretation (interpretation; 方案§15 谁起草谁解读)
→ the interpretation passes its quality gate and is published with the policy (三同步) →
citizens write about the policy, their messages join one case, answered within its clock
(sentiment; DOMAIN.md §4, 方案§17) → a request for information about the policy, handed in
45 days ago, passes its reply due date (the scheduler records DeadlineMissed) and is answered
late (applications; 条例 Art. 33) → 苏店镇's openness office enters what its old 专栏 held
(历史信息登记), one document per column, the last 财政 one 200 days old, and the column
check finds that column stale (6-month rule, DOMAIN.md §1; issue #21) → the district's
assessment moves exactly where the law says: 苏店镇 loses 6 points on 依申请公开 and 1 on
主动公开, and nothing else changes (assessment; DOMAIN.md §5)
→ the audit chain holds every event of every store exactly once and verifies (audit;
ARCHITECTURE.md §Audit log and replay).

A fresh module-scoped suite (tests/e2e/conftest.py `run_suite`): the assertions are exact
scores and the whole chain, which other modules' events would move. Both modes run; the
distributed one is the point (one process per service role, PostgreSQL + Kafka).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import orjson
import pytest

from gongkai.app import SERVICES
from services.catalog.columns import SEED_COLUMNS
from services.interpretation import samples
from shared.identity import Role
from tests.e2e.conftest import SuiteHandle, run_suite
from tests.e2e.factories import citizen_message, days_ago, registration, today
from tests.e2e.test_assessment_api import scheme_body
from tests.e2e.test_catalog_workflow import Desk

DISTRICT = "shangdang"
SUDIAN = "shangdang/sudian"
PARTY_OFFICE = "shangdang/sudian/party-office"
#: The audit and assessment workers follow every topic; their first rebalance is slow.
SLOW = 90.0
YEAR = today().year


@pytest.fixture(scope="module", params=["embedded", "distributed"])
def suite(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SuiteHandle]:
    """A district no other test touched: exact scores and the whole chain are asserted."""
    yield from run_suite(request, tmp_path_factory)


# ---------------------------------------------------------------- people and their clients
def as_(suite: SuiteHandle, service: str, person: str, org: str, *roles: Role) -> httpx.Client:
    return suite.client(suite.token(person, org, *roles), service=service)


def assessor(suite: SuiteHandle) -> httpx.Client:
    return as_(suite, "assessment", "li-qiang", DISTRICT, Role.DISTRICT_ASSESSOR)


def auditor(suite: SuiteHandle) -> httpx.Client:
    return as_(suite, "audit", "zhao-shenji", DISTRICT, Role.AUDITOR)


def interpreter(suite: SuiteHandle, person: str) -> httpx.Client:
    """li-na drafts in 党政办公室 (she drafted the policy); zhang-wei heads it."""
    role = Role.DRAFTER if person == "li-na" else Role.SECTION_HEAD
    return as_(suite, "interpretation", person, PARTY_OFFICE, role)


def opinion_officer(suite: SuiteHandle) -> httpx.Client:
    return as_(suite, "sentiment", "liu-yang", SUDIAN, Role.OPINION_OFFICER)


def unit_head(suite: SuiteHandle) -> httpx.Client:
    return as_(suite, "sentiment", "zhang-wei", PARTY_OFFICE, Role.SECTION_HEAD)


def request_handler(suite: SuiteHandle) -> httpx.Client:
    return as_(suite, "applications", "wang-tietong", SUDIAN, Role.REQUEST_HANDLER)


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


# ---------------------------------------------------------------- assessment reads
def card(suite: SuiteHandle, subject: str = SUDIAN) -> dict[str, Any]:
    with assessor(suite) as c:
        return ok(c.get("/v1/assessment/scores", params={"subject": subject, "year": YEAR}))


def points(body: dict[str, Any]) -> dict[str, float]:
    return {line["key"]: line["points"] for line in body["lines"]}


def scoreboard(suite: SuiteHandle) -> dict[str, dict[str, Any]]:
    with assessor(suite) as c:
        board = ok(c.get("/v1/assessment/scoreboard", params={"year": YEAR}))
    return {row["subject"]: row for row in board["items"]}


def changes_today(suite: SuiteHandle) -> list[dict[str, Any]]:
    with assessor(suite) as c:
        items: list[dict[str, Any]] = ok(
            c.get("/v1/assessment/changes", params={"day": "today", "limit": 500})
        )["items"]
    return items


# ---------------------------------------------------------------- audit reads
def trail(suite: SuiteHandle, **params: Any) -> list[dict[str, Any]]:
    with auditor(suite) as c:
        response = c.get("/v1/audit/trail", params=params)
    assert response.status_code == 200, response.text
    return [orjson.loads(line) for line in response.text.splitlines() if line]


def test_policy_interpretation_messages_and_a_late_reply_move_one_score_and_all_reach_the_chain(
    suite: SuiteHandle,
) -> None:
    # -- 0. the district's scheme, and the scores before anything happened (方案§20)
    with assessor(suite) as c:
        ok(c.post("/v1/assessment/schemes", json=scheme_body()), 201)
    before = suite.eventually(lambda: _card_or_none(suite), timeout=SLOW)
    assert before["total"] == 100
    assert all(line["points"] == line["weight"] for line in before["lines"]), before
    board_before = suite.eventually(lambda: scoreboard(suite) or None, timeout=SLOW)
    assert {row["total"] for row in board_before.values()} == {100}

    # -- 1. catalog: 公开属性认定, 三审三校, published the day after its issue (条例 Art. 26)
    desk = Desk(suite)
    document_id, published = desk.published(
        title=samples.POLICY_TITLE,
        body=samples.POLICY_TEXT,
        attachments_text=[],
        kind="normative",
        document_number=f"苏政发〔{YEAR}〕3号",
    )
    # A normative document's publication also opens its filing duty (方案§18, 备案 30 days).
    assert published["late"] is False
    assert published["events"][-2:] == ["DocumentPublished", "FilingRequired"]
    document = ok(desk.get("li-na", desk.doc(document_id)))
    assert document["status"] == "published" and document["needs_interpretation"] is True
    assert [document["reviews"][s]["reviewer"] for s in document["reviews"]] == [
        "chen-jing",
        "zhang-wei",
        "guo-xinxin",
    ]

    # -- 2. interpretation: the catalog's event opens the drafting unit's obligation (方案§15)
    def obligation() -> dict[str, Any] | None:
        with interpreter(suite, "zhang-wei") as c:
            r = c.get(f"/v1/interpretation/obligations/{document_id}")
        return r.json() if r.status_code == 200 else None

    opened = suite.eventually(obligation, timeout=SLOW)
    assert (opened["status"], opened["owner_unit"], opened["source"]) == (
        "open",
        PARTY_OFFICE,
        "catalog",
    )

    # -- 3. the interpretation passes its quality gate and is published with the policy
    with interpreter(suite, "li-na") as c:
        drafted = ok(
            c.post(
                "/v1/interpretation/interpretations",
                json={
                    "document_id": document_id,
                    "content": samples.interpretation_body(samples.GOOD_SECTIONS),
                },
            ),
            201,
        )
    assert drafted["quality"]["passed"] is True
    interpretation_id = drafted["interpretation_id"]
    path = f"/v1/interpretation/interpretations/{interpretation_id}"
    with interpreter(suite, "zhang-wei") as c:
        reviewed = ok(c.post(f"{path}/review", json={"approve": True}))
        issued = ok(c.post(f"{path}/publish", json={}))
    assert issued["events"] == ["InterpretationPublished", "ObligationFulfilled"]
    assert issued["synchronous"] is True and issued["on_time"] is True

    def listed_publicly() -> dict[str, Any] | None:
        with suite.client(service="interpretation") as public:
            body = public.get(f"/v1/public/interpretation/policies/{document_id}").json()
        return body if body.get("interpretations") else None

    policy = suite.eventually(listed_publicly)
    assert [i["interpretation_id"] for i in policy["interpretations"]] == [interpretation_id]

    # -- 4. sentiment: two residents write about the policy; one case answers both (§4)
    text = (
        "《苏店镇农村人居环境整治提升三年行动实施方案》说改户厕每户补助1200元，"
        "我们村去年改的厕所冬天冻裂了，补助什么时候发、找谁申请？"
    )
    with opinion_officer(suite) as c:
        first = ok(c.post("/v1/messages", json=citizen_message(text)), 201)
    # A later message joins an open case once the case ledger shows it (grouping reads it).
    _case(suite, first["case_id"], lambda body: body["message_count"] == 1)
    with opinion_officer(suite) as c:
        second = ok(
            c.post(
                "/v1/messages",
                json=citizen_message(
                    text + "请镇里尽快答复。", citizen={"name": "赵建国", "phone": "13900003333"}
                ),
            ),
            201,
        )
    assert first["opened_case"] is True and second["opened_case"] is False
    case_id = first["case_id"]
    assert second["case_id"] == case_id
    case = _case(suite, case_id, lambda body: body["message_count"] == 2)
    due = case["response_due"]
    with opinion_officer(suite) as c:
        ok(
            c.post(
                f"/v1/opinion-cases/{case_id}/assign",
                json={"unit": PARTY_OFFICE, "officer": "liu-yang"},
            )
        )
    with unit_head(suite) as c:
        ok(c.post(f"/v1/opinion-cases/{case_id}/accept", json={}))
        ok(
            c.post(
                f"/v1/opinion-cases/{case_id}/respond",
                json={
                    "response": "户厕改造补助由村委会汇总、镇农业综合服务中心审核后按季度发放，"
                    "冻裂户厕已列入今年6月底前的问题户厕整改清单，请联系本村管护员登记。"
                },
            )
        )
    case = _case(suite, case_id, lambda body: body["steps"][-1]["step"] == "办结")
    assert [s["step"] for s in case["steps"]] == ["立案", "并案", "派单", "签收", "办结"]
    assert case["response_due"] == due  # answered inside the clock it opened with

    # -- 5. applications: handed in 45 days ago, the reply due date passes (条例 Art. 33)
    description = "申请公开苏店镇户厕改造补助资金（每户1200元）的发放名单、标准和发放时间"
    with request_handler(suite) as c:
        registered = ok(
            c.post(
                "/v1/requests",
                json=registration(submitted_on=days_ago(45), description=description),
            ),
            201,
        )
    request_id = registered["request_id"]
    missed = _history(suite, request_id, "DeadlineMissed", timeout=SLOW)[-1]
    reply_due = date.fromisoformat(missed["payload"]["reply_due"])
    assert reply_due < today() and missed["actor"] == "applications-scheduler"
    with request_handler(suite) as c:
        ok(c.post(f"/v1/requests/{request_id}/assign", json={"handler": "wang-tietong"}))
        replied = ok(
            c.post(
                f"/v1/requests/{request_id}/reply",
                json={"reply_type": "disclosed", "replied_on": today().isoformat()},
            )
        )
    assert replied["type"] == "RequestReplied"
    history = [h["type"] for h in _history(suite, request_id, "RequestReplied")]
    assert history.index("DeadlineMissed") < history.index("RequestReplied")

    # -- 6. catalog: the old 专栏 entered as published (历史信息登记); the column check
    # finds 财政 not updated for 200 days (6-month rule: 183) and nothing empty (§1)
    office = as_(suite, "catalog", "guo-xinxin", SUDIAN, Role.OPENNESS_OFFICE_HEAD)
    entered = []
    with office as c:
        for code, name in SUDIAN_COLUMNS.items():
            age = 200 if code == "finance" else 3
            entered.append(
                ok(c.post("/v1/catalog/published-documents", json=old(code, name, age)), 201)
            )

        def columns_caught_up() -> dict[str, Any] | None:
            body = ok(c.get("/v1/catalog/columns"))
            return body if not body["empty"] else None

        suite.eventually(columns_caught_up)
        checked = ok(c.post("/v1/catalog/column-checks", json={}))["recorded"]
    assert [(e["type"], e["column"], e["days_since_update"]) for e in checked] == [
        ("ColumnStale", "finance", 200)
    ]
    assert checked[0]["last_published_on"] == days_ago(200)

    # -- 7. assessment: 苏店镇 loses 6 points on 依申请公开, 1 on 主动公开, nothing else (§5)
    def deducted() -> dict[str, Any] | None:
        body = card(suite)
        found = points(body)
        return body if (found["requests"], found["proactive_disclosure"]) == (14, 24) else None

    after = suite.eventually(deducted, timeout=SLOW)
    moved = {k: v - points(before)[k] for k, v in points(after).items() if v != points(before)[k]}
    assert moved == {"requests": -6, "proactive_disclosure": -1}
    assert (before["total"], after["total"], after["passed"]) == (100, 93, True)
    (case_line,) = next(x for x in after["lines"] if x["key"] == "requests")["cases"]
    assert case_line["signal"] == "request.reply_overdue" and case_line["case"] == request_id
    (stale_line,) = next(x for x in after["lines"] if x["key"] == "proactive_disclosure")["cases"]
    assert stale_line["signal"] == "column.stale" and "finance" in stale_line["case"]
    board_after = scoreboard(suite)
    assert {s: r["total"] - board_before[s]["total"] for s, r in board_after.items()} == {
        s: (-7 if s == SUDIAN else 0) for s in board_before
    }
    changes = {c["indicator"]: c for c in changes_today(suite)}
    assert {(c["subject"], i, c["delta"]) for i, c in changes.items()} == {
        (SUDIAN, "requests", -6),
        (SUDIAN, "proactive_disclosure", -1),
    }
    change = changes["requests"]
    assert change["cause_type"] == "DeadlineMissed"
    assert change["caused_by"] == case_line["event_ids"]
    assert changes["proactive_disclosure"]["cause_type"] == "ColumnStale"
    assert changes["proactive_disclosure"]["caused_by"] == stale_line["event_ids"]

    # -- 8. audit: every stored event of every service is chained exactly once, and verifies
    records = suite.eventually(lambda: _chain_caught_up(suite), timeout=SLOW)
    ids = [r["event"]["event_id"] for r in records]
    assert len(ids) == len(set(ids)), "an event is chained twice"
    streams: dict[str, list[int]] = defaultdict(list)
    for r in records:
        streams[r["event"]["stream_id"]].append(r["event"]["version"])
    holes = {s: v for s, v in streams.items() if sorted(v) != list(range(1, len(v) + 1))}
    assert not holes, f"streams with a missing or repeated version in the chain: {holes}"
    by_id = {r["event"]["event_id"]: r for r in records}
    # The causing event of the score change is the chained DeadlineMissed of the request.
    (cause,) = change["caused_by"]
    assert by_id[cause]["event"]["type"] == "DeadlineMissed"
    assert by_id[cause]["event"]["payload"]["request_id"] == request_id
    # What each step answered is in the chain, under the service that stored it.
    answered = {
        "catalog": published["event_ids"] + [e["event_id"] for e in entered],
        "interpretation": drafted["event_ids"] + reviewed["event_ids"] + issued["event_ids"],
        "applications": [registered["event_id"]],
    }
    for service, event_ids in answered.items():
        for event_id in event_ids:
            assert by_id[event_id]["service"] == service, (service, event_id)
    # Every stream of the scenario, whole, in its order, in the chain.
    request_stream = _types(records, "request_id", request_id, "request")
    assert request_stream[0] == "RequestRegistered"
    assert {"DeadlineMissed", "RequestReplied"} <= set(request_stream)
    assert _types(records, "document_id", document_id, "document")[-2:] == [
        "DocumentPublished",
        "FilingRequired",
    ]
    assert "ObligationFulfilled" in _types(records, "document_id", document_id, "obligation")
    assert "InterpretationPublished" in _types(records, "interpretation_id", interpretation_id)
    assert len(_types(records, "case_id", case_id, "opinion-case")) == case["version"]
    for message in (first, second):
        assert _types(records, "message_id", message["message_id"], "message")[0] == (
            "MessageReceived"
        )
    with auditor(suite) as c:
        report = ok(c.get("/v1/audit/verify"))
    assert report["ok"] is True and report["broken"] is None, report
    assert report["verified"] == report["head_seq"] >= len(records)


# ---------------------------------------------------------------- helpers of the scenario
#: 苏店镇's catalogue columns (services/catalog/columns.py, the seed plan's 专栏).
SUDIAN_COLUMNS = {c.code: c.name for c in SEED_COLUMNS}


def old(code: str, name: str, age: int) -> dict[str, Any]:
    """A document of the old 专栏's column `code`, published `age` days ago (历史信息登记)."""
    return {
        "content": {
            "title": f"苏店镇{name.split('（')[0]}信息公开（{days_ago(age)}）",
            "body": f"苏店镇人民政府按照政府信息公开要求，公开{name}相关信息。",
            "attachments_text": [],
            "document_number": None,
            "issue_date": days_ago(age + 1),
            "kind": "notice",
            "column": code,
        },
        "published_on": days_ago(age),
        "source": "上党区人民政府网 苏店镇政府信息公开专栏（迁移前的原网站）",
    }


def _card_or_none(suite: SuiteHandle) -> dict[str, Any] | None:
    with assessor(suite) as c:
        r = c.get("/v1/assessment/scores", params={"subject": SUDIAN, "year": YEAR})
    return r.json() if r.status_code == 200 else None


def _case(suite: SuiteHandle, case_id: str, ready: Any) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        with opinion_officer(suite) as c:
            r = c.get(f"/v1/opinion-cases/{case_id}")
        return r.json() if r.status_code == 200 and ready(r.json()) else None

    found: dict[str, Any] = suite.eventually(probe)
    return found


def _history(
    suite: SuiteHandle, request_id: str, until: str, timeout: float = 20.0
) -> list[dict[str, Any]]:
    """The request's events from its stream (read as the handler, no applicant data)."""

    def probe() -> list[dict[str, Any]] | None:
        with request_handler(suite) as c:
            items: list[dict[str, Any]] = ok(c.get(f"/v1/requests/{request_id}/history"))["items"]
        return items if any(i["type"] == until for i in items) else None

    found: list[dict[str, Any]] = suite.eventually(probe, timeout=timeout)
    return found


def _chain_caught_up(suite: SuiteHandle) -> list[dict[str, Any]] | None:
    """The district's whole trail, once the chain holds each service's store up to its head.

    Store positions may have gaps (a rolled-back append draws one), so "caught up" is the
    highest chained position of each service equal to its store's head (GET /ready) as
    read before the export: the export itself shows applicants' data, so it appends an
    access event to the audit store (PersonalDataRead) that the chain records a moment
    later, and a head read after it would be a target that moves with every probe.
    """
    heads = {service: suite.head_position(service) for service in SERVICES}
    records = trail(suite, tenant=DISTRICT)
    chained: dict[str, int] = defaultdict(int)
    for r in records:
        chained[r["service"]] = max(chained[r["service"]], r["event"]["position"])
    for service in SERVICES:
        if chained[service] < heads[service]:
            return None
    return records


def _types(
    records: list[dict[str, Any]], key: str, value: str, stream_type: str | None = None
) -> list[str]:
    """Event types of the chained streams whose events carry payload[key] == value."""
    streams = {
        r["event"]["stream_id"]
        for r in records
        if r["event"]["payload"].get(key) == value
        and (stream_type is None or r["event"]["stream_type"] == stream_type)
    }
    assert streams, f"no chained stream with {key}={value}"
    chosen = [r for r in records if r["event"]["stream_id"] in streams]
    chosen.sort(key=lambda r: (r["event"]["stream_id"], r["event"]["version"]))
    return [r["event"]["type"] for r in chosen]
