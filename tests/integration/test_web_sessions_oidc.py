"""Staff sign-in through OpenID Connect against the real Keycloak (deploy/keycloak.sh, realm
from deploy/keycloak/realm.json), ending in a signed-in workbench page: the embedded suite in
process with GONGKAI_OIDC_* set mounts /signin/oidc, the sign-in page shows
「使用统一身份认证登录」, and the workbench's `SignIn` maps the verified identity to an
active account (docs/identity.md "Web sessions"). An unknown or suspended account is refused
with a Chinese page, no session, logged as `http.denied`, no event written."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from fastapi.testclient import TestClient

from gongkai.app import create_app
from services.workbench import websessions
from shared.identity import Role
from shared.settings import Settings
from tests import accounts
from tests.integration.test_oidc_keycloak import REALM, USERS, LoopbackIsSecure

pytestmark = pytest.mark.integration

SECRET = "web-oidc-" + "x" * 40
APP = "http://127.0.0.1:8000"


@pytest.fixture
def suite(tmp_path: Path, keycloak_url: str) -> Iterator[TestClient]:
    settings = Settings(
        var_dir=tmp_path / "var",
        token_secret=SECRET,
        log_level="warning",
        oidc_issuer=f"{keycloak_url}/realms/{REALM['realm']}",
        oidc_client_id=REALM["client"]["client_id"],
        oidc_client_secret=REALM["client"]["secret"],
        oidc_redirect_uri=f"{APP}/signin/oidc/callback",
    )
    with TestClient(create_app(settings), base_url=APP) as client:
        accounts.provision(client, "li-qiang", "shangdang/sudian", Role.REQUEST_HANDLER)
        accounts.provision(client, "zhang-hua", "shangdang/sudian", Role.REQUEST_HANDLER)
        yield client


def keycloak_browser() -> httpx.Client:
    jar = httpx.Cookies(CookieJar(policy=LoopbackIsSecure()))

    def send(request: httpx.Request) -> None:
        request.headers.pop("Cookie", None)
        jar.set_cookie_header(request)

    return httpx.Client(
        timeout=30, event_hooks={"request": [send], "response": [jar.extract_cookies]}
    )


def through_keycloak(ours: TestClient, user: str) -> httpx.Response:
    """From the workbench's sign-in page to Keycloak's form and back: our callback's answer."""
    page = ours.get("/workbench/login")
    assert "使用统一身份认证登录" in page.text
    start = ours.get("/signin/oidc/start", params={"next": "/workbench"}, follow_redirects=False)
    assert start.status_code == 303, start.text
    with keycloak_browser() as theirs:
        form = theirs.get(start.headers["location"])
        action = re.search(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', form.text)
        assert action, form.text[:1000]
        body = {"username": user, "password": USERS[user]["password"], "credentialId": ""}
        back = theirs.post(html.unescape(action[1]), data=body)
    assert back.status_code == 302, back.text[:1000]
    url = httpx.URL(back.headers["location"])
    return ours.get(f"{url.path}?{url.query.decode()}", follow_redirects=False)


def events(client: TestClient) -> int:
    app: Any = client.app
    store = app.state.runtimes["accounts"].store
    return len(client.portal.call(store.read_all, 0, 100_000))  # type: ignore[union-attr]


def test_a_person_keycloak_vouches_for_lands_on_the_work_list(suite: TestClient) -> None:
    answer = through_keycloak(suite, "li-qiang")
    assert answer.status_code == 303 and answer.headers["location"] == "/workbench"
    cookie = next(
        h for h in answer.headers.get_list("set-cookie") if h.startswith(websessions.COOKIE)
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = suite.get("/workbench")
    assert page.status_code == 200 and "待办工作" in page.text and "退出所有设备" in page.text


def test_unknown_and_suspended_accounts_are_refused_with_a_chinese_page(
    suite: TestClient,
) -> None:
    admin = accounts.token(suite, SECRET, "boss", "shangdang", Role.DISTRICT_ADMINISTRATOR)
    r = suite.post(
        "/v1/accounts/zhang-hua/suspend",
        json={"reason": "调离岗位"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert r.status_code == 200, r.text
    before = events(suite)
    with structlog.testing.capture_logs() as logs:
        unknown = through_keycloak(suite, "visitor")
        suspended = through_keycloak(suite, "zhang-hua")
    assert unknown.status_code == 403 and "本系统没有对应的工作账号" in unknown.text
    assert suspended.status_code == 403 and "该账号已停用" in suspended.text
    assert websessions.COOKIE not in suite.cookies
    assert suite.get("/workbench", follow_redirects=False).status_code == 303
    rules = [e["rule"] for e in logs if e["event"] == "http.denied"]
    assert "account.unknown" in rules and "account.suspended" in rules
    assert events(suite) == before
