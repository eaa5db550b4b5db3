"""The workbench's 行政执法公示 pages in Chromium (zh-CN), both modes (issue #23).

The openness-office head of 苏店镇 finds a penalty decision waiting for 公示 with its time
limit (7 working days, 国办发〔2018〕118号), opens it, sees its 全过程记录, publishes it with a
masked summary, and records a 法制审核 for a major decision to come; a form missing a
required field is refused in Chinese and writes nothing. Every page passes axe (no serious
or critical findings) and is saved under var/test-output/workbench/<mode>/.
"""

from __future__ import annotations

from typing import Any

import httpx

from shared.identity import Role
from tests.e2e.conftest import SuiteHandle
from tests.e2e.test_enforcement_api import SUDIAN, penalty, suite, system, working_days_ago
from tests.e2e.test_workbench import (
    INITIAL_PASSWORD,
    browser,
    check_page,
    open_account,
    set_value,
    submit,
    text_of,
    type_into,
    wait,
    workbench_url,
)

__all__ = ["browser", "suite"]  # fixtures


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
    check_page(driver, suite, "40-enforcement-list")
    driver.find_element(By.LINK_TEXT, reference).click()
    wait(driver, lambda d: d.find_elements(By.ID, "act-publish"))
    page = text_of(driver)
    assert "全过程记录" in page and "执法记录仪 88-1" in page and "已作出决定，待公示" in page
    assert "赵六" not in page  # staff see the masked party only once it is published
    check_page(driver, suite, "41-enforcement-decision")
    driver.find_element(By.ID, "act-publish").click()
    wait(driver, lambda d: d.find_elements(By.ID, "submit"))
    assert "7个工作日内公开" in text_of(driver)
    check_page(driver, suite, "42-enforcement-publish")
    type_into(
        driver, "f-summary", "当事人赵*在苏店村主干道堆放建筑材料影响通行，依法处以罚款1000元。"
    )
    submit(driver)
    wait(driver, lambda d: d.find_elements(By.ID, "done"))
    assert "公示中" in driver.find_element(By.ID, "status").text
    check_page(driver, suite, "43-enforcement-published")
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
    check_page(driver, suite, "44-enforcement-review-refused")
    set_value(driver, "f-kind", "penalty")
    type_into(driver, "f-reference", f"苏执罚〔2026〕{suite.mode[:1]}2号")
    type_into(driver, "f-reviewer", "苏店镇司法所 王律")
    type_into(driver, "f-opinion", "事实清楚，证据确凿，适用依据正确，程序合法，同意作出处罚决定。")
    submit(driver)
    wait(driver, lambda d: "已法制审核" in text_of(d))
    assert "已法制审核，待作出决定" in text_of(driver)
    assert not driver.find_elements(By.ID, "act-publish")  # nothing to publish before a decision
    check_page(driver, suite, "45-enforcement-reviewed")
