"""The 依申请公开 lifecycle through HTTP, in embedded and distributed mode.

Rules: DOMAIN.md §2 (条例 Arts. 30–45, 国办函〔2020〕109号, 国办公开办函〔2021〕30号);
issue #3 "Lifecycle", "Clocks", "Annual report", "Bad input and safety".
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from shared.identity import Role
from tests.e2e.conftest import SuiteHandle
from tests.e2e.factories import registration, today

SUDIAN = "shangdang/sudian"
HANDIAN = "shangdang/handian"


def handler(suite: SuiteHandle, org: str = SUDIAN) -> str:
    return suite.token("wang-tietong", org, Role.REQUEST_HANDLER)


def office_head(suite: SuiteHandle) -> str:
    return suite.token("guo-xinxin", SUDIAN, Role.OPENNESS_OFFICE_HEAD, Role.LEADER_IN_CHARGE)


def day(offset: int = 0) -> str:
    return (today() + timedelta(days=offset)).isoformat()


def register(suite: SuiteHandle, token: str, **overrides: Any) -> dict[str, Any]:
    with suite.client(token) as c:
        r = c.post("/v1/requests", json=registration(**overrides))
    assert r.status_code == 201, r.text
    return dict(r.json())


def post(c: httpx.Client, rid: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = c.post(f"/v1/requests/{rid}/{path}", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def row_of(suite: SuiteHandle, token: str, rid: str, **want: Any) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        with suite.client(token) as c:
            r = c.get(f"/v1/requests/{rid}")
        if r.status_code != 200:
            return None
        body = r.json()
        return body if all(body.get(k) == v for k, v in want.items()) else None

    return dict(suite.eventually(probe))


def refused(suite: SuiteHandle, token: str, send: Any) -> dict[str, Any]:
    before = suite.head_position()
    with suite.client(token) as c:
        response = send(c)
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    problem = dict(response.json())
    problem["_status"] = response.status_code
    assert problem["rule"] and problem["message_zh"] and problem["message_en"]
    assert suite.head_position() == before, "a refused command must write no event"
    return problem


def test_whole_lifecycle_correction_consultation_extension_reply_delivery_archive__art30_45(
    suite: SuiteHandle,
) -> None:
    token = handler(suite)
    rid = register(suite, token)["request_id"]
    with suite.client(token) as c:
        post(c, rid, "assign", {"handler": "wang-tietong"})
        notice = post(
            c,
            rid,
            "correction-notice",
            {"defects": ["请写明所需信息的年份", "请提供身份证明复印件"], "notified_on": day()},
        )
        assert notice["type"] == "CorrectionRequested" and notice["correction_due"] > day()
        assert c.get(f"/v1/requests/{rid}/clock").json()["state"] == "awaiting_correction"
        corrected = post(c, rid, "correction", {"corrected_on": day()})
        assert corrected["type"] == "CorrectionReceived"
        started = post(
            c,
            rid,
            "consultations",
            {"party_kind": "agency", "party": "上党区财政局", "started_on": day()},
        )
        clock = c.get(f"/v1/requests/{rid}/clock").json()
        assert clock["state"] == "paused" and clock["clock_start"] == day()
        ended = post(
            c,
            rid,
            f"consultations/{started['consultation_id']}/end",
            {"ended_on": day(), "outcome": "consent"},
        )
        assert ended["reply_due"] == corrected["reply_due"]
    with suite.client(office_head(suite)) as c:
        extended = post(
            c,
            rid,
            "extension",
            {
                "working_days": 15,
                "reason": "涉及多个站所，需汇总核实",
                "applicant_notified_on": day(),
            },
        )
        assert (
            extended["approved_by"] == "guo-xinxin" and extended["reply_due"] > ended["reply_due"]
        )
    with suite.client(token) as c:
        post(
            c,
            rid,
            "deliveries",
            {
                "document": "extension_notice",
                "channel": "email",
                "evidence_kind": "email_record",
                "evidence_ref": "发送至申请人邮箱的记录",
                "delivered_on": day(),
            },
        )
        replied = post(
            c,
            rid,
            "reply",
            {
                "reply_type": "partial",
                "withholding_reason": "third_party_rights",
                "legal_basis": "《政府信息公开条例》第十五条、第三十七条",
                "replied_on": day(),
            },
        )
        assert replied["report_row"] == "三(二)"
        post(
            c,
            rid,
            "deliveries",
            {
                "document": "reply",
                "channel": "post",
                "evidence_kind": "postal_tracking",
                "evidence_ref": "EMS 1190012345678",
                "delivered_on": day(),
            },
        )
        archived = post(c, rid, "archive", {"archived_on": day()})
        assert archived["version"] == 11
        clock = c.get(f"/v1/requests/{rid}/clock").json()
        assert clock["state"] == "stopped" and clock["working_days_allowed"] == 35
        assert any("重新计算" in line for line in clock["explanation"])
        history = c.get(f"/v1/requests/{rid}/history").json()["items"]
        assert [h["type"] for h in history][-3:] == [
            "RequestReplied",
            "DeliveryRecorded",
            "RequestArchived",
        ]
        assert "applicant" not in history[0]["payload"]
    row = row_of(suite, token, rid, status="archived")
    assert (row["reply_type"], row["report_row"], row["extended"]) == ("partial", "三(二)", True)
    # 条例 Art. 45: nothing changes after archiving.
    p = refused(
        suite,
        token,
        lambda c: c.post(
            f"/v1/requests/{rid}/reply", json={"reply_type": "disclosed", "replied_on": day()}
        ),
    )
    assert (p["_status"], p["rule"]) == (409, "request.archived")


def test_refusals_name_the_rule_and_write_nothing__art33_art36(suite: SuiteHandle) -> None:
    token = handler(suite)
    rid = register(suite, token)["request_id"]
    p = refused(
        suite,
        token,
        lambda c: c.post(
            f"/v1/requests/{rid}/reply", json={"reply_type": "not_disclosed", "replied_on": day()}
        ),
    )
    assert (p["_status"], p["rule"], p["field"]) == (
        422,
        "reply.reason_required",
        "withholding_reason",
    )
    ext = {"working_days": 10, "reason": "需要核实", "applicant_notified_on": day()}
    p = refused(suite, token, lambda c: c.post(f"/v1/requests/{rid}/extension", json=ext))
    assert (p["_status"], p["rule"]) == (403, "role.missing")
    over = {**ext, "working_days": 21}
    p = refused(
        suite, office_head(suite), lambda c: c.post(f"/v1/requests/{rid}/extension", json=over)
    )
    assert (p["_status"], p["field"]) == (422, "working_days")
    with suite.client(office_head(suite)) as c:
        post(c, rid, "extension", ext)
    p = refused(
        suite, office_head(suite), lambda c: c.post(f"/v1/requests/{rid}/extension", json=ext)
    )
    assert (p["_status"], p["rule"]) == (409, "extension.already_granted")
    p = refused(
        suite,
        handler(suite, HANDIAN),
        lambda c: c.post(f"/v1/requests/{rid}/withdraw", json={"withdrawn_on": day()}),
    )
    assert (p["_status"], p["rule"]) == (404, "request.not_found")  # no existence leak
    p = refused(
        suite,
        token,
        lambda c: c.post(f"/v1/requests/{rid}/withdraw", json={"withdrawn_on": day(2)}),
    )
    assert (p["_status"], p["rule"], p["field"]) == (422, "date.in_future", "withdrawn_on")
    p = refused(
        suite,
        token,
        lambda c: c.post(
            f"/v1/requests/{rid}/deliveries",
            json={
                "document": "reply",
                "channel": "post",
                "evidence_kind": "postal_tracking",
                "evidence_ref": "EMS 1",
                "delivered_on": day(),
            },
        ),
    )
    assert (p["_status"], p["rule"]) == (409, "delivery.no_document")


def test_fee_notice_payment_and_the_ledger_queries__art42(suite: SuiteHandle) -> None:
    token = handler(suite)
    rid = register(suite, token, description="申请公开苏店镇2024年度全部村集体经济审计报告")[
        "request_id"
    ]
    with suite.client(token) as c:
        post(c, rid, "assign", {"handler": "wang-tietong"})
        notice = post(
            c, rid, "fee-notice", {"mode": "per_page", "pages": 120, "notified_on": day()}
        )
        assert notice["amount_yuan"] == 1100 and notice["pay_by"] > day()
    row_of(suite, token, rid, status="awaiting_payment")
    with suite.client(token) as c:
        post(c, rid, "fee-payment", {"amount_yuan": 1100, "paid_on": day()})
    row_of(suite, token, rid, status="assigned", fee_yuan=1100)
    with suite.client(token) as c:
        mine = c.get("/v1/requests", params={"queue": "mine", "q": "村集体经济审计"}).json()
        assert [i["request_id"] for i in mine["items"]] == [rid]
        assert (
            c.get("/v1/requests", params={"status": "archived", "q": "村集体经济审计"}).json()[
                "items"
            ]
            == []
        )
        export = c.get("/v1/requests/export.csv", params={"q": "村集体经济审计"})
        assert export.headers["content-type"].startswith("text/csv")
        assert "登记编号" in export.text and "村集体经济审计" in export.text
        assert "王秀英" not in export.text  # applicant identity never exported


def test_monthly_per_applicant_counter_prices_the_eleventh_request__art42(
    suite: SuiteHandle,
) -> None:
    """国办函〔2020〕109号: ≤10 requests a month free, the 11th costs 100 元 (per request)."""
    token = handler(suite)
    applicant = {
        "kind": "organization",
        "organization_kind": "commercial",
        "name": "长治市某建材有限公司",
        "id_document": "统一社会信用代码 91140400MA0K000001",
        "phone": "0355-1234567",
    }
    ids = [
        register(suite, token, applicant=applicant, description=f"申请公开建材市场检查记录第{i}批")[
            "request_id"
        ]
        for i in range(11)
    ]
    query = {
        "applicant_id_document": applicant["id_document"],
        "applicant_kind": "organization",
        "limit": 50,
    }

    def all_visible() -> bool:
        with suite.client(token) as c:
            return len(c.get("/v1/requests", params=query).json()["items"]) == 11

    suite.eventually(all_visible)
    with suite.client(token) as c:
        tenth = c.post(
            f"/v1/requests/{ids[9]}/fee-notice", json={"mode": "per_request", "notified_on": day()}
        )
        assert (tenth.status_code, tenth.json()["rule"]) == (409, "fee.nothing_due")
        eleventh = post(c, ids[10], "fee-notice", {"mode": "per_request", "notified_on": day()})
        assert (eleventh["monthly_ordinal"], eleventh["amount_yuan"]) == (11, 100)
    auditor = suite.token("liu-min", "shangdang", Role.AUDITOR)
    with suite.client(auditor) as c:
        r = c.get("/v1/requests", params=query)
    assert (r.status_code, r.json()["rule"]) == (403, "applicant.handling_roles_only")


def test_annual_report_balances_for_the_township_and_the_district__art50(
    suite: SuiteHandle,
) -> None:
    token = handler(suite)
    rid = register(suite, token)["request_id"]
    with suite.client(token) as c:
        post(c, rid, "withdraw", {"withdrawn_on": day()})
        r = c.get("/v1/requests/annual-report", params={"year": today().year})
        assert r.status_code == 200, r.text
        body = r.json()
        assert all(body["check"].values())
        rows = {row["key"]: row["values"] for row in body["rows"] if row["key"]}
        assert rows["一"]["natural_person"] >= 1 and rows["三(六)3"]["total"] >= 1
        csv_text = c.get(
            "/v1/requests/annual-report", params={"year": today().year, "format": "csv"}
        ).text
        assert csv_text.startswith("行,自然人,商业企业")
    district = suite.token("zhang-hua", "shangdang", Role.OPENNESS_OFFICE_HEAD)
    with suite.client(district) as c:
        body = c.get("/v1/requests/annual-report", params={"year": today().year}).json()
    assert body["tenant"] == "shangdang" and len(body["townships"]) >= 4
    assert all(body["check"].values())


def test_excessive_request_and_a_review_case_reach_clock_and_report__art35_art51(
    suite: SuiteHandle,
) -> None:
    token = handler(suite)
    rid = register(suite, token)["request_id"]
    with suite.client(token) as c:
        post(
            c,
            rid,
            "excessive-reasons",
            {"asked_on": day(), "note": "请说明一次申请百余项信息的理由"},
        )
    later = {
        "reply_due": day(120),
        "reason": "申请数量大，分批答复",
        "applicant_notified_on": day(),
    }
    p = refused(suite, token, lambda c: c.post(f"/v1/requests/{rid}/later-reply-date", json=later))
    assert (p["_status"], p["rule"]) == (403, "role.missing")
    with suite.client(office_head(suite)) as c:
        assert post(c, rid, "later-reply-date", later)["reply_due"] == day(120)
    with suite.client(token) as c:
        clock = c.get(f"/v1/requests/{rid}/clock").json()
        assert clock["due"] == day(120)
        assert any("第三十五条" in line for line in clock["explanation"])
        post(c, rid, "reply", {"reply_type": "excessive", "replied_on": day()})
        opened = c.post(
            f"/v1/requests/{rid}/reviews",
            json={"kind": "review", "filed_on": day(), "body": "长治市上党区人民政府"},
        )
        assert opened.status_code == 201, opened.text
        case_id = opened.json()["case_id"]
        decided = c.post(
            f"/v1/requests/{rid}/reviews/{case_id}/decision",
            json={"result": "upheld", "decided_on": day()},
        )
        assert decided.status_code == 200, decided.text
        again = c.post(
            f"/v1/requests/{rid}/reviews/{case_id}/decision",
            json={"result": "corrected", "decided_on": day()},
        )
        assert (again.status_code, again.json()["rule"]) == (409, "review_case.already_decided")
        body = c.get("/v1/requests/annual-report", params={"year": today().year}).json()
    review = next(g for g in body["section_four"]["groups"] if g["key"] == "review")
    assert review["values"]["upheld"] >= 1
    rows = {r["key"]: r["values"] for r in body["rows"] if r["key"]}
    assert rows["三(五)4"]["total"] >= 1 and all(body["check"].values())


def test_scheduler_records_deadline_missed_exactly_once__art33(suite: SuiteHandle) -> None:
    """Received 60 days ago and never answered: DeadlineMissed appears without anyone acting."""
    token = handler(suite)
    rid = register(suite, token, submitted_on=day(-60))["request_id"]
    row_of(suite, token, rid, deadline_missed=True)
    with suite.client(token) as c:
        overdue = c.get("/v1/requests", params={"due": "overdue"}).json()["items"]
        history = c.get(f"/v1/requests/{rid}/history").json()["items"]
    assert rid in [i["request_id"] for i in overdue]
    assert [h["type"] for h in history].count("DeadlineMissed") == 1
    assert "DeadlineApproaching" not in [h["type"] for h in history]
