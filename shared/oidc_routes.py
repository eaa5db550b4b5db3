"""The two browser routes of OpenID Connect sign-in, and the seam to the web-session layer.

    GET /signin/oidc/start?next=/path   → 303 to the provider, login cookie set
    GET /signin/oidc/callback?code&state → checks (shared/oidc.py), then SignIn.sign_in

The routes prove who the person is; they do not make a session. The web-session layer
(cookie sessions and sign-in pages, a later piece of issue #16) implements `SignIn`: it maps
the verified identity to a gongkai account through the accounts service, which decides the
roles, starts the session and answers the browser. Until it exists nothing mounts this
router; `oidc_router` is the whole interface:

    client = oidc_client_from_settings(settings, httpx.AsyncClient(timeout=10))
    if client is not None:
        app.include_router(oidc_router(client, my_sign_in))

A refusal (bad state, replay, a token that fails a check, the provider's own error) is
raised as `Unauthenticated` and answered as problem+json by the app's handlers; the login
cookie is single-use and cleared on success.
"""

from __future__ import annotations

from typing import Protocol

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from shared.oidc import LOGIN_COOKIE, LOGIN_TTL, OidcClient, OidcSettings, VerifiedIdentity
from shared.settings import Settings

__all__ = ["SignIn", "oidc_client_from_settings", "oidc_router"]


class SignIn(Protocol):
    """What the web-session layer does with a person the provider vouched for.

    `identity.account_name` is the gongkai account to sign in (the provider's
    `gongkai_account` claim, else its username); `next_path` is a same-site path to go to.
    Return the browser's answer (typically a redirect with the session cookie set), or raise
    `Unauthenticated`/`Forbidden` when no active account matches.
    """

    async def sign_in(self, identity: VerifiedIdentity, next_path: str) -> Response: ...


def oidc_client_from_settings(settings: Settings, http: httpx.AsyncClient) -> OidcClient | None:
    """The relying party the settings describe, or None when OpenID Connect is off."""
    if not settings.oidc_enabled:
        return None
    missing = [
        name
        for name, value in (
            ("GONGKAI_OIDC_CLIENT_ID", settings.oidc_client_id),
            ("GONGKAI_OIDC_REDIRECT_URI", settings.oidc_redirect_uri),
        )
        if not value
    ]
    if missing:
        raise ValueError(f"GONGKAI_OIDC_ISSUER is set, so {' and '.join(missing)} must be too")
    return OidcClient(
        OidcSettings(
            issuer=str(settings.oidc_issuer),
            client_id=str(settings.oidc_client_id),
            redirect_uri=str(settings.oidc_redirect_uri),
            client_secret=settings.oidc_client_secret,
            account_claim=settings.oidc_account_claim,
        ),
        http,
        settings.resolved_token_secret(),
    )


def oidc_router(client: OidcClient, sign_in: SignIn, prefix: str = "/signin/oidc") -> APIRouter:
    router = APIRouter(prefix=prefix, include_in_schema=False)
    secure = client.settings.redirect_uri.startswith("https://")

    @router.get("/start")
    async def start(next: str | None = None) -> Response:
        url, cookie = await client.begin(next)
        answer = RedirectResponse(url, status_code=303)
        answer.headers["Cache-Control"] = "no-store"
        # SameSite=Lax: the provider's redirect back is a top-level GET, which Lax lets through.
        answer.set_cookie(
            LOGIN_COOKIE,
            cookie,
            max_age=int(LOGIN_TTL.total_seconds()),
            path=prefix,
            httponly=True,
            secure=secure,
            samesite="lax",
        )
        return answer

    @router.get("/callback")
    async def callback(request: Request) -> Response:
        result = await client.finish(dict(request.query_params), request.cookies.get(LOGIN_COOKIE))
        answer = await sign_in.sign_in(result.identity, result.next_path)
        answer.headers["Cache-Control"] = "no-store"
        answer.delete_cookie(LOGIN_COOKIE, path=prefix, httponly=True, secure=secure)
        return answer

    return router
