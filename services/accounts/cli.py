"""`gongkai accounts …`: bootstrap the first district administrator, and the auditor's
"who could act as ROLE in ORG on DAY" from the log. Both open the accounts store directly
(embedded: var/accounts; distributed: the `accounts` schema of GONGKAI_DATABASE_URL).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.accounts.handlers import AccountsHandlers
    from shared.settings import Settings

#: Service accounts every suite needs: its own services call each other with them.
BUILTIN_SERVICE_ACCOUNTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "svc-portal",
        "政府信息公开门户",
        ("applications.annual-reports.read", "sentiment.messages.write"),
    ),
    # The suite's sign-in pages (workbench, scoreboard): they forward their visitors'
    # addresses to the sign-in lockout (shared/gateway.py sign_in_call).
    ("svc-signin", "登录页面", ()),
)


def add_commands(sub: Any) -> None:
    p = sub.add_parser("accounts", help="accounts: bootstrap the first administrator, holders")
    cmds = p.add_subparsers(dest="accounts_command", required=True)
    boot = cmds.add_parser(
        "bootstrap",
        help="register the org file's units and open the first district administrator's "
        "account (and the suite's service accounts); refused once an administrator exists",
    )
    boot.add_argument("--admin", required=True, help="account id, e.g. chen-gang")
    boot.add_argument("--name", help="display name (default: from the org file)")
    boot.add_argument(
        "--password-file",
        help="file holding the initial password (changed at first sign-in); default: a "
        "generated one, printed once",
    )
    boot.set_defaults(func=_bootstrap)
    holders = cmds.add_parser(
        "holders", help="who could act as ROLE in ORG on a day or at an instant (from the log)"
    )
    holders.add_argument("--role", required=True, help="e.g. attribute_officer")
    holders.add_argument("--org", required=True, help="e.g. shangdang/sudian")
    when = holders.add_mutually_exclusive_group()
    when.add_argument("--on", help="a day, YYYY-MM-DD (Asia/Shanghai)")
    when.add_argument("--at", help="an instant, ISO 8601 with offset")
    holders.set_defaults(func=_holders)


@asynccontextmanager
async def open_accounts(settings: Settings) -> AsyncIterator[AccountsHandlers]:
    """The accounts service's handlers on its own store, outside a running suite."""
    from services.accounts.handlers import AccountsHandlers
    from services.accounts.signin import Credentials
    from shared.account_book import AccountBook
    from shared.db import Database, SqliteDatabase
    from shared.envelope import utcnow
    from shared.eventstore import open_postgres_store, open_sqlite_store

    views: Database
    if settings.database_url:
        store = await open_postgres_store(settings.database_url, schema="accounts", listen=False)
        views = store.db
        closers: list[Any] = [store]
    else:
        folder = settings.var_dir / "accounts"
        folder.mkdir(parents=True, exist_ok=True)
        store = await open_sqlite_store(str(folder / "events.db"), name="accounts")
        views = await SqliteDatabase.open(folder / "views.db")
        closers = [views, store]
    try:
        yield AccountsHandlers(
            store=store,
            credentials=Credentials(views),
            book=AccountBook(),
            secret=settings.resolved_token_secret(),
            clock=utcnow,
        )
    finally:
        for closer in closers:
            await closer.close()


async def bootstrap(
    handlers: AccountsHandlers, settings: Settings, admin: str, name: str | None, password: str
) -> int:
    """Register the org file's tree, open the first district administrator and the suite's
    service accounts. Returns how many units were registered."""
    from services.accounts.commands import CreatePerson
    from shared.account_book import ACCOUNT_STREAM_TYPE, ROLE_GRANTED
    from shared.errors import DomainRuleViolated
    from shared.tenancy import Role, load_org_tree

    tree = load_org_tree(settings.org_file)
    position = 0
    while batch := await handlers.store.read_all(position, 10_000):
        for e in batch:
            if (
                e.stream_type == ACCOUNT_STREAM_TYPE
                and e.type == ROLE_GRANTED
                and e.payload["role"] == Role.DISTRICT_ADMINISTRATOR.value
            ):
                raise DomainRuleViolated(
                    rule="bootstrap.done",
                    field="admin",
                    message_zh="已有区级账号管理员，不再引导；请由管理员开设账号",
                    message_en="a district administrator exists; accounts are opened by one",
                )
        position = batch[-1].position
    registered = await handlers.register_tree(tree)
    district = tree.district.path
    if name is None:
        _, person = tree.find_person(admin)
        name = person.name
    cmd = CreatePerson(
        account_id=admin,
        display_name=name,
        org=district,
        roles=[Role.DISTRICT_ADMINISTRATOR, Role.ADMINISTRATOR],
        initial_password=password,
    )
    await handlers.create_person(cmd, None)
    for account_id, label, scopes in BUILTIN_SERVICE_ACCOUNTS:
        await handlers.provision_service(account_id, label, district, scopes)
    return registered


def _bootstrap(args: argparse.Namespace) -> int:
    import secrets

    from shared.settings import Settings

    settings = Settings()
    if args.password_file:
        with open(args.password_file, encoding="utf-8") as fh:
            password = fh.read().strip()
        shown = "(from the file)"
    else:
        password = "Gk-" + secrets.token_urlsafe(9) + "7a"
        shown = password

    async def go() -> int:
        async with open_accounts(settings) as handlers:
            return await bootstrap(handlers, settings, args.admin, args.name, password)

    import asyncio  # not at the top: every command loads this module (issue #21)

    registered = asyncio.run(go())
    print(f"registered {registered} org units; district administrator {args.admin}")
    print(f"initial password {shown} — to be changed at the first sign-in (POST /v1/auth/password)")
    return 0


def _holders(args: argparse.Namespace) -> int:
    from datetime import UTC, date, datetime

    from services.accounts.api import window
    from services.accounts.handlers import holders_in
    from shared.settings import Settings
    from shared.tenancy import OrgPath, Role

    settings = Settings()
    role = Role(args.role)
    org = OrgPath.parse(args.org)
    start, end = window(
        date.fromisoformat(args.on) if args.on else None,
        datetime.fromisoformat(args.at) if args.at else None,
        datetime.now(UTC),
    )

    async def go() -> list[Any]:
        async with open_accounts(settings) as handlers:
            return await holders_in(handlers.store, role, org, start, end)

    import asyncio  # not at the top: every command loads this module (issue #21)

    found = asyncio.run(go())
    print(f"{role.label_zh}（{role.value}）@ {org}, {start.isoformat()} – {end.isoformat()}:")
    if not found:
        print("  (nobody)")
    for h in found:
        print(f"  {h.account_id}\t{h.name}\t{h.org}\t(granted at {h.grant_org})")
    sys.stdout.flush()
    return 0
