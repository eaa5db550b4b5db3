"""OpenID Connect sign-in against a real Keycloak (deploy/keycloak.sh; realm, client and
users from deploy/keycloak/realm.json; docs/identity.md, "OpenID Connect").

A "browser" (httpx with a cookie jar, redirects followed by hand) walks the whole
authorization code + PKCE flow: our /signin/oidc/start, Keycloak's login form, the redirect
back to our /signin/oidc/callback, which exchanges the code and verifies the ID token
against Keycloak's JWKS before the SignIn seam sees anyone. Then the attacks: a wrong
password, a replayed callback, a callback from another browser's sign-in (login CSRF), a
swapped PKCE verifier, a code used twice at Keycloak, forged and misdirected ID tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from shared.errors import Unauthenticated
from shared.http import install_problem_handlers
from shared.oidc import (
    LOGIN_COOKIE,
    OidcClient,
    OidcSettings,
    VerifiedIdentity,
    open_login,
    seal_login,
    verify_id_token,
)
from shared.oidc_routes import oidc_router

REALM = json.loads(
    (Path(__file__).resolve().parents[2] / "deploy" / "keycloak" / "realm.json").read_text()
)
USERS = {u["username"]: u for u in REALM["users"]}
APP = "http://127.0.0.1:8000"
REDIRECT_URI = f"{APP}/signin/oidc/callback"
SECRET = "oidc-test-cookie-secret-" + "x" * 32


class RecordingSignIn:
    """Stands in for the web-session layer: records whom it was asked to sign in."""

    def __init__(self) -> None:
        self.identities: list[VerifiedIdentity] = []

    async def sign_in(self, identity: VerifiedIdentity, next_path: str) -> Response:
        self.identities.append(identity)
        return JSONResponse(
            {"account": identity.account_name, "sub": identity.subject, "next": next_path}
        )


def _settings(keycloak_url: str, **changes: Any) -> OidcSettings:
    base = OidcSettings(
        issuer=f"{keycloak_url}/realms/{REALM['realm']}",
        client_id=REALM["client"]["client_id"],
        client_secret=REALM["client"]["secret"],
        redirect_uri=REDIRECT_URI,
    )
    return replace(base, **changes)


class LoopbackIsSecure(DefaultCookiePolicy):
    """Send `Secure` cookies to http://127.0.0.1 as browsers do: loopback is a secure context
    (W3C Secure Contexts §3.1), and Keycloak marks its login-session cookies Secure."""

    def return_ok_secure(self, cookie: Cookie, request: Any) -> bool:
        host = urlsplit(request.get_full_url()).hostname
        return host in {"127.0.0.1", "localhost"} or super().return_ok_secure(cookie, request)


def _keycloak_browser() -> httpx.AsyncClient:
    """A client keeping Keycloak's cookies as a browser would on loopback. (httpx copies a
    client's cookies into a default-policy jar per request, so the jar is applied by hooks.)"""
    jar = httpx.Cookies(CookieJar(policy=LoopbackIsSecure()))

    async def send_cookies(request: httpx.Request) -> None:
        request.headers.pop("Cookie", None)
        jar.set_cookie_header(request)

    async def keep_cookies(response: httpx.Response) -> None:
        jar.extract_cookies(response)

    return httpx.AsyncClient(
        timeout=30, event_hooks={"request": [send_cookies], "response": [keep_cookies]}
    )


class Suite:
    def __init__(
        self, keycloak_url: str, http: httpx.AsyncClient, settings: OidcSettings | None = None
    ) -> None:
        self.settings = settings or _settings(keycloak_url)
        self.client = OidcClient(self.settings, http, SECRET)
        self.signed_in = RecordingSignIn()
        app = FastAPI()
        install_problem_handlers(app)
        app.include_router(oidc_router(self.client, self.signed_in))
        self.app = app

    def browser(self) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
        """One browser = one cookie jar for our app and one for Keycloak."""
        ours = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=APP)
        return ours, _keycloak_browser()


@pytest.fixture
async def suite(keycloak_url: str) -> AsyncIterator[Suite]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield Suite(keycloak_url, http)


async def _to_keycloak_login(
    ours: httpx.AsyncClient, theirs: httpx.AsyncClient, next_path: str = "/wb"
) -> tuple[str, str]:
    """Start at our app, land on Keycloak's login form: (form action, sealed login cookie)."""
    start = await ours.get("/signin/oidc/start", params={"next": next_path})
    assert start.status_code == 303, start.text
    cookie = ours.cookies.get(LOGIN_COOKIE)
    assert cookie
    assert "HttpOnly" in start.headers["set-cookie"]
    assert "samesite=lax" in start.headers["set-cookie"].lower()
    page = await theirs.get(start.headers["location"])
    assert page.status_code == 200, page.text[:500]
    match = re.search(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', page.text)
    assert match, page.text[:2000]
    return html.unescape(match.group(1)), cookie


async def _credentials(
    theirs: httpx.AsyncClient, action: str, user: str, password: str
) -> httpx.Response:
    return await theirs.post(
        action, data={"username": user, "password": password, "credentialId": ""}
    )


async def _code_callback(ours: httpx.AsyncClient, theirs: httpx.AsyncClient, user: str) -> str:
    """The URL Keycloak sends the browser back to (our callback with code and state)."""
    action, _ = await _to_keycloak_login(ours, theirs)
    answer = await _credentials(theirs, action, user, USERS[user]["password"])
    assert answer.status_code == 302, answer.text[:2000]
    location = answer.headers["location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return location


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_the_whole_flow_signs_in_the_account_keycloak_vouches_for(suite: Suite) -> None:
    ours, theirs = suite.browser()
    async with ours, theirs:
        back = await _code_callback(ours, theirs, "li-qiang")
        query = parse_qs(urlsplit(back).query)
        assert query["iss"] == [suite.settings.issuer]  # RFC 9207, Keycloak sends it
        answer = await ours.get(_path(back))
    assert answer.status_code == 200, answer.text
    assert answer.json()["account"] == "li-qiang" and answer.json()["next"] == "/wb"
    assert answer.headers["cache-control"] == "no-store"
    assert f'{LOGIN_COOKIE}=""' in answer.headers["set-cookie"]  # single-use cookie cleared
    (identity,) = suite.signed_in.identities
    assert identity.issuer == suite.settings.issuer
    assert identity.username == "li-qiang" and identity.account == "li-qiang"
    assert identity.email == USERS["li-qiang"]["email"]
    assert re.fullmatch(r"[0-9a-f-]{36}", identity.subject)  # Keycloak's user id


async def test_a_public_client_signs_in_with_pkce_alone(keycloak_url: str) -> None:
    """GONGKAI_OIDC_CLIENT_SECRET unset: no client authentication, the verifier is the proof."""
    public = _settings(keycloak_url, client_id=REALM["public_client_id"], client_secret=None)
    async with httpx.AsyncClient(timeout=30) as http:
        suite = Suite(keycloak_url, http, public)
        ours, theirs = suite.browser()
        async with ours, theirs:
            answer = await ours.get(_path(await _code_callback(ours, theirs, "zhang-hua")))
    assert answer.status_code == 200, answer.text
    (identity,) = suite.signed_in.identities
    assert identity.account_name == "zhang-hua"


async def test_a_user_without_an_account_attribute_is_named_by_username(suite: Suite) -> None:
    ours, theirs = suite.browser()
    async with ours, theirs:
        answer = await ours.get(_path(await _code_callback(ours, theirs, "visitor")))
    assert answer.status_code == 200, answer.text
    (identity,) = suite.signed_in.identities
    assert identity.account is None and identity.account_name == "visitor"


async def test_a_wrong_password_never_reaches_us(suite: Suite) -> None:
    ours, theirs = suite.browser()
    async with ours, theirs:
        action, _ = await _to_keycloak_login(ours, theirs)
        answer = await _credentials(theirs, action, "li-qiang", "not-the-password")
    assert answer.status_code == 200  # Keycloak shows its form again
    assert "location" not in answer.headers
    assert "kc-form-login" in answer.text
    assert suite.signed_in.identities == []


async def test_a_replayed_callback_is_refused(suite: Suite, keycloak_url: str) -> None:
    ours, theirs = suite.browser()
    async with ours, theirs:
        back = await _code_callback(ours, theirs, "li-qiang")
        cookie = ours.cookies.get(LOGIN_COOKIE)
        assert (await ours.get(_path(back))).status_code == 200
        # The attacker kept the cookie and the callback URL and sends both again.
        ours.cookies.set(LOGIN_COOKIE, cookie or "", domain="127.0.0.1", path="/signin/oidc")
        again = await ours.get(_path(back))
    assert again.status_code == 401
    assert again.json()["rule"] == "oidc.state_replayed"
    # Another process (an empty ledger) meets Keycloak's own refusal of a used code.
    async with httpx.AsyncClient(timeout=30) as http:
        fresh = OidcClient(_settings(keycloak_url), http, SECRET)
        with pytest.raises(Unauthenticated) as caught:
            await fresh.finish({k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}, cookie)
    assert caught.value.rule == "oidc.code_rejected"
    assert len(suite.signed_in.identities) == 1


async def test_a_callback_naming_another_issuer_is_refused(suite: Suite) -> None:
    """RFC 9207 mix-up defence: Keycloak names itself in `iss`; another value is refused."""
    ours, theirs = suite.browser()
    async with ours, theirs:
        back = await _code_callback(ours, theirs, "li-qiang")
        forged = back.replace(
            "iss=" + quote(suite.settings.issuer, safe=""),
            "iss=" + quote("http://127.0.0.1:18080/realms/master", safe=""),
        )
        assert forged != back
        answer = await ours.get(_path(forged))
    assert answer.status_code == 401 and answer.json()["rule"] == "oidc.response_issuer"
    assert suite.signed_in.identities == []


async def test_a_callback_from_another_browsers_sign_in_is_refused(suite: Suite) -> None:
    """Login CSRF: the attacker's own code and state, delivered to the victim's browser."""
    attacker, attacker_kc = suite.browser()
    victim, victim_kc = suite.browser()
    async with attacker, attacker_kc, victim, victim_kc:
        back = await _code_callback(attacker, attacker_kc, "zhang-hua")
        await _to_keycloak_login(victim, victim_kc)  # the victim has a sign-in of their own
        answer = await victim.get(_path(back))
        no_cookie = httpx.AsyncClient(transport=httpx.ASGITransport(app=suite.app), base_url=APP)
        async with no_cookie:
            bare = await no_cookie.get(_path(back))
    assert answer.status_code == 401 and answer.json()["rule"] == "oidc.state_mismatch"
    assert bare.status_code == 401 and bare.json()["rule"] == "oidc.login_missing"
    assert suite.signed_in.identities == []


async def test_keycloak_refuses_the_code_without_the_right_pkce_verifier(
    suite: Suite, keycloak_url: str
) -> None:
    ours, theirs = suite.browser()
    async with ours, theirs:
        back = await _code_callback(ours, theirs, "li-qiang")
        now = datetime.now(UTC)
        login = open_login(ours.cookies.get(LOGIN_COOKIE), SECRET, now)
    swapped = replace(login, verifier="A" * 64)  # same state and nonce, another verifier
    params = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
    async with httpx.AsyncClient(timeout=30) as http:
        client = OidcClient(_settings(keycloak_url), http, SECRET)
        with pytest.raises(Unauthenticated) as caught:
            await client.finish(params, seal_login(swapped, SECRET))
    assert caught.value.rule == "oidc.code_rejected"
    assert caught.value.details["provider_error"] == "invalid_grant"


async def test_a_provider_named_differently_is_refused_at_discovery(keycloak_url: str) -> None:
    wrong = keycloak_url.replace("127.0.0.1", "localhost") + f"/realms/{REALM['realm']}"
    async with httpx.AsyncClient(timeout=30) as http:
        client = OidcClient(_settings(keycloak_url, issuer=wrong), http, SECRET)
        with pytest.raises(Unauthenticated) as caught:
            await client.begin("/")
    assert caught.value.rule == "oidc.discovery_issuer"


async def _real_id_token(suite: Suite) -> tuple[str, str, dict[str, jwt.PyJWK]]:
    """A genuine ID token from Keycloak for li-qiang, its nonce, and Keycloak's JWKS."""
    ours, theirs = suite.browser()
    async with ours, theirs:
        back = await _code_callback(ours, theirs, "li-qiang")
        login = open_login(ours.cookies.get(LOGIN_COOKIE), SECRET, datetime.now(UTC))
    code = parse_qs(urlsplit(back).query)["code"][0]
    token = await suite.client._exchange(code, login.verifier)
    return token, login.nonce, await suite.client.keys()


async def test_genuine_keycloak_tokens_fail_every_check_they_should(suite: Suite) -> None:
    token, nonce, keys = await _real_id_token(suite)
    now = datetime.now(UTC)
    claims = verify_id_token(token, keys=keys, settings=suite.settings, nonce=nonce, now=now)
    assert claims["azp"] == suite.settings.client_id

    def refused(rule: str, token: str = token, **kw: Any) -> None:
        args: dict[str, Any] = {"settings": suite.settings, "nonce": nonce, "now": now} | kw
        with pytest.raises(Unauthenticated) as caught:
            verify_id_token(token, keys=keys, **args)
        assert caught.value.rule == f"oidc.{rule}"

    refused("id_token_audience", settings=replace(suite.settings, client_id="other-client"))
    refused("id_token_issuer", settings=replace(suite.settings, issuer=claims["iss"] + "x"))
    refused("id_token_nonce", nonce="someone-elses-nonce")
    refused(
        "id_token_expired", now=datetime.fromtimestamp(claims["exp"], UTC) + timedelta(minutes=1)
    )

    head, body, _ = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    none_head = b64(json.dumps({**header, "alg": "none"}).encode())
    refused("id_token_algorithm", f"{none_head}.{body}.")
    # HS256 "signed" with Keycloak's own public key (algorithm confusion)
    pem = keys[header["kid"]].key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_head = b64(json.dumps({**header, "alg": "HS256"}).encode())
    mac = hmac.new(pem, f"{hs_head}.{body}".encode(), hashlib.sha256).digest()
    refused("id_token_algorithm", f"{hs_head}.{body}.{b64(mac)}")
    forged = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged["gongkai_account"] = "zhang-hua"
    refused(
        "id_token_signature", f"{head}.{b64(json.dumps(forged).encode())}.{token.split('.')[2]}"
    )
