"""The credentials table and the sign-in lockout on both engines (GB/T 22239-2019 8.1.4.1 b:
登录失败处理, 限制非法登录次数): per account and per address, the lock ending on time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.accounts import signin
from services.accounts.signin import Credentials
from shared.db import Database
from shared.errors import TooManyAttempts

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


async def test_an_address_is_locked_after_repeated_failures_across_accounts(
    database: Database,
) -> None:
    credentials = Credentials(database)
    for i in range(signin.ADDRESS_LIMIT - 1):
        await credentials.address_failed("10.0.0.7", NOW + timedelta(seconds=i))
    await credentials.refuse_if_address_locked("10.0.0.7", NOW + timedelta(minutes=1))
    await credentials.address_failed("10.0.0.7", NOW + timedelta(minutes=1))
    with pytest.raises(TooManyAttempts) as caught:
        await credentials.refuse_if_address_locked("10.0.0.7", NOW + timedelta(minutes=2))
    assert caught.value.rule == "signin.address_locked" and caught.value.status == 429
    assert 0 < caught.value.details["retry_after"] <= signin.LOCK_FOR.total_seconds()
    await credentials.refuse_if_address_locked("10.0.0.8", NOW + timedelta(minutes=2))  # others
    later = NOW + timedelta(minutes=1) + signin.LOCK_FOR + timedelta(seconds=1)
    await credentials.refuse_if_address_locked("10.0.0.7", later)  # the lock ends on time


async def test_failures_spread_beyond_the_window_do_not_lock_an_address(
    database: Database,
) -> None:
    credentials = Credentials(database)
    for i in range(signin.ADDRESS_LIMIT * 2):
        await credentials.address_failed("10.0.0.9", NOW + i * signin.ADDRESS_WINDOW / 10)
    await credentials.refuse_if_address_locked("10.0.0.9", NOW + signin.ADDRESS_WINDOW * 5)


async def test_an_account_is_locked_after_five_failures_and_a_success_resets_the_count(
    database: Database,
) -> None:
    credentials = Credentials(database)
    await credentials.set("li-na", "$argon2id$dummy", True, NOW)
    for _ in range(signin.ACCOUNT_LIMIT - 1):
        await credentials.account_failed("li-na", NOW)
    await credentials.succeeded("li-na")
    for _ in range(signin.ACCOUNT_LIMIT - 1):
        await credentials.account_failed("li-na", NOW)
    row = await credentials.get("li-na")
    assert row is not None
    Credentials.refuse_if_account_locked(row, NOW)  # four since the success: not locked
    await credentials.account_failed("li-na", NOW)
    row = await credentials.get("li-na")
    assert row is not None and row.locked_until == NOW + signin.LOCK_FOR
    with pytest.raises(TooManyAttempts) as caught:
        Credentials.refuse_if_account_locked(row, NOW + timedelta(minutes=14))
    assert caught.value.rule == "signin.account_locked"
    Credentials.refuse_if_account_locked(row, NOW + signin.LOCK_FOR)


async def test_a_new_password_keeps_the_last_ones_for_the_history_check(
    database: Database,
) -> None:
    credentials = Credentials(database)
    for n in range(signin.HISTORY_KEPT + 2):
        await credentials.set("li-na", f"hash-{n}", n == 0, NOW + timedelta(days=n))
    row = await credentials.get("li-na")
    assert row is not None and row.hash == f"hash-{signin.HISTORY_KEPT + 1}"
    assert row.history == [f"hash-{n}" for n in range(1, signin.HISTORY_KEPT + 1)]
    assert not row.must_change and row.failures == 0
