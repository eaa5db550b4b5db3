"""订阅推送 and 有用/没用 through the portal in a real browser (320 px phone), both modes, with a
real SMTP server (aiosmtpd) the suite's processes send to (GONGKAI_SMTP_HOST/PORT).

方案§五(二) 精准推送 (政策找人): a citizen subscribes to a column with an empty form first (error
summary), confirms by the link in the mail, receives the notice of a new publication with
its List-Unsubscribe headers, and leaves with one click (RFC 8058 POST, as a mail client
sends it). 方案§21 群众口碑: the document is rated 有用 once a day, and the page views reach
the 最受欢迎专栏 tally. Every page: axe-core, no sideways scrolling, no personal data in the
text, a screenshot under var/test-output/portal/<mode>/.
"""

from __future__ import annotations

import re
import time
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import SuiteHandle
from tests.e2e.factories import today
from tests.e2e.test_catalog_workflow import Desk
from tests.e2e.test_portal import answer_challenge, check_page, go, phone, portal, press
from tests.e2e.test_workbench import browser as browser  # the Chromium fixture
from tests.integration.test_subscriptions_delivery import MailServer

ADDRESS = "zhao.guilan@example.com"
TITLE = "苏店镇关于发放2026年度高龄老人生活补贴的通知"
BODY = (
    "各村（社区）：\n"
    "根据上级要求，现将2026年度高龄老人生活补贴发放工作通知如下。\n"
    "一、80周岁以上老人每月发放补贴，由各村于12月20日前完成名单核对。"
)


@pytest.fixture
def smtp(mail_server: MailServer) -> MailServer:
    """The session's SMTP server, which every suite's processes send to (conftest)."""
    return mail_server


def mail_to(smtp: MailServer, subject_part: str, timeout: float = 30) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for msg in reversed(smtp.inbox.messages):
            if subject_part in str(msg["Subject"]) and msg["To"] == ADDRESS:
                return msg
        time.sleep(0.2)
    raise AssertionError(f"no mail with {subject_part!r} to {ADDRESS}")


def token_in(msg: EmailMessage, path: str) -> str:
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(rf"{path}\?token=([\w.-]+)", text)
    assert found, text
    return found.group(1)


def test_a_citizen_subscribes_confirms_gets_the_notice_and_leaves_with_one_click__fang_an_5_2(
    suite: SuiteHandle, smtp: MailServer, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    # The mail server is the session's, shared by both modes: this mode's mail only (the
    # other mode's notice has the same subject and address, and would be taken for this one
    # while this one is still on its way).
    del smtp.inbox.messages[:]
    phone(browser)
    go(browser, portal(suite) + "/subscribe?unit=sudian")
    check_page(browser, suite, "21-subscribe-form")
    browser.find_element(By.ID, "email").clear()
    press(browser, "button.primary")
    assert browser.title.startswith("错误：")
    text = check_page(browser, suite, "22-subscribe-errors")
    assert "请填写电子邮箱" in text and "请至少选择一项订阅内容" in text

    browser.find_element(By.ID, "email").send_keys(ADDRESS)
    Select(browser.find_element(By.ID, "organ")).select_by_visible_text("苏店镇")
    browser.find_element(By.CSS_SELECTOR, "input[name=column][value=livelihood]").click()
    browser.find_element(By.CSS_SELECTOR, "input[name=group][value='老年人']").click()
    answer_challenge(browser)
    press(browser, "button.primary")
    text = check_page(browser, suite, "23-subscribe-sent")
    assert "请查收确认邮件" in text and ADDRESS not in text

    confirmation = mail_to(smtp, "请确认您的订阅")
    assert "List-Unsubscribe" not in confirmation
    go(browser, portal(suite) + "/subscribe/confirm?token=" + token_in(confirmation, "confirm"))
    check_page(browser, suite, "24-confirm")
    press(browser, "button.primary")
    text = check_page(browser, suite, "25-confirmed")
    assert "订阅成功" in text

    document_id, _ = Desk(suite).published(
        title=TITLE,
        body=BODY,
        document_number=f"苏政发〔{today().year}〕47号",
        kind="notice",
        column="livelihood",
        attachments_text=[],
    )
    notice = mail_to(smtp, TITLE)
    assert notice["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert notice["Message-ID"] and notice["Date"]
    assert f"/gk/doc/{document_id}" in notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    # the document page, rated 有用 once; a second rating the same day is refused
    go(browser, portal(suite) + f"/doc/{document_id}")
    check_page(browser, suite, "26-document-rating")
    press(browser, "button[name=useful][value=yes]")
    text = check_page(browser, suite, "27-rated")
    assert "谢谢您的评价" in text
    go(browser, portal(suite) + f"/doc/{document_id}")
    press(browser, "button[name=useful][value=no]")
    assert "今天已经评价过" in check_page(browser, suite, "28-rated-again")

    # RFC 8058: the mail client's one-click POST to the List-Unsubscribe URL
    unsubscribe = token_in(notice, "unsubscribe")
    with httpx.Client(base_url=portal(suite), timeout=30) as c:
        gone = c.post(
            "/unsubscribe",
            params={"token": unsubscribe},
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert gone.status_code == 200 and "已退订" in gone.text
        assert gone.headers["cache-control"] == "no-store"
    go(browser, portal(suite) + "/unsubscribe?token=" + unsubscribe)
    press(browser, "button.primary")
    assert "已退订" in check_page(browser, suite, "29-unsubscribed")

    # page views reach the month's running 最受欢迎专栏 tally (flushed, no personal data)
    def tallied() -> Any:
        with suite.client(service="subscriptions") as c:
            ranking = c.get("/v1/public/popularity/columns").json()["ranking"]
        return [
            r
            for r in ranking
            if r["township"] == "shangdang/sudian"
            and r["column"] == "livelihood"
            and r["views"] >= 1
            and r["useful"] >= 1
        ]

    suite.eventually(tallied)
    go(browser, portal(suite) + "/popular")
    text = check_page(browser, suite, "30-popular")
    assert "最受欢迎专栏" in text and "苏店镇 · 民生" in text and "访问" in text


def test_bad_input_is_refused_in_both_languages_and_writes_nothing(suite: SuiteHandle) -> None:
    before = suite.head_position("subscriptions")
    with suite.client(service="subscriptions") as c:
        r = c.post(
            "/v1/public/subscriptions",
            json={
                "email": "zhao at example",
                "organ": "shangdang/sudian",
                "topics": [{"kind": "column", "code": "livelihood"}],
            },
        )
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["field"] == "email" and problem["rule"] == "email.format"
        assert problem["message_zh"].startswith("电子邮箱：") and problem["message_en"]
        unknown = c.post(
            "/v1/public/subscriptions",
            json={
                "email": ADDRESS,
                "organ": "shangdang/sudian",
                "topics": [{"kind": "group", "code": "外星人"}],
            },
        )
        assert unknown.status_code == 422 and unknown.json()["rule"] == "topics.unknown"
        forged = c.post(
            "/v1/public/subscriptions/unsubscribe", json={"token": "0" * 32 + ".unsubscribe.x"}
        )
        assert forged.status_code == 404 and forged.json()["rule"] == "subscription.token_invalid"
    assert suite.head_position("subscriptions") == before


def test_staff_see_addresses_masked_and_a_clear_read_is_recorded_in_the_audit_trail(
    suite: SuiteHandle,
) -> None:
    """Subscribers' addresses are personal data (shared/fields PERSONAL): masked in lists,
    shown in clear only one at a time with a SubscriberDataRead in the audit chain, and never
    in any process's log."""
    from shared.identity import Role
    from tests.e2e.test_personal_data_reads import trail_of

    reader = "qian-office"  # an openness-office head of 苏店镇 used only by this test
    staff = suite.token(reader, "shangdang/sudian", Role.OPENNESS_OFFICE_HEAD)
    with suite.client(service="subscriptions") as c:
        c.post(
            "/v1/public/subscriptions",
            json={
                "email": "sun.office@example.com",
                "organ": "shangdang/sudian",
                "topics": [{"kind": "kind", "code": "notice"}],
            },
        )

    def listed() -> Any:
        with suite.client(staff, service="subscriptions") as c:
            items = c.get("/v1/subscriptions").json()["items"]
        return [i for i in items if i["email"] == "s***@example.com"]

    (item, *_) = suite.eventually(listed)
    with suite.client(staff, service="subscriptions") as c:
        shown = c.get(f"/v1/subscriptions/{item['subscription_id']}").json()
        assert shown["email"] == "sun.office@example.com"
        outsider = suite.token("he-xihuo", "shangdang/xihuo", Role.OPENNESS_OFFICE_HEAD)
        c.headers["Authorization"] = f"Bearer {outsider}"
        assert c.get(f"/v1/subscriptions/{item['subscription_id']}").status_code == 404

    def recorded() -> Any:
        return [
            e
            for e in trail_of(suite, reader)
            if e["type"] == "SubscriberDataRead"
            and item["subscription_id"] in e["payload"]["subscription_ids"]
        ]

    (read, *_) = suite.eventually(recorded)
    assert "example.com" not in str(read)
    for log in suite.logs.glob("*.log"):
        text = log.read_text(encoding="utf-8", errors="replace")
        assert ADDRESS not in text and "sun.office@example.com" not in text, log.name
