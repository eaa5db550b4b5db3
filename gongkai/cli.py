"""The `gongkai` command-line tool."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import pkgutil
import sys
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.envelope import RecordedEvent
    from shared.settings import Settings

# Start-up is kept light (docs/operations.md, "The command line"): this module imports
# only the standard library at the top, each command imports what it runs, and the
# services' subcommands come from their light `services/<name>/cli.py` (see
# `_service_command_modules`). tests/unit/test_cli_startup.py holds the line.


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from gongkai.app import Suite, create_app, served
    from gongkai.demo import DEMO_PEOPLE, demo_password, load_demo_accounts, seed_requests
    from shared.settings import Settings

    settings = Settings()
    if args.port:
        settings.port = args.port
    base = f"http://{settings.host}:{settings.port}"

    async def banner(suite: Suite) -> None:
        seeded = opened = 0
        orgs = suite.orgs
        if not args.no_demo_data:
            opened = await load_demo_accounts(suite.runtimes["accounts"].handlers, orgs)
            seeded = await seed_requests(suite.runtimes["applications"].handlers, orgs)
        lines = [
            "",
            "gongkai 政务公开 — embedded mode (no external services)",
            f"  district:   {orgs.district.name} with "
            + "、".join(t.name for t in orgs.townships()),
            f"  state:      {settings.var_dir.resolve()}"
            + (f" (demo requests registered: {seeded})" if seeded else "")
            + (f" (demo accounts opened: {opened})" if opened else ""),
            f"  API:        {base}/v1/requests",
            f"  API docs:   {base}/docs",
            f"  health:     {base}/health   ready: {base}/ready   metrics: {base}/metrics",
            f"  workbench:  {base}/workbench  (sign in there with a demo account below; "
            "the first sign-in asks for a new password)",
            f"  scoreboard: {base}/v1/assessment/board  (leaders and assessors)",
            f"  API sign-in: POST {base}/v1/auth/password "
            '{"username": …, "password": …} -> an access token (10 min)',
            f"               the first sign-in asks for a new password: "
            f"POST {base}/v1/auth/password/change",
        ]
        if args.no_demo_data:
            lines.append("  accounts:   none loaded (--no-demo-data): gongkai accounts bootstrap")
        else:
            lines.append("  demo accounts (user name / initial password / who):")
            for label, person_id in DEMO_PEOPLE:
                unit, person = orgs.find_person(person_id)
                lines.append(
                    f"    {person_id:<14} {demo_password(person_id):<13} "
                    f"{person.name} {unit.name} — {label}"
                )
            lines.append(
                "    (every person of the org file has an account: " + str(settings.org_file) + ")"
            )
        lines.append(
            f"  try: curl -X POST -H 'Content-Type: application/json' -d "
            f'\'{{"username": "wang-tietong", "password": "{demo_password("wang-tietong")}"}}\' '
            f"{base}/v1/auth/password"
        )
        print("\n".join(lines), flush=True)

    app = create_app(settings, role="embedded", on_started=banner)
    uvicorn.run(
        served(app),
        host=settings.host,
        port=settings.port,
        loop="asyncio",
        log_config=None,
        access_log=False,
    )
    return 0


def _serve(args: argparse.Namespace, role: str) -> int:
    import uvicorn

    from gongkai.app import DEFINITIONS, SERVICES, create_app, served
    from shared.settings import Settings

    if args.service not in SERVICES:
        print(f"unknown service {args.service}; one of {', '.join(SERVICES)}", file=sys.stderr)
        return 2
    settings = Settings()
    if not settings.database_url or not settings.kafka_bootstrap:
        print(
            "distributed mode needs GONGKAI_DATABASE_URL and GONGKAI_KAFKA_BOOTSTRAP",
            file=sys.stderr,
        )
        return 2
    app = create_app(settings, role=role, services=[args.service])  # type: ignore[arg-type]
    port = args.port or settings.port
    # a worker serves /ready and /metrics only: asyncio's loop, like every stream processor
    loop = DEFINITIONS[args.service].loop if role == "serve" else "asyncio"
    uvicorn.run(
        served(app), host=settings.host, port=port, loop=loop, log_config=None, access_log=False
    )
    return 0


def _token(args: argparse.Namespace) -> int:
    """A token for an active account, with roles it holds at the org (default: all of them,
    at the account's own org); refused otherwise (docs/identity.md)."""
    from shared.account_book import AccountBook, AccountKind, AccountState, account_stream
    from shared.errors import Forbidden, Unauthenticated
    from shared.identity import Principal, Role, issue_token
    from shared.settings import Settings

    settings = Settings()
    # The account as every suite process knows it: its stream, folded by the account book
    # that authenticates callers (shared/account_book.py).
    book = AccountBook()
    book.apply_all(_read_log(settings, "accounts", stream_id=account_stream(args.sub)))
    state = book.get(args.sub) or AccountState()
    wanted_kind = AccountKind.SERVICE if args.service else AccountKind.PERSON
    if not state.exists or state.kind is not wanted_kind:
        raise Unauthenticated(
            rule="account.unknown",
            field="sub",
            message_zh=f"没有{wanted_kind.label_zh} {args.sub}",
            message_en=f"no {wanted_kind.value} account {args.sub!r}",
        )
    if not state.active:
        raise Unauthenticated(
            rule="account.suspended",
            field="sub",
            message_zh=f"账号 {args.sub} 已停用",
            message_en=f"the account {args.sub!r} is suspended",
        )
    org = args.org or state.org
    held = state.roles_at(org)
    roles = frozenset(Role(r) for r in args.role) if args.role else held
    if not roles or not roles <= held:
        missing = sorted(r.value for r in roles - held) or ["(any)"]
        raise Forbidden(
            rule="account.role_not_held",
            field="role",
            message_zh=f"账号 {args.sub} 在 {org} 未持有角色 {'、'.join(missing)}",
            message_en=f"the account {args.sub!r} does not hold {', '.join(missing)} at {org}",
        )
    principal = Principal(
        sub=args.sub,
        org=org,
        roles=roles,
        kind="service" if args.service else "user",
        name=state.name,
        generation=state.generation,
    )
    token = issue_token(
        principal,
        settings.resolved_token_secret(),
        timedelta(minutes=args.ttl_minutes or settings.token_ttl_minutes),
        datetime.now(UTC),
    )
    print(token)
    return 0


def _read_log(
    settings: Settings, service: str, *, stream_id: str | None = None
) -> list[RecordedEvent]:
    """A service's log, or one stream of it: read from its embedded file without an event
    loop (the quick commands, issue #21), or from its PostgreSQL schema."""
    if not settings.database_url:
        from shared.rows import read_log_file

        return read_log_file(settings.var_dir / service / "events.db", stream_id=stream_id)

    import asyncio

    from shared.eventstore import open_postgres_store

    url = settings.database_url

    async def read() -> list[RecordedEvent]:
        store = await open_postgres_store(url, schema=service, listen=False)
        try:
            if stream_id is not None:
                return await store.read_stream(stream_id)
            events: list[RecordedEvent] = []
            while batch := await store.read_all(events[-1].position if events else 0, 10_000):
                events.extend(batch)
            return events
        finally:
            await store.close()

    return asyncio.run(read())


def _due(args: argparse.Namespace) -> int:
    from shared.calendar_book import CalendarBook
    from shared.settings import Settings
    from shared.workdays import format_due

    book = CalendarBook(log_changes=False)
    # The published years are the platform service's (`gongkai workdays publish`).
    book.apply_all(_read_log(Settings(), "platform"))
    print(format_due(book().add_workdays(date.fromisoformat(args.start), args.days)))
    return 0


def _publish(args: argparse.Namespace) -> int:
    import yaml

    from services.platform.handlers import publish_calendar
    from shared.envelope import new_id
    from shared.eventstore import open_postgres_store, open_sqlite_store
    from shared.identity import Principal, Role
    from shared.settings import Settings
    from shared.workdays import parse_year_calendar

    settings = Settings()
    with open(args.file, encoding="utf-8") as fh:
        calendar = parse_year_calendar(yaml.safe_load(fh))
    operator = Principal(sub=args.sub, org=args.org, roles=frozenset({Role.ADMINISTRATOR}))

    async def go() -> None:
        if settings.database_url:
            store = await open_postgres_store(
                settings.database_url, schema="platform", listen=False
            )
        else:
            store = await open_sqlite_store(
                str(settings.var_dir / "platform" / "events.db"), name="platform"
            )
        try:
            await publish_calendar(store, calendar, operator, new_id())
        finally:
            await store.close()

    import asyncio

    asyncio.run(go())
    print(f"published {calendar.year} v{calendar.version}")
    return 0


def _backup(args: argparse.Namespace) -> int:
    from gongkai.backup import backup
    from shared.settings import Settings

    print(f"backed up to {backup(Settings(), args.to).summary()}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from gongkai.backup import restore
    from shared.settings import Settings

    print(f"restored from {restore(Settings(), args.folder, force=args.force).summary()}")
    print("start the suite: projections catch up from their checkpoints; events written after")
    print("the backup are not in it (docs/operations.md, 'Back up and restore')")
    return 0


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; for `command`, one of the suite's own commands (`token`,
    `workdays`, …), only those: the services' subcommands are not read (their modules are
    not imported), which parsing that command does not need (issue #21)."""
    p = argparse.ArgumentParser(prog="gongkai", description="gongkai 政务公开 service suite")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run every service in one process (embedded mode)")
    run.add_argument("--port", type=int)
    run.add_argument("--no-demo-data", action="store_true", help="do not register sample requests")
    run.set_defaults(func=_run)

    for role, text in (
        ("serve", "one service's API and relay (distributed)"),
        ("worker", "one service's projections (distributed)"),
    ):
        s = sub.add_parser(role, help=text)
        s.add_argument("service")
        s.add_argument("--port", type=int)
        s.set_defaults(func=lambda a, r=role: _serve(a, r))

    token = sub.add_parser("token", help="tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    issue = token_sub.add_parser(
        "issue",
        help="issue a signed token for an active account, with roles it holds "
        "(default: every role it holds at its own org)",
    )
    issue.add_argument("--org", help="org path to act in (default: the account's own)")
    from pathlib import Path

    bk = sub.add_parser(
        "backup",
        help="copy the state to a dated folder with a manifest (safe while the suite runs)",
    )
    bk.add_argument("--to", type=Path, help="the folder to create (default var/backups/<UTC time>)")
    bk.set_defaults(func=_backup)
    rs = sub.add_parser("restore", help="put a backup folder back, after checking its manifest")
    rs.add_argument("folder", type=Path, help="a folder written by `gongkai backup`")
    rs.add_argument("--force", action="store_true", help="even while the suite has its files open")
    rs.set_defaults(func=_restore)

    from shared.roles import Role

    issue.add_argument(
        "--role",
        action="append",
        choices=[r.value for r in Role],
        help="a role of the token; repeat for several (default: every role held at --org)",
    )
    issue.add_argument("--sub", required=True, help="subject: a person's or service account id")
    issue.add_argument(
        "--service", action="store_true", help="the subject is a service account (12345, portal)"
    )
    issue.add_argument(
        "--ttl-minutes", type=int, help="lifetime (default GONGKAI_TOKEN_TTL_MINUTES)"
    )
    issue.set_defaults(func=_token)

    workdays = sub.add_parser("workdays", help="working-day calendar")
    wd_sub = workdays.add_subparsers(dest="workdays_command", required=True)
    due = wd_sub.add_parser("due", help="the date N working days after a date")
    due.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD")
    due.add_argument("--days", type=int, required=True)
    due.set_defaults(func=_due)
    publish = wd_sub.add_parser("publish", help="publish a year's calendar (YAML or JSON file)")
    publish.add_argument("file")
    publish.add_argument("--sub", default="operator")
    publish.add_argument("--org", default="shangdang")
    publish.set_defaults(func=_publish)

    _dead_letter_commands(sub)
    if command not in sub.choices:  # a service's command, --help or a typo: list them all
        for module in _service_command_modules():
            module.add_commands(sub)
    return p


def _dead_letter_commands(sub: Any) -> None:
    """`gongkai dead-letters …` (gongkai/dead_letters.py runs them; imported when run)."""
    p = sub.add_parser("dead-letters", help="parked events: list, show, retry, discard")
    cmds = p.add_subparsers(dest="dl_command", required=True)
    ls = cmds.add_parser("list", help="parked events per projection (consumer) and stream")
    ls.add_argument("--consumer")
    ls.set_defaults(func=_dead_letters)
    for name, text in (
        ("show", "one stream's parked events, in stream order"),
        ("retry", "apply a stream's parked events again, in stream order"),
        ("discard", "remove a stream's parked events (recorded with the reason)"),
    ):
        c = cmds.add_parser(name, help=text)
        c.add_argument("consumer", help="projection or consumer, as `list` names it")
        c.add_argument("stream", help="stream id")
        if name in ("retry", "discard"):
            c.add_argument("--sub", default="operator", help="who acts (recorded)")
            c.add_argument("--org", default="shangdang", help="the operator's org (district)")
        if name == "discard":
            c.add_argument("--reason", required=True, help="why (recorded)")
        c.set_defaults(func=_dead_letters)


def _dead_letters(args: argparse.Namespace) -> int:
    from gongkai.dead_letters import run_command

    return run_command(args)


def _service_command_modules(package: str = "services") -> list[Any]:
    """The `cli` module of every service package that has one, by service name.

    The same discovery as shared.service.discover (a package under services/ is a service)
    without importing each service.py, which pulls in the whole service (FastAPI, the
    stores, faust): a service's subcommands live in `services/<name>/cli.py`, whose
    `add_commands` is also its definition's `add_commands`
    (tests/unit/test_cli_startup.py checks the two agree), and which imports at the top only
    what building its parser needs."""
    root = importlib.import_module(package)
    found = []
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name):
        name = f"{package}.{info.name}.cli"
        if info.ispkg and importlib.util.find_spec(name) is not None:
            found.append(importlib.import_module(name))
    return found


def main(argv: list[str] | None = None) -> int:
    from shared.errors import GongkaiError

    argv = sys.argv[1:] if argv is None else argv
    args = parser(argv[0] if argv else None).parse_args(argv)
    try:
        return int(args.func(args))
    except GongkaiError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
