"""Applications x catalog through HTTP, in embedded and distributed mode: reply type (一)
已主动公开 suggested from the catalog's publications, and the whole annual report 一–六.

Rules: 条例 Art. 36(一) (已经主动公开的，告知获取的方式、途径), Art. 50 (年度报告;
国办公开办函〔2021〕30号), DOMAIN.md §2; issue #3 "suggest reply type (一) with its link",
"Annual report". The applications service learns of publications only from the catalog's
events (its own read model, docs/decisions.md), never from the catalog's tables.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from shared.identity import Role
from tests.e2e.conftest import SuiteHandle
from tests.e2e.factories import today
from tests.e2e.test_applications_lifecycle import (
    SUDIAN,
    day,
    handler,
    office_head,
    post,
    refused,
    register,
)
from tests.e2e.test_catalog_workflow import Desk


def suggestions(suite: SuiteHandle, token: str, rid: str) -> dict[str, Any]:
    with suite.client(token) as c:
        r = c.get(f"/v1/requests/{rid}/suggestions")
    assert r.status_code == 200, r.text
    return dict(r.json())


def suggested(suite: SuiteHandle, token: str, rid: str, document_id: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        items = suggestions(suite, token, rid)["items"]
        return next((i for i in items if i["document_id"] == document_id), None)

    return dict(suite.eventually(probe))


def test_a_published_document_is_suggested_and_the_reply_links_it__art36_1(
    suite: SuiteHandle,
) -> None:
    desk = Desk(suite)
    document_id, _ = desk.published(
        title="苏店镇2026年第一季度农村低保资金发放情况公示",
        body="经村民代表评议、镇人民政府审核，现将第一季度农村最低生活保障资金发放情况予以公示。",
        attachments_text=["附件：低保资金发放明细表"],
        kind="notice",
        column="rule_of_law",
    )
    token = handler(suite)
    rid = register(
        suite, token, description="申请公开苏店镇第一季度农村低保资金的发放情况和发放明细"
    )["request_id"]

    item = suggested(suite, token, rid, document_id)
    assert item["title"] == "苏店镇2026年第一季度农村低保资金发放情况公示"
    assert item["link"] == f"/v1/public/catalog/documents/{document_id}"
    assert item["score"] >= 0.6 and {"低保", "资金", "发放"} <= set(item["title_terms"])
    assert item["explanation"].startswith("申请描述的") and "见于标题" in item["explanation"]
    # The link really is where the public reads the document.
    with suite.client(service="catalog") as c:
        assert c.get(item["link"]).status_code == 200
    # Another township's staff cannot see the request, nor its suggestions.
    other = suite.token("xu-li", "shangdang/handian", Role.REQUEST_HANDLER)
    with suite.client(other) as c:
        r = c.get(f"/v1/requests/{rid}/suggestions")
    assert (r.status_code, r.json()["rule"]) == (404, "request.not_found")

    with suite.client(token) as c:
        post(c, rid, "assign", {"handler": "wang-tietong"})
        replied = post(c, rid, "reply", {**item["reply"], "replied_on": day()})
        assert replied["reply_type"] == "already_public"
        assert replied["public_document_id"] == document_id and replied["report_row"] == "三(一)"
        assert replied["location"].endswith(item["link"])
        history = c.get(f"/v1/requests/{rid}/history").json()["items"]
    assert any(
        e["type"] == "RequestReplied" and e["payload"]["public_document_id"] == document_id
        for e in history
    ), history


def test_a_withdrawn_publication_is_no_longer_suggested_nor_accepted_in_a_reply__art36_1(
    suite: SuiteHandle,
) -> None:
    desk = Desk(suite)
    document_id, _ = desk.published(
        title="苏店镇农村危房改造补助对象名单公示",
        body="根据农村危房改造政策，经农户申请、村级评议、镇级审核，现将补助对象名单公示如下。",
        kind="notice",
    )
    token = handler(suite)
    rid = register(suite, token, description="请提供苏店镇农村危房改造补助对象名单")["request_id"]
    suggested(suite, token, rid, document_id)
    with suite.client(token) as c:
        post(c, rid, "assign", {"handler": "wang-tietong"})
    wrong_type = {"reply_type": "disclosed", "public_document_id": document_id, "replied_on": day()}
    p = refused(suite, token, lambda c: c.post(f"/v1/requests/{rid}/reply", json=wrong_type))
    assert (p["_status"], p["rule"], p["field"]) == (
        422,
        "reply.document_not_applicable",
        "public_document_id",
    )

    r = desk.post(desk.final, desk.doc(document_id, "/withdraw"), {"reason": "名单有误，撤稿"})
    assert r.status_code == 200, r.text

    def gone() -> bool:
        items = suggestions(suite, token, rid)["items"]
        return all(i["document_id"] != document_id for i in items)

    suite.eventually(gone)
    stale = {"reply_type": "already_public", "public_document_id": document_id, "replied_on": day()}
    p = refused(suite, token, lambda c: c.post(f"/v1/requests/{rid}/reply", json=stale))
    assert (p["_status"], p["rule"], p["field"]) == (
        422,
        "reply.document_not_public",
        "public_document_id",
    )


def catalog_section_two(desk: Desk, tenant: str) -> list[dict[str, Any]]:
    r = desk.get(desk.final, f"/v1/catalog/annual-report/{today().year}", tenant=tenant)
    assert r.status_code == 200, r.text
    return list(r.json()["rows"])


def test_the_whole_annual_report_has_parts_one_to_six_and_section_two_from_catalog_events__art50(
    suite: SuiteHandle,
) -> None:
    desk = Desk(suite)
    year = today().year
    desk.published(issue_date=today().isoformat(), document_number=f"苏政发〔{year}〕31号")
    head = office_head(suite)
    text = {"section": "problems", "text": "部分栏目更新不及时；下一步建立栏目更新提醒机制。"}
    p = refused(
        suite,
        handler(suite),
        lambda c: c.post(f"/v1/annual-reports/{year}/texts", json=text),
    )
    assert (p["_status"], p["rule"]) == (403, "role.missing")
    p = refused(suite, head, lambda c: c.post(f"/v1/annual-reports/{year + 1}/texts", json=text))
    assert (p["_status"], p["rule"], p["field"]) == (422, "date.in_future", "year")
    with suite.client(head) as c:
        r = c.post(f"/v1/annual-reports/{year}/texts", json=text)
        assert r.status_code == 201, r.text
        assert r.json()["tenant"] == SUDIAN

    def agreed() -> dict[str, Any] | None:
        with suite.client(head) as c:
            body = dict(c.get(f"/v1/annual-reports/{year}").json())
        two = next(s for s in body["sections"] if s["key"] == "二")
        ours = two["documents"]
        made = next(d for d in ours if d["kind"] == "normative")["made_this_year"]
        return body if made >= 1 and ours == catalog_section_two(desk, SUDIAN) else None

    body = suite.eventually(agreed)
    assert body["tenant"] == SUDIAN and body["title"] == f"苏店镇{year}年政府信息公开工作年度报告"
    assert [s["key"] for s in body["sections"]] == ["一", "二", "三", "四", "五", "六"]
    sections = {s["key"]: s for s in body["sections"]}
    assert sections["五"]["text"] == text["text"]
    assert "本年新收政府信息公开申请" in sections["一"]["generated"]
    assert all(body["check"].values())
    with suite.client(head) as c:
        alone = c.get("/v1/requests/annual-report", params={"year": year}).json()
        table = c.get(f"/v1/annual-reports/{year}", params={"format": "csv"})
        page = c.get(f"/v1/annual-reports/{year}", params={"format": "html"})
    # Section 三 is the one the applications report has always given (same log, same fold).
    assert [r["label"] for r in sections["三"]["rows"]] == [r["label"] for r in alone["rows"]]
    assert sections["四"]["groups"][0]["label"] == alone["section_four"]["groups"][0]["label"]
    assert table.headers["content-type"].startswith("text/csv")
    firsts = [row[0] for row in csv.reader(io.StringIO(table.text)) if row]
    assert "二、主动公开政府信息情况" in firsts and "五、存在的主要问题及改进情况" in firsts
    assert page.headers["content-type"].startswith("text/html") and "<h2>六、" in page.text

    district = suite.token("zhang-hua", "shangdang", Role.OPENNESS_OFFICE_HEAD)
    with suite.client(district) as c:
        whole = c.get(f"/v1/annual-reports/{year}").json()
    assert whole["tenant"] == "shangdang" and all(whole["check"].values())
    two = next(s for s in whole["sections"] if s["key"] == "二")
    made = {d["kind"]: d["made_this_year"] for d in two["documents"]}
    assert made["normative"] >= 1
    # Outside its scope a township cannot read another's report.
    with suite.client(handler(suite)) as c:
        r = c.get(f"/v1/annual-reports/{year}", params={"tenant": "shangdang/handian"})
    assert r.status_code == 403, r.text
