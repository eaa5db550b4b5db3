"""Sign-in and CSRF for the workbench pages.

Until the accounts issue lands, a person signs in by pasting the bearer token they were
given, once: the token is checked and kept in an HttpOnly, SameSite=Strict cookie scoped to
/workbench, never in a URL or in the page, and the workbench sends it on as
`Authorization: Bearer` to the APIs it calls. The APIs stay the only judges of who may do
what; the workbench mints nothing (docs/workbench.md).

CSRF: every form carries a token derived from the session (HMAC of the cookie with the
suite's secret); a POST whose token does not match, or whose Origin is another site, is
refused before anything is sent to an API.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import jwt

from shared.identity import Principal, verify_token

COOKIE = "gk_workbench"
PATH = "/workbench"
#: A working day: the cookie ends then even if the token lives longer.
SESSION_TTL = timedelta(hours=10)


def principal_of(token: str | None, secret: str, now: datetime) -> Principal | None:
    """Who the session's token speaks for, or None when it is absent, bad or expired."""
    if not token:
        return None
    try:
        return verify_token(token, secret, now)
    except Exception:
        return None


def cookie_seconds(token: str, now: datetime) -> int:
    """How long the cookie lives: the session's TTL, never past the token's expiry."""
    expires = jwt.decode(token, options={"verify_signature": False}).get("exp")
    left = int(expires - now.timestamp()) if isinstance(expires, int | float) else 0
    return max(0, min(int(SESSION_TTL.total_seconds()), left))


def csrf_token(token: str, secret: str) -> str:
    """The form token of a session: bound to it, so another session's is worthless."""
    mac = hmac.new(secret.encode(), b"workbench-csrf|" + token.encode(), hashlib.sha256)
    return mac.hexdigest()[:40]


def csrf_ok(token: str | None, secret: str, given: str | None) -> bool:
    if not token or not given:
        return False
    return hmac.compare_digest(csrf_token(token, secret), given)


def same_origin(origin: str | None, host: str | None) -> bool:
    """A POST from another site (its Origin names another host) is refused; browsers send
    Origin on every form POST, a missing one (old browsers) relies on the token alone."""
    if not origin:
        return True
    if origin == "null" or not host:
        return False
    return origin.split("://", 1)[-1].rstrip("/") == host


def now_utc() -> datetime:
    return datetime.now(UTC)
