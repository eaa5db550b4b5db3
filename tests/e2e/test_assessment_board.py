"""The live scoreboard page (实时排名) in a real browser: Debian's headless chromium.

Issue #7: a server-rendered page fed by server-sent events shows ranks changing as events
arrive, each row's breakdown one click away (DOMAIN.md §5; 方案§20 工作台账, §21 亮点工程).
Both modes: embedded, and distributed (the assessment API reads the Kafka worker's cards).

Chromium comes from Debian's packages (deploy/chromium.sh, run by scripts/test.sh).
Without it the browser test is skipped locally and FAILS with CI=true, like the PG/Kafka
fixtures of tests/conftest.py. Waiting is WebDriverWait polling the DOM for what a user
would see, never a fixed sleep.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shared.identity import Role
from tests.conftest import IN_CI
from tests.e2e.conftest import INITIAL_PASSWORD, SuiteHandle, run_suite
from tests.e2e.factories import today

CHROMIUM = Path(os.environ.get("GONGKAI_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("GONGKAI_CHROMEDRIVER", "/usr/bin/chromedriver"))
DEMO = Path(__file__).parents[2] / "deploy" / "demo" / "assessment-scheme-2026.yaml"
OUTPUT = Path(
    os.environ.get("GONGKAI_TEST_OUTPUT", Path(__file__).parents[2] / "var" / "test-output")
)
DISTRICT = "shangdang"
HANDIAN, YINCHENG = "shangdang/handian", "shangdang/yincheng"
#: Hostile text in the scheme: it must show as text and never run.
HOSTILE = '<img src=x onerror="window.__xss=1">培训'
HOSTILE_TITLE = "2026 考核<script>window.__xss=2</script>"


@pytest.fixture(scope="module", params=["embedded", "distributed"])
def suite(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SuiteHandle]:
    """A fresh district: the page's assertions are exact ranks."""
    yield from run_suite(request, tmp_path_factory, services=("assessment",))


@pytest.fixture
def browser() -> Iterator[Any]:
    """A fresh browser per test: cookies ignore ports, so a view cookie from the embedded
    suite's test would otherwise sign the browser in on the distributed suite's page."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        message = f"{CHROMIUM} or {CHROMEDRIVER} missing: run deploy/chromium.sh"
        if IN_CI:
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def assessor(suite: SuiteHandle) -> str:
    return suite.token("li-qiang", DISTRICT, Role.DISTRICT_ASSESSOR)


#: The leader who watches the board in the browser: an account of his own, its initial
#: password changed once (other modules hold tokens for li-qiang, which a change would end).
LEADER = "zhou-jianguo"
LEADER_PASSWORD = "Paiming-Kan-2026"
_leader_ready: set[str] = set()


def leader_password(suite: SuiteHandle) -> str:
    if suite.mode not in _leader_ready:
        with suite.client(suite.admin_token, service="accounts") as c:
            body = {
                "account_id": LEADER,
                "display_name": "周建国",
                "org": DISTRICT,
                "roles": [Role.DISTRICT_ASSESSOR.value],
                "initial_password": INITIAL_PASSWORD,
            }
            r = c.post("/v1/accounts", json=body)
            assert r.status_code == 201, r.text
        with httpx.Client(base_url=suite.url_for("accounts"), timeout=30) as c:
            change = {
                "username": LEADER,
                "password": INITIAL_PASSWORD,
                "new_password": LEADER_PASSWORD,
            }
            r = c.post("/v1/auth/password/change", json=change)
            assert r.status_code == 200, r.text
        _leader_ready.add(suite.mode)
    return LEADER_PASSWORD


def client(suite: SuiteHandle, token: str | None = None) -> httpx.Client:
    return suite.client(token, service="assessment")


def publish(suite: SuiteHandle) -> None:
    data: dict[str, Any] = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    data |= {"year": today().year, "title": HOSTILE_TITLE}
    for indicator in data["indicators"]:
        if indicator["key"] == "training":
            indicator["name"] = HOSTILE
    with client(suite, assessor(suite)) as c:
        r = c.post("/v1/assessment/schemes", json=data)
    assert r.status_code in (200, 201), r.text


def wait(driver: Any, probe: Any, timeout: float = 60) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: probe(d) or None)


def rows(driver: Any) -> list[dict[str, str]]:
    """The table as a user reads it: rank, subject, name, total, in screen order."""
    script = """
      return Array.from(document.querySelectorAll('#board tbody tr')).map(function (tr) {
        return {subject: tr.dataset.subject,
                rank: tr.querySelector('.rank').textContent,
                name: tr.querySelector('.name').textContent,
                total: tr.querySelector('.total').textContent};
      });"""
    found: list[dict[str, str]] = driver.execute_script(script)
    return found


def row_of(driver: Any, subject: str) -> dict[str, str]:
    return next(r for r in rows(driver) if r["subject"] == subject)


def test_live_page_reranks_on_events_and_opens_the_breakdown__fangan20_21(
    suite: SuiteHandle, browser: Any
) -> None:
    """Sign in by POSTing the token, see every township at 100, then a highlight (+2,
    方案§21) puts 荫城镇 alone on top and an overdue ledger item (−2, 方案§20) puts 韩店镇
    last, without a reload; a click on 韩店镇 shows the deduction and its TaskOverdue event."""
    from selenium.webdriver.common.by import By

    publish(suite)
    base = suite.url_for("assessment")
    year = today().year
    browser.get(f"{base}/v1/assessment/board?year={year}")
    # Not signed in: the sign-in form; a wrong password says so, then the leader's own.
    password = leader_password(suite)
    browser.find_element(By.ID, "username").send_keys(LEADER)
    browser.find_element(By.ID, "password").send_keys("Falsch-Mima-1")
    browser.find_element(By.ID, "sign-in").click()
    wait(browser, lambda d: d.find_elements(By.ID, "problem"))
    assert "用户名或密码错误，请重新输入。" in browser.find_element(By.ID, "problem").text
    shots = OUTPUT / "assessment" / suite.mode
    shots.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(shots / "board-login-wrong-password.png"))
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "sign-in").click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#board tbody tr"))
    assert "password" not in browser.current_url and "eyJ" not in browser.current_url
    view = browser.get_cookie("gk_board")
    assert view and view["httpOnly"] and view["expiry"] > time.time() + 50 * 60  # the hour
    assert "gk_board" not in browser.execute_script("return document.cookie")  # HttpOnly

    # Hostile scheme text is shown as text and never runs.
    assert browser.find_element(By.TAG_NAME, "h1").text == HOSTILE_TITLE
    with client(suite, assessor(suite)) as c:
        townships = c.get("/v1/assessment/scoreboard", params={"year": year}).json()["items"]
    first = rows(browser)
    assert [r["subject"] for r in first] == [t["subject"] for t in townships]
    assert {r["rank"] for r in first} == {"1"} and {r["total"] for r in first} == {"100"}
    assert row_of(browser, YINCHENG)["name"] == "荫城镇"
    browser.execute_script("window.__still_here = true")
    # Wait until the stream is open, so the events below arrive as pushes.
    wait(browser, lambda d: d.find_element(By.ID, "status").text == "实时 live")

    with client(suite, assessor(suite)) as c:
        r = c.post(
            "/v1/assessment/highlights",
            json={"org": YINCHENG, "title": "政策找人精准推送", "basis": "区考核办认定"},
        )
    assert r.status_code == 201, r.text
    wait(browser, lambda d: rows(d)[0]["subject"] == YINCHENG and rows(d)[0]["total"] == "102")
    assert rows(browser)[0]["rank"] == "1"
    assert {r["rank"] for r in rows(browser)[1:]} == {"2"}

    office = suite.token("handian-head", HANDIAN, Role.OPENNESS_OFFICE_HEAD)
    with client(suite, office) as c:
        r = c.post(
            "/v1/assessment/tasks",
            json={
                "org": HANDIAN,
                "owner": "wang-tietong",
                "title": "更新权责清单并在政府网站公开",
                "due_on": (today() - timedelta(days=1)).isoformat(),
            },
        )
    assert r.status_code == 201, r.text
    task_id = r.json()["task_id"]
    wait(browser, lambda d: rows(d)[-1]["subject"] == HANDIAN and rows(d)[-1]["total"] == "98")
    assert rows(browser)[-1]["rank"] == str(len(townships))
    assert browser.execute_script("return window.__still_here") is True  # no reload
    assert browser.execute_script("return window.__xss") is None

    browser.find_element(By.CSS_SELECTOR, f'tr[data-subject="{HANDIAN}"] .name a').click()
    wait(browser, lambda d: d.find_elements(By.ID, "breakdown"))
    assert browser.find_element(By.ID, "subject").text == "韩店镇"
    assert browser.find_element(By.ID, "total").text == "98"
    ledger = browser.find_element(By.CSS_SELECTOR, 'tr.line[data-key="task_ledger"]')
    assert ledger.find_element(By.CSS_SELECTOR, ".points").text == "8"
    case = browser.find_element(By.CSS_SELECTOR, 'li.case[data-signal="ledger.task_overdue"]')
    assert task_id in case.text and "TaskOverdue" in case.text
    training = browser.find_element(By.CSS_SELECTOR, 'tr.line[data-key="training"]')
    assert training.find_element(By.TAG_NAME, "td").text == HOSTILE
    assert browser.execute_script("return window.__xss") is None
    browser.find_element(By.ID, "back").click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#board tbody tr"))


def test_view_cookie_reads_the_board_and_nothing_else(suite: SuiteHandle) -> None:
    """The exchange: a bearer token POSTed once gives an HttpOnly, SameSite=Strict cookie
    scoped to /v1/assessment; it reads the scoreboard and the stream but is refused as a
    bearer token and on writes (nothing written)."""
    publish(suite)
    year = today().year
    with client(suite) as anonymous:
        r = anonymous.post(
            "/v1/assessment/board/login",
            headers={"Authorization": f"Bearer {assessor(suite)}"},
        )
        assert r.status_code == 303 and r.headers["location"] == "/v1/assessment/board"
        cookie = r.headers["set-cookie"]
        assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
        assert "Path=/v1/assessment" in cookie
        view = r.cookies["gk_board"]

        bad = anonymous.post("/v1/assessment/board/login", data={"token": "not-a-token"})
        assert bad.status_code == 401 and "gk_board" not in bad.cookies

    with client(suite) as browser_like:
        browser_like.cookies.set("gk_board", view)

        def projected() -> Any:  # the scheme just published is projected asynchronously
            r = browser_like.get("/v1/assessment/scoreboard", params={"year": year})
            return None if r.status_code == 404 else r

        board = suite.eventually(projected)
        assert board.status_code == 200 and board.json()["items"]
        missing = browser_like.get("/v1/assessment/board", params={"year": 2030})
        assert missing.status_code == 404 and missing.headers["content-type"].startswith(
            "text/html"
        )
        assert "2030:township:shangdang" in missing.text
        page = browser_like.get("/v1/assessment/board", params={"year": year})
        assert (
            page.status_code == 200
            and "script-src 'self'" in page.headers["content-security-policy"]
        )
        with browser_like.stream(
            "GET", "/v1/assessment/changes/stream", params={"seconds": 0.5}
        ) as stream:
            assert stream.status_code == 200
        head = suite.head_position("assessment")
        write = browser_like.post(
            "/v1/assessment/highlights",
            json={"org": YINCHENG, "title": "只读凭据不能写", "basis": "测试"},
        )
        assert write.status_code == 401 and write.json()["rule"] == "token.missing"
    with client(suite, view) as as_bearer:
        refused = as_bearer.get("/v1/assessment/scoreboard", params={"year": year})
        assert refused.status_code == 401 and refused.json()["rule"].startswith("token.")
    assert suite.head_position("assessment") == head
