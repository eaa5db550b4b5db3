"""The workbench's 主动公开 and 政策解读 screens in a real browser, both modes (issue #17),
on the session's suite with accounts and a document of their own.

A 苏店镇 实施方案 with a mobile number in its text, drafted in the browser (拟稿: a bad form
refused naming its fields, nothing written; the form sent twice drafts once): the privacy
finding is highlighted in the text with its kind before anyone reviews (方案§8; 条例第十五条),
the drafter redacts it (the diff shows the change in words), revises the contact line in the
filled 修改 form (the diff shows it with the reason) and proposes the attribute (a
non-proactive one without its legal ground is refused naming 法律依据, nothing written;
条例第十四至十六条), the attribute officer checks it, the leader decides it, 初审/复审/终审
sign off with their proofreading (方案§18 三审三校), the leader publishes it to the website;
an update of it without its reason is refused (更新原因); then its obligation appears in the
drafter's 解读任务 (方案§五(一)), the drafting page measures the five parts against the
quality gate (质量自查, nothing written) and saves, the section head approves and publishes,
and the policy and its interpretation link to each other. axe-core on every new page,
a screenshot of each, keyboard reach of the review form, 320 px without sideways scrolling.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from services.interpretation import samples
from shared.identity import Role
from tests.e2e.conftest import INITIAL_PASSWORD, SuiteHandle
from tests.e2e.factories import today
from tests.e2e.test_assessment_board import wait
from tests.e2e.test_portal import navigate
from tests.e2e.test_workbench import (
    browser,  # noqa: F401  (the fixture)
    check_page,
    open_account,
    set_value,
    submit,
    type_into,
    workbench_url,
)

SUDIAN = "shangdang/sudian"
PARTY_OFFICE = "shangdang/sudian/party-office"
PASSWORD = "Shencha-Jiaodu-2026"
#: Accounts of this module only (a password change ends other modules' cached tokens).
PEOPLE: dict[str, tuple[str, str, tuple[Role, ...]]] = {
    "rv-drafter": ("李娜", PARTY_OFFICE, (Role.DRAFTER,)),
    "rv-editor": ("陈静", SUDIAN, (Role.DRAFTER, Role.ATTRIBUTE_OFFICER)),
    "rv-head": ("张伟", PARTY_OFFICE, (Role.SECTION_HEAD,)),
    "rv-leader": ("郭鑫鑫", SUDIAN, (Role.LEADER_IN_CHARGE, Role.OPENNESS_OFFICE_HEAD)),
}
PHONE = "13812345678"


def _accounts(suite: SuiteHandle) -> None:
    for sub, (name, org, roles) in PEOPLE.items():
        open_account(suite, sub, name, org, *roles)
        with httpx.Client(base_url=suite.url_for("accounts"), timeout=30) as c:
            body = {"username": sub, "password": INITIAL_PASSWORD, "new_password": PASSWORD}
            changed = c.post("/v1/auth/password/change", json=body)
            assert changed.status_code == 200, changed.text


def sign_in_as(driver: Any, suite: SuiteHandle, sub: str) -> None:
    from selenium.webdriver.common.by import By

    if driver.find_elements(By.ID, "sign-out"):
        driver.find_element(By.ID, "sign-out").click()
    driver.get(workbench_url(suite) + "/login")
    wait(driver, lambda d: d.find_elements(By.ID, "username"))
    driver.find_element(By.ID, "username").send_keys(sub)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "sign-in").click()
    wait(driver, lambda d: "待办工作" in d.title)


def open_document(driver: Any, suite: SuiteHandle, document_id: str, tab: str) -> None:
    """From the person's review queue, in the tab of the step that waits for them."""
    from selenium.webdriver.common.by import By

    driver.get(f"{workbench_url(suite)}/review?tab={tab}")
    row = f'tr[data-document="{document_id}"] a'
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, row))
    driver.find_element(By.CSS_SELECTOR, row).click()
    wait(driver, lambda d: d.find_elements(By.ID, "h-steps"))


def step(driver: Any, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, f"act-{name}").click()
    wait(driver, lambda d: d.find_elements(By.ID, "submit"))


def done(driver: Any) -> None:
    from selenium.webdriver.common.by import By

    wait(driver, lambda d: d.find_elements(By.ID, "done"))


def review(driver: Any, stage: str) -> None:
    step(driver, "review")
    assert_selected(driver, "f-stage", stage)
    set_value(driver, "f-outcome", "pass")
    submit(driver)
    done(driver)


def assert_selected(driver: Any, element_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By

    assert driver.find_element(By.ID, element_id).get_attribute("value") == value


def test_a_document_through_review_to_publication_and_its_interpretation__s8_s18_s19(
    suite: SuiteHandle,
    browser: Any,  # noqa: F811
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = browser
    _accounts(suite)
    title = f"{samples.POLICY_TITLE}（{uuid.uuid4().hex[:6]}）"
    body = samples.POLICY_TEXT + f"\n联系人：王建国，手机{PHONE}。"
    drafter = suite.token("rv-drafter", PARTY_OFFICE, Role.DRAFTER)

    # The drafter drafts in the browser: 拟稿 from the queue page.
    sign_in_as(driver, suite, "rv-drafter")
    assert driver.find_element(By.ID, "entry-review").text == "主动公开：文件审核（三审三校）"
    assert driver.find_element(By.ID, "entry-review-new").text == "主动公开：拟稿"
    driver.get(f"{workbench_url(suite)}/review")
    driver.find_element(By.ID, "draft-new").click()
    wait(driver, lambda d: d.find_elements(By.ID, "f-content-title"))
    assert driver.find_element(By.ID, "f-content-issue_date").get_attribute("value") == (
        today().isoformat()
    )  # 成文日期: today, Beijing time
    column = driver.find_element(By.CSS_SELECTOR, '#f-content-column option[value="livelihood"]')
    assert column.text.startswith("民生")  # the township's columns by their Chinese names
    kind = driver.find_element(By.CSS_SELECTOR, '#f-content-kind option[value="policy"]')
    assert kind.text == "政策性文件"
    check_page(driver, suite, "47-review-draft-form")
    # Bad input: refused naming each field by its label, nothing written.
    head = suite.head_position("catalog")
    type_into(driver, "f-content-title", "方")
    submit(driver)
    wait(driver, lambda d: d.find_elements(By.ID, "error-summary"))
    assert driver.title.startswith("错误：")
    summary = driver.find_element(By.ID, "error-summary").text
    assert "标题：内容过短，至少填写2个字" in summary, summary
    assert "正文：请填写此项" in summary and "栏目：请选择一项" in summary, summary
    assert suite.written_since("catalog", head) == []
    check_page(driver, suite, "48-review-draft-refused")
    type_into(driver, "f-content-title", title)
    set_value(driver, "f-content-document_number", samples.POLICY_NUMBER)
    set_value(driver, "f-content-kind", "implementation_plan")
    set_value(driver, "f-content-column", "livelihood")
    set_value(driver, "f-content-body", body)
    driver.find_element(By.ID, "f-content-needs_interpretation").click()
    # Sent twice (a double click past the script, a reload): one document.
    fields = driver.execute_script(
        "return Array.from(new FormData(document.querySelector('form.form')).entries());"
    )
    origin = suite.url_for("workbench")
    session = {"gk_session": driver.get_cookie("gk_session")["value"]}
    with httpx.Client(base_url=origin, cookies=session, headers={"Origin": origin}) as c:
        first = c.post("/workbench/review/new", data=dict(fields))
        assert first.status_code == 303, first.text
    submit(driver)
    wait(driver, lambda d: d.find_elements(By.ID, "done"))
    assert driver.current_url.split("?")[0].endswith(first.headers["location"].split("?")[0])
    assert suite.written_since("catalog", head).count("DocumentDrafted") == 1
    document_id = driver.current_url.split("?")[0].rsplit("/", 1)[-1]

    # The new document's page: the finding marked in the text, with its kind, before any
    # review, and the next step (提出公开属性).
    mark = driver.find_element(By.CSS_SELECTOR, "mark.pii")
    assert PHONE in mark.text and "手机号码" in mark.text
    assert driver.find_element(By.ID, "act-propose").text == "拟稿人提出公开属性"
    check_page(driver, suite, "49-review-drafted")
    open_document(driver, suite, document_id, "privacy")
    assert "检测到个人信息1处" in driver.find_element(By.ID, "privacy-alert").text
    check_page(driver, suite, "50-review-document-finding")
    step(driver, "redact")
    check_page(driver, suite, "51-review-redact")
    submit(driver)
    done(driver)
    assert not driver.find_elements(By.CSS_SELECTOR, "mark.pii")
    assert driver.find_elements(By.ID, "privacy-clean")
    assert "修改" in driver.find_element(By.ID, "diff").text
    # Marked in words too (read by screen readers), not by colour alone.
    deleted = driver.find_element(By.CSS_SELECTOR, "#diff del").text.split()
    inserted = driver.find_element(By.CSS_SELECTOR, "#diff ins").text.split()
    assert deleted[0] == "删除：" and set(deleted[-1]) <= set(PHONE), deleted
    assert inserted[0] == "新增：" and set(inserted[-1]) == {"*"}, inserted
    check_page(driver, suite, "52-review-document-redacted")

    # 修改: the drafter rewrites the masked contact line; the form holds the current text.
    driver.find_element(By.ID, "act-revise").click()
    wait(driver, lambda d: d.find_elements(By.ID, "f-content-body"))
    assert driver.find_element(By.ID, "f-content-title").get_attribute("value") == title
    assert driver.find_element(By.ID, "f-content-column").get_attribute("value") == "livelihood"
    assert driver.find_element(By.ID, "f-content-needs_interpretation").is_selected()
    current = driver.find_element(By.ID, "f-content-body").get_attribute("value")
    assert PHONE not in current and f"手机{PHONE[:3]}****{PHONE[-4:]}" in current  # redacted
    set_value(
        driver, "f-content-body", re.sub(r"联系人：.*", "联系人：苏店镇党政办公室。", current)
    )
    type_into(driver, "f-reason", "联系人改为单位")
    check_page(driver, suite, "52b-review-revise")
    submit(driver)
    done(driver)
    assert "第2版 → 第3版" in driver.find_element(By.ID, "h-diff").text
    assert "原因：联系人改为单位" in driver.find_element(By.ID, "diff-why").text
    assert "苏店镇党政办公室" in driver.find_element(By.CSS_SELECTOR, "#diff ins").text
    assert driver.find_element(By.ID, "doc-status").text == "草稿"
    check_page(driver, suite, "52c-review-revised")
    # A form filled from an older revision (another tab, a colleague's save) overwrites
    # nothing: refused in words, nothing written.
    stale = {**dict(fields), "key": str(uuid.uuid4()), "content.body": "旧的正文。"}
    head = suite.head_position("catalog")
    with httpx.Client(base_url=origin, cookies=session, headers={"Origin": origin}) as c:
        refused = c.post(f"/workbench/review/{document_id}/revise?v=2", data=stale)
    assert refused.status_code == 409 and "文件已有新的版本" in refused.text, refused.text
    assert suite.written_since("catalog", head) == []

    # Bad input: a withheld attribute without its legal ground is refused, nothing written.
    step(driver, "propose")
    head = suite.head_position("catalog")
    set_value(driver, "f-attribute", "withheld")
    submit(driver)
    wait(driver, lambda d: d.find_elements(By.ID, "error-summary"))
    assert driver.title.startswith("错误：")
    assert "法律依据" in driver.find_element(By.ID, "error-summary").text
    assert suite.head_position("catalog") == head
    check_page(driver, suite, "53-review-propose-refused")
    set_value(driver, "f-attribute", "proactive")
    submit(driver)
    done(driver)

    # The attribute officer checks; the leader decides (API); 初审 by the editor.
    sign_in_as(driver, suite, "rv-editor")
    open_document(driver, suite, document_id, "attribute")
    step(driver, "check")
    set_value(driver, "f-agrees", "true")
    submit(driver)
    done(driver)
    leader = suite.token("rv-leader", SUDIAN, Role.LEADER_IN_CHARGE, Role.OPENNESS_OFFICE_HEAD)
    with suite.client(leader, service="catalog") as c:
        r = c.post(
            f"/v1/catalog/documents/{document_id}/attribute/decision",
            json={"attribute": "proactive"},
        )
        assert r.status_code == 200, r.text
    open_document(driver, suite, document_id, "first_review")
    assert "主动公开" in driver.find_element(By.ID, "attribute-decided").text
    check_page(driver, suite, "54-review-queue-document")
    step(driver, "review")
    check_page(driver, suite, "55-review-form")
    # Keyboard: the review form's fields and its button are reached with Tab alone.
    reached = set()
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    for _ in range(30):
        reached.add(driver.switch_to.active_element.get_attribute("id"))
        driver.switch_to.active_element.send_keys(Keys.TAB)
    assert {"f-stage", "f-outcome", "f-comments", "submit"} <= reached
    set_value(driver, "f-outcome", "pass")
    submit(driver)
    done(driver)
    assert "已通过" in driver.find_element(By.ID, "signoffs").text

    # 复审 by the section head (the queue first), 终审 and publication by the leader.
    sign_in_as(driver, suite, "rv-head")
    driver.get(f"{workbench_url(suite)}/review?tab=second_review")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-document="{document_id}"]'))
    check_page(driver, suite, "56-review-queue")
    open_document(driver, suite, document_id, "second_review")
    # 复审 sends it back (退回修改): it then waits in the drafter's 退回修改 tab with the
    # level's words, and in no reviewer's queue until the drafter revises it.
    step(driver, "review")
    set_value(driver, "f-outcome", "reject")
    type_into(driver, "f-comments", "请在正文中写明政策依据")
    submit(driver)
    done(driver)
    sign_in_as(driver, suite, "rv-drafter")
    driver.get(f"{workbench_url(suite)}/review?tab=returned")
    row = f'tr[data-document="{document_id}"]'
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, row))
    assert (
        "复审（二校）退回：请在正文中写明政策依据" in driver.find_element(By.CSS_SELECTOR, row).text
    )
    check_page(driver, suite, "55b-review-returned")
    open_document(driver, suite, document_id, "returned")
    driver.find_element(By.ID, "act-revise").click()
    wait(driver, lambda d: d.find_elements(By.ID, "f-content-body"))
    current = driver.find_element(By.ID, "f-content-body").get_attribute("value")
    set_value(
        driver, "f-content-body", current + "\n依据：《中华人民共和国政府信息公开条例》第二十条。"
    )
    type_into(driver, "f-reason", "按复审意见写明依据")
    submit(driver)
    done(driver)
    # The revision starts the three levels over (先审后发): 初审 again, then 复审.
    sign_in_as(driver, suite, "rv-editor")
    open_document(driver, suite, document_id, "first_review")
    review(driver, "first_review")
    sign_in_as(driver, suite, "rv-head")
    open_document(driver, suite, document_id, "second_review")
    review(driver, "second_review")
    sign_in_as(driver, suite, "rv-leader")
    open_document(driver, suite, document_id, "final_review")
    review(driver, "final_review")
    step(driver, "publish")
    assert driver.find_element(By.ID, "f-channels").is_selected()  # 政府网站, ticked
    check_page(driver, suite, "57-review-publish")
    submit(driver)
    done(driver)
    assert driver.find_element(By.ID, "doc-status").text == "已发布"
    history = driver.find_element(By.ID, "history").text
    for words in ("隐私检查", "提出公开属性", "公开属性审核", "认定公开属性", "审核通过", "发布"):
        assert words in history, words
    assert "第1校" in history and "第3校" in history
    assert "李娜" in history and "郭鑫鑫" in history  # people by name, never by account id
    check_page(driver, suite, "58-review-published")
    # 有效期: the leader gives the published policy its last day in force (国办发〔2018〕37号).
    assert "未规定（长期有效）" in driver.find_element(By.ID, "doc-facts").text
    step(driver, "validity")
    until = today().replace(year=today().year + 5).isoformat()
    field = driver.find_element(By.ID, "f-valid_until")
    assert field.get_attribute("type") == "date"
    # What the date picker does when a day is chosen in it.
    driver.execute_script("arguments[0].value = arguments[1]", field, until)
    check_page(driver, suite, "58b-review-validity")
    submit(driver)
    done(driver)
    assert f"至{until}" in driver.find_element(By.ID, "doc-facts").text
    # 320 px (a phone, or 400 % zoom): readable without sideways scrolling.
    driver.set_window_size(320, 900)
    wide = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    driver.set_window_size(1366, 900)
    assert wide <= 0, f"{wide}px of sideways scrolling at 320 px"

    # 政策解读: the obligation is the drafter's to meet; the gate measured, then saved.
    with suite.client(drafter, service="interpretation") as c:
        # The obligation opens a moment after publication (the scheduler).
        suite.eventually(
            lambda: c.get(f"/v1/interpretation/obligations/{document_id}").status_code == 200
        )
    sign_in_as(driver, suite, "rv-drafter")
    # An update of the published document needs its reason (更新原因): refused, nothing written.
    driver.get(f"{workbench_url(suite)}/review/{document_id}")
    assert driver.find_element(By.ID, "act-revise").text == "更新已发布的文件"
    step(driver, "revise")
    head = suite.head_position("catalog")
    submit(driver)
    wait(driver, lambda d: d.find_elements(By.ID, "error-summary"))
    summary = driver.find_element(By.ID, "error-summary").text
    assert "修改或更新原因：更新已发布的文件须说明更新原因" in summary, summary
    assert suite.written_since("catalog", head) == []
    check_page(driver, suite, "59-review-update-refused")
    driver.get(workbench_url(suite))
    driver.find_element(By.ID, "entry-interpretation").click()
    row = f'tr[data-document="{document_id}"] a'
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, row))
    due = driver.find_element(By.CSS_SELECTOR, f'tr[data-document="{document_id}"] .due').text
    assert re.fullmatch(r"还剩\d+个工作日|今天到期", due), due
    check_page(driver, suite, "60-interpretation-obligations")
    driver.find_element(By.CSS_SELECTOR, row).click()
    wait(driver, lambda d: d.find_elements(By.ID, "check"))
    check_page(driver, suite, "61-interpretation-draft")
    for i, section in enumerate(samples.GOOD_SECTIONS):
        type_into(driver, f"f-content-sections-{i}-text", section["text"])
    # Measured while typing (the script), then on 质量自查 (the same without JavaScript).
    live = "#gate-live #verdict"
    wait(
        driver,
        lambda d: any(e.text.startswith("通过") for e in d.find_elements(By.CSS_SELECTOR, live)),
    )
    # The draft page already shows a live #verdict (the script's): wait for the next page
    # itself, not for an element the old one has too (a stale element, 1 run in 20 or so).
    navigate(driver, By.ID, "check")
    verdict = driver.find_element(By.ID, "quality").text
    assert driver.find_element(By.ID, "verdict").text.startswith("通过"), verdict
    assert "与原文重合" in verdict and "自己的说明" in verdict and "五个要素：通过" in verdict
    check_page(driver, suite, "62-interpretation-gate")
    submit(driver)
    done(driver)
    assert driver.find_element(By.ID, "verdict").text.startswith("通过")
    assert driver.find_element(By.ID, "to-policy").get_attribute("href").endswith(document_id)
    interpretation_url = driver.current_url.split("?")[0]
    check_page(driver, suite, "63-interpretation-item")

    sign_in_as(driver, suite, "rv-head")
    driver.get(interpretation_url)
    wait(driver, lambda d: d.find_elements(By.ID, "act-review"))
    step(driver, "review")
    set_value(driver, "f-approve", "true")
    submit(driver)
    done(driver)
    step(driver, "publish")
    submit(driver)
    done(driver)
    assert driver.find_element(By.ID, "interp-status").text == "已发布"
    check_page(driver, suite, "64-interpretation-published")
    # Linked both ways: the policy's page lists its interpretation.
    driver.find_element(By.ID, "to-policy").click()
    wait(driver, lambda d: d.find_elements(By.ID, "interpretations"))
    assert interpretation_url.rsplit("/", 1)[-1] in driver.find_element(
        By.CSS_SELECTOR, "#interpretations a"
    ).get_attribute("href")
