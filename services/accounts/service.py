"""Accounts, roles and sign-in as a service of the suite (issue #16, docs/identity.md).

No read model of its own: every process keeps the account book (shared/account_book.py)
fed by this service's log, and the accounts API reads the same book; credentials live in
the service's own table (services/accounts/signin.py).
"""

from __future__ import annotations

from services.accounts.api import routers
from services.accounts.cli import add_commands
from services.accounts.events import registry
from services.accounts.handlers import ACCOUNT_COMMANDS, AccountsHandlers
from services.accounts.signin import Credentials
from shared.service import Runtime, ServiceDefinition, Suite


def _handlers(runtime: Runtime, suite: Suite) -> AccountsHandlers:
    return AccountsHandlers(
        store=runtime.store,
        credentials=Credentials(runtime.views),
        book=suite.accounts,
        secret=suite.settings.resolved_token_secret(),
        clock=suite.clock,
    )


SERVICE = ServiceDefinition(
    name="accounts",
    registry=registry,
    commands=(ACCOUNT_COMMANDS,),
    routers=routers,
    build_handlers=_handlers,
    add_commands=add_commands,
)
