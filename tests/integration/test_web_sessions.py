"""Web sessions of the staff pages, in process on a clock the test moves (embedded mode):
password sign-in through the workbench's own form, the forced change of an initial password,
idle and absolute timeouts (GB/T 22239-2019 8.1.4.1 b: 登录连接超时自动退出), session
fixation, login CSRF and form CSRF, a suspended account's open session, 退出所有设备.
Every refusal is logged as `http.denied` and writes no event (docs/identity.md "Web
sessions"). The session table on both engines: test_web_sessions_store.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient

from gongkai.app import create_app
from services.workbench import websessions
from shared.identity import Role
from shared.settings import Settings
from tests import accounts

pytestmark = pytest.mark.integration

SECRET = "web-sessions-" + "x" * 40
SUDIAN = "shangdang/sudian"
NEW_PASSWORD = "Xin-Mima-2026"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def suite(tmp_path: Path) -> Iterator[tuple[TestClient, Clock]]:
    clock = Clock()
    settings = Settings(var_dir=tmp_path / "var", token_secret=SECRET, log_level="warning")
    with TestClient(create_app(settings, clock=clock)) as client:
        accounts.provision(client, "svc-signin", "shangdang", Role.SERVICE)
        accounts.provision(client, "wang-tietong", SUDIAN, Role.REQUEST_HANDLER)
        yield client, clock


def browser(client: TestClient) -> TestClient:
    """Another browser on the same app (its own cookie jar)."""
    other = TestClient(client.app)
    other.portal = client.portal  # type: ignore[attr-defined]
    return other


def form_token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found[1]


def sign_in(
    c: TestClient, password: str = accounts.INITIAL_PASSWORD, user: str = "wang-tietong"
) -> Any:
    page = c.get("/workbench/login")
    body = {"csrf": form_token(page.text), "username": user, "password": password}
    return c.post("/workbench/login", data=body, follow_redirects=False)


def first_sign_in(c: TestClient) -> Any:
    """The initial password, the forced change: the answer of the change form."""
    asked = sign_in(c)
    assert asked.status_code == 200 and "请先修改密码" in asked.text, asked.text
    assert "至少8位" in asked.text and "GB/T 22239-2019" in asked.text
    body = {
        "csrf": form_token(asked.text),
        "username": "wang-tietong",
        "password": accounts.INITIAL_PASSWORD,
        "new_password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
        "next": "/workbench",
    }
    return c.post("/workbench/password", data=body, follow_redirects=False)


def signed_in(c: TestClient) -> bool:
    r = c.get("/workbench", follow_redirects=False)
    assert r.status_code in (200, 303), r.text
    return r.status_code == 200 and "待办工作" in r.text


def events(client: TestClient) -> int:
    app: Any = client.app
    store = app.state.runtimes["accounts"].store
    return len(client.portal.call(store.read_all, 0, 100_000))  # type: ignore[union-attr]


def test_first_sign_in_changes_the_initial_password_then_the_work_list(
    suite: tuple[TestClient, Clock],
) -> None:
    c, _ = suite
    assert not signed_in(c)
    done = first_sign_in(c)
    assert done.status_code == 303 and done.headers["location"] == "/workbench"
    cookie = next(h for h in done.headers.get_list("set-cookie") if h.startswith("gk_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here; https sets Secure (browser test)
    assert signed_in(c)
    # the new password signs in from now on, the initial one no more
    other = browser(c)
    assert "用户名或密码错误" in sign_in(other).text
    assert sign_in(other, NEW_PASSWORD).status_code == 303 and signed_in(other)


def test_over_https_the_session_cookie_is_secure(suite: tuple[TestClient, Clock]) -> None:
    """The scheme uvicorn reports (X-Forwarded-Proto believed from FORWARDED_ALLOW_IPS)."""
    c, _ = suite
    tls = TestClient(c.app, base_url="https://testserver")
    tls.portal = c.portal  # type: ignore[attr-defined]
    done = first_sign_in(tls)
    cookie = next(h for h in done.headers.get_list("set-cookie") if h.startswith("gk_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_wrong_password_then_lockout_say_so_in_chinese_and_write_no_event(
    suite: tuple[TestClient, Clock],
) -> None:
    c, _ = suite
    before = events(c)
    with structlog.testing.capture_logs() as logs:
        wrong = sign_in(c, "Falsch-2026")
        assert wrong.status_code == 401 and "用户名或密码错误，请重新输入。" in wrong.text
        for _ in range(4):
            sign_in(c, "Falsch-2026")
        locked = sign_in(c, "Falsch-2026")
    assert locked.status_code == 429 and "已暂时锁定，请15分钟后再试" in locked.text, locked.text
    assert not signed_in(c)
    assert any(e["event"] == "http.denied" and e["rule"] == "signin.failed" for e in logs)
    assert events(c) == before


def test_login_csrf_and_cross_site_posts_are_refused(suite: tuple[TestClient, Clock]) -> None:
    c, _ = suite
    before = events(c)
    c.get("/workbench/login")
    body = {"username": "wang-tietong", "password": accounts.INITIAL_PASSWORD}
    with structlog.testing.capture_logs() as logs:
        no_token = c.post("/workbench/login", data=body, follow_redirects=False)
        other_token = form_token(browser(c).get("/workbench/login").text)
        foreign = c.post(
            "/workbench/login", data={**body, "csrf": other_token}, follow_redirects=False
        )
        token = form_token(c.get("/workbench/login").text)
        cross = c.post(
            "/workbench/login",
            data={**body, "csrf": token},
            headers={"Origin": "https://evil.example"},
            follow_redirects=False,
        )
    assert [r.status_code for r in (no_token, foreign, cross)] == [403, 403, 403]
    assert "页面已过期或来自其他网站" in no_token.text
    assert [e["rule"] for e in logs if e["event"] == "http.denied"] == [
        "csrf.login_token",
        "csrf.login_token",
        "csrf.origin",
    ]
    assert not signed_in(c) and events(c) == before


def test_sign_out_and_workbench_forms_need_the_session_form_token(
    suite: tuple[TestClient, Clock],
) -> None:
    c, _ = suite
    first_sign_in(c)
    page = c.get("/workbench/requests/new")
    assert page.status_code == 200, page.text
    with structlog.testing.capture_logs() as logs:
        out = c.post("/workbench/logout", data={"csrf": "0" * 40})
        cross = c.post(
            "/workbench/logout",
            data={"csrf": form_token(page.text)},
            headers={"Origin": "https://evil.example"},
        )
        all_out = c.post("/workbench/logout-all", data={})
    assert [r.status_code for r in (out, cross, all_out)] == [403, 403, 403]
    assert [e["rule"] for e in logs if e["event"] == "http.denied"] == [
        "csrf.token",
        "csrf.origin",
        "csrf.token",
    ]
    assert signed_in(c)
    done = c.post("/workbench/logout", data={"csrf": form_token(page.text)})
    assert "您已退出登录" in done.text and not signed_in(c)


def test_a_cookie_from_before_sign_in_is_not_the_session_after(
    suite: tuple[TestClient, Clock],
) -> None:
    c, _ = suite
    first_sign_in(c)
    before = c.cookies.get(websessions.COOKIE)
    assert before
    # the browser's own earlier session is not kept at a new sign-in, nor a planted id
    again = sign_in(c, NEW_PASSWORD)
    after = c.cookies.get(websessions.COOKIE)
    assert again.status_code == 303 and after and after != before
    stale = browser(c)
    stale.cookies.set(websessions.COOKIE, before, domain="testserver.local", path="/")
    assert not signed_in(stale) and signed_in(c)
    planted = browser(c)
    planted.cookies.set(
        websessions.COOKIE, "planted-by-someone-else", domain="testserver.local", path="/"
    )
    sign_in(planted, NEW_PASSWORD)
    assert planted.cookies.get(websessions.COOKIE) != "planted-by-someone-else"


def test_idle_and_absolute_timeouts(suite: tuple[TestClient, Clock]) -> None:
    c, clock = suite
    first_sign_in(c)
    clock.now += websessions.IDLE - timedelta(minutes=1)
    assert signed_in(c)  # used within the idle time: it goes on
    with structlog.testing.capture_logs() as logs:
        clock.now += websessions.IDLE
        assert not signed_in(c)
    assert any(e.get("rule") == "session.idle" for e in logs)
    sign_in(c, NEW_PASSWORD)
    started = clock.now
    while clock.now - started < websessions.ABSOLUTE - timedelta(minutes=20):
        clock.now += timedelta(minutes=20)
        assert signed_in(c)
    with structlog.testing.capture_logs() as logs:
        clock.now = started + websessions.ABSOLUTE
        assert not signed_in(c)
    assert any(e.get("rule") == "session.absolute" for e in logs)


def test_a_suspended_account_is_refused_on_its_next_page(
    suite: tuple[TestClient, Clock],
) -> None:
    c, _ = suite
    first_sign_in(c)
    assert signed_in(c)
    app: Any = c.app
    handlers = app.state.runtimes["accounts"].handlers
    admin = accounts.token(c, SECRET, "boss", "shangdang", Role.DISTRICT_ADMINISTRATOR)
    r = c.post(
        "/v1/accounts/wang-tietong/suspend",
        json={"reason": "调离岗位"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert r.status_code == 200, r.text
    assert handlers is not None
    with structlog.testing.capture_logs() as logs:
        assert not signed_in(c)
        refused = sign_in(browser(c), NEW_PASSWORD)
    assert any(e.get("rule") == "account.suspended" for e in logs)
    assert refused.status_code == 401 and "该账号已停用，请联系本单位的系统管理员。" in refused.text


def test_sign_out_everywhere_ends_the_other_browsers_session(
    suite: tuple[TestClient, Clock],
) -> None:
    c, _ = suite
    first_sign_in(c)
    other = browser(c)
    sign_in(other, NEW_PASSWORD)
    assert signed_in(c) and signed_in(other)
    page = c.get("/workbench")
    done = c.post("/workbench/logout-all", data={"csrf": form_token(page.text)})
    assert "您已在所有设备上退出登录" in done.text
    assert not signed_in(other) and not signed_in(c)
    assert sign_in(other, NEW_PASSWORD).status_code == 303 and signed_in(other)


def test_a_session_survives_a_restart_of_the_embedded_process(tmp_path: Path) -> None:
    """The sessions live in the workbench's SQLite file under the var dir, not in memory."""
    settings = Settings(var_dir=tmp_path / "var", token_secret=SECRET, log_level="warning")
    with TestClient(create_app(settings)) as c:
        accounts.provision(c, "wang-tietong", SUDIAN, Role.REQUEST_HANDLER)
        assert first_sign_in(c).status_code == 303 and signed_in(c)
        kept = c.cookies.get(websessions.COOKIE)
    with TestClient(create_app(settings)) as again:
        again.cookies.set(websessions.COOKIE, str(kept), domain="testserver.local", path="/")
        assert signed_in(again)
