"""`gongkai report annual`: section 三 of the annual report, from the event log (条例 Art. 50)."""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(sub: Any) -> None:
    report = sub.add_parser("report", help="reports from the event log")
    report_sub = report.add_subparsers(dest="report_command", required=True)
    annual = report_sub.add_parser("annual", help="年度报告第三部分 收到和处理政府信息公开申请情况")
    annual.add_argument("--tenant", required=True, help="org path: a township or the district")
    annual.add_argument("--year", type=int, required=True)
    annual.add_argument("--format", choices=["json", "csv", "html"], default="json")
    annual.add_argument(
        "--full",
        action="store_true",
        help="the whole report 一–六 (section 二 from the catalog's events, as this service's "
        "read model holds them)",
    )
    annual.set_defaults(func=_annual)


def _annual(args: argparse.Namespace) -> int:
    from services.applications import report
    from shared.db import SqliteDatabase
    from shared.eventstore import open_postgres_store, open_sqlite_store
    from shared.settings import Settings
    from shared.tenancy import load_org_tree

    settings = Settings()
    orgs = load_org_tree(settings.org_file)
    orgs.get(args.tenant)

    enforcement: list[Any] = []

    async def go() -> tuple[list[Any], list[Any]]:
        publications: list[Any] = []
        if settings.database_url:
            store = await open_postgres_store(
                settings.database_url, schema="applications", listen=False
            )
            views: Any = store.db
        else:
            folder = settings.var_dir / "applications"
            if not (folder / "events.db").exists():
                return [], []
            store = await open_sqlite_store(str(folder / "events.db"), name="applications")
            views = await SqliteDatabase.open(folder / "views.db") if args.full else None
        try:
            if args.full:
                publications = await _publications(views)
                enforcement.extend(await _enforcement(views))
            return await report.read_log(store), publications
        finally:
            if views is not None and views is not store.db:
                await views.close()
            await store.close()

    import asyncio  # not at the top: every command loads this module (issue #21)

    events, publications = asyncio.run(go())
    townships = [str(t.path) for t in orgs.townships()]
    if args.full:
        from services.applications import annual

        doc = annual.build(
            events=events,
            publications=publications,
            tenant=args.tenant,
            name=str(orgs.get(args.tenant).name),
            year=args.year,
            township_paths=townships,
            enforcement=enforcement,
        )
        print(report.render_annual(doc, args.format))
        return 0 if all(doc["check"].values()) else 1
    body = report.build(events, args.tenant, args.year, townships)
    print(report.render(body, args.format))
    return 0 if all(body["check"].values()) else 1


async def _enforcement(views: Any) -> list[Any]:
    """Section 二's enforcement rows (none before the projection first ran)."""
    from services.applications.enforcement_rows import enforcement_rows

    return await enforcement_rows(views)


async def _publications(views: Any) -> list[Any]:
    """Section 二's rows; none when the projection has not run yet (no table)."""
    from services.applications import annual

    try:
        return await annual.publication_rows(views)
    except Exception as exc:  # the table is created when the projection first runs
        if "app_publications" in str(exc):
            return []
        raise
