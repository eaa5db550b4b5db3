"""The opinion case ledger (台账) through HTTP, in embedded and distributed mode.

Work-order steps as 12345 centres run them (派单, 签收, 退单, 延期, 催办/督办, 办结, 回访, 重办),
publication of the result (DOMAIN.md §4), the public Open311-style status of a citizen's own
message, and the refusals: a reply to a closed case, a case of another township.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.identity import Role
from tests.e2e.conftest import SuiteHandle

XIHUO = "shangdang/xihuo"
SUDIAN = "shangdang/sudian"
SERVICE = "sentiment"
UNIT = "shangdang/xihuo/social-affairs"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def officer(suite: SuiteHandle) -> str:
    return suite.token("xia-lu", XIHUO, Role.OPINION_OFFICER)


def unit_head(suite: SuiteHandle) -> str:
    return suite.token("unit-head", UNIT, Role.SECTION_HEAD)


def leader(suite: SuiteHandle) -> str:
    return suite.token("xihuo-leader", XIHUO, Role.LEADER_IN_CHARGE)


def open_case(suite: SuiteHandle, text: str, **extra: Any) -> dict[str, Any]:
    body = {
        "source": "hotline",
        "kind": "help",
        "external_id": f"12345-{uuid.uuid4().hex[:10]}",
        "text": text,
        "citizen": {"name": "李桂兰", "phone": "13700002222"},
    } | extra
    with suite.client(officer(suite), service=SERVICE) as c:
        r = c.post("/v1/messages", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def case_at(suite: SuiteHandle, case_id: str, version: int) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        with suite.client(officer(suite), service=SERVICE) as c:
            r = c.get(f"/v1/opinion-cases/{case_id}")
            return r.json() if r.status_code == 200 and r.json()["version"] >= version else None

    return suite.eventually(probe)


def step(
    suite: SuiteHandle, token: str, case_id: str, name: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    with suite.client(token, service=SERVICE) as c:
        r = c.post(f"/v1/opinion-cases/{case_id}/{name}", json=body or {})
    assert r.status_code == 200, r.text
    return r.json()


def test_work_order_runs_dispatch_return_accept_extend_respond_publish_follow_up_reopen(
    suite: SuiteHandle,
) -> None:
    opened = open_case(
        suite, "西火镇南村低保金连续三个月没有发放，老人生活困难，请帮忙查一下原因。"
    )
    case_id = opened["case_id"]
    case = case_at(suite, case_id, 1)
    # 12345 help: 10 working days, due at the end of the last day (local rule, configurable).
    assert "10 个工作日" in case["deadlines"][0]["rule"]
    local_due = datetime.fromisoformat(case["deadlines"][0]["due_at"]).astimezone(SHANGHAI)
    assert local_due.time() == time(23, 59, 59)

    step(suite, officer(suite), case_id, "assign", {"unit": UNIT, "officer": "xia-lu"})
    step(suite, unit_head(suite), case_id, "return", {"reason": "低保发放属民政所，请改派"})
    step(suite, officer(suite), case_id, "assign", {"unit": UNIT, "officer": "xia-lu"})
    step(suite, unit_head(suite), case_id, "accept")
    due = datetime.fromisoformat(case["response_due"])
    later = (due + timedelta(days=5)).isoformat()
    step(
        suite,
        unit_head(suite),
        case_id,
        "request-extension",
        {"reason": "需核对三个月发放记录", "requested_due": later},
    )
    step(suite, leader(suite), case_id, "decide-extension", {"approved": True})
    step(suite, officer(suite), case_id, "remind", {"level": "supervision", "note": "请按期办结"})
    step(
        suite,
        unit_head(suite),
        case_id,
        "respond",
        {"response": "经核查，系银行代发信息有误，已于本周补发三个月低保金。"},
    )
    step(suite, officer(suite), case_id, "publish", {"url": "https://www.shangdang.gov.cn/x/1"})
    step(suite, officer(suite), case_id, "follow-up", {"satisfaction": "dissatisfied"})
    step(suite, officer(suite), case_id, "reopen", {"reason": "群众反映仍未到账"})
    case = case_at(suite, case_id, 12)
    assert case["status"] == "reopened" and case["unit"] == UNIT
    assert datetime.fromisoformat(case["response_due"]) > due
    assert [s["step"] for s in case["steps"]] == [
        "立案",
        "派单",
        "退单",
        "派单",
        "签收",
        "延期申请",
        "延期审批",
        "催办/督办",
        "办结",
        "结果公开",
        "回访",
        "重办",
    ]


def test_reply_to_a_closed_case_is_refused_with_no_event(suite: SuiteHandle) -> None:
    case_id = open_case(suite, "西火镇北街下水道堵塞，污水漫到路面，请尽快疏通。")["case_id"]
    step(suite, officer(suite), case_id, "assign", {"unit": UNIT, "officer": "xia-lu"})
    step(suite, unit_head(suite), case_id, "accept")
    step(suite, unit_head(suite), case_id, "respond", {"response": "已联系环卫所于当日疏通。"})
    step(suite, officer(suite), case_id, "follow-up", {"satisfaction": "satisfied"})
    case_at(suite, case_id, 5)
    head = suite.head_position(SERVICE)
    with suite.client(unit_head(suite), service=SERVICE) as c:
        r = c.post(f"/v1/opinion-cases/{case_id}/respond", json={"response": "再次答复"})
    assert r.status_code == 409 and r.json()["rule"] == "case.closed"
    assert r.headers["content-type"].startswith("application/problem+json")
    assert suite.written_since(SERVICE, head) == []


def test_case_of_another_township_is_not_found_with_no_event__issue21(
    suite: SuiteHandle,
) -> None:
    """Outside the caller's subtree looks the same as absent: 404, not 403 (issue #21)."""
    case_id = open_case(suite, "西火镇中学门口早晚接送车辆乱停，堵塞交通。")["case_id"]
    head = suite.head_position(SERVICE)
    sudian_officer = suite.token("liu-yang", SUDIAN, Role.OPINION_OFFICER)
    with suite.client(sudian_officer, service=SERVICE) as c:
        r = c.post(
            f"/v1/opinion-cases/{case_id}/assign",
            json={"unit": "shangdang/sudian/party-office", "officer": "liu-yang"},
        )
    assert r.status_code == 404 and r.json()["rule"] == "case.not_found", r.text
    assert suite.written_since(SERVICE, head) == []


def test_citizen_sees_status_of_own_message_without_personal_data__open311(
    suite: SuiteHandle,
) -> None:
    opened = open_case(suite, "西火镇东村到镇上的公交车班次太少，希望增加早晚班次。")
    case_id = opened["case_id"]
    step(suite, officer(suite), case_id, "assign", {"unit": UNIT, "officer": "xia-lu"})
    case_at(suite, case_id, 2)
    with suite.client(service=SERVICE) as c:  # no token: the tracking code is the key
        r = c.get(f"/v1/public/requests/{opened['tracking_code']}")
        unknown = c.get("/v1/public/requests/not-a-code")
    assert r.status_code == 200, r.text
    (item,) = r.json()
    assert item["service_request_id"] == opened["message_id"]
    assert item["status"] == "open" and item["status_detail"] == "dispatched"
    assert item["agency_responsible"] and item["expected_datetime"]
    text = r.text
    assert "13700002222" not in text and "李桂兰" not in text and "xia-lu" not in text
    assert unknown.status_code == 404
