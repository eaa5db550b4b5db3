"""行政执法公示 through HTTP in both modes (embedded, and Kafka + PostgreSQL processes).

Issue #23: import → 法制审核 → decision → 公示 within 7 working days (国办发〔2018〕118号
二(二)) → the public list → section 二 of the annual report (applications, from these
events) and the assessment score (a late publication deducts on 主动公开). Bad input is
refused with the field and the rule named and writes nothing (行政处罚法第五十八条 for a
major decision without review); the privacy guard holds unmasked personal data.

A district of its own (module-scoped suite): the assertions are exact counts and scores.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from services.catalog.privacy import resident_id_check_digit
from shared.identity import Role
from tests.e2e.conftest import GONGKAI, INITIAL_PASSWORD, SuiteHandle, run_suite
from tests.e2e.factories import today
from tests.e2e.test_portal import check_page, click_link, go, phone, press
from tests.e2e.test_workbench import browser as browser  # the Chromium fixture
from tests.e2e.test_workbench import check_page as wb_check_page
from tests.e2e.test_workbench import (
    open_account,
    set_value,
    submit,
    text_of,
    type_into,
    wait,
    workbench_url,
)

SUDIAN = "shangdang/sudian"
TEAM = "shangdang/sudian/law-enforcement"
DISTRICT = "shangdang"
ID_NUMBER = "14040219880808001" + resident_id_check_digit("14040219880808001")
HASH = "5e" * 32
DEMO = Path(__file__).parents[2] / "deploy" / "demo" / "assessment-scheme-2026.yaml"


@pytest.fixture(scope="module", params=["embedded", "distributed"])
def suite(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SuiteHandle]:
    yield from run_suite(
        request,
        tmp_path_factory,
        services=(
            "assessment",
            "audit",
            "enforcement",
            "applications",
            "catalog",
            "workbench",
            "portal",
        ),
    )


def system(suite: SuiteHandle) -> httpx.Client:
    """The 综合行政执法队's enforcement system (a service account)."""
    token = suite.token("sudian-zhifa", TEAM, Role.SERVICE)
    return suite.client(token, service="enforcement")


def office(suite: SuiteHandle) -> httpx.Client:
    token = suite.token("guo-xinxin", SUDIAN, Role.OPENNESS_OFFICE_HEAD)
    return suite.client(token, service="enforcement")


def working_days_ago(n: int) -> date:
    """A weekday n working days back (weekends skipped; holidays make it later, not earlier
    than needed for the assertions below)."""
    day = today()
    while n:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def import_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=sorted({k for r in rows for k in r}))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def penalty(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "penalty",
        "reference": "苏执罚〔2026〕88号",
        "title": "擅自占用道路堆放物料案",
        "facts": "当事人赵六在苏店村主干道堆放建筑材料，影响通行。",
        "legal_basis": ["《城市道路管理条例》第二十七条", "《城市道路管理条例》第四十二条"],
        "party": {"kind": "person", "name": "赵六", "id_number": ID_NUMBER},
        "amount_yuan": "1000",
        "decided_on": working_days_ago(1).isoformat(),
        "major": True,
        "records": [
            {"kind": "document", "identifier": "处罚决定书 88号", "sha256": HASH},
            {"kind": "audio_video", "identifier": "执法记录仪 88-1", "sha256": HASH},
        ],
        "source": "综合执法平台",
    }
    return body | changes


def test_import_review_decide_publish_report_and_score(suite: SuiteHandle) -> None:
    assessor = suite.token("li-qiang", DISTRICT, Role.DISTRICT_ASSESSOR)
    scheme = yaml.safe_load(DEMO.read_text(encoding="utf-8")) | {"year": today().year}
    with suite.client(assessor, service="assessment") as c:
        r = c.post("/v1/assessment/schemes", json=scheme)
    assert r.status_code in (200, 201), r.text

    overdue_on = working_days_ago(15)  # well past the 7 working days
    fee_on = working_days_ago(2)
    rows = [
        {  # a licence decided 15 working days ago, never published: overdue
            "kind": "licensing",
            "action": "granted",
            "reference": "苏许〔2026〕21号",
            "title": "临时占用道路许可",
            "facts": "准予临时占用苏店村道路10平方米，期限30日。",
            "legal_basis": "《城市道路管理条例》第三十一条",
            "party_kind": "organisation",
            "party_name": "苏店镇兴旺建材店",
            "party_id_number": "92140404MA0K8888XY",
            "decided_on": overdue_on.isoformat(),
        },
        {  # a fee: counted in 万元, not published
            "kind": "fee",
            "reference": "苏收〔2026〕55号",
            "title": "城市道路占用费",
            "legal_basis": "《城市道路管理条例》第三十七条",
            "amount_yuan": "2500.00",
            "decided_on": fee_on.isoformat(),
        },
        {  # the major penalty before its review: refused, line 4
            "kind": "penalty",
            "reference": "苏执罚〔2026〕88号",
            "title": "擅自占用道路堆放物料案",
            "legal_basis": "《城市道路管理条例》第二十七条",
            "party_kind": "person",
            "party_name": "赵六",
            "amount_yuan": "1000",
            "decided_on": working_days_ago(1).isoformat(),
            "major": "true",
        },
        {  # a penalty without party: refused, line 5
            "kind": "penalty",
            "reference": "苏执罚〔2026〕89号",
            "title": "无照经营案",
            "legal_basis": "《无证无照经营查处办法》第十三条",
            "amount_yuan": "500",
            "decided_on": working_days_ago(1).isoformat(),
        },
    ]
    body = import_csv(rows)
    head = suite.head_position("enforcement")
    with system(suite) as c:
        r = c.post(
            "/v1/enforcement/decisions/import",
            content=body,
            headers={"Content-Type": "text/csv"},
        )
        again = c.post(
            "/v1/enforcement/decisions/import",
            content=body,
            headers={"Content-Type": "text/csv"},
        )
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["rows"], report["imported"], report["duplicates"]) == (4, 2, 0)
    assert {(e["line"], e["field"], e["rule"]) for e in report["errors"]} == {
        (4, "major", "enforcement.legal_review_missing"),
        (5, "party", "enforcement.party_missing"),
    }
    assert (again.json()["imported"], again.json()["duplicates"]) == (0, 2)
    # Two decisions; the scheduler may already have flagged the licence overdue (a third
    # event); the refused rows and the second import wrote nothing.
    assert suite.head_position("enforcement") in (head + 2, head + 3)

    def ledger() -> Any:
        with system(suite) as c:
            items = c.get("/v1/enforcement/decisions", params={"tenant": TEAM}).json()["items"]
        return items if len(items) == 2 else None

    assert {i["kind"] for i in suite.eventually(ledger)} == {"licensing", "fee"}

    # 法制审核, then the decision from the enforcement system's API.
    with system(suite) as c:
        review = c.post(
            "/v1/enforcement/reviews",
            json={
                "unit": TEAM,
                "kind": "penalty",
                "reference": "苏执罚〔2026〕88号",
                "reviewer": "苏店司法所 王律",
                "opinion": "事实清楚，证据确凿，适用依据正确，程序合法，同意。",
                "approved": True,
                "reviewed_on": working_days_ago(2).isoformat(),
            },
        )
        assert review.status_code == 201, review.text
        decided = c.post("/v1/enforcement/decisions", json=penalty())
        resent = c.post("/v1/enforcement/decisions", json=penalty())
    assert decided.status_code == 201, decided.text
    assert resent.status_code == 200 and resent.json()["duplicate"] is True
    decision_id = decided.json()["decision_id"]
    assert decision_id == review.json()["decision_id"]

    # 公示 by the openness office: on time, masked.
    with office(suite) as c:
        published = c.post(f"/v1/enforcement/decisions/{decision_id}/publish", json={})
    assert published.status_code == 200, published.text
    assert published.json()["late"] is False

    def listed() -> Any:
        with suite.client(service="enforcement") as c:
            page = c.get(
                "/v1/public/enforcement/decisions", params={"township": SUDIAN, "q": "堆放物料"}
            ).json()
        return page["items"]

    (item,) = suite.eventually(listed)
    assert item["decision_id"] == decision_id and item["kind_label"] == "行政处罚"
    assert "赵六" not in item["text"] and ID_NUMBER not in item["text"]
    assert item["party"].startswith("赵*（身份证号 1404")

    # The portal lists it on the township's 行政执法公示 page, with search (no JavaScript).
    with httpx.Client(base_url=suite.url_for("portal"), timeout=30) as c:
        page = c.get("/gk/sudian/enforcement", params={"q": "堆放物料"})
        other = c.get("/gk/handian/enforcement", params={"q": "堆放物料"})
    assert page.status_code == 200, page.text
    assert "擅自占用道路堆放物料案" in page.text and "赵*" in page.text
    assert "赵六" not in page.text and ID_NUMBER not in page.text
    assert "擅自占用道路堆放物料案" not in other.text

    # The auditor sees the 全过程记录 of the decision (identifiers and hashes).
    auditor = suite.token("zhao-huiling", SUDIAN, Role.AUDITOR)
    with suite.client(auditor, service="enforcement") as c:
        detail = c.get(f"/v1/enforcement/decisions/{decision_id}")
    assert detail.status_code == 200, detail.text
    assert [x["sha256"] for x in detail.json()["records"]] == [HASH, HASH]

    # ... and the hashes are in the audit chain with the event that carried them.
    def chained() -> Any:
        with suite.client(auditor, service="audit") as c:
            r = c.get("/v1/audit/trail", params={"stream": f"enforcement-{decision_id}"})
        assert r.status_code == 200, r.text
        found = [json.loads(line) for line in r.text.splitlines() if line]
        return [x for x in found if x["event"]["type"] == "EnforcementDecisionRecorded"]

    (link,) = suite.eventually(chained, timeout=60)
    assert link["service"] == "enforcement"
    assert [x["sha256"] for x in link["event"]["payload"]["records"]] == [HASH, HASH]

    # Section 二 of the annual report: per township and for the district.
    expected: dict[int, dict[str, Any]] = {}
    for kind, on in (("licensing", overdue_on), ("fee", fee_on), ("penalty", working_days_ago(1))):
        counts = expected.setdefault(
            on.year, {"licensing": 0, "penalty": 0, "enforcement": 0, "fees": 0.0}
        )
        if kind == "fee":
            counts["fees"] = 0.25
        else:
            counts[kind] += 1
    reader = suite.token("li-qiang", DISTRICT, Role.DISTRICT_ASSESSOR)
    for year, values in expected.items():
        for tenant in (SUDIAN, DISTRICT):

            def section_two(year: int = year, tenant: str = tenant, values: Any = values) -> Any:
                with suite.client(reader) as c:
                    r = c.get(f"/v1/annual-reports/{year}", params={"tenant": tenant})
                assert r.status_code == 200, r.text
                two = next(s for s in r.json()["sections"] if s["key"] == "二")
                found = {row["key"]: row["value"] for row in two["other_rows"]}
                return found if found == values else None

            suite.eventually(section_two, timeout=30)

    # The licence was never published: the scheduler flags it; 苏店镇 loses 1 point.
    def deducted() -> Any:
        with suite.client(assessor, service="assessment") as c:
            r = c.get("/v1/assessment/scores", params={"subject": SUDIAN, "year": today().year})
        card = r.json()
        line = next(x for x in card["lines"] if x["key"] == "proactive_disclosure")
        cases = [x for x in line.get("cases", []) if x["signal"] == "enforcement.publication_late"]
        return (line, cases) if cases else None

    line, cases = suite.eventually(deducted, timeout=60)
    assert line["points"] == 24 and len(cases) == 1


def test_bad_input_is_refused_with_field_and_rule_and_writes_nothing(suite: SuiteHandle) -> None:
    head = suite.head_position("enforcement")
    future = (today() + timedelta(days=3)).isoformat()
    cases = [
        (
            penalty(reference="x-1", legal_basis=[]),
            "legal_basis",
            "enforcement.legal_basis_missing",
        ),
        (penalty(reference="x-2", amount_yuan=None), "amount_yuan", "enforcement.amount_missing"),
        (penalty(reference="x-3", party=None), "party", "enforcement.party_missing"),
        (penalty(reference="x-4"), "major", "enforcement.legal_review_missing"),
        (
            penalty(reference="x-5", decided_on=future),
            "decided_on",
            "enforcement.decided_in_future",
        ),
        (
            penalty(reference="x-6", decided_on="2012-01-01"),
            "decided_on",
            "enforcement.decided_too_long_ago",
        ),
    ]
    with system(suite) as c:
        for body, field, rule in cases:
            r = c.post("/v1/enforcement/decisions", json=body)
            assert r.status_code == 422, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            problem = r.json()
            assert (problem["field"], problem["rule"]) == (field, rule)
            assert problem["message_zh"] and problem["message_en"]
    assert suite.head_position("enforcement") == head

    # The privacy guard holds a text with a phone number; nothing is published.
    with system(suite) as c:
        body = penalty(reference="x-7", major=False, facts="举报人电话13912345678。")
        decided = c.post("/v1/enforcement/decisions", json=body)
    assert decided.status_code == 201, decided.text
    with office(suite) as c:
        held = c.post(f"/v1/enforcement/decisions/{decided.json()['decision_id']}/publish", json={})
    assert held.status_code == 422 and held.json()["rule"] == "enforcement.personal_data_unmasked"
    assert "13912345678" not in held.text
    assert suite.head_position("enforcement") == head + 1


def test_the_portal_page_works_on_a_phone_without_personal_data(
    suite: SuiteHandle, browser: Any
) -> None:
    """The 行政执法公示 page of 苏店镇 in a real browser at 320 px: axe-core without serious
    or critical violations, no sideways scrolling, the privacy guard finds nothing
    (check_page of the portal's own browser test); the decision published above is there."""
    from selenium.webdriver.common.by import By

    phone(browser)
    go(browser, suite.url_for("portal") + "/gk/sudian")
    text = check_page(browser, suite, "20-sudian-home-enforcement")
    assert "行政执法公示" in text
    click_link(browser, "执法决定公示")
    browser.find_element(By.ID, "eq").send_keys("堆放物料")
    press(browser, ".searchbox button")
    text = check_page(browser, suite, "21-enforcement-search")
    assert "擅自占用道路堆放物料案" in text and "赵*" in text and "赵六" not in text


def test_the_cli_imports_the_demo_decisions_with_progress_and_again_as_duplicates(
    suite: SuiteHandle,
) -> None:
    """`gongkai enforcement import FILE`: validated locally, sent in chunks through the API
    with a progress bar, a report per line; the same file again writes nothing (last in
    this module: the demo decisions are older than 7 working days and move the scores)."""
    demo = Path(__file__).parents[2] / "deploy" / "demo" / "enforcement-decisions.jsonl"
    token = suite.token("district-zhifa", DISTRICT, Role.SERVICE)
    command = [GONGKAI, "enforcement", "import", str(demo), "--chunk", "2"]
    command += ["--url", suite.url_for("enforcement"), "--token", token]
    first = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "rows 5: imported 5, duplicates 0, reviews 1, errors 0" in first.stdout
    assert "5/5" in first.stderr
    head = suite.head_position("enforcement")
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "imported 0, duplicates 5, reviews 0, errors 0" in again.stdout
    assert "示例甲" not in first.stdout + again.stdout  # no row content is printed
    assert suite.head_position("enforcement") - head <= 3  # only the scheduler's notices


# -- the workbench's 行政执法公示 pages (Chromium, zh-CN, axe; screenshots under
# var/test-output/workbench/<mode>/) ------------------------------------------------------


#: The office's own account (not a shared test account: changing a shared one's password
#: would end other modules' cached tokens).
OFFICE = "guo-xx"
OFFICE_PASSWORD = "Zhifa-Gongshi-2026"


def sign_in_as_office(driver: Any, suite: SuiteHandle) -> None:
    """郭鑫鑫 (分管领导, 公开办负责人) signs in with her password, after her first change."""
    from selenium.webdriver.common.by import By

    roles = (Role.OPENNESS_OFFICE_HEAD, Role.LEADER_IN_CHARGE)
    open_account(suite, OFFICE, "郭鑫鑫", SUDIAN, *roles)
    with httpx.Client(base_url=suite.url_for("accounts"), timeout=30) as c:
        body = {"username": OFFICE, "password": INITIAL_PASSWORD, "new_password": OFFICE_PASSWORD}
        changed = c.post("/v1/auth/password/change", json=body)
        assert changed.status_code == 200, changed.text
    driver.get(workbench_url(suite))
    wait(driver, lambda d: d.find_elements(By.ID, "username"))
    driver.find_element(By.ID, "username").send_keys(OFFICE)
    driver.find_element(By.ID, "password").send_keys(OFFICE_PASSWORD)
    driver.find_element(By.ID, "sign-in").click()
    wait(driver, lambda d: "待办工作" in d.title)


def test_the_office_publishes_a_decision_and_records_a_review__s10(
    suite: SuiteHandle, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    reference = f"苏执罚〔2026〕{suite.mode[:1]}1号"
    with system(suite) as c:
        r = c.post(
            "/v1/enforcement/decisions",
            json=penalty(
                reference=reference, major=False, decided_on=working_days_ago(2).isoformat()
            ),
        )
        assert r.status_code == 201, r.text
    decision_id = r.json()["decision_id"]
    sign_in_as_office(driver, suite)
    driver.find_element(By.LINK_TEXT, "执法决定公示").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-decision="{decision_id}"]'))
    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-decision="{decision_id}"]').text
    assert reference in row and "行政处罚" in row and "前" in row  # the 公示 limit, in words
    wb_check_page(driver, suite, "40-enforcement-list")
    driver.find_element(By.LINK_TEXT, reference).click()
    wait(driver, lambda d: d.find_elements(By.ID, "act-publish"))
    page = text_of(driver)
    assert "全过程记录" in page and "执法记录仪 88-1" in page and "已作出决定，待公示" in page
    assert "赵六" not in page  # staff see the masked party only once it is published
    wb_check_page(driver, suite, "41-enforcement-decision")
    driver.find_element(By.ID, "act-publish").click()
    wait(driver, lambda d: d.find_elements(By.ID, "submit"))
    assert "7个工作日内公开" in text_of(driver)
    wb_check_page(driver, suite, "42-enforcement-publish")
    type_into(
        driver, "f-summary", "当事人赵*在苏店村主干道堆放建筑材料影响通行，依法处以罚款1000元。"
    )
    submit(driver)
    wait(driver, lambda d: d.find_elements(By.ID, "done"))
    assert "公示中" in driver.find_element(By.ID, "status").text
    wb_check_page(driver, suite, "43-enforcement-published")
    assert "赵*" in text_of(driver)

    # 法制审核 of a major decision to come: a missing field is named in Chinese, nothing
    # is written; then the review is recorded.
    head = suite.head_position("enforcement")
    driver.get(workbench_url(suite) + "/enforcement/reviews/new")
    wait(driver, lambda d: d.find_elements(By.ID, "submit"))
    assert "行政处罚法第五十八条" in text_of(driver)
    submit(driver)
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".field-error"))
    assert "文号" in text_of(driver)
    assert suite.head_position("enforcement") == head
    wb_check_page(driver, suite, "44-enforcement-review-refused")
    set_value(driver, "f-kind", "penalty")
    type_into(driver, "f-reference", f"苏执罚〔2026〕{suite.mode[:1]}2号")
    type_into(driver, "f-reviewer", "苏店镇司法所 王律")
    type_into(driver, "f-opinion", "事实清楚，证据确凿，适用依据正确，程序合法，同意作出处罚决定。")
    submit(driver)
    wait(driver, lambda d: d.find_elements(By.ID, "done"))  # the new page (decision 58)
    assert "已法制审核，待作出决定" in text_of(driver)
    assert not driver.find_elements(By.ID, "act-publish")  # nothing to publish before a decision
    wb_check_page(driver, suite, "45-enforcement-reviewed")
