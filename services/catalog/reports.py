"""Staff queries of 主动公开: document list, publication ledger, column report, Art. 26
overdue list and annual-report section 二, all read from the projections.
"""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from services.catalog import views
from services.catalog.column_checks import column_health
from services.catalog.domain import PUBLICATION_WORKING_DAYS
from shared.identity import Principal, require_org, within_scope
from shared.pagination import decode_cursor, encode_cursor, scope_args, scope_clause
from shared.workdays import local_date

ANNUAL_KINDS = {"regulation": "规章", "normative": "行政规范性文件"}


def scope_of(runtime: Any, caller: Principal, tenant: str | None) -> str:
    """Default: the caller's township. Staff of a township see all of its units."""
    handlers = runtime.handlers
    caller_org = str(caller.org)
    district = str(handlers.orgs.district.path)
    own_home = handlers.home(caller_org) if caller_org in handlers.orgs else None
    scope = tenant or own_home or caller_org
    if within_scope(caller, scope):
        return scope
    if (
        own_home is not None
        and scope != district
        and scope in handlers.orgs
        and handlers.home(scope) == own_home
    ):
        return scope
    require_org(caller, scope)
    return scope


async def _page(
    runtime: Any,
    table: str,
    order: str,
    key: str,
    scope: str,
    filters: dict[str, Any],
    limit: int,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    sql = [f"SELECT * FROM {table} WHERE " + scope_clause("tenant", 1)]
    args: list[Any] = [*scope_args(scope)]
    for column, value in filters.items():
        if value is not None:
            args.append(value)
            sql.append(f"AND {column} = ${len(args)}")
    if cursor:
        at, ident = decode_cursor(cursor, 2)
        args += [at, ident]
        n = len(args)
        sql.append(f"AND ({order} < ${n - 1} OR ({order} = ${n - 1} AND {key} < ${n}))")
    args.append(limit + 1)
    sql.append(f"ORDER BY {order} DESC, {key} DESC LIMIT ${len(args)}")
    rows = await runtime.views.fetch(" ".join(sql), *args)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1][order], page[-1][key]) if len(rows) > limit else None
    return page, next_cursor


def add_report_routes(router: APIRouter, runtime: Any, current_principal: Any) -> None:
    """The staff's lists and reports, all read from the projections."""
    add_lists(router, runtime, current_principal)
    add_column_report(router, runtime, current_principal)
    add_overdue(router, runtime, current_principal)
    add_annual_report(router, runtime, current_principal)


def add_lists(router: APIRouter, runtime: Any, current_principal: Any) -> None:
    """Documents and the publication ledger, a page at a time."""
    Caller = Annotated[Principal, Depends(current_principal)]

    @router.get("/documents", summary="文件列表 Documents (cursor pagination)")
    async def list_documents(
        caller: Caller,
        tenant: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        scope = scope_of(runtime, caller, tenant)
        rows, next_cursor = await _page(
            runtime,
            "catalog_documents",
            "updated_at",
            "document_id",
            scope,
            {"status": status, "kind": kind},
            limit,
            cursor,
        )
        return {"items": [views.list_row(r) for r in rows], "next_cursor": next_cursor}

    @router.get("/ledger", summary="发布台账 Publication ledger (标题、发布时间、发布人、各审核人)")
    async def ledger(
        caller: Caller,
        tenant: str | None = None,
        late: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        scope = scope_of(runtime, caller, tenant)
        rows, next_cursor = await _page(
            runtime,
            "catalog_publications",
            "published_at",
            "event_id",
            scope,
            {"late": late},
            limit,
            cursor,
        )
        return {"items": [views.ledger_row(r) for r in rows], "next_cursor": next_cursor}


def add_column_report(router: APIRouter, runtime: Any, current_principal: Any) -> None:
    """栏目 report: every column with its count, last update, stale and empty."""
    Caller = Annotated[Principal, Depends(current_principal)]

    @router.get("/columns", summary="栏目及更新情况 Columns with stale and empty report")
    async def column_report(caller: Caller, township: str | None = None) -> dict[str, Any]:
        scope = scope_of(runtime, caller, township)
        home = runtime.handlers.home(scope)
        today, healths = await column_health(runtime, home)
        items = [
            {
                "code": h.column.code,
                "name": h.column.name,
                "dynamic": h.column.dynamic,
                "max_age_days": h.column.max_age_days,
                "published_count": h.published_count,
                "last_published_on": h.last_published_on.isoformat()
                if h.last_published_on
                else None,
                "days_since_update": h.days_since_update,
                "empty": h.empty,
                "stale": h.stale,
            }
            for h in healths
        ]
        return {
            "township": home,
            "as_of": today.isoformat(),
            "items": items,
            "empty": [i["code"] for i in items if i["empty"]],
            "stale": [i["code"] for i in items if i["stale"] and not i["empty"]],
        }


def add_overdue(router: APIRouter, runtime: Any, current_principal: Any) -> None:
    """Art. 26: drafts still unpublished twenty working days after their issue date."""
    Caller = Annotated[Principal, Depends(current_principal)]

    @router.get("/overdue", summary="超过二十个工作日未发布 Art. 26 overdue drafts")
    async def overdue(caller: Caller, tenant: str | None = None) -> dict[str, Any]:
        scope = scope_of(runtime, caller, tenant)
        rows = await runtime.views.fetch(
            "SELECT * FROM catalog_documents WHERE "
            + scope_clause("tenant", 1)
            + " AND status NOT IN ('published', 'withdrawn') AND published_at IS NULL"
            " AND (attribute IS NULL OR attribute IN ('proactive', 'redacted'))"
            " ORDER BY issue_date",
            *scope_args(scope),
        )
        calendar = runtime.handlers.calendar()
        today = local_date(runtime.handlers.clock())
        items = []
        for row in rows:
            due = calendar.add_workdays(
                date.fromisoformat(row["issue_date"]), PUBLICATION_WORKING_DAYS
            )
            if today > due.due:
                items.append({**views.list_row(row), "publication_due": due.due.isoformat()})
        return {"working_days": PUBLICATION_WORKING_DAYS, "items": items}


def add_annual_report(router: APIRouter, runtime: Any, current_principal: Any) -> None:
    """Annual-report section 二 (条例第五十条) from the publication ledger."""
    Caller = Annotated[Principal, Depends(current_principal)]

    @router.get("/annual-report/{year}", summary="年度报告第二部分 Section 二 counts")
    async def annual_report(
        year: Annotated[int, Path(ge=2000, le=2100)],
        caller: Caller,
        tenant: str | None = None,
    ) -> dict[str, Any]:
        scope = scope_of(runtime, caller, tenant)
        # Kind and issue date of the latest *published* revision (the ledger row of its
        # publication), not of a newer revision still in review.
        rows = await runtime.views.fetch(
            "SELECT p.kind, p.issue_date, d.repealed_on FROM catalog_publications p "
            "JOIN catalog_documents d ON d.document_id = p.document_id WHERE "
            + scope_clause("p.tenant", 1)
            + " AND d.status <> 'withdrawn' AND p.kind IN ('regulation', 'normative')"
            " AND p.revision = (SELECT MAX(q.revision) FROM catalog_publications q"
            " WHERE q.document_id = p.document_id)",
            *scope_args(scope),
        )
        end = date(year, 12, 31).isoformat()
        counts = {k: {"made": 0, "repealed": 0, "in_force": 0} for k in ANNUAL_KINDS}
        for row in rows:
            c = counts[row["kind"]]
            issued, repealed = row["issue_date"], row["repealed_on"]
            if issued.startswith(f"{year}-"):
                c["made"] += 1
            if repealed and repealed.startswith(f"{year}-"):
                c["repealed"] += 1
            if issued <= end and (repealed is None or repealed > end):
                c["in_force"] += 1
        return {
            "year": year,
            "tenant": scope,
            "section": "二、主动公开政府信息情况",
            "rows": [
                {
                    "kind": kind,
                    "label": label,
                    "made_this_year": counts[kind]["made"],
                    "repealed_this_year": counts[kind]["repealed"],
                    "in_force": counts[kind]["in_force"],
                }
                for kind, label in ANNUAL_KINDS.items()
            ],
        }
