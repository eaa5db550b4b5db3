"""Web sessions of people signed in to the suite's pages (docs/identity.md "Web sessions").

A session is a random opaque id (32 bytes from `secrets`) in an HttpOnly, SameSite=Lax
cookie, Secure when the page came over https. The server keeps only the SHA-256 of the id,
so a copy of the table signs nobody in. The row holds who signed in (account, org, the
account's session generation then) and when: idle timeout IDLE (30 minutes without a page)
and absolute timeout ABSOLUTE (10 hours after sign-in), GB/T 22239-2019 8.1.4.1 b
(登录连接超时自动退出). A new id is made at every sign-in; an id the browser had before is
never kept (no session fixation).

Where it lives: a table in the workbench's own database (its runtime's `views`): embedded,
the SQLite file that survives a restart; distributed, PostgreSQL, shared by every workbench
process. Not events: a session id is a secret, and the log is copied everywhere and kept
forever.

The session is not a token: every API call of a page carries a fresh access token minted for
the account from the account book (ACCESS_TTL), so a suspension, a revoked role or a sign-out
everywhere stops the session on its next page.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.db import Database

COOKIE = "gk_session"
#: The cookie holding a not-yet-signed-in browser's login-form nonce (login CSRF).
LOGIN_COOKIE = "gk_login"
PATH = "/"
IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=10)
#: An access token minted for one page's API calls lives this long.
ACCESS_TTL = timedelta(minutes=2)
#: last_seen is written at most this often (a page of many calls writes once).
TOUCH_EVERY = timedelta(seconds=30)

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS web_sessions (
        id_hash TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        org TEXT NOT NULL,
        generation INTEGER NOT NULL,
        method TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_seen TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS web_sessions_account ON web_sessions (account_id)",
]


@dataclass(frozen=True)
class WebSession:
    id: str
    account_id: str
    org: str
    generation: int
    method: str
    created_at: datetime
    last_seen: datetime

    def expired(self, now: datetime) -> str | None:
        """Why the session no longer counts at `now` ("idle", "absolute"), or None."""
        if now - self.created_at >= ABSOLUTE:
            return "absolute"
        if now - self.last_seen >= IDLE:
            return "idle"
        return None


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def new_id() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(session_id: str, secret: str, purpose: str = "session") -> str:
    """A form token bound to one session (or one login-form nonce): another's is worthless."""
    mac = hmac.new(secret.encode(), f"web-csrf|{purpose}|{session_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:40]


def csrf_ok(
    session_id: str | None, secret: str, given: str | None, purpose: str = "session"
) -> bool:
    if not session_id or not given:
        return False
    return hmac.compare_digest(csrf_token(session_id, secret, purpose), given)


class WebSessions:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._ready = False

    async def setup(self) -> None:
        if not self._ready:
            await self.db.execute_script(SCHEMA)
            self._ready = True

    async def start(
        self, account_id: str, org: str, generation: int, method: str, now: datetime
    ) -> WebSession:
        """A new session with a new id (never one the browser brought); sessions past their
        absolute timeout that no browser came back for are deleted on the way."""
        await self.purge(now)
        session = WebSession(new_id(), account_id, org, generation, method, now, now)
        await self.db.execute(
            "INSERT INTO web_sessions (id_hash, account_id, org, generation, method, "
            "created_at, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            _hash(session.id),
            account_id,
            org,
            generation,
            method,
            now.isoformat(),
            now.isoformat(),
        )
        return session

    async def find(self, session_id: str | None, now: datetime) -> tuple[WebSession | None, str]:
        """The session of a cookie and "ok", or None and why ("none", "unknown", "idle",
        "absolute"). An expired session is deleted; a live one's last_seen is moved on."""
        if not session_id or len(session_id) > 100:
            return None, "none"
        await self.setup()
        row = await self.db.fetchrow(
            "SELECT account_id, org, generation, method, created_at, last_seen "
            "FROM web_sessions WHERE id_hash = $1",
            _hash(session_id),
        )
        if row is None:
            return None, "unknown"
        session = WebSession(
            id=session_id,
            account_id=row["account_id"],
            org=row["org"],
            generation=int(row["generation"]),
            method=row["method"],
            created_at=datetime.fromisoformat(row["created_at"]),
            last_seen=datetime.fromisoformat(row["last_seen"]),
        )
        why = session.expired(now)
        if why is not None:
            await self.end(session_id)
            return None, why
        if now - session.last_seen >= TOUCH_EVERY:
            await self.db.execute(
                "UPDATE web_sessions SET last_seen = $2 WHERE id_hash = $1",
                _hash(session_id),
                now.isoformat(),
            )
        return session, "ok"

    async def end(self, session_id: str) -> None:
        await self.setup()
        await self.db.execute("DELETE FROM web_sessions WHERE id_hash = $1", _hash(session_id))

    async def end_all(self, account_id: str) -> int:
        """Every session of an account (退出所有设备, a suspension seen): how many ended."""
        await self.setup()
        count = await self.db.fetchval(
            "SELECT COUNT(*) FROM web_sessions WHERE account_id = $1", account_id
        )
        await self.db.execute("DELETE FROM web_sessions WHERE account_id = $1", account_id)
        return int(count or 0)

    async def purge(self, now: datetime) -> None:
        """Sessions past their absolute timeout (rows a browser never came back for)."""
        await self.setup()
        await self.db.execute(
            "DELETE FROM web_sessions WHERE created_at <= $1", (now - ABSOLUTE).isoformat()
        )
