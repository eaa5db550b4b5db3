"""Staff queries of 主动公开: document list, publication ledger, column report, Art. 26
overdue list and annual-report section 二, all read from the projections, under
/v1/catalog next to the staff API (api.py).

No `from __future__ import annotations` here: FastAPI must see the real dependency objects.
"""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from services.catalog import views
from services.catalog.column_checks import column_health
from services.catalog.columns import ColumnHealth
from services.catalog.deps import STAFF_PREFIX, STAFF_TAG, H, Rt
from services.catalog.domain import PUBLICATION_WORKING_DAYS
from services.catalog.handlers import CatalogHandlers
from shared.db import Database
from shared.deps import Caller
from shared.identity import Principal, require_org, within_scope
from shared.pagination import decode_cursor, encode_cursor, scope_args, scope_clause
from shared.workdays import local_date

ANNUAL_KINDS = {"regulation": "规章", "normative": "行政规范性文件"}

Limit = Annotated[int, Query(ge=1, le=200)]

router = APIRouter(prefix=STAFF_PREFIX, tags=[STAFF_TAG])


def scope_of(h: CatalogHandlers, caller: Principal, tenant: str | None) -> str:
    """Default: the caller's township. Staff of a township see all of its units."""
    caller_org = str(caller.org)
    district = str(h.orgs.district.path)
    own_home = h.home(caller_org) if caller_org in h.orgs else None
    scope = tenant or own_home or caller_org
    if within_scope(caller, scope):
        return scope
    if own_home is not None and scope != district and scope in h.orgs and h.home(scope) == own_home:
        return scope
    require_org(caller, scope)
    return scope


async def _page(
    views_db: Database,
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
    rows = await views_db.fetch(" ".join(sql), *args)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1][order], page[-1][key]) if len(rows) > limit else None
    return page, next_cursor


# Documents and the publication ledger, a page at a time.


@router.get("/documents", summary="文件列表 Documents (cursor pagination)")
async def list_documents(
    caller: Caller,
    rt: Rt,
    h: H,
    tenant: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    scope = scope_of(h, caller, tenant)
    filters = {"status": status, "kind": kind}
    rows, next_cursor = await _page(
        rt.views, "catalog_documents", "updated_at", "document_id", scope, filters, limit, cursor
    )
    return {"items": [views.list_row(r) for r in rows], "next_cursor": next_cursor}


@router.get("/ledger", summary="发布台账 Publication ledger (标题、发布时间、发布人、各审核人)")
async def ledger(
    caller: Caller,
    rt: Rt,
    h: H,
    tenant: str | None = None,
    late: bool | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    scope = scope_of(h, caller, tenant)
    table, order, key = "catalog_publications", "published_at", "event_id"
    rows, next_cursor = await _page(
        rt.views, table, order, key, scope, {"late": late}, limit, cursor
    )
    return {"items": [views.ledger_row(r) for r in rows], "next_cursor": next_cursor}


# 栏目 report: every column with its count, last update, stale and empty.


def _column_item(health: ColumnHealth) -> dict[str, Any]:
    last = health.last_published_on
    return {
        "code": health.column.code,
        "name": health.column.name,
        "dynamic": health.column.dynamic,
        "max_age_days": health.column.max_age_days,
        "published_count": health.published_count,
        "last_published_on": last.isoformat() if last else None,
        "days_since_update": health.days_since_update,
        "empty": health.empty,
        "stale": health.stale,
    }


@router.get("/columns", summary="栏目及更新情况 Columns with stale and empty report")
async def column_report(
    caller: Caller, rt: Rt, h: H, township: str | None = None
) -> dict[str, Any]:
    home = h.home(scope_of(h, caller, township))
    today, healths = await column_health(rt, home)
    items = [_column_item(health) for health in healths]
    return {
        "township": home,
        "as_of": today.isoformat(),
        "items": items,
        "empty": [i["code"] for i in items if i["empty"]],
        "stale": [i["code"] for i in items if i["stale"] and not i["empty"]],
    }


# Art. 26: drafts still unpublished twenty working days after their issue date.


@router.get("/overdue", summary="超过二十个工作日未发布 Art. 26 overdue drafts")
async def overdue(caller: Caller, rt: Rt, h: H, tenant: str | None = None) -> dict[str, Any]:
    scope = scope_of(h, caller, tenant)
    rows = await rt.views.fetch(
        "SELECT * FROM catalog_documents WHERE "
        + scope_clause("tenant", 1)
        + " AND status NOT IN ('published', 'withdrawn') AND published_at IS NULL"
        " AND (attribute IS NULL OR attribute IN ('proactive', 'redacted'))"
        " ORDER BY issue_date",
        *scope_args(scope),
    )
    calendar = h.calendar()
    today = local_date(h.clock())
    items = []
    for row in rows:
        due = calendar.add_workdays(date.fromisoformat(row["issue_date"]), PUBLICATION_WORKING_DAYS)
        if today > due.due:
            items.append({**views.list_row(row), "publication_due": due.due.isoformat()})
    return {"working_days": PUBLICATION_WORKING_DAYS, "items": items}


# Annual-report section 二 (条例第五十条) from the publication ledger.


def _section_two(rows: list[Any], year: int) -> list[dict[str, Any]]:
    """Made, repealed and in force in `year`, per kind, from the latest publications."""
    end = date(year, 12, 31).isoformat()
    counts = {k: {"made": 0, "repealed": 0, "in_force": 0} for k in ANNUAL_KINDS}
    for row in rows:
        c = counts[row["kind"]]
        issued, repealed, until = row["issue_date"], row["repealed_on"], row["valid_until"]
        if issued.startswith(f"{year}-"):
            c["made"] += 1
        if repealed and repealed.startswith(f"{year}-"):
            c["repealed"] += 1
        # In force at the year's end: not repealed by then, its 有效期 not over (失效).
        if (
            issued <= end
            and (repealed is None or repealed > end)
            and (until is None or until >= end)
        ):
            c["in_force"] += 1
    return [
        {
            "kind": kind,
            "label": label,
            "made_this_year": counts[kind]["made"],
            "repealed_this_year": counts[kind]["repealed"],
            "in_force": counts[kind]["in_force"],
        }
        for kind, label in ANNUAL_KINDS.items()
    ]


@router.get("/annual-report/{year}", summary="年度报告第二部分 Section 二 counts")
async def annual_report(
    year: Annotated[int, Path(ge=2000, le=2100)],
    caller: Caller,
    rt: Rt,
    h: H,
    tenant: str | None = None,
) -> dict[str, Any]:
    scope = scope_of(h, caller, tenant)
    # Kind and issue date of the latest *published* revision (the ledger row of its
    # publication), not of a newer revision still in review.
    rows = await rt.views.fetch(
        "SELECT p.kind, p.issue_date, d.repealed_on, (SELECT v.valid_until FROM catalog_validity v"
        " WHERE v.document_id = p.document_id) AS valid_until FROM catalog_publications p "
        "JOIN catalog_documents d ON d.document_id = p.document_id WHERE "
        + scope_clause("p.tenant", 1)
        + " AND d.status <> 'withdrawn' AND p.kind IN ('regulation', 'normative')"
        " AND p.revision = (SELECT MAX(q.revision) FROM catalog_publications q"
        " WHERE q.document_id = p.document_id)",
        *scope_args(scope),
    )
    return {
        "year": year,
        "tenant": scope,
        "section": "二、主动公开政府信息情况",
        "rows": _section_two(rows, year),
    }
