"""The public portal (政府信息公开 门户) in a real browser on a 320 px phone screen, embedded
mode: a citizen finds a published document by search and opens it, reads the 专栏 (guide,
columns, annual report), leaves a message (留言) and follows it by its tracking code.

Rules: 条例 Art. 12 (公开指南), Art. 50 (年度报告), DOMAIN.md §1 (方案§8: no personal data on
public pages; §13 search), issue #18. Every page: axe-core with zero serious or critical
violations, no sideways scrolling at 320 px, the privacy guard (services/catalog/privacy.py)
finds nothing in its text, and a screenshot under var/test-output/portal/<mode>/. Both
modes: in distributed mode the portal is its own process calling the others' APIs.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import httpx

from services.catalog.privacy import scan_text
from services.interpretation import samples
from services.portal.guard import parse_answer
from shared.identity import Role
from tests.e2e.conftest import SuiteHandle
from tests.e2e.factories import today
from tests.e2e.test_assessment_board import wait
from tests.e2e.test_catalog_workflow import Desk
from tests.e2e.test_interpretation_api import drafted_and_approved, post, published_policy
from tests.e2e.test_workbench import AXE, OUTPUT, text_of
from tests.e2e.test_workbench import browser as browser  # the Chromium fixture

PHONE_WIDTH = 320
ATOM = "{http://www.w3.org/2005/Atom}"
TITLE = "苏店镇人民政府关于做好今冬明春农村供暖设施安全检查工作的通知"
BODY = (
    "各村（社区）、镇直各单位：\n"
    "为保障群众温暖安全过冬，现就做好今冬明春农村供暖设施安全检查工作通知如下。\n"
    "一、各村于12月15日前完成燃煤炉具、烟道和电采暖线路的逐户检查。\n"
    "二、发现隐患的，当场告知并跟踪整改，整改情况报镇应急办。"
)


def portal(suite: SuiteHandle) -> str:
    return suite.url_for("portal") + "/gk"


def phone(driver: Any, height: int = 800) -> None:
    """A 320 px wide phone screen (CSS pixels), as Chrome's device emulation makes it."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE_WIDTH, "height": height, "deviceScaleFactor": 2, "mobile": True},
    )


def check_page(driver: Any, suite: SuiteHandle, name: str) -> str:
    """axe-core (zero serious or critical), no sideways scrolling at 320 px, no personal
    data in the text, and a full-page screenshot. Returns the page's text."""
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
    wide = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    text = text_of(driver)
    findings = scan_text(text, "page", "portal-test")
    folder = OUTPUT / "portal" / suite.mode
    folder.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    phone(driver, max(800, min(int(height), 8000)))
    driver.save_screenshot(str(folder / f"{name}.png"))
    phone(driver)
    assert not bad, f"{name}: axe found {bad}"
    assert wide[0] <= wide[1], f"{name}: {wide[0]} px wide on a {wide[1]} px screen"
    assert not findings, f"{name}: personal data {[f.kind for f in findings]}"
    return text


def root_font_px(driver: Any) -> float:
    size = driver.execute_script("return getComputedStyle(document.documentElement).fontSize")
    return float(size.removesuffix("px"))


def current_size(driver: Any) -> str:
    """The 字号 link marked “（当前）” (CSS generated text, read by screen readers too)."""
    marked: str = driver.execute_script(
        "return [...document.querySelectorAll('.size a')].filter(a =>"
        " getComputedStyle(a, '::after').content.includes('当前')).map(a => a.className)"
        ".join(' ')"
    )
    return marked


def go(driver: Any, url: str) -> None:
    driver.get(url)


#: True once the page that carried `arguments[0]` is gone and the next one has loaded.
NEXT_PAGE_LOADED = (
    "return window.gongkaiPage !== arguments[0] && document.readyState === 'complete'"
)


def navigate(driver: Any, by: str, what: str) -> None:
    """Click a link or button and wait until the next page has replaced this one and loaded.

    The old page is recognised by a token on its window, read with a script, never by
    polling one of its elements (`staleness_of`): a form's submission is scheduled after
    the click, so chromedriver's click returns before the navigation starts, and an element
    command on the old page can then meet the new document's commit halfway. Chromedriver
    resolves the element by its backend node id (DOM.resolveNode), Chromium answers "Node
    with given id does not belong to the document", and chromedriver passes that on as an
    unknown error instead of a stale element reference, which `staleness_of` does not catch
    (1 run in 30, more on a loaded machine). A script caught by the same commit fails with
    "Cannot find context with specified id", which chromedriver handles itself: it waits
    for the navigation and runs the script again in the new page."""
    token = uuid.uuid4().hex
    driver.execute_script("window.gongkaiPage = arguments[0]", token)
    driver.find_element(by, what).click()
    wait(driver, lambda d: d.execute_script(NEXT_PAGE_LOADED, token))


def click_link(driver: Any, words: str) -> None:
    from selenium.webdriver.common.by import By

    navigate(driver, By.PARTIAL_LINK_TEXT, words)


def press(driver: Any, selector: str) -> None:
    from selenium.webdriver.common.by import By

    navigate(driver, By.CSS_SELECTOR, selector)


def answer_challenge(driver: Any) -> None:
    """Answer the form's 验证题 (“三加五等于几？”) as a citizen does: read it, type the sum."""
    from selenium.webdriver.common.by import By

    label = driver.find_element(By.CSS_SELECTOR, "label[for=answer]").text
    a, b = (parse_answer(x) for x in label.split("：", 1)[1].removesuffix("等于几？").split("加"))
    assert a is not None and b is not None, label
    driver.find_element(By.ID, "answer").send_keys(str(a + b))


def form_challenge(html: str) -> dict[str, str]:
    """The same for an HTTP client: the form token and the answer from the form's page."""
    token = re.search(r'name="form_token" value="([^"]+)"', html)
    question = re.search(r"验证题：(.+?)加(.+?)等于几", html)
    assert token and question, html
    a, b = parse_answer(question[1]), parse_answer(question[2])
    assert a is not None and b is not None
    return {"form_token": token[1], "answer": str(a + b)}


def test_a_citizen_on_a_phone_finds_a_document_by_search_and_reads_the_column__art12_s13(
    suite: SuiteHandle, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    desk = Desk(suite)
    document_id, _ = desk.published(
        title=TITLE,
        body=BODY,
        document_number=f"苏政发〔{today().year}〕31号",
        kind="notice",
        column="livelihood",
        attachments_text=[],
    )
    with suite.client(service="catalog") as c:
        suite.eventually(
            lambda: c.get("/v1/public/catalog/search", params={"q": "供暖"}).json()["items"]
        )
    phone(browser)
    go(browser, portal(suite) + "/")
    check_page(browser, suite, "01-index")
    click_link(browser, "苏店镇")
    text = check_page(browser, suite, "02-sudian-home")
    for part in (
        "政府信息公开指南",
        "政府信息公开制度",
        "法定主动公开内容",
        "政府公报",
        "政府信息公开年报",
        "苏店镇人民政府党政",
    ):
        assert part in text
    assert re.search(r"民生（教育、医疗、就业、生态环境、水电气暖）\s*更新于", text)

    browser.find_element(By.ID, "q").send_keys("供暖设施")
    press(browser, ".searchbox button")
    text = check_page(browser, suite, "03-search")
    assert "共找到1份文件" in text
    marks = [m.text for m in browser.find_elements(By.TAG_NAME, "mark")]
    assert "供暖设施" in marks  # the hit is highlighted
    # Narrowed to another column, then to its own column and this year: the filters stay
    # chosen on the results page (and on its paging links).
    Select(browser.find_element(By.ID, "f-column")).select_by_visible_text("工作动态")
    press(browser, ".filters button")
    text = check_page(browser, suite, "03b-search-filtered")
    assert "在所选范围内共找到0份文件" in text and "改回“全部”" in text
    Select(browser.find_element(By.ID, "f-column")).select_by_value("livelihood")
    Select(browser.find_element(By.ID, "f-year")).select_by_value(str(today().year))
    press(browser, ".filters button")
    assert "在所选范围内共找到1份文件" in text_of(browser)
    assert Select(browser.find_element(By.ID, "f-year")).first_selected_option.text == (
        f"{today().year}年"
    )

    click_link(browser, "农村供暖设施")
    assert browser.current_url.endswith(f"/gk/doc/{document_id}")
    text = check_page(browser, suite, "04-document")
    assert TITLE in text and f"苏政发〔{today().year}〕31号" in text
    assert "现行有效" in text and "逐户检查" in text and "暂无解读" in text

    click_link(browser, "民生")  # the breadcrumb to the document's column
    text = check_page(browser, suite, "05-column")
    assert TITLE in text
    # The column's feed, linked from its page: Chinese title, entries linking to the page.
    atom_url = browser.find_element(By.PARTIAL_LINK_TEXT, "Atom").get_attribute("href")
    feed = ET.fromstring(httpx.get(atom_url, timeout=10).content)
    assert feed.findtext(f"{ATOM}title") == (
        "民生（教育、医疗、就业、生态环境、水电气暖） · 苏店镇"
    )
    links = [a.get("href", "") for e in feed.iter(f"{ATOM}entry") for a in e.iter(f"{ATOM}link")]
    assert portal(suite) + f"/doc/{document_id}" in links
    assert all(link.startswith(portal(suite) + "/doc/") for link in links)

    # 适老化: 大字 from the header enlarges every page until 标准 is chosen again.
    click_link(browser, "大字")
    assert browser.current_url.endswith("/gk/sudian/column/livelihood")
    assert root_font_px(browser) == 24.0  # 16 px × 150 %, a third above the standard 18 px
    go(browser, portal(suite) + "/sudian/rules")
    text = check_page(browser, suite, "05b-rules-large-text")
    assert root_font_px(browser) == 24.0 and current_size(browser) == "large"
    assert "政府信息发布审核制度（“三审三校”）" in text and "20个工作日内答复" in text
    click_link(browser, "标准")
    assert root_font_px(browser) == 18.0 and current_size(browser) == "normal"

    go(browser, portal(suite) + "/sudian/guide")
    text = check_page(browser, suite, "06-guide")
    assert "申请方式" in text and "0355-7000210" in text and "条例第五十一条" in text

    go(browser, portal(suite) + f"/sudian/report/{today().year - 1}")
    text = check_page(browser, suite, "07-annual-report")
    assert f"苏店镇{today().year - 1}年政府信息公开工作年度报告" in text
    assert "三、收到和处理政府信息公开申请情况" in text


def answer_message(suite: SuiteHandle, words: str, reply: str) -> None:
    """苏店镇's opinion officer assigns the message's case to the party office, whose head
    accepts it and answers (12345 work-order steps, test_sentiment_ledger.py)."""
    officer = suite.token("liu-yang", "shangdang/sudian", Role.OPINION_OFFICER)
    head = suite.token("zhang-wei", "shangdang/sudian/party-office", Role.SECTION_HEAD)

    def case_id() -> str | None:
        with suite.client(officer, service="sentiment") as c:
            r = c.get("/v1/messages", params={"tenant": "shangdang/sudian", "limit": 200})
        assert r.status_code == 200, r.text
        ids = [m["case_id"] for m in r.json()["items"] if words in m["text"] and m["case_id"]]
        return ids[0] if ids else None

    case = suite.eventually(case_id)
    for token, step, body in (
        (officer, "assign", {"unit": "shangdang/sudian/party-office", "officer": "liu-yang"}),
        (head, "accept", {}),
        (head, "respond", {"response": reply}),
    ):
        with suite.client(token, service="sentiment") as c:
            r = c.post(f"/v1/opinion-cases/{case}/{step}", json=body)
        assert r.status_code == 200, r.text


def test_a_citizen_opens_a_policy_s_interpretation_and_goes_back_to_the_policy__s19(
    suite: SuiteHandle, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    document_id = published_policy(suite)
    interpretation_id = drafted_and_approved(suite, document_id, samples.GOOD_SECTIONS)
    r = post(suite, "zhang-wei", f"/interpretations/{interpretation_id}/publish")
    assert r.status_code == 200, r.text
    with suite.client(service="catalog") as c:
        suite.eventually(
            lambda: c.get(f"/v1/public/catalog/documents/{document_id}").json()["interpretations"]
        )
    title = samples.interpretation_body([])["title"]
    phone(browser)
    go(browser, portal(suite) + f"/doc/{document_id}")
    click_link(browser, title)
    assert browser.current_url.endswith(f"/gk/interpretation/{interpretation_id}")
    assert "苏店镇" in browser.find_element(By.CSS_SELECTOR, ".crumbs").text
    text = check_page(browser, suite, "08-interpretation")
    assert title in text and samples.POLICY_TITLE in text
    assert "一、为什么要出台这个方案" in text and "图解" in text
    click_link(browser, "阅读政策原文")
    assert browser.current_url.endswith(f"/gk/doc/{document_id}")


def test_a_citizen_leaves_a_message_and_follows_it_by_tracking_code_without_an_account(
    suite: SuiteHandle, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    phone(browser)
    go(browser, portal(suite) + "/message")
    check_page(browser, suite, "11-message-form")
    press(browser, "button.primary")
    assert browser.title.startswith("错误：")
    text = check_page(browser, suite, "12-message-errors")
    assert "请选择留言对象（区政府或一个镇）" in text and "请填写留言内容" in text

    Select(browser.find_element(By.ID, "org")).select_by_visible_text("苏店镇")
    browser.find_element(By.ID, "text").send_keys(
        "苏店村东街的三盏路灯坏了两个多月，晚上老人出门看不清路，请尽快修好。"
    )
    browser.find_element(By.ID, "name").send_keys("赵秀英")
    browser.find_element(By.ID, "phone").send_keys("13912345678")
    answer_challenge(browser)
    press(browser, "button.primary")
    text = check_page(browser, suite, "13-message-sent")
    code = browser.find_element(By.ID, "tracking-code").text.strip()
    assert " " in code  # shown in groups of four, typed back as shown
    assert "赵秀英" not in text and "13912345678" not in text

    click_link(browser, "去查询办理情况")
    browser.find_element(By.ID, "code").send_keys(code)
    press(browser, "button.primary")
    text = check_page(browser, suite, "14-message-status")
    assert "当前状态：已受理" in text and "答复期限" in text
    assert "赵秀英" not in text and "13912345678" not in text

    # The office answers in the ledger (the calls the workbench makes); the citizen's status
    # page shows the reply, still without the citizen's name or phone.
    reply = "镇建设办已于今天修复苏店村东街的三盏路灯，感谢您的反映。"
    answer_message(suite, "苏店村东街的三盏路灯", reply)
    go(browser, portal(suite) + "/track")
    browser.find_element(By.ID, "code").send_keys(code)
    press(browser, "button.primary")
    text = check_page(browser, suite, "14b-message-answered")
    assert "答复内容" in text and reply in text
    assert "赵秀英" not in text and "13912345678" not in text

    go(browser, portal(suite) + "/track")
    browser.find_element(By.ID, "code").send_keys("no-such-code")
    press(browser, "button.primary")
    text = check_page(browser, suite, "15-track-unknown")
    assert "没有找到这个查询码" in text


def test_pages_carry_validators_and_answer_304_to_a_current_copy__rfc9110_13(
    suite: SuiteHandle,
) -> None:
    with httpx.Client(base_url=portal(suite), timeout=30) as c:
        first = c.get("/sudian")
        assert first.status_code == 200
        assert first.headers["cache-control"] == "public, no-cache"
        # httpx asks for gzip as browsers do: the page comes compressed, its own ETag.
        assert first.headers["content-encoding"] == "gzip"
        assert first.headers["vary"] == "Accept-Encoding" and "苏店镇" in first.text
        again = c.get("/sudian", headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        plain = c.get("/sudian", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.text == first.text
        assert plain.headers["etag"] != first.headers["etag"]
        assert int(first.headers["content-length"]) < len(plain.content) / 2
        form = form_challenge(c.get("/message").text)
        sent = c.post(
            "/message",
            data={"org": "shangdang/sudian", "text": "请问镇卫生院周末是否开门？", **form},
        )
        assert sent.status_code == 201 and sent.headers["cache-control"] == "no-store"
        assert c.get("/nowhere").status_code == 404
        # 大字: the pages stay one HTML for everyone; the stylesheet varies on the cookie,
        # is revalidated (304 when current) and the switch never redirects off the portal.
        css = c.get("/static/portal.css")
        assert (
            css.headers["vary"] == "Cookie" and css.headers["cache-control"] == "public, no-cache"
        )
        assert (
            c.get("/static/portal.css", headers={"If-None-Match": css.headers["etag"]}).status_code
            == 304
        )
        switched = c.get(
            "/text-size?size=large", headers={"Referer": "https://elsewhere.example/x"}
        )
        assert switched.status_code == 303 and switched.headers["location"] == "/gk/"
        assert "gk_text=large" in switched.headers["set-cookie"]
        large = c.get("/static/portal.css", headers={"Cookie": "gk_text=large"})
        assert "font-size: 150%" in large.text and large.headers["etag"] != css.headers["etag"]
