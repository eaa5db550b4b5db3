"""The public, unauthenticated read API of 主动公开, under /v1/public/catalog.

Only what is published and not withdrawn exists here: the tables behind it hold nothing
else (projections.PublicCatalog), so a draft or a withdrawn document answers 404 whatever
the query. JSON Feed 1.1 and Atom 1.0 (RFC 4287) feeds serve 掌上公报 (方案§13).

Unauthenticated: the routes take the runtime (for its read models), never a caller. No
`from __future__ import annotations` here: FastAPI must see the real dependency objects.
"""

from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.catalog import search as catalog_search
from services.catalog import views
from services.catalog.columns import SEED_COLUMNS
from services.catalog.deps import Rt
from services.catalog.gazette_views import verify, verify_all
from services.catalog.interpretations import interpretations_of
from shared import feeds
from shared.db import Database
from shared.errors import NotFound, ValidationFailed
from shared.openapi import media_types
from shared.pagination import decode_cursor, encode_cursor
from shared.workdays import local_date

FEED_SIZE = 50
COLUMN_NAMES = {c.code: c.name for c in SEED_COLUMNS}

router = APIRouter(prefix="/v1/public/catalog", tags=["catalog public 公开查阅"])


def _not_published(document_id: UUID | str) -> NotFound:
    return NotFound(
        rule="public.not_published",
        field="document_id",
        message_zh=f"没有已公开的文件 {document_id}",
        message_en=f"no published document {document_id}",
    )


def where(township: str | None, column: str | None = None) -> tuple[str, list[Any]]:
    clauses, args = ["1 = 1"], []
    for name, value in (("township", township), ("column_code", column)):
        if value is not None:
            args.append(value)
            clauses.append(f"{name} = ${len(args)}")
    return " AND ".join(clauses), args


def feed_entry(r: Any, url: str) -> feeds.Entry:
    """One published document as a feed entry (its absolute `url`)."""
    return feeds.Entry(
        id=f"urn:uuid:{r['document_id']}",
        url=url,
        title=r["title"],
        published=r["first_published_at"],
        updated=r["updated_at"],
        author=r["drafting_unit_name"],
        summary=r["body"][:140],
        content=r["body"],
        tags=(r["kind"], r["column_code"]),
        extra={
            "document_number": r["document_number"],
            "issue_date": r["issue_date"],
            "revision": r["revision"],
            "content_hash": r["content_hash"],
        },
    )


def issue_entry(r: Any, url: str) -> feeds.Entry:
    """One gazette issue as a feed entry."""
    return feeds.Entry(
        id=f"urn:uuid:{r['issue_id']}",
        url=url,
        title=r["title"],
        published=r["published_at"],
        updated=r["published_at"],
        summary=f"第{r['number']}期，内容哈希 {r['content_hash']}",
        extra={"year": r["year"], "number": r["number"], "hash": r["content_hash"]},
    )


# Published documents: a page of them, and one in full with its interpretations.


async def _published_page(
    db: Database, township: str | None, column: str | None, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """A page of the public catalog, newest first, and the cursor of the next one."""
    clause, args = where(township, column)
    if cursor:
        at, ident = decode_cursor(cursor, 2)
        args += [at, ident]
        n = len(args)
        clause += f" AND (updated_at < ${n - 1} OR (updated_at = ${n - 1} AND document_id < ${n}))"
    args.append(limit + 1)
    rows = await db.fetch(
        f"{views.PUBLIC_ROW} WHERE {clause} "
        f"ORDER BY updated_at DESC, document_id DESC LIMIT ${len(args)}",
        *args,
    )
    page = rows[:limit]
    last = page[-1] if len(rows) > limit else None
    return page, encode_cursor(last["updated_at"], last["document_id"]) if last else None


def _today(rt: Rt) -> date:
    """The suite's today (Asia/Shanghai), against which 有效 / 失效 is read."""
    return local_date(rt.handlers.clock())


@router.get("/documents", summary="已公开文件 Published documents")
async def documents(
    rt: Rt,
    township: str | None = None,
    column: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    page, next_cursor = await _published_page(rt.views, township, column, limit, cursor)
    today = _today(rt)
    return {
        "items": [views.public_row(r, full=False, today=today) for r in page],
        "next_cursor": next_cursor,
    }


@router.get("/documents/{document_id}", summary="已公开文件全文 One published document")
async def document(document_id: UUID, rt: Rt) -> dict[str, Any]:
    row = await rt.views.fetchrow(f"{views.PUBLIC_ROW} WHERE p.document_id = $1", str(document_id))
    if row is None:
        raise _not_published(document_id)
    linked = await interpretations_of(rt.views, str(document_id))
    return views.public_row(row, full=True, today=_today(rt)) | {"interpretations": linked}


# The latest published documents as feeds (掌上公报, 方案§13).


async def _latest(db: Database, township: str | None, column: str | None) -> list[Any]:
    clause, args = where(township, column)
    rows: list[Any] = await db.fetch(
        f"{views.PUBLIC_ROW} WHERE {clause} "
        f"ORDER BY updated_at DESC, document_id DESC LIMIT {FEED_SIZE}",
        *args,
    )
    return rows


def _base(request: Request) -> str:
    """The address the reader used, so a feed's links work wherever it is read."""
    return str(request.base_url).rstrip("/")


def _organ(rt: Rt, township: str | None) -> str:
    """The organ by its name, never its org code (the district when none is asked for; an
    unknown code as given, so a feed of nothing still says what was asked)."""
    if township is None:
        return rt.orgs.district.name
    return rt.orgs.get(township).name if township in rt.orgs else township


def _title(rt: Rt, what: str, township: str | None) -> str:
    """`政府信息主动公开 · 苏店镇`, or `长治市上党区 政府公报` for the whole district."""
    if township is None:
        return f"{_organ(rt, None)} {what}"
    return f"{what} · {_organ(rt, township)}"


def _query(**params: str | None) -> str:
    given = {k: v for k, v in params.items() if v}
    return "?" + urlencode(given) if given else ""


async def _documents_feed(
    request: Request, rt: Rt, township: str | None, column: str | None
) -> feeds.Feed:
    rows, base = await _latest(rt.views, township, column), _base(request)
    what = "政府信息主动公开"
    if column is not None:
        what = f"{what}（{COLUMN_NAMES.get(column, column)}）"
    query = _query(township=township, column=column)
    return feeds.Feed(
        id=f"urn:gongkai:catalog:{township or 'all'}" + (f":{column}" if column else ""),
        title=_title(rt, what, township),
        home_url=f"{base}/v1/public/catalog/documents{query}",
        atom_url=f"{base}/v1/public/catalog/feed.atom{query}",
        json_url=f"{base}/v1/public/catalog/feed.json{query}",
        entries=[
            feed_entry(r, f"{base}/v1/public/catalog/documents/{r['document_id']}") for r in rows
        ],
        author=_organ(rt, township),
        empty_updated=datetime.now(UTC).isoformat(),
    )


@router.get(
    "/feed.json",
    summary="JSON Feed 1.1 (掌上公报)",
    responses=media_types(200, "application/feed+json"),
)
async def json_feed(
    request: Request, rt: Rt, township: str | None = None, column: str | None = None
) -> Response:
    feed = await _documents_feed(request, rt, township, column)
    return Response(feeds.json_feed(feed), media_type=feeds.JSON_TYPE)


@router.get(
    "/feed.atom",
    summary="Atom 1.0 feed (掌上公报)",
    responses=media_types(200, "application/atom+xml"),
)
async def atom_feed(
    request: Request, rt: Rt, township: str | None = None, column: str | None = None
) -> Response:
    feed = await _documents_feed(request, rt, township, column)
    return Response(feeds.atom(feed), media_type=feeds.ATOM_TYPE)


@router.get("/search", summary="全文检索 Full-text search (Chinese bigrams)")
async def search(
    q: Annotated[str, Query(min_length=1, max_length=200)],
    rt: Rt,
    township: str | None = None,
    column: str | None = None,
    kind: str | None = None,
    year: Annotated[int | None, Query(ge=1990, le=2100, description="发布年份（北京时间）")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    terms = catalog_search.query_terms(q)
    if not terms:
        raise ValidationFailed(
            rule="search.query_empty",
            field="q",
            message_zh="检索词须包含汉字、字母或数字",
            message_en="the query needs letters, digits or Chinese characters",
        )
    filters = catalog_search.Filters(township=township, column=column, kind=kind, year=year)
    sql, args = catalog_search.search_sql(terms, filters, limit)
    rows = await rt.views.fetch(sql, *args)
    today = _today(rt)
    return {
        "query": q,
        "terms": terms,
        "items": [
            {
                **views.public_row(r, full=False, today=today),
                "snippet": catalog_search.snippet(r["body"], q),
            }
            for r in rows
        ],
    }


# Gazette issues, each with its hash, chain and texts checked.


@router.get("/gazette", summary="政府公报 Gazette issues")
async def gazette_issues(rt: Rt, township: str | None = None) -> dict[str, Any]:
    clause, args = where(township)
    rows = await rt.views.fetch(
        f"SELECT * FROM catalog_gazette_issues WHERE {clause} ORDER BY year DESC, number DESC",
        *args,
    )
    return {"items": await verify_all(rt.views, rows)}


async def _latest_issues(db: Database, township: str | None) -> list[Any]:
    clause, args = where(township)
    rows: list[Any] = await db.fetch(
        f"SELECT * FROM catalog_gazette_issues WHERE {clause} ORDER BY published_at DESC LIMIT 50",
        *args,
    )
    return rows


async def _gazette_feed(request: Request, rt: Rt, township: str | None) -> feeds.Feed:
    rows, base = await _latest_issues(rt.views, township), _base(request)
    home, query = f"{base}/v1/public/catalog/gazette", _query(township=township)
    return feeds.Feed(
        id=f"urn:gongkai:gazette:{township or 'all'}",
        title=_title(rt, "政府公报", township),
        home_url=home + query,
        atom_url=f"{home}/feed.atom{query}",
        json_url=f"{home}/feed.json{query}",
        entries=[issue_entry(r, f"{home}/{r['issue_id']}") for r in rows],
        author=_organ(rt, township),
        empty_updated=datetime.now(UTC).isoformat(),
    )


@router.get(
    "/gazette/feed.json",
    summary="政府公报订阅 JSON Feed 1.1 of gazette issues",
    responses=media_types(200, "application/feed+json"),
)
async def gazette_json_feed(request: Request, rt: Rt, township: str | None = None) -> Response:
    feed = await _gazette_feed(request, rt, township)
    return Response(feeds.json_feed(feed), media_type=feeds.JSON_TYPE)


@router.get(
    "/gazette/feed.atom",
    summary="政府公报订阅 Atom 1.0 feed of gazette issues",
    responses=media_types(200, "application/atom+xml"),
)
async def gazette_atom_feed(request: Request, rt: Rt, township: str | None = None) -> Response:
    feed = await _gazette_feed(request, rt, township)
    return Response(feeds.atom(feed), media_type=feeds.ATOM_TYPE)


@router.get("/gazette/{issue_id}", summary="公报一期 One issue, its hash, chain and texts checked")
async def gazette_issue(issue_id: UUID, rt: Rt) -> dict[str, Any]:
    row = await rt.views.fetchrow(
        "SELECT * FROM catalog_gazette_issues WHERE issue_id = $1", str(issue_id)
    )
    if row is None:
        raise NotFound(
            rule="gazette.not_found",
            field="issue_id",
            message_zh=f"未找到公报 {issue_id}",
            message_en=f"gazette issue {issue_id} not found",
        )
    return await verify(rt.views, row)
