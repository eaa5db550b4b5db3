"""信息报送 through HTTP in both modes (embedded on SQLite, distributed on PostgreSQL + Kafka):
a unit's 联络员 submits, the office accepts, the draft passes 公开属性认定 and 三审三校, is
published, and the item is counted in the month's 报送刊登情况通报 (JSON and CSV).

Rules: 方案§18 (报送制度, 联络员制度, 报送刊登情况通报制度), §8 / 条例第十五条 (the privacy
hold), issue #20 "Bad input" (field and rule named, no event written).
People follow deploy/demo/district.yaml (苏店镇).
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx

from shared.identity import Role
from tests.e2e.conftest import INITIAL_PASSWORD, SuiteHandle
from tests.e2e.factories import today
from tests.e2e.test_assessment_board import wait
from tests.e2e.test_catalog_workflow import content
from tests.e2e.test_workbench import browser as browser
from tests.e2e.test_workbench import check_page, open_account, web_sign_in

#: 郭鑫鑫's own web account for the bulletin page (a shared test account's password change
#: would end other modules' cached tokens); opened once per suite.
READER = "guo-bulletin"
READER_PASSWORD = "Baosong-Tongbao-2026"
_reader_ready: set[str] = set()


def reader_password(suite: SuiteHandle) -> str:
    if suite.mode not in _reader_ready:
        org, *roles = PEOPLE["guo-xinxin"]
        open_account(suite, READER, "郭鑫鑫", org, *(Role(r) for r in roles))
        with httpx.Client(base_url=suite.url_for("accounts"), timeout=30) as c:
            body = {
                "username": READER,
                "password": INITIAL_PASSWORD,
                "new_password": READER_PASSWORD,
            }
            changed = c.post("/v1/auth/password/change", json=body)
            assert changed.status_code == 200, changed.text
        _reader_ready.add(suite.mode)
    return READER_PASSWORD


SUDIAN = "shangdang/sudian"
FINANCE = "shangdang/sudian/finance"
PEOPLE: dict[str, tuple[str, ...]] = {
    "chen-jing": (FINANCE, Role.DRAFTER, Role.LIAISON),
    "yang-fan": ("shangdang/sudian/agri-service", Role.DRAFTER, Role.LIAISON),
    "li-na": ("shangdang/sudian/party-office", Role.DRAFTER),
    "zhang-wei": ("shangdang/sudian/party-office", Role.SECTION_HEAD),
    "guo-xinxin": (SUDIAN, Role.LEADER_IN_CHARGE, Role.OPENNESS_OFFICE_HEAD),
    "wang-xiaole": (SUDIAN, Role.LEADER_IN_CHARGE),
    "wang-tietong": (SUDIAN, Role.ATTRIBUTE_OFFICER, Role.REQUEST_HANDLER),
    "li-qiang": ("shangdang", Role.DISTRICT_ASSESSOR),
}


def as_(suite: SuiteHandle, person: str) -> httpx.Client:
    org, *roles = PEOPLE[person]
    return suite.client(suite.token(person, org, *(Role(r) for r in roles)), service="catalog")


def post(suite: SuiteHandle, person: str, path: str, body: dict[str, Any]) -> httpx.Response:
    with as_(suite, person) as c:
        return c.post(path, json=body)


def get(suite: SuiteHandle, person: str, path: str, **params: Any) -> httpx.Response:
    with as_(suite, person) as c:
        return c.get(path, params=params)


def item(**overrides: Any) -> dict[str, Any]:
    """A 通知公告 of 苏店镇财政所, for the 财政 column."""
    body = {
        "title": "苏店镇2026年耕地地力保护补贴发放情况公示",
        "body": "根据上级文件要求，耕地地力保护补贴已通过“一卡通”发放到户，欢迎群众监督。",
        "attachments_text": [],
        "document_number": None,
        "kind": "notice",
        "column": "finance",
    }
    body.update(overrides)
    return content(**body)


def month() -> str:
    return today().strftime("%Y-%m")


def finance_row(suite: SuiteHandle, person: str = "guo-xinxin") -> dict[str, Any]:
    r = get(suite, person, f"/v1/catalog/submission-bulletins/{month()}", tenant=SUDIAN)
    assert r.status_code == 200, r.text
    return next(row for row in r.json()["rows"] if row["unit"] == FINANCE)


def refused(
    suite: SuiteHandle, response: httpx.Response, status: int, rule: str, field: str, before: int
) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert (problem["rule"], problem["field"]) == (rule, field), problem
    assert problem["message_zh"] and problem["message_en"]
    assert suite.head_position("catalog") == before


def test_submitted_item_accepted_reviewed_published_is_counted_in_the_month__s18(
    suite: SuiteHandle,
) -> None:
    before = finance_row(suite)
    r = post(suite, "chen-jing", "/v1/catalog/submissions", {"content": item()})
    assert r.status_code == 201, r.text
    submission_id = r.json()["submission_id"]
    assert r.json()["held"] is False
    assert r.headers["Location"] == f"/v1/catalog/submissions/{submission_id}"

    r = post(suite, "guo-xinxin", f"/v1/catalog/submissions/{submission_id}/accept", {})
    assert r.status_code == 200, r.text
    document_id = r.json()["document_id"]
    doc = f"/v1/catalog/documents/{document_id}"
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("li-na", "/attribute/proposal", {"attribute": "proactive"}),
        ("wang-tietong", "/attribute/check", {"agrees": True}),
        ("wang-xiaole", "/attribute/decision", {"attribute": "proactive"}),
    ]
    signed = {"signed": True, "corrections": 0}
    for person, stage in (
        ("yang-fan", "first_review"),
        ("zhang-wei", "second_review"),
        ("guo-xinxin", "final_review"),
    ):
        steps.append(
            (person, "/reviews", {"stage": stage, "outcome": "pass", "proofreading": signed})
        )
    steps.append(("guo-xinxin", "/publish", {"channels": ["website"]}))
    for person, path, body in steps:
        r = post(suite, person, doc + path, body)
        assert r.status_code == 200, (path, r.text)

    def counted() -> dict[str, Any] | None:
        row = finance_row(suite)
        return row if row["published"] == before["published"] + 1 else None

    row = suite.eventually(counted)
    assert (row["submitted"], row["accepted"]) == (before["submitted"] + 1, before["accepted"] + 1)
    detail = get(suite, "chen-jing", f"/v1/catalog/submissions/{submission_id}").json()
    assert detail["status"] == "published" and detail["document_id"] == document_id
    drafted = get(suite, "guo-xinxin", doc).json()
    assert drafted["drafter"] == "chen-jing"  # the 联络员 wrote it, and reviews none of it
    listed = get(suite, "chen-jing", "/v1/catalog/submissions", tenant=FINANCE, status="published")
    assert submission_id in [i["submission_id"] for i in listed.json()["items"]]

    # The same month as CSV for Excel: UTF-8 with BOM, Chinese headers, a totals line.
    r = get(suite, "guo-xinxin", f"/v1/catalog/submission-bulletins/{month()}.csv", tenant=SUDIAN)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0] == ["乡镇", "报送单位", "报送", "采用", "刊登", "未采用"]
    assert ["苏店镇", "苏店镇财政所", *map(str, (row["submitted"], row["accepted"]))] == lines[
        next(i for i, line in enumerate(lines) if line[1] == "苏店镇财政所")
    ][:4]
    assert lines[-1][0] == "合计"

    # The district's view lists every township's units; the assessor reads it.
    r = get(suite, "li-qiang", f"/v1/catalog/submission-bulletins/{month()}", tenant="shangdang")
    assert r.status_code == 200, r.text
    townships = {row["township_name"] for row in r.json()["rows"]}
    assert {"苏店镇", "韩店镇", "荫城镇", "西火镇"} <= townships
    assert any(row["unit"] == FINANCE and row["published"] >= 1 for row in r.json()["rows"])

    # The staff page of the workbench shows the same month, and its CSV is the API's.
    password = reader_password(suite)
    with httpx.Client(base_url=suite.url_for("workbench"), timeout=30) as c:
        r = web_sign_in(c, READER, password)
        assert r.status_code == 303, r.text
        page = c.get("/workbench/submission-bulletin", params={"month": month()})
        assert page.status_code == 200, page.text
        assert "报送刊登情况通报" in page.text and "苏店镇财政所" in page.text
        assert f'data-unit="{FINANCE}"' in page.text and "未报送" in page.text
        exported = c.get("/workbench/submission-bulletin.csv", params={"month": month()})
        assert exported.status_code == 200 and exported.content.startswith(b"\xef\xbb\xbf")


def test_bad_input_and_held_items_are_refused_with_field_and_rule_and_write_nothing__s8(
    suite: SuiteHandle,
) -> None:
    before = suite.head_position("catalog")
    submissions = "/v1/catalog/submissions"
    r = post(suite, "li-na", submissions, {"content": item()})  # not a 联络员
    refused(suite, r, 403, "role.missing", "roles", before)
    r = post(suite, "guo-xinxin", submissions, {"unit": SUDIAN, "content": item()})
    assert r.status_code in (403, 422), r.text  # the office holds no 联络员 role either
    r = post(suite, "chen-jing", submissions, {"content": item(column="no_such_column")})
    refused(suite, r, 422, "submission.column_unknown", "content.column", before)
    r = post(suite, "chen-jing", submissions, {"content": item(title="")})
    refused(suite, r, 422, "schema.string_too_short", "content.title", before)
    bulletins = "/v1/catalog/submission-bulletins"
    r = post(suite, "guo-xinxin", bulletins, {"month": "2026-13"})
    refused(suite, r, 422, "schema.string_pattern_mismatch", "month", before)
    r = post(suite, "guo-xinxin", bulletins, {"month": month()})
    refused(suite, r, 409, "bulletin.month_not_over", "month", before)

    # An item with a phone number is held: accepting it is refused until it is redacted.
    phone = item(body="如有异议，请联系财政所陈会计，电话13912345678。")
    r = post(suite, "chen-jing", submissions, {"content": phone})
    assert r.status_code == 201 and r.json()["held"] is True, r.text
    assert r.json()["privacy_findings"][0]["masked"] == "139****5678"
    held = r.json()["submission_id"]
    before = suite.head_position("catalog")
    r = post(suite, "guo-xinxin", f"{submissions}/{held}/accept", {})
    refused(suite, r, 409, "submission.privacy_held", "findings", before)
    r = post(suite, "guo-xinxin", f"{submissions}/{held}/decline", {"reason": "否"})
    refused(suite, r, 422, "schema.string_too_short", "reason", before)
    r = post(suite, "yang-fan", f"{submissions}/{held}/decline", {"reason": "不予采用"})
    assert r.status_code == 404, r.text  # another unit's item does not exist for them
    r = get(suite, "yang-fan", submissions, tenant=FINANCE)  # nor does its list
    assert (r.status_code, r.json()["rule"]) == (403, "org.outside_subtree"), r.text
    r = post(suite, "guo-xinxin", f"{submissions}/{held}/privacy/redaction", {})
    assert r.status_code == 200 and r.json()["held"] is False, r.text
    r = post(suite, "guo-xinxin", f"{submissions}/{held}/decline", {"reason": "属内部工作信息"})
    assert r.status_code == 200, r.text
    detail = get(suite, "chen-jing", f"{submissions}/{held}").json()
    assert detail["status"] == "declined" and "13912345678" not in detail["content"]["body"]
    assert detail["decline_reason"] == "属内部工作信息"
    assert (today() - timedelta(days=1)).isoformat() == detail["content"]["issue_date"]


def test_the_bulletin_page_reads_well_in_the_browser__ui(suite: SuiteHandle, browser: Any) -> None:
    """The staff page in Chromium (zh-CN): axe finds nothing serious, every unit is listed,
    the month picker and the CSV link are there; screenshot saved beside the workbench's."""
    from selenium.webdriver.common.by import By

    password = reader_password(suite)
    base = suite.url_for("workbench") + "/workbench"
    browser.get(base + "/login")
    wait(browser, lambda d: d.find_elements(By.ID, "username"))
    browser.find_element(By.ID, "username").send_keys(READER)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "sign-in").click()
    wait(browser, lambda d: "待办工作" in d.title)
    browser.get(base + "/submission-bulletin")
    wait(browser, lambda d: "报送刊登情况通报" in d.title)
    check_page(browser, suite, "30-submission-bulletin")
    rows = browser.find_elements(By.CSS_SELECTOR, "tbody tr[data-unit]")
    assert len(rows) == 7  # every unit of 苏店镇 (deploy/demo/district.yaml)
    assert browser.find_element(By.ID, "month").get_attribute("value") == month()
    assert (
        browser.find_element(By.ID, "export")
        .get_attribute("href")
        .endswith(f"/workbench/submission-bulletin.csv?month={month()}")
    )
