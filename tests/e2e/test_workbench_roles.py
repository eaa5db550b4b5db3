"""The workbench for the opinion officer, the assessor and the auditor (issue #17), in a real
browser, both modes, on the session's suite with data of their own (西火镇, the year 2025):

- an opinion officer of 西火镇 takes a 12345 call from the form (a bad form first: refused,
  the field named, nothing written), sees the classification with its reasons and the clock,
  and works the case through 派单, 签收, 办结 and 回访 (a 回访 without satisfaction refused);
- the district assessor reads a township's units ranked under a 2025 scheme of its own, opens
  the breakdown of the unit with a late task (the cause in Chinese, the task by its title,
  no id on the page) and closes the period (a reversed period refused first, nothing written);
- an auditor verifies the hash chain (the verdict shown), reads a person's trail and the
  personal-data access log with the officer's read of a caller's name and phone.

Every page: axe-core (zero serious or critical), a screenshot under
var/test-output/workbench/<mode>/, no sideways scrolling at 320 px; the action links of a
case reached by keyboard.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import yaml

from shared.identity import Role
from tests.e2e.conftest import INITIAL_PASSWORD, SuiteHandle
from tests.e2e.test_assessment_board import wait
from tests.e2e.test_workbench import (
    OUTPUT,
    check_page,
    open_account,
    set_value,
    submit,
    text_of,
    type_into,
    workbench_url,
)
from tests.e2e.test_workbench import browser as browser  # the Chromium fixture

XIHUO = "shangdang/xihuo"
DISTRICT = "shangdang"
DEMO = Path(__file__).parents[2] / "deploy" / "demo" / "assessment-scheme-2026-sudian.yaml"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ready: set[tuple[str, str]] = set()


def sign_in_as(
    driver: Any, suite: SuiteHandle, sub: str, name: str, org: str, *roles: Role
) -> None:
    """A person of these tests: the account opened with an initial password, changed once."""
    from selenium.webdriver.common.by import By

    password = "Gongzuo-Juese-2026"
    if (suite.mode, sub) not in _ready:
        open_account(suite, sub, name, org, *roles)
        with httpx.Client(base_url=suite.url_for("accounts"), timeout=30) as c:
            body = {"username": sub, "password": INITIAL_PASSWORD, "new_password": password}
            changed = c.post("/v1/auth/password/change", json=body)
            assert changed.status_code == 200, changed.text
        _ready.add((suite.mode, sub))
    driver.get(workbench_url(suite) + "/login")
    wait(driver, lambda d: d.find_elements(By.ID, "username"))
    driver.find_element(By.ID, "username").send_keys(sub)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "sign-in").click()
    wait(driver, lambda d: "/workbench/login" not in d.current_url)


def narrow(driver: Any, suite: SuiteHandle, name: str) -> None:
    """At 320 px the page reads without sideways scrolling (tables scroll in their box)."""
    size = driver.get_window_size()
    driver.set_window_size(320, 900)
    try:
        driver.save_screenshot(str(OUTPUT / "workbench" / suite.mode / f"{name}-320px.png"))
        wide = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if wide > 1:
            culprit = driver.execute_script(
                "var w = document.documentElement.clientWidth, found = [];"
                "document.querySelectorAll('main *').forEach(function (e) {"
                " var r = e.getBoundingClientRect(); if (r.right > w + 1) found.push("
                " e.tagName + '#' + e.id + '.' + e.className + ':' + Math.round(r.right)); });"
                "return found.slice(0, 5);"
            )
            raise AssertionError(f"{name}: {wide} px of sideways scrolling at 320 px: {culprit}")
    finally:
        driver.set_window_size(size["width"], size["height"])


def go(driver: Any, url: str, element_id: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url)
    wait(driver, lambda d: d.find_elements(By.ID, element_id))


def step(driver: Any, suite: SuiteHandle, name: str, shot: str = "") -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, f"act-{name}").click()
    wait(driver, lambda d: d.find_elements(By.ID, "submit"))
    if shot:
        check_page(driver, suite, shot)


def done(driver: Any, words: str) -> None:
    from selenium.webdriver.common.by import By

    wait(driver, lambda d: d.find_elements(By.ID, "done"))
    assert words in driver.find_element(By.ID, "done").text


def test_an_opinion_officer_works_a_12345_call_from_intake_to_follow_up__fangan17(
    suite: SuiteHandle, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = browser
    sign_in_as(driver, suite, "xia-lu-wb", "夏露", XIHUO, Role.OPINION_OFFICER)
    go(driver, workbench_url(suite) + "/opinion/new", "f-text")
    check_page(driver, suite, "50-opinion-intake")
    assert driver.find_element(By.CSS_SELECTOR, "#f-source option:checked").text == "12345热线"

    head = suite.head_position("sentiment")
    submit(driver)
    wait(driver, lambda d: d.find_elements(By.ID, "error-summary"))
    assert driver.title.startswith("错误：")
    assert "留言内容：请填写此项" in driver.find_element(By.ID, "error-summary").text
    assert suite.head_position("sentiment") == head
    check_page(driver, suite, "51-opinion-intake-refused")

    mark = uuid.uuid4().hex[:8]
    set_value(driver, "f-kind", "complaint")
    type_into(driver, "f-external_id", f"12345-{suite.mode[:1]}-{mark}")
    type_into(driver, "f-title", f"西火镇敬老院门前路灯损坏（{mark}）")
    type_into(
        driver,
        "f-text",
        f"西火镇敬老院门前的路灯坏了两个月，晚上老人出门摔倒，反映多次处理不及时，"
        f"非常不满意，请尽快维修！编号{mark}",
    )
    type_into(driver, "f-citizen-name", "李桂兰")
    type_into(driver, "f-citizen-phone", "13900001234")
    submit(driver)
    done(driver, "已登记")
    page = text_of(driver)
    assert "12345热线·投诉" in page and "依据：" in page and "负面" in page
    assert "答复期限" in driver.find_element(By.ID, "clocks").text
    assert re.search(
        r"还剩\d+个工作日|还剩\d+小时", driver.find_element(By.ID, "deadline-words").text
    )
    check_page(driver, suite, "52-opinion-case-opened")
    narrow(driver, suite, "52-opinion-case-opened")
    # Keyboard: the case's steps are reached with Tab alone.
    reached = set()
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    for _ in range(40):
        reached.add(driver.switch_to.active_element.get_attribute("id"))
        driver.switch_to.active_element.send_keys(Keys.TAB)
    assert "act-assign" in reached, reached
    case_url = driver.current_url.split("?")[0]

    step(driver, suite, "assign", "53-opinion-assign")
    set_value(driver, "f-unit", f"{XIHUO}/social-affairs")
    set_value(driver, "f-officer", "xia-lu")
    assert driver.find_element(By.CSS_SELECTOR, "#f-unit option:checked").text.startswith("西火镇")
    submit(driver)
    done(driver, "已完成：派单")
    assert "西火镇社会事务办公室" in text_of(driver)

    step(driver, suite, "accept")
    submit(driver)
    done(driver, "已完成：签收")

    step(driver, suite, "respond")
    type_into(driver, "f-response", "已联系供电所于本周内更换敬老院门前路灯，并增设警示标志。")
    submit(driver)
    done(driver, "已完成：办结")

    step(driver, suite, "follow-up", "54-opinion-follow-up")
    case_id = case_url.rsplit("/", 1)[-1]
    token = suite.token("xia-lu", XIHUO, Role.OPINION_OFFICER)
    with suite.client(token, service="sentiment") as c:
        version = c.get(f"/v1/opinion-cases/{case_id}").json()["version"]
        submit(driver)
        wait(driver, lambda d: d.find_elements(By.ID, "error-summary"))
        assert "满意度：请选择一项" in driver.find_element(By.ID, "error-summary").text
        assert c.get(f"/v1/opinion-cases/{case_id}").json()["version"] == version
    choices = [o.text for o in driver.find_elements(By.CSS_SELECTOR, "#f-satisfaction option")]
    assert choices[1:] == ["满意", "基本满意", "不满意"], choices
    set_value(driver, "f-satisfaction", "satisfied")
    submit(driver)
    done(driver, "已完成：回访")
    assert driver.find_element(By.ID, "status").text == "已办结"
    history = driver.find_element(By.ID, "history").text
    for words in ("立案", "派单", "签收", "办结", "回访", "满意度：满意", "夏露"):
        assert words in history, words
    check_page(driver, suite, "55-opinion-case-closed")

    go(driver, workbench_url(suite) + "/opinion?tab=closed", "tab-closed")
    assert f"/opinion/cases/{case_id}" in driver.page_source
    check_page(driver, suite, "56-opinion-ledger")
    narrow(driver, suite, "56-opinion-ledger")
    go(driver, workbench_url(suite) + "/opinion/messages", "main")
    assert mark in text_of(driver)
    check_page(driver, suite, "57-opinion-messages")
    _correct_the_category(driver, suite, mark, token)


def _correct_the_category(driver: Any, suite: SuiteHandle, mark: str, token: str) -> None:
    """纠正分类 in the browser: an unchanged form refused (the field named, nothing written),
    then another category saved: the corrected label, who corrected and 模型原判 on the page;
    the same form sent again corrects once; a section head reads why they cannot correct."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.PARTIAL_LINK_TEXT, mark).click()
    wait(driver, lambda d: d.find_elements(By.ID, "f-category"))
    message_url = driver.current_url.split("?")[0]
    message_id = message_url.rsplit("/", 1)[-1]
    with suite.client(token, service="sentiment") as c:
        before = c.get(f"/v1/messages/{message_id}").json()
    model_category = before["classification"]["category"]
    assert not before["labels"]["corrected"]
    selected = driver.find_element(By.CSS_SELECTOR, "#f-category option:checked").text
    assert selected == model_category
    assert f"现为：{model_category}（模型判断" in text_of(driver)
    polarities = [o.text for o in driver.find_elements(By.CSS_SELECTOR, "#f-polarity option")]
    assert polarities[1:] == ["负面", "中性", "正面"], polarities
    check_page(driver, suite, "58-opinion-message")

    head = suite.head_position("sentiment")
    submit(driver)
    wait(driver, lambda d: d.find_elements(By.ID, "error-summary"))
    assert driver.title.startswith("错误：")
    summary = driver.find_element(By.ID, "error-summary").text
    assert "类别：选择的类别和情感倾向与现在相同，请至少改选一项" in summary, summary
    # Nothing of the correction written: only the record that the page showed the caller's
    # name again to the officer (issue #8's access event, as every read of it is).
    assert suite.written_since("sentiment", head) == ["CitizenDataRead"]
    check_page(driver, suite, "58-opinion-message-refused")

    options = driver.find_elements(By.CSS_SELECTOR, "#f-category option")
    categories = [o.get_attribute("value") for o in options if o.get_attribute("value")]
    target = "城乡建设" if model_category != "城乡建设" else "交通运输"
    assert target in categories, categories
    set_value(driver, "f-category", target)
    type_into(driver, "f-reason", "人工复核：反映的是敬老院门前路灯损坏")
    form = {
        name: driver.find_element(By.NAME, name).get_attribute("value")
        for name in ("csrf", "key", "category", "polarity", "reason")
    }
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    submit(driver)
    done(driver, "已纠正分类")
    labels = driver.find_element(By.ID, "labels").text
    for words in (target, "人工纠正", f"模型原判：{model_category}", "夏露纠正于"):
        assert words in labels, (words, labels)
    assert f"现为：{target}（人工纠正）；模型原判：{model_category}" in text_of(driver)
    check_page(driver, suite, "59-opinion-message-corrected")
    narrow(driver, suite, "59-opinion-message-corrected")

    # The same form again (a double submit): the API answers with the first correction.
    base = suite.url_for("workbench")
    with httpx.Client(base_url=base, cookies=cookies, timeout=30) as web:
        again = web.post(
            f"/workbench/opinion/messages/{message_id}/correct",
            data=form,
            headers={"Origin": base},
        )
    assert again.status_code == 303, again.text
    with suite.client(token, service="sentiment") as c:
        after = c.get(f"/v1/messages/{message_id}").json()["labels"]
    assert (after["category"], after["model_category"]) == (target, model_category)
    assert after["correction"]["corrections"] == 1
    assert after["correction"]["corrected_by"] == "xia-lu-wb"

    # A section head reads the labels but not the form, and why not.
    sign_in_as(driver, suite, "xu-jing-wb", "徐静", XIHUO, Role.SECTION_HEAD)
    go(driver, message_url, "why-not")
    assert not driver.find_elements(By.ID, "f-category")
    why = driver.find_element(By.ID, "why-not").text
    assert "纠正分类由政务舆情专职工作人员、分管领导或主要领导进行" in why, why
    assert f"模型原判：{model_category}" in driver.find_element(By.ID, "labels").text
    check_page(driver, suite, "59-opinion-message-read-only")


def _assessment_data(suite: SuiteHandle, title: str, task: str) -> None:
    """A 2025 unit scheme of 西火镇 (nobody else scores 2025), a task due in March 2025 (the
    scheduler finds it overdue) and a highlight of 2025: one deduction and one bonus."""
    assessor = suite.token("assess-api", DISTRICT, Role.DISTRICT_ASSESSOR)
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    data |= {"year": 2025, "owner": XIHUO, "title": title}
    with suite.client(assessor, service="assessment") as c:
        r = c.post("/v1/assessment/schemes", json=data)
        assert r.status_code in (200, 201), r.text
        body = {"org": f"{XIHUO}/social-affairs", "owner": "tian-lin", "title": task,
                "due_on": "2025-03-31", "basis": "方案§20"}  # fmt: skip
        r = c.post("/v1/assessment/tasks", json=body)
        assert r.status_code == 201, r.text
        body = {"org": f"{XIHUO}/service-center", "title": "便民服务中心“一窗通办”公开",
                "basis": "区政务公开办认定", "recognized_on": "2025-06-01"}  # fmt: skip
        r = c.post("/v1/assessment/highlights", json=body)
        assert r.status_code == 201, r.text


def test_the_assessor_reads_a_units_breakdown_and_closes_the_period__fangan20(
    suite: SuiteHandle, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    title = f"2025年度西火镇政务公开工作考核细则（{suite.mode}）"
    task = "整改政务公开专栏空白栏目"
    _assessment_data(suite, title, task)
    driver = browser
    sign_in_as(driver, suite, "assess-wb", "区考核员", DISTRICT, Role.DISTRICT_ASSESSOR)
    board = workbench_url(suite) + f"/scores?year=2025&level=unit&owner={XIHUO}"

    def scored() -> bool:
        driver.get(board)
        rows = driver.find_elements(By.CSS_SELECTOR, f"tr[data-subject='{XIHUO}/social-affairs']")
        return bool(rows) and "95" in rows[0].text

    suite.eventually(scored, timeout=30)
    assert title in driver.find_element(By.TAG_NAME, "h1").text
    check_page(driver, suite, "60-scores-board")
    narrow(driver, suite, "60-scores-board")

    driver.find_element(By.PARTIAL_LINK_TEXT, "西火镇社会事务办公室").click()
    wait(driver, lambda d: d.find_elements(By.ID, "breakdown"))
    page = text_of(driver)
    assert "工作台账落实" in page and "扣5分" in page
    assert "工作台账事项逾期未完成（方案§20）" in page
    assert driver.find_element(By.LINK_TEXT, task).get_attribute("href")
    assert not UUID.search(page), UUID.search(page)
    check_page(driver, suite, "61-scores-breakdown")
    narrow(driver, suite, "61-scores-breakdown")
    driver.find_element(By.LINK_TEXT, task).click()
    wait(driver, lambda d: d.find_elements(By.ID, "tasks"))
    assert "已逾期" in driver.find_element(By.ID, "tasks").text
    check_page(driver, suite, "62-scores-tasks")

    go(driver, workbench_url(suite) + f"/scores/periods?year=2025&level=unit&owner={XIHUO}",
       "f-period")  # fmt: skip
    assert driver.find_element(By.CSS_SELECTOR, "#f-owner option:checked").text.startswith("西火镇")
    head = suite.head_position("assessment")
    type_into(driver, "f-period", "2025-Y")
    set_value(driver, "f-starts_on", "2025-12-31")
    set_value(driver, "f-ends_on", "2025-01-01")
    submit(driver)
    wait(driver, lambda d: d.find_elements(By.ID, "error-summary"))
    summary = driver.find_element(By.ID, "error-summary").text
    assert "周期" in summary and "日期" in summary, summary
    assert suite.head_position("assessment") == head
    check_page(driver, suite, "63-scores-close-refused")
    set_value(driver, "f-starts_on", "2025-01-01")
    set_value(driver, "f-ends_on", "2025-12-31")
    submit(driver)
    done(driver, "已关闭考核周期 2025-Y")
    assert "2025年1月1日至2025年12月31日" in driver.find_element(By.ID, "closed").text
    check_page(driver, suite, "64-scores-period-closed")

    go(driver, workbench_url(suite) + f"/scores/study?org={XIHUO}&year=2025", "study")
    assert "潘志勇" in driver.find_element(By.ID, "study").text
    check_page(driver, suite, "65-scores-study")


def test_an_auditor_verifies_the_chain_and_reads_trails_and_the_access_log__issue8(
    suite: SuiteHandle, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    # An officer is shown a caller's name and phone: a read of personal data, recorded.
    officer = suite.token("xia-lu", XIHUO, Role.OPINION_OFFICER)
    mark = uuid.uuid4().hex[:8]
    with suite.client(officer, service="sentiment") as c:
        body = {"source": "mailbox", "text": f"询问西火镇老年人高龄津贴怎么申请（{mark}）",
                "citizen": {"name": "周建国", "phone": "13700002222"}}  # fmt: skip
        r = c.post("/v1/messages", json=body)
        assert r.status_code == 201, r.text
        message_id = r.json()["message_id"]
        suite.eventually(lambda: c.get(f"/v1/messages/{message_id}").status_code == 200)

    driver = browser
    sign_in_as(driver, suite, "audit-wb", "区审计员", DISTRICT, Role.AUDITOR)
    go(driver, workbench_url(suite) + "/audit/verify", "verify")
    driver.find_element(By.ID, "verify").click()
    wait(driver, lambda d: d.find_elements(By.ID, "verdict"))
    assert driver.find_element(By.ID, "verdict-words").text == "哈希链完整，未发现改动"
    check_page(driver, suite, "70-audit-verify")
    narrow(driver, suite, "70-audit-verify")

    access = workbench_url(suite) + f"/audit/access?org={XIHUO}"  # the last 7 days

    def listed() -> bool:
        driver.get(access)
        found = driver.find_elements(By.CSS_SELECTOR, "#access tr[data-type=CitizenDataRead]")
        return bool(found)

    suite.eventually(listed, timeout=30)
    rows = driver.find_element(By.ID, "access").text
    assert "查阅留言人个人信息" in rows and "留言人姓名和电话" in rows
    assert "周建国" not in rows and "13700002222" not in rows  # references, never the values
    check_page(driver, suite, "71-audit-access")
    narrow(driver, suite, "71-audit-access")

    trail = workbench_url(suite) + f"/audit?by=stream&value=message-{message_id}"
    suite.eventually(
        lambda: (
            driver.get(trail)
            or bool(driver.find_elements(By.CSS_SELECTOR, "#trail tr[data-type=MessageReceived]"))
        )
    )
    rows = driver.find_element(By.ID, "trail").text
    assert "登记留言" in rows and "留言自动分类" in rows and "夏璐" in rows
    check_page(driver, suite, "72-audit-trail")
    # Read only: no page of the auditor's carries a form that posts anything but sign-out.
    posts = driver.find_elements(By.CSS_SELECTOR, "main form[method=post]")
    assert not posts
