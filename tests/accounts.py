"""Accounts for tests: every token a test uses speaks for a real account (issue #16).

The checks stay whole: a test provisions the account it acts as (through the accounts
service's own handlers in-process, or its API over HTTP: tests/e2e/conftest.py), waits
until the process's account book knows it, and signs a token with the account's current
session generation, as `gongkai token issue` does.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from shared.identity import Principal, Role, issue_token

INITIAL_PASSWORD = "Init-Pass-2026"


def provision(client: TestClient, sub: str, org: str, *roles: Role) -> int:
    """Make `sub` an active account holding `roles` at `org` in the in-process suite of
    `client` (its org units registered from the org file); returns the account's session
    generation once the process's account book holds the grants."""
    app: Any = client.app
    handlers = app.state.runtimes["accounts"].handlers
    suite = app.state.suite
    client.portal.call(handlers.register_tree, suite.orgs)  # type: ignore[union-attr]
    if Role.SERVICE in roles:
        client.portal.call(handlers.provision_service, sub, f"测试服务 {sub}", org)  # type: ignore[union-attr]
    else:
        client.portal.call(  # type: ignore[union-attr]
            handlers.provision_person, sub, f"测试 {sub}", org, list(roles), INITIAL_PASSWORD
        )
    book = app.state.account_book
    deadline = time.monotonic() + 10
    while True:
        account = book.get(sub)
        if account is not None and set(roles) <= account.roles_at(org):
            return int(account.generation)
        assert time.monotonic() < deadline, f"the account book never held {sub} {roles}"
        time.sleep(0.02)


def token(client: TestClient, secret: str, sub: str, org: str, *roles: Role) -> str:
    generation = provision(client, sub, org, *roles)
    principal = Principal(
        sub=sub,
        org=org,
        roles=frozenset(roles),
        kind="service" if Role.SERVICE in roles else "user",
        generation=generation,
    )
    return issue_token(principal, secret, timedelta(hours=1), datetime.now(UTC))
