"""The workbench (工作台) in a real browser, both modes: a 依申请公开 handler of 苏店镇
(王铁童) signs in, registers a request from the form, sends a 补正 notice, records the
corrected request, replies, records delivery and archives, and prints the letters.

Every page is checked with axe-core (zero serious or critical violations) and saved as a
screenshot under var/test-output/workbench/<mode>/ (GONGKAI_TEST_OUTPUT overrides var/test-
output). Chromium is Debian's (deploy/chromium.sh); the CJK font and axe-core come from
deploy/browser-tools.sh. Without them the test is skipped locally and fails with CI=true.
Chromium runs in Chinese as on a township's desktop (date inputs read 年/月/日): on Linux
`--lang` is ignored, the locale comes from LANGUAGE and needs Debian's chromium-l10n.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.identity import Role
from tests.conftest import IN_CI
from tests.e2e.conftest import INITIAL_PASSWORD, SuiteHandle
from tests.e2e.test_assessment_board import CHROMEDRIVER, CHROMIUM, wait

ROOT = Path(__file__).parents[2]
AXE = ROOT / "deploy" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
OUTPUT = Path(os.environ.get("GONGKAI_TEST_OUTPUT", ROOT / "var" / "test-output"))
SUDIAN = "shangdang/sudian"
#: Chromium's Chinese resources (Debian's chromium-l10n, installed by deploy/chromium.sh).
ZH_CN_PAK = Path("/usr/lib/chromium/locales/zh-CN.pak")


@pytest.fixture
def browser() -> Iterator[Any]:
    needed = (CHROMIUM, CHROMEDRIVER, AXE) + (
        (ZH_CN_PAK,) if str(CHROMIUM) == "/usr/bin/chromium" else ()
    )
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        message = (
            f"{', '.join(missing)} missing: run deploy/chromium.sh and deploy/browser-tools.sh"
        )
        if IN_CI:
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1366,900",
        "--lang=zh-CN",
    ):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    chinese = {**os.environ, "LANGUAGE": "zh_CN"}
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER), env=chinese), options=options)
    try:
        locale = driver.execute_script("return Intl.DateTimeFormat().resolvedOptions().locale")
        assert locale == "zh-CN", f"Chromium runs in {locale}, not zh-CN: run deploy/chromium.sh"
        yield driver
    finally:
        driver.quit()


#: The handler of these tests: an account of its own (other modules hold tokens for
#: wang-tietong, which a password change would end), its initial password changed once.
CLERK = "wang-tt"
CLERK_PASSWORD = "Gongzuo-Tai-2026"
_clerk_ready: set[str] = set()


def open_account(suite: SuiteHandle, sub: str, name: str, org: str, *roles: Role) -> None:
    """An account opened by the administrator with the initial password (as a clerk gets)."""
    with suite.client(suite.admin_token, service="accounts") as c:
        body = {
            "account_id": sub,
            "display_name": name,
            "org": org,
            "roles": [r.value for r in roles],
            "initial_password": INITIAL_PASSWORD,
        }
        r = c.post("/v1/accounts", json=body)
        assert r.status_code == 201, r.text


def clerk_password(suite: SuiteHandle) -> str:
    if suite.mode not in _clerk_ready:
        open_account(suite, CLERK, "王铁童", SUDIAN, Role.REQUEST_HANDLER)
        with httpx.Client(base_url=suite.url_for("accounts"), timeout=30) as c:
            body = {"username": CLERK, "password": INITIAL_PASSWORD, "new_password": CLERK_PASSWORD}
            changed = c.post("/v1/auth/password/change", json=body)
            assert changed.status_code == 200, changed.text
        _clerk_ready.add(suite.mode)
    return CLERK_PASSWORD


def handler_token(suite: SuiteHandle) -> str:
    clerk_password(suite)
    return suite.token(CLERK, SUDIAN, Role.REQUEST_HANDLER)


def workbench_url(suite: SuiteHandle) -> str:
    return suite.url_for("workbench") + "/workbench"


def download_letter(driver: Any, suite: SuiteHandle, name: str, words: list[str]) -> None:
    """The letter page's 下载 PDF link, fetched with the browser's session cookie: an A4 PDF
    whose text (read back by PDFium) has `words`; saved with a picture of its first page
    beside the screenshots."""
    import pypdfium2 as pdfium
    from selenium.webdriver.common.by import By

    href = driver.find_element(By.ID, "letter-pdf").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    with httpx.Client(cookies=cookies, timeout=60) as c:
        r = c.get(href)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    document = pdfium.PdfDocument(r.content)
    text = "".join(p.get_textpage().get_text_range() for p in document).replace("\r\n", "")
    for w in words:
        assert w in text, w
    folder = OUTPUT / "workbench" / suite.mode
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.pdf").write_bytes(r.content)
    document[0].render(scale=1.5).to_pil().save(folder / f"{name}.png")


def check_page(driver: Any, suite: SuiteHandle, name: str) -> None:
    """axe-core on the page as shown (zero serious or critical), and a full-page screenshot."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(function (r) { done(r.violations); })"
        ".catch(function (e) {"
        " done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]); });"
    )
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} @ {[n['target'] for n in v['nodes']][:3]}"
        for v in result
        if v.get("impact") in ("serious", "critical")
    ]
    folder = OUTPUT / "workbench" / suite.mode
    folder.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    width = driver.get_window_size()["width"]
    driver.set_window_size(width, max(900, min(int(height) + 120, 6000)))
    driver.save_screenshot(str(folder / f"{name}.png"))
    driver.set_window_size(width, 900)
    assert not bad, f"{name}: axe found {bad}"


def text_of(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.TAG_NAME, "body").text)


def set_value(driver: Any, element_id: str, value: str) -> None:
    """Dates and selects are set the way a person's choice leaves them (locale-independent)."""
    from selenium.webdriver.common.by import By

    element = driver.find_element(By.ID, element_id)
    driver.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
        element,
        value,
    )


def type_into(driver: Any, element_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By

    element = driver.find_element(By.ID, element_id)
    element.clear()
    element.send_keys(value)


def submit(driver: Any) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "submit").click()


def sign_in(driver: Any, suite: SuiteHandle) -> None:
    from selenium.webdriver.common.by import By

    password = clerk_password(suite)
    driver.get(workbench_url(suite))
    wait(driver, lambda d: d.find_elements(By.ID, "username"))
    check_page(driver, suite, "01-login")
    driver.find_element(By.ID, "username").send_keys(CLERK)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "sign-in").click()
    wait(driver, lambda d: "待办工作" in d.title)


def act(driver: Any, suite: SuiteHandle, command: str, shot: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, f"act-{command}").click()
    wait(driver, lambda d: d.find_elements(By.ID, "submit"))
    check_page(driver, suite, shot)


def after(driver: Any, words: str) -> None:
    from selenium.webdriver.common.by import By

    wait(driver, lambda d: d.find_elements(By.ID, "done"))
    assert words in text_of(driver)


def test_handler_works_a_request_from_registration_to_archive__art29_30_33_36(
    suite: SuiteHandle, browser: Any
) -> None:
    """The whole lifecycle through the pages; letters generated from the events; a bad form
    is refused in Chinese naming the field and writes nothing."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = browser
    sign_in(driver, suite)
    check_page(driver, suite, "02-home")

    driver.find_element(By.LINK_TEXT, "登记申请").click()
    wait(driver, lambda d: d.find_elements(By.ID, "f-channel"))
    check_page(driver, suite, "03-register")
    # Without a channel the form says how the due date is counted (as it does without JS).
    assert "收到申请之日起20个工作日" in driver.find_element(By.ID, "due-preview").text
    # Keyboard: the form's fields and its button are reached with Tab alone.
    reached = set()
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    for _ in range(40):
        reached.add(driver.switch_to.active_element.get_attribute("id"))
        driver.switch_to.active_element.send_keys(Keys.TAB)
    assert {"f-channel", "f-description", "submit"} <= reached

    # Bad input: refused, the field named by its Chinese label, nothing written.
    head = suite.head_position()
    type_into(driver, "f-description", "补")
    set_value(driver, "f-submitted_on", "")
    submit(driver)
    wait(driver, lambda d: d.find_elements(By.ID, "error-summary"))
    assert driver.title.startswith("错误：")
    summary = driver.find_element(By.ID, "error-summary").text
    assert "所需信息描述：内容过短，至少填写2个字" in summary
    assert "申请提交日期：请填写此项" in summary
    assert "提交渠道：请选择一项" in summary
    check_page(driver, suite, "04-register-errors")
    assert suite.head_position() == head

    description = f"申请公开苏店镇2025年度惠民惠农补贴发放名单（{uuid.uuid4().hex[:6]}）"
    set_value(driver, "f-channel", "in_person")
    chosen = driver.find_element(By.CSS_SELECTOR, "#f-channel option:checked").text
    assert chosen == "当面提交", chosen  # the catalogue's label, not the code
    set_value(
        driver,
        "f-submitted_on",
        driver.execute_script("return new Date(Date.now() + 8*3600e3).toISOString().slice(0, 10)"),
    )
    set_value(driver, "f-applicant-kind", "natural_person")
    type_into(driver, "f-applicant-name", "王秀英")
    type_into(driver, "f-applicant-id_document", "居民身份证 140421199001011234")
    type_into(driver, "f-applicant-phone", "13812345678")
    type_into(driver, "f-description", description)
    set_value(driver, "f-requested_form", "paper")
    set_value(driver, "f-delivery_channel", "post")
    # Issue #17: the due date and how it is counted, shown before saving (platform calendar).
    wait(
        driver, lambda d: d.find_element(By.ID, "due-preview").get_attribute("data-due") == "shown"
    )
    promised = driver.find_element(By.ID, "due-preview-lines").text.splitlines()
    assert re.fullmatch(r"答复期限：\d{4}年\d{1,2}月\d{1,2}日", promised[0]), promised
    assert "条例第三十一条" in promised[1] and promised[2].startswith("工作日历：")
    check_page(driver, suite, "04b-register-due-preview")
    submit(driver)
    after(driver, "已登记")
    assert promised[0] in text_of(driver)  # what was shown is what was saved
    number = driver.find_element(By.TAG_NAME, "h1").text.split()[0]
    assert re.fullmatch(r"苏店〔\d{4}〕\d+号", number), number
    assert "还剩" in driver.find_element(By.ID, "deadline-words").text
    assert "收到申请之日" in text_of(driver)
    check_page(driver, suite, "05-detail-registered")

    act(driver, suite, "correction-notice", "06-correction-form")
    type_into(driver, "f-defects", "请写明所需补贴名单的具体年度\n请写明所需信息涉及的村（社区）")
    submit(driver)
    after(driver, "已完成：补正告知")
    assert "待申请人补正" in text_of(driver)
    driver.find_element(By.ID, "letter-correction").click()
    wait(driver, lambda d: d.find_elements(By.ID, "letter-title"))
    letter = text_of(driver)
    assert "补正告知书" in letter and number in letter and "请写明所需补贴名单的具体年度" in letter
    assert "苏店镇人民政府" in letter
    check_page(driver, suite, "07-letter-correction")
    download_letter(
        driver,
        suite,
        "07b-letter-correction",
        ["补正告知书", number, "请写明所需补贴名单的具体年度"],
    )
    driver.back()

    wait(driver, lambda d: d.find_elements(By.ID, "act-correction"))
    act(driver, suite, "correction", "08-correction-received-form")
    submit(driver)
    after(driver, "已完成：收到补正")

    act(driver, suite, "reply", "09-reply-form")
    set_value(driver, "f-reply_type", "disclosed")
    type_into(driver, "f-location", "随本告知书邮寄纸质件")
    submit(driver)
    after(driver, "已完成：答复")
    assert "将答复告知书送达申请人" in driver.find_element(By.ID, "next-steps").text
    driver.find_element(By.ID, "letter-reply").click()
    wait(driver, lambda d: d.find_elements(By.ID, "letter-title"))
    assert "予以公开" in text_of(driver) and "行政复议" in text_of(driver)
    check_page(driver, suite, "10-letter-reply")
    driver.back()

    wait(driver, lambda d: d.find_elements(By.ID, "act-deliveries"))
    act(driver, suite, "deliveries", "11-delivery-form")
    set_value(driver, "f-document", "reply")
    set_value(driver, "f-channel", "post")
    set_value(driver, "f-evidence_kind", "postal_tracking")
    type_into(driver, "f-evidence_ref", "EMS 1186543210987")
    submit(driver)
    after(driver, "已完成：送达回证")

    act(driver, suite, "archive", "12-archive-form")
    submit(driver)
    after(driver, "已完成：归档")
    assert "已归档" in driver.find_element(By.TAG_NAME, "h1").text
    history = text_of(driver)
    assert "提交渠道：当面提交" in history and "送达方式：邮寄" in history  # labels, not codes
    check_page(driver, suite, "13-detail-archived")
    driver.find_element(By.ID, "letter-delivery").click()
    wait(driver, lambda d: d.find_elements(By.ID, "letter-title"))
    assert "EMS 1186543210987" in text_of(driver)
    check_page(driver, suite, "14-letter-delivery")

    driver.get(workbench_url(suite) + "/requests?q=" + description[-7:-1])
    wait(driver, lambda d: d.find_elements(By.ID, "export"))
    assert number in text_of(driver)
    check_page(driver, suite, "15-ledger")


def test_large_text_at_200_percent_zoom_reflows_without_sideways_scrolling(
    suite: SuiteHandle, browser: Any
) -> None:
    """适老化: large-text mode at 200% zoom (a 1280px screen is 640 CSS px wide) still shows
    the menu, the queue and its words without the page scrolling sideways."""
    from selenium.webdriver.common.by import By

    driver = browser
    sign_in(driver, suite)
    driver.find_element(By.LINK_TEXT, "大字模式").click()
    wait(driver, lambda d: d.find_elements(By.LINK_TEXT, "标准字号"))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 640, "height": 900, "deviceScaleFactor": 2, "mobile": False},
    )
    driver.refresh()
    wait(driver, lambda d: d.find_elements(By.ID, "tab-overdue"))
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px"
    check_page(driver, suite, "16-home-large-200pct")


def test_a_double_submitted_form_registers_once(suite: SuiteHandle) -> None:
    """The form's Idempotency-Key: the same form sent twice is one request, one number."""
    base = suite.url_for("workbench")
    with httpx.Client(base_url=base, timeout=30) as c:
        login = c.get("/workbench/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', login)
        assert token
        credentials = {"username": CLERK, "password": clerk_password(suite), "csrf": token[1]}
        r = c.post("/workbench/login", data={**credentials, "next": "/workbench"})
        assert r.status_code == 303, r.text
        page = c.get("/workbench/requests/new").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        key = re.search(r'name="key" value="([^"]+)"', page)
        assert csrf and key
        description = f"申请公开苏店镇道路硬化工程招标文件（{uuid.uuid4().hex[:8]}）"
        form = {
            "csrf": csrf[1],
            "key": key[1],
            "channel": "in_person",
            "submitted_on": re.search(
                r'id="f-submitted_on" name="submitted_on" value="([^"]+)"', page
            )[1],  # type: ignore[index]
            "applicant.kind": "natural_person",
            "applicant.name": "李桂兰",
            "applicant.id_document": "居民身份证 140421196505051234",
            "applicant.phone": "13700002222",
            "description": description,
            "requested_form": "electronic",
            "delivery_channel": "email",
        }
        first = c.post("/workbench/requests/new", data=form)
        second = c.post("/workbench/requests/new", data=form)
        assert first.status_code == second.status_code == 303
        assert first.headers["location"] == second.headers["location"]
        refused = c.post("/workbench/requests/new", data={**form, "csrf": "forged"})
        assert refused.status_code == 403
    with suite.client(handler_token(suite)) as api:
        found = suite.eventually(
            lambda: api.get("/v1/requests", params={"q": description[-9:-1]}).json()["items"]
        )
        assert len(found) == 1


def web_sign_in(c: httpx.Client, user: str, password: str) -> httpx.Response:
    login = c.get("/workbench/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', login)
    assert token
    body = {"username": user, "password": password, "csrf": token[1]}
    return c.post("/workbench/login", data=body)


def on_work_list(c: httpx.Client) -> bool:
    page = c.get("/workbench")
    return page.status_code == 200 and "待办工作" in page.text and "退出所有设备" in page.text


def test_a_clerk_signs_in_first_with_the_initial_password_then_signs_out(
    suite: SuiteHandle, browser: Any
) -> None:
    """GB/T 22239-2019 8.1.4.1 a: the initial password is changed at the first sign-in, the
    rules shown in words before anything is typed; a wrong password says so in Chinese."""
    from selenium.webdriver.common.by import By

    driver = browser
    sub = f"li-gl-{uuid.uuid4().hex[:6]}"
    open_account(suite, sub, "李桂兰", SUDIAN, Role.REQUEST_HANDLER)
    driver.delete_all_cookies()
    driver.get(workbench_url(suite))
    wait(driver, lambda d: d.find_elements(By.ID, "username"))
    type_into(driver, "username", sub)
    type_into(driver, "password", "Falsch-Mima-1")
    driver.find_element(By.ID, "sign-in").click()
    wait(driver, lambda d: d.find_elements(By.ID, "error-summary"))
    assert "用户名或密码错误，请重新输入。" in text_of(driver)
    check_page(driver, suite, "20-login-wrong-password")
    type_into(driver, "password", INITIAL_PASSWORD)
    driver.find_element(By.ID, "sign-in").click()
    wait(driver, lambda d: d.find_elements(By.ID, "rules"))
    shown = text_of(driver)
    assert "请先修改密码" in shown and "至少8位" in shown and "GB/T 22239-2019" in shown
    check_page(driver, suite, "21-first-password")
    type_into(driver, "password", INITIAL_PASSWORD)
    type_into(driver, "new_password", "Guilan-Mima-2026")
    type_into(driver, "confirm", "Guilan-Mima-2026")
    driver.find_element(By.ID, "change").click()
    wait(driver, lambda d: "待办工作" in d.title)
    assert "李桂兰" in text_of(driver)
    cookie = driver.get_cookie("gk_session")
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    check_page(driver, suite, "22-signed-in")
    driver.find_element(By.ID, "sign-out").click()
    wait(driver, lambda d: d.find_elements(By.ID, "notice"))
    assert "您已退出登录。" in text_of(driver)
    check_page(driver, suite, "23-signed-out")
    driver.get(workbench_url(suite))
    wait(driver, lambda d: d.find_elements(By.ID, "username"))  # the session is over


def test_a_suspended_clerks_open_session_and_sign_out_everywhere(suite: SuiteHandle) -> None:
    """A suspended account's open session is refused on its next page; 退出所有设备 ends the
    account's session in another browser (its generation: every process's account book)."""
    base = suite.url_for("workbench")
    sub = f"zhao-{uuid.uuid4().hex[:6]}"
    open_account(suite, sub, "赵小燕", SUDIAN, Role.REQUEST_HANDLER)
    with httpx.Client(base_url=suite.url_for("accounts"), timeout=30) as c:
        body = {"username": sub, "password": INITIAL_PASSWORD, "new_password": "Xiaoyan-2026-a"}
        assert c.post("/v1/auth/password/change", json=body).status_code == 200
    with (
        httpx.Client(base_url=base, timeout=30) as one,
        httpx.Client(base_url=base, timeout=30) as two,
    ):
        assert web_sign_in(one, sub, "Xiaoyan-2026-a").status_code == 303
        assert web_sign_in(two, sub, "Xiaoyan-2026-a").status_code == 303
        assert one.cookies["gk_session"] != two.cookies["gk_session"]
        page = one.get("/workbench")
        assert on_work_list(one) and on_work_list(two)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        assert one.post("/workbench/logout-all", data={"csrf": csrf[1]}).status_code == 303
        assert not on_work_list(two) and not on_work_list(one)
        assert web_sign_in(two, sub, "Xiaoyan-2026-a").status_code == 303
        assert on_work_list(two)
        with suite.client(suite.admin_token, service="accounts") as admin:
            r = admin.post(f"/v1/accounts/{sub}/suspend", json={"reason": "调离岗位"})
            assert r.status_code == 200, r.text
        suite.eventually(lambda: not on_work_list(two))
        refused = web_sign_in(one, sub, "Xiaoyan-2026-a")
        assert refused.status_code == 401 and "该账号已停用" in refused.text
