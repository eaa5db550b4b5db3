"""What the public sees of 主动公开, in both modes: published content only, feeds, Chinese
search, the gazette, privacy, updates and withdrawals, columns and annual-report section 二.

Rules: DOMAIN.md §1 (方案§8, §12, §13; 条例 Art. 26) and §2 (annual report section 二);
issue #4 "Bad input and safety": a draft through the public API, a withdrawn document in
a feed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import httpx

from tests.e2e.conftest import SuiteHandle
from tests.e2e.factories import today
from tests.e2e.test_catalog_workflow import Desk, content, refused
from tests.e2e.test_portal import check_page, click_link, go, phone, portal
from tests.e2e.test_workbench import browser as browser  # the Chromium fixture

ATOM = "{http://www.w3.org/2005/Atom}"
YINCHENG = "shangdang/yincheng"


def public(suite: SuiteHandle, path: str, **params: Any) -> Any:
    with suite.client(service="catalog") as c:  # no token: the public API
        return c.get("/v1/public/catalog" + path, params=params)


def visible(suite: SuiteHandle, document_id: str) -> bool:
    return bool(public(suite, f"/documents/{document_id}").status_code == 200)


def test_public_api_serves_published_documents_and_never_drafts__s13(suite: SuiteHandle) -> None:
    desk = Desk(suite)
    draft = desk.draft(title="苏店镇关于征求集体林权流转办法意见的通知（征求意见稿）")
    document_id, published = desk.published()
    suite.eventually(lambda: visible(suite, document_id))
    doc = public(suite, f"/documents/{document_id}").json()
    assert (
        doc["body"].startswith("各村（社区）") and doc["content_hash"] == published["content_hash"]
    )
    assert doc["interpretations"] == []  # none published yet (test_interpretation_api.py)
    before = suite.head_position("catalog")
    refused(suite, public(suite, f"/documents/{draft}"), 404, "public.not_published", before)
    listed = public(suite, "/documents", township="shangdang/sudian").json()["items"]
    assert document_id in {i["document_id"] for i in listed}
    assert draft not in {i["document_id"] for i in listed}


def test_feeds_and_search_carry_published_documents_and_drop_withdrawn_ones__s13(
    suite: SuiteHandle,
) -> None:
    desk = Desk(suite)
    document_id, _ = desk.published(
        title="苏店镇2026年秸秆综合利用补贴实施细则",
        body="对实施秸秆还田的农户，按每亩二十元标准给予补贴，资金由镇财政所统一发放。",
        kind="policy",
        column="livelihood",
    )
    suite.eventually(lambda: visible(suite, document_id))
    feed = public(suite, "/feed.json", township="shangdang/sudian")
    assert feed.headers["content-type"].startswith("application/feed+json")
    assert f"urn:uuid:{document_id}" in {i["id"] for i in feed.json()["items"]}
    # The organ by its name, not its org code; links that work wherever the feed is read.
    assert feed.json()["title"] == "政府信息主动公开 · 苏店镇"
    assert all(i["url"].startswith("http") for i in feed.json()["items"])
    # One column's feed (issue #18): the column's name in the title, its documents only.
    livelihood = public(suite, "/feed.json", township="shangdang/sudian", column="livelihood")
    assert livelihood.json()["title"] == (
        "政府信息主动公开（民生（教育、医疗、就业、生态环境、水电气暖）） · 苏店镇"
    )
    assert f"urn:uuid:{document_id}" in {i["id"] for i in livelihood.json()["items"]}
    finance = public(suite, "/feed.json", township="shangdang/sudian", column="finance")
    assert f"urn:uuid:{document_id}" not in {i["id"] for i in finance.json()["items"]}
    atom = public(suite, "/feed.atom", township="shangdang/sudian")
    ids = {e.findtext(f"{ATOM}id") for e in ET.fromstring(atom.content).iter(f"{ATOM}entry")}
    assert f"urn:uuid:{document_id}" in ids
    # Chinese full text: words inside the body, without spaces, found by their bigrams.
    hits = public(suite, "/search", q="秸秆还田").json()["items"]
    assert [h["document_id"] for h in hits] == [document_id]
    assert "秸秆还田" in hits[0]["snippet"]
    assert public(suite, "/search", q="秸秆焚烧").json()["items"] == []
    r = desk.post(desk.final, desk.doc(document_id, "/withdraw"), {"reason": "补贴标准有误，撤稿"})
    assert r.status_code == 200, r.text
    suite.eventually(lambda: not visible(suite, document_id))
    before = suite.head_position("catalog")
    r = public(suite, f"/documents/{document_id}")
    refused(suite, r, 404, "public.not_published", before)
    assert f"urn:uuid:{document_id}" not in {
        i["id"] for i in public(suite, "/feed.json").json()["items"]
    }
    assert "秸秆" not in public(suite, "/feed.atom").text
    assert public(suite, "/search", q="秸秆还田").json()["items"] == []
    state = desk.get(desk.drafter, desk.doc(document_id)).json()
    assert state["status"] == "withdrawn" and set(state["channels"].values()) == {"removed"}


def test_personal_data_blocks_publication_until_redacted_and_each_step_is_an_event__s8(
    suite: SuiteHandle,
) -> None:
    desk = Desk(suite)
    body = (
        "经村委会评议、镇政府审核，以下农户符合2026年危房改造补助条件：\n"
        "张建国，身份证号140421196805121232，开户银行卡号6222021203001234565，"
        "联系电话13934561234。"
    )
    r = desk.post(desk.drafter, "/v1/catalog/documents", {"content": _content(body)})
    assert r.status_code == 201, r.text
    document_id = r.json()["document_id"]
    kinds = {f["kind"] for f in r.json()["privacy_findings"]}
    assert kinds == {"resident_id", "bank_card", "mobile"}
    assert all("140421196805121232" not in f["masked"] for f in r.json()["privacy_findings"])
    desk.decide_attribute(document_id)
    desk.three_reviews(document_id)
    before = suite.head_position("catalog")
    refused(suite, desk.publish(document_id), 409, "publish.privacy_unresolved", before)
    r = desk.post(desk.drafter, desk.doc(document_id, "/privacy/redaction"), {})
    assert r.status_code == 200, r.text
    assert r.json()["privacy_findings"] == [] and r.json()["revision"] == 2
    desk.three_reviews(document_id)
    assert desk.publish(document_id).status_code == 200
    suite.eventually(lambda: visible(suite, document_id))
    text = public(suite, f"/documents/{document_id}").json()["body"]
    assert "140421196805121232" not in text and "张建国" in text


def _content(body: str) -> dict[str, Any]:
    return content(
        title="苏店镇2026年农村危房改造补助对象公示", body=body, kind="notice", column="livelihood"
    )


def test_reviewer_justification_releases_a_finding__s8(suite: SuiteHandle) -> None:
    desk = Desk(suite)
    body = "举报电话：13834567890（镇纪委监督专线，公开征集线索）。"
    r = desk.post(desk.drafter, "/v1/catalog/documents", {"content": _content(body)})
    document_id = r.json()["document_id"]
    (finding,) = r.json()["privacy_findings"]
    before = suite.head_position("catalog")
    r = desk.post(
        desk.drafter,
        desk.doc(document_id, "/privacy/justifications"),
        {"fingerprint": finding["fingerprint"], "justification": "监督专线须公开"},
    )
    refused(suite, r, 403, "role.missing", before)
    r = desk.post(
        desk.second,
        desk.doc(document_id, "/privacy/justifications"),
        {"fingerprint": finding["fingerprint"], "justification": "公务监督专线，依法须公开"},
    )
    assert r.status_code == 200, r.text
    desk.decide_attribute(document_id)
    desk.three_reviews(document_id)
    assert desk.publish(document_id).status_code == 200


def test_update_is_a_new_reviewed_revision_with_reason_and_diff(suite: SuiteHandle) -> None:
    desk = Desk(suite)
    document_id, first = desk.published()
    old = desk.get(desk.drafter, desk.doc(document_id)).json()["content"]
    before = suite.head_position("catalog")
    new = {**old, "body": old["body"].replace("八百元", "一千元")}
    r = desk.post(desk.drafter, desk.doc(document_id, "/revisions"), {"content": new})
    refused(suite, r, 422, "update.reason_required", before)
    r = desk.post(
        desk.drafter,
        desk.doc(document_id, "/revisions"),
        {"content": new, "reason": "根据镇党委会议决定调整保洁员补助标准"},
    )
    assert r.status_code == 200, r.text
    # Still the published revision 1 until the update passes its three reviews again.
    suite.eventually(lambda: visible(suite, document_id))
    assert public(suite, f"/documents/{document_id}").json()["revision"] == 1
    desk.three_reviews(document_id)
    update = desk.publish(document_id).json()
    assert update["revision"] == 2 and update["content_hash"] != first["content_hash"]
    suite.eventually(lambda: public(suite, f"/documents/{document_id}").json()["revision"] == 2)
    diff = desk.get(desk.drafter, desk.doc(document_id, "/diff"), **{"from": 1, "to": 2}).json()
    assert any(line.startswith("+") and "一千元" in line for line in diff["body_diff"])
    history = desk.get(desk.drafter, desk.doc(document_id, "/revisions")).json()["items"]
    assert [h["revision"] for h in history] == [1, 2]
    assert history[1]["reason"] == "根据镇党委会议决定调整保洁员补助标准"


def test_gazette_issue_compiles_published_normative_documents_with_a_verified_hash__s13(
    suite: SuiteHandle, browser: Any
) -> None:
    desk = Desk(suite)
    first, _ = desk.published()
    second, _ = desk.published(title="苏店镇村级财务管理办法", document_number="苏政发〔2026〕13号")
    news, _ = desk.published(
        title="苏店镇召开春季防火工作会议", kind="work_news", column="work_news"
    )
    before = suite.head_position("catalog")
    r = desk.post(desk.final, "/v1/catalog/gazette-issues", {"document_ids": [first, news]})
    refused(suite, r, 422, "gazette.kind_not_normative", before)
    draft = desk.draft()
    before = suite.head_position("catalog")
    r = desk.post(desk.final, "/v1/catalog/gazette-issues", {"document_ids": [draft]})
    refused(suite, r, 409, "gazette.document_not_published", before)
    r = desk.post(desk.final, "/v1/catalog/gazette-issues", {"document_ids": [first, second]})
    assert r.status_code == 201, r.text
    issue = r.json()
    assert issue["number"] == 1 and issue["title"] == f"苏店镇人民政府公报 {today().year}年第1期"
    assert len(issue["content_hash"]) == 64

    def listed() -> list[dict[str, Any]]:
        return list(public(suite, "/gazette", township="shangdang/sudian").json()["items"])

    (row,) = suite.eventually(listed)
    assert row["hash_verified"] is True and row["verified"] is True
    assert row["previous_hash"] is None and row["chain_verified"] is True
    assert {e["document_id"] for e in row["entries"]} == {first, second}
    assert {e["public_status"] for e in row["entries"]} == {"matches"}
    before = suite.head_position("catalog")
    r = desk.post(desk.final, "/v1/catalog/gazette-issues", {"document_ids": [first]})
    refused(suite, r, 409, "gazette.already_compiled", before)
    # Issue 2 chains to issue 1; withdrawing a compiled document shows in the check.
    third, _ = desk.published(
        title="苏店镇农村宅基地管理办法", document_number="苏政发〔2026〕14号"
    )
    r = desk.post(desk.final, "/v1/catalog/gazette-issues", {"document_ids": [third]})
    assert r.status_code == 201, r.text
    assert r.json()["number"] == 2 and r.json()["previous_hash"] == issue["content_hash"]
    r = desk.post(desk.final, desk.doc(second, "/withdraw"), {"reason": "文号错误，撤稿"})
    assert r.status_code == 200, r.text

    def checked() -> dict[str, Any] | None:
        rows = {i["number"]: i for i in listed()}
        statuses = {e["document_id"]: e["public_status"] for e in rows[1]["entries"]}
        return rows if len(rows) == 2 and statuses[second] == "not_public" else None

    rows = suite.eventually(checked)
    assert rows[2]["chain_verified"] is True and rows[2]["verified"] is True
    assert rows[1]["verified"] is True  # a withdrawal is not tampering
    # Subscribers follow the issues (issue #21): titles by the organ's name, absolute links.
    feed = public(suite, "/gazette/feed.json", township="shangdang/sudian").json()
    assert feed["title"] == "政府公报 · 苏店镇" and feed["feed_url"].startswith("http")
    urls = {i["id"]: i["url"] for i in feed["items"]}
    assert urls[f"urn:uuid:{issue['issue_id']}"].endswith(f"/gazette/{issue['issue_id']}")
    assert httpx.get(urls[f"urn:uuid:{issue['issue_id']}"], timeout=10).status_code == 200
    atom = ET.fromstring(public(suite, "/gazette/feed.atom", township="shangdang/sudian").content)
    assert atom.findtext(f"{ATOM}title") == "政府公报 · 苏店镇"
    titles = [e.findtext(f"{ATOM}title") for e in atom.iter(f"{ATOM}entry")]
    assert f"苏店镇人民政府公报 {today().year}年第2期" in titles
    # The citizen's side (issue #18): the document page names the issue it appeared in and
    # links to the issue's page, where the checks are in words, the hashes to repeat them.
    phone(browser)
    go(browser, portal(suite) + f"/doc/{first}")
    click_link(browser, f"苏店镇人民政府公报 {today().year}年第1期")
    text = check_page(browser, suite, "40-gazette-issue")
    assert "核验一致" in text and issue["content_hash"] in text and "本年度第一期" in text
    assert "已撤回，不再公开" in text and "与公报刊登时一致" in text
    # The organ's issues on one page, and its gazette feed linking to the issues' pages.
    go(browser, portal(suite) + "/sudian/gazette")
    text = check_page(browser, suite, "41-gazette-list")
    assert f"苏店镇人民政府公报 {today().year}年第2期" in text and "核验一致" in text
    atom = ET.fromstring(httpx.get(portal(suite) + "/sudian/gazette/feed.atom", timeout=10).content)
    assert atom.findtext(f"{ATOM}title") == "政府公报 · 苏店镇"
    hrefs = {a.get("href") for a in atom.iter(f"{ATOM}link")}
    assert portal(suite) + f"/gazette/{issue['issue_id']}" in hrefs


def test_annual_report_section_two_counts_made_repealed_and_in_force__art50(
    suite: SuiteHandle,
) -> None:
    """荫城镇 has no other documents in this module: the counts are exact."""
    desk = Desk.yincheng(suite)
    issued = today().isoformat()
    made, _ = desk.published(issue_date=issued, document_number="荫政发〔2026〕1号")
    repealed, _ = desk.published(issue_date=issued, document_number="荫政发〔2026〕2号")
    withdrawn, _ = desk.published(issue_date=issued, document_number="荫政发〔2026〕3号")
    r = desk.post(
        desk.signer,
        desk.doc(repealed, "/repeal"),
        {"repealed_on": issued, "reason": "已被新办法替代"},
    )
    assert r.status_code == 200, r.text
    r = desk.post(desk.final, desk.doc(withdrawn, "/withdraw"), {"reason": "文号错误，撤稿"})
    assert r.status_code == 200, r.text
    # An update still in review does not count: the published revision's kind and date do.
    old = desk.get(desk.drafter, desk.doc(made)).json()["content"]
    last_year = (today() - timedelta(days=400)).isoformat()
    update = {**old, "kind": "policy", "issue_date": last_year}
    r = desk.post(
        desk.drafter, desk.doc(made, "/revisions"), {"content": update, "reason": "改为政策性文件"}
    )
    assert r.status_code == 200, r.text

    def report() -> dict[str, Any] | None:
        body = desk.get(desk.final, f"/v1/catalog/annual-report/{today().year}").json()
        normative = next(row for row in body["rows"] if row["kind"] == "normative")
        return body if normative["repealed_this_year"] == 1 else None

    body = suite.eventually(report)
    assert body["tenant"] == YINCHENG
    rows = {row["kind"]: row for row in body["rows"]}
    assert rows["normative"]["made_this_year"] == 2
    assert rows["normative"]["in_force"] == 1
    assert rows["regulation"] == {
        "kind": "regulation",
        "label": "规章",
        "made_this_year": 0,
        "repealed_this_year": 0,
        "in_force": 0,
    }
    # Columns: rule_of_law has content, most seeded columns are still empty [local].
    columns = desk.get(desk.final, "/v1/catalog/columns").json()
    assert columns["township"] == YINCHENG
    assert "rule_of_law" not in columns["empty"] and "powers_list" in columns["empty"]
    r = desk.post(
        desk.final,
        "/v1/catalog/columns",
        {"code": "village_affairs", "name": "村务公开", "dynamic": True, "max_age_days": 30},
    )
    assert r.status_code == 201, r.text

    def configured() -> bool:
        items = desk.get(desk.final, "/v1/catalog/columns").json()["items"]
        return any(i["code"] == "village_affairs" and i["max_age_days"] == 30 for i in items)

    suite.eventually(configured)
    assert desk.draft(drafter="wei-na", column="village_affairs")
    # The column check records each empty column once; a second run records nothing.
    r = desk.post(desk.final, "/v1/catalog/column-checks", {})
    assert r.status_code == 200, r.text
    recorded = {(e["type"], e["column"]) for e in r.json()["recorded"]}
    assert ("ColumnEmpty", "powers_list") in recorded
    assert not any(column == "rule_of_law" for _, column in recorded)
    assert desk.post(desk.final, "/v1/catalog/column-checks", {}).json()["recorded"] == []
