"""`gongkai report annual`: section 三 of the annual report, from the event log (条例 Art. 50)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any


def add_commands(sub: Any) -> None:
    report = sub.add_parser("report", help="reports from the event log")
    report_sub = report.add_subparsers(dest="report_command", required=True)
    annual = report_sub.add_parser("annual", help="年度报告第三部分 收到和处理政府信息公开申请情况")
    annual.add_argument("--tenant", required=True, help="org path: a township or the district")
    annual.add_argument("--year", type=int, required=True)
    annual.add_argument("--format", choices=["json", "csv", "html"], default="json")
    annual.set_defaults(func=_annual)


def _annual(args: argparse.Namespace) -> int:
    from services.applications import report
    from shared.eventstore import open_postgres_store, open_sqlite_store
    from shared.settings import Settings
    from shared.tenancy import load_org_tree

    settings = Settings()
    orgs = load_org_tree(settings.org_file)
    orgs.get(args.tenant)

    async def go() -> list[Any]:
        if settings.database_url:
            store = await open_postgres_store(
                settings.database_url, schema="applications", listen=False
            )
        else:
            path = settings.var_dir / "applications" / "events.db"
            if not path.exists():
                return []
            store = await open_sqlite_store(str(path), name="applications")
        try:
            return await report.read_log(store)
        finally:
            await store.close()

    events = asyncio.run(go())
    townships = [str(t.path) for t in orgs.townships()]
    body = report.build(events, args.tenant, args.year, townships)
    print(report.render(body, args.format))
    return 0 if all(body["check"].values()) else 1
