"""依申请公开 网上申请 in a real browser on a 320 px phone screen, both modes (in
distributed mode the portal is its own process calling the applications service's
public intake): a citizen opens the form from the guide, submits it empty first (error
summary), then fills what 条例 Art. 29 asks, gets the receipt (tracking code and query
password, shown once), checks the status (待确认收到); the office confirms receipt in the
workbench (Art. 31(3): that day is the receipt date), and the status shows the number
and the due date (Art. 33). Every page: axe-core zero serious/critical, no sideways
scrolling, no personal data (the privacy guard), a screenshot under
var/test-output/portal/<mode>/. And the flood gate on real processes: an address past
its limit gets 429 with Retry-After in Chinese, and no event is written.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import SuiteHandle
from tests.e2e.test_portal import answer_challenge, check_page, click_link, go, phone, portal, press
from tests.e2e.test_workbench import browser as browser  # the Chromium fixture
from tests.e2e.test_workbench import check_page as wb_check_page
from tests.e2e.test_workbench import sign_in, wait, workbench_url

NAME, ID_NUMBER, PHONE = "郭玉兰", "140421195803152026", "13935561288"
WANTED = "2026年苏店镇高龄老人补贴发放名单的公示文件及发放标准"


def test_a_citizen_applies_online_gets_a_receipt_and_follows_it_by_code_and_password__art29_31(
    suite: SuiteHandle, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    phone(browser)
    go(browser, portal(suite) + "/sudian/guide")
    click_link(browser, "在本网站网上申请")
    text = check_page(browser, suite, "31-apply-form")
    assert "以本机关确认收到之日为收到申请之日" in text and "第三十一条第三项" in text
    press(browser, "button.primary")
    assert browser.title.startswith("错误：")
    text = check_page(browser, suite, "32-apply-errors")
    assert "请填写证件号码" in text and "请回答验证题" in text

    browser.find_element(By.CSS_SELECTOR, "input[name=kind][value=natural_person]").click()
    browser.find_element(By.ID, "name").send_keys(NAME)
    Select(browser.find_element(By.ID, "id_kind")).select_by_visible_text("居民身份证")
    browser.find_element(By.ID, "id_number").send_keys(ID_NUMBER)
    browser.find_element(By.ID, "phone").send_keys(PHONE)
    browser.find_element(By.ID, "address").send_keys("长治市上党区苏店镇北董村")
    browser.find_element(By.ID, "description").send_keys(WANTED)
    browser.find_element(By.CSS_SELECTOR, "input[name=requested_form][value=paper]").click()
    browser.find_element(By.CSS_SELECTOR, "input[name=delivery_channel][value=post]").click()
    answer_challenge(browser)
    press(browser, "button.primary")
    text = check_page(browser, suite, "33-apply-receipt")
    code = browser.find_element(By.ID, "tracking-code").text.strip()
    password = browser.find_element(By.ID, "query-password").text.strip()
    assert "申请已提交" in text and len(code.replace(" ", "")) == 12
    assert NAME not in text and ID_NUMBER not in text and PHONE not in text

    def status(expect: str, name: str) -> str:
        """Look the request up as the citizen does (the read model follows a moment later)."""

        def probe() -> str:
            go(browser, portal(suite) + "/apply/track")
            browser.find_element(By.ID, "code").send_keys(code)
            browser.find_element(By.ID, "password").send_keys(password)
            press(browser, "button.primary")
            found: str = browser.find_element(By.TAG_NAME, "main").text
            return found if expect in found else ""

        suite.eventually(probe)
        return check_page(browser, suite, name)

    text = status("已提交，待确认收到", "34-apply-status-submitted")
    assert "确认收到后开始计算答复期限" in text and NAME not in text

    # The office confirms receipt in the workbench (待确认的网上申请); that day is the receipt
    # date and the request is registered with its number.
    sign_in(browser, suite)

    def pending() -> Any:
        browser.get(workbench_url(suite) + "/online")
        return browser.find_elements(By.XPATH, f"//section[p[contains(., '{WANTED}')]]")

    suite.eventually(pending)
    wb_check_page(browser, suite, "70-online-pending")
    (row,) = browser.find_elements(By.XPATH, f"//section[p[contains(., '{WANTED}')]]")
    assert NAME not in row.text and PHONE not in row.text  # the list shows no applicant data
    row.find_element(By.CSS_SELECTOR, "button.primary").click()
    wait(browser, lambda d: "/workbench/requests/" in d.current_url)
    wb_check_page(browser, suite, "71-online-confirmed")
    number = browser.find_element(By.TAG_NAME, "h1").text.split()[0]
    phone(browser)

    text = status("已受理", "35-apply-status-registered")
    assert number in text and "答复期限" in text and "收到申请之日" in text
    assert NAME not in text and ID_NUMBER not in text and PHONE not in text

    go(browser, portal(suite) + "/apply/track")
    browser.find_element(By.ID, "code").send_keys(code)
    browser.find_element(By.ID, "password").send_keys("00000000")
    press(browser, "button.primary")
    text = check_page(browser, suite, "36-apply-track-wrong")
    assert "查询码或查询密码不对" in text


def test_an_address_past_its_limit_gets_429_in_chinese_and_writes_nothing(
    suite: SuiteHandle,
) -> None:
    """On the real processes, from an address of its own (127.0.0.2: the browser and the
    other tests post from 127.0.0.1 and keep their own windows)."""
    before = suite.head_position("applications")
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    base = portal(suite).replace("localhost", "127.0.0.1")
    with httpx.Client(base_url=base, transport=transport, timeout=30) as c:
        answers = [c.post("/apply", data={"org": "shangdang/sudian"}) for _ in range(11)]
    assert [a.status_code for a in answers[:10]] == [422] * 10  # no token: the form again
    refused = answers[10]
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "请稍后再提交" in refused.text and "您填写的内容没有提交" in refused.text
    assert suite.head_position("applications") == before
