"""Credentials of local accounts and the lockout of repeated failures (GB/T 22239-2019
8.1.4.1 b: 登录失败处理, 限制非法登录次数).

Kept in the accounts service's own tables, not in events (decision 85): a password
hash is a secret, and the log is copied to every process and kept forever. What changes
hands is recorded as `PasswordChanged` (no hash); failed attempts are not events at all
(a refused sign-in writes no event, like every refusal).

Lockout, per account: ACCOUNT_LIMIT failures in a row lock the account for LOCK_FOR (a
success resets the count); per address: ADDRESS_LIMIT failures within ADDRESS_WINDOW lock
the address for LOCK_FOR, whichever accounts it tries. A locked account or address is
refused with 429 and Retry-After before any hash is computed, so guessing costs the
service nothing once the lock holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.db import Database
from shared.errors import TooManyAttempts

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
ADDRESS_WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)
HISTORY_KEPT = 5

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS account_credentials (
        account_id TEXT PRIMARY KEY,
        hash TEXT NOT NULL,
        must_change INTEGER NOT NULL,
        changed_at TEXT NOT NULL,
        history TEXT NOT NULL,
        failures INTEGER NOT NULL,
        locked_until TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS signin_address_failures (
        address TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        first_at TEXT NOT NULL,
        locked_until TEXT
    )""",
]


@dataclass(frozen=True)
class CredentialRow:
    account_id: str
    hash: str
    must_change: bool
    changed_at: datetime
    history: list[str]
    failures: int
    locked_until: datetime | None


def _locked(kind: str, until: datetime, now: datetime) -> TooManyAttempts:
    seconds = max(1, int((until - now).total_seconds()) + 1)
    what_zh = "账号" if kind == "account" else "来源地址"
    return TooManyAttempts(
        rule=f"signin.{kind}_locked",
        field="username" if kind == "account" else None,
        message_zh=f"登录失败次数过多，{what_zh}已锁定，请 {seconds} 秒后再试",
        message_en=f"too many failed sign-ins: the {kind} is locked for {seconds} s",
        details={"retry_after": seconds},
    )


class Credentials:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._ready = False

    async def setup(self) -> None:
        if not self._ready:
            await self.db.execute_script(SCHEMA)
            self._ready = True

    async def get(self, account_id: str) -> CredentialRow | None:
        await self.setup()
        row = await self.db.fetchrow(
            "SELECT account_id, hash, must_change, changed_at, history, failures, locked_until "
            "FROM account_credentials WHERE account_id = $1",
            account_id,
        )
        if row is None:
            return None
        return CredentialRow(
            account_id=row["account_id"],
            hash=row["hash"],
            must_change=bool(row["must_change"]),
            changed_at=datetime.fromisoformat(row["changed_at"]),
            history=list(json.loads(row["history"])),
            failures=int(row["failures"]),
            locked_until=datetime.fromisoformat(row["locked_until"])
            if row["locked_until"]
            else None,
        )

    async def set(self, account_id: str, hashed: str, must_change: bool, now: datetime) -> None:
        """A new password hash; the previous one joins the history (for `passwords.reused`)."""
        await self.setup()
        current = await self.get(account_id)
        history = [*current.history, current.hash][-HISTORY_KEPT:] if current else []
        async with self.db.transaction() as tx:
            await tx.execute(
                """INSERT INTO account_credentials
                   (account_id, hash, must_change, changed_at, history, failures, locked_until)
                   VALUES ($1, $2, $3, $4, $5, 0, NULL)
                   ON CONFLICT (account_id) DO UPDATE SET hash = excluded.hash,
                     must_change = excluded.must_change, changed_at = excluded.changed_at,
                     history = excluded.history, failures = 0, locked_until = NULL""",
                account_id,
                hashed,
                1 if must_change else 0,
                now.isoformat(),
                json.dumps(history),
            )

    @staticmethod
    def refuse_if_account_locked(row: CredentialRow, now: datetime) -> None:
        if row.locked_until is not None and row.locked_until > now:
            raise _locked("account", row.locked_until, now)

    async def account_failed(self, account_id: str, now: datetime) -> None:
        await self.setup()
        async with self.db.transaction() as tx:
            failures = await tx.fetchval(
                "UPDATE account_credentials SET failures = failures + 1 "
                "WHERE account_id = $1 RETURNING failures",
                account_id,
            )
            if failures is not None and int(failures) >= ACCOUNT_LIMIT:
                await tx.execute(
                    "UPDATE account_credentials SET failures = 0, locked_until = $2 "
                    "WHERE account_id = $1",
                    account_id,
                    (now + LOCK_FOR).isoformat(),
                )

    async def succeeded(self, account_id: str) -> None:
        await self.setup()
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE account_credentials SET failures = 0, locked_until = NULL "
                "WHERE account_id = $1",
                account_id,
            )

    async def refuse_if_address_locked(self, address: str, now: datetime) -> None:
        await self.setup()
        until = await self.db.fetchval(
            "SELECT locked_until FROM signin_address_failures WHERE address = $1", address
        )
        if until and datetime.fromisoformat(until) > now:
            raise _locked("address", datetime.fromisoformat(until), now)

    async def address_failed(self, address: str, now: datetime) -> None:
        await self.setup()
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                "SELECT failures, first_at FROM signin_address_failures WHERE address = $1",
                address,
            )
            if row is None or datetime.fromisoformat(row["first_at"]) < now - ADDRESS_WINDOW:
                await tx.execute(
                    """INSERT INTO signin_address_failures
                         (address, failures, first_at, locked_until) VALUES ($1, 1, $2, NULL)
                       ON CONFLICT (address) DO UPDATE SET failures = 1,
                         first_at = excluded.first_at, locked_until = NULL""",
                    address,
                    now.isoformat(),
                )
                return
            failures = int(row["failures"]) + 1
            locked = (now + LOCK_FOR).isoformat() if failures >= ADDRESS_LIMIT else None
            await tx.execute(
                "UPDATE signin_address_failures SET failures = $2, locked_until = $3 "
                "WHERE address = $1",
                address,
                0 if locked else failures,
                locked,
            )
