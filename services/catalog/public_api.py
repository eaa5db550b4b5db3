"""The public, unauthenticated read API of 主动公开, under /v1/public/catalog.

Only what is published and not withdrawn exists here: the tables behind it hold nothing
else (projections.PublicCatalog), so a draft or a withdrawn document answers 404 whatever
the query. JSON Feed 1.1 and Atom 1.0 (RFC 4287) feeds serve 掌上公报 (方案§13).

Unauthenticated: the routes take the runtime (for its read models), never a caller. No
`from __future__ import annotations` here: FastAPI must see the real dependency objects.
"""

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID
from xml.sax.saxutils import escape

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.catalog import search as catalog_search
from services.catalog import views
from services.catalog.deps import Rt
from services.catalog.gazette_views import verify, verify_all
from services.catalog.interpretations import interpretations_of
from shared.db import Database
from shared.errors import NotFound, ValidationFailed
from shared.openapi import media_types
from shared.pagination import decode_cursor, encode_cursor

FEED_SIZE = 50

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


def json_feed_item(r: Any, base: str) -> dict[str, Any]:
    """One published document as a JSON Feed 1.1 item (absolute URL under `base`)."""
    return {
        "id": f"urn:uuid:{r['document_id']}",
        "url": f"{base}/v1/public/catalog/documents/{r['document_id']}",
        "title": r["title"],
        "content_text": r["body"],
        "summary": r["body"][:140],
        "date_published": r["first_published_at"],
        "date_modified": r["updated_at"],
        "authors": [{"name": r["drafting_unit_name"]}],
        "tags": [r["kind"], r["column_code"]],
        "_gongkai": {
            "document_number": r["document_number"],
            "issue_date": r["issue_date"],
            "revision": r["revision"],
            "content_hash": r["content_hash"],
        },
    }


def atom_entry(r: Any, base: str) -> str:
    """One published document as an Atom 1.0 entry (RFC 4287)."""
    return (
        "<entry>"
        f"<id>urn:uuid:{r['document_id']}</id>"
        f"<title>{escape(r['title'])}</title>"
        f'<link href="{base}/v1/public/catalog/documents/{r["document_id"]}"/>'
        f"<published>{r['first_published_at']}</published>"
        f"<updated>{r['updated_at']}</updated>"
        f"<author><name>{escape(r['drafting_unit_name'])}</name></author>"
        f'<category term="{escape(r["kind"])}"/>'
        f"<summary>{escape(r['body'][:140])}</summary>"
        f'<content type="text">{escape(r["body"])}</content>'
        "</entry>"
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
        f"SELECT * FROM catalog_public WHERE {clause} "
        f"ORDER BY updated_at DESC, document_id DESC LIMIT ${len(args)}",
        *args,
    )
    page = rows[:limit]
    last = page[-1] if len(rows) > limit else None
    return page, encode_cursor(last["updated_at"], last["document_id"]) if last else None


@router.get("/documents", summary="已公开文件 Published documents")
async def documents(
    rt: Rt,
    township: str | None = None,
    column: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    page, next_cursor = await _published_page(rt.views, township, column, limit, cursor)
    return {
        "items": [views.public_row(r, full=False) for r in page],
        "next_cursor": next_cursor,
    }


@router.get("/documents/{document_id}", summary="已公开文件全文 One published document")
async def document(document_id: UUID, rt: Rt) -> dict[str, Any]:
    row = await rt.views.fetchrow(
        "SELECT * FROM catalog_public WHERE document_id = $1", str(document_id)
    )
    if row is None:
        raise _not_published(document_id)
    linked = await interpretations_of(rt.views, str(document_id))
    return views.public_row(row, full=True) | {"interpretations": linked}


# The latest published documents as feeds (掌上公报, 方案§13).


async def _latest(db: Database, township: str | None) -> list[Any]:
    clause, args = where(township)
    rows: list[Any] = await db.fetch(
        f"SELECT * FROM catalog_public WHERE {clause} "
        f"ORDER BY updated_at DESC, document_id DESC LIMIT {FEED_SIZE}",
        *args,
    )
    return rows


def _base(request: Request) -> str:
    """The address the reader used, so a feed's links work wherever it is read."""
    return str(request.base_url).rstrip("/")


def _title(rt: Rt, what: str, township: str | None) -> str:
    """`政府信息主动公开 · 苏店镇`: the organ by its name, never its org code."""
    if township is None:
        return f"{rt.orgs.district.name} {what}"
    name = rt.orgs.get(township).name if township in rt.orgs else township
    return f"{what} · {name}"


def _json_feed(title: str, home: str, feed_url: str, items: list[dict[str, Any]]) -> Response:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": home,
        "feed_url": feed_url,
        "language": "zh-CN",
        "items": items,
    }
    return Response(orjson.dumps(feed), media_type="application/feed+json; charset=utf-8")


def _atom_feed(feed_id: str, title: str, self_url: str, updated: str, entries: str) -> Response:
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN">'
        f"<id>{escape(feed_id)}</id>"
        f"<title>{escape(title)}</title>"
        f"<updated>{updated}</updated>"
        f'<link rel="self" href="{escape(self_url)}"/>'
        f"{entries}</feed>"
    )
    return Response(xml, media_type="application/atom+xml; charset=utf-8")


@router.get(
    "/feed.json",
    summary="JSON Feed 1.1 (掌上公报)",
    responses=media_types(200, "application/feed+json"),
)
async def json_feed(request: Request, rt: Rt, township: str | None = None) -> Response:
    rows, base = await _latest(rt.views, township), _base(request)
    title = _title(rt, "政府信息主动公开", township)
    items = [json_feed_item(r, base) for r in rows]
    home, feed_url = f"{base}/v1/public/catalog/documents", f"{base}/v1/public/catalog/feed.json"
    return _json_feed(title, home, feed_url, items)


@router.get(
    "/feed.atom",
    summary="Atom 1.0 feed (掌上公报)",
    responses=media_types(200, "application/atom+xml"),
)
async def atom_feed(request: Request, rt: Rt, township: str | None = None) -> Response:
    rows, base = await _latest(rt.views, township), _base(request)
    updated = rows[0]["updated_at"] if rows else datetime.now(UTC).isoformat()
    return _atom_feed(
        f"urn:gongkai:catalog:{township or 'all'}",
        _title(rt, "政府信息主动公开", township),
        f"{base}/v1/public/catalog/feed.atom",
        updated,
        "".join(atom_entry(r, base) for r in rows),
    )


@router.get("/search", summary="全文检索 Full-text search (Chinese bigrams)")
async def search(
    q: Annotated[str, Query(min_length=1, max_length=200)],
    rt: Rt,
    township: str | None = None,
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
    sql, args = catalog_search.search_sql(terms, township, limit)
    rows = await rt.views.fetch(sql, *args)
    return {
        "query": q,
        "terms": terms,
        "items": [
            {**views.public_row(r, full=False), "snippet": catalog_search.snippet(r["body"], q)}
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


def _issue_url(base: str, r: Any) -> str:
    return f"{base}/v1/public/catalog/gazette/{r['issue_id']}"


@router.get(
    "/gazette/feed.json",
    summary="政府公报订阅 JSON Feed 1.1 of gazette issues",
    responses=media_types(200, "application/feed+json"),
)
async def gazette_json_feed(request: Request, rt: Rt, township: str | None = None) -> Response:
    rows, base = await _latest_issues(rt.views, township), _base(request)
    items = [
        {
            "id": f"urn:uuid:{r['issue_id']}",
            "url": _issue_url(base, r),
            "title": r["title"],
            "date_published": r["published_at"],
            "_gongkai": {"year": r["year"], "number": r["number"], "hash": r["content_hash"]},
        }
        for r in rows
    ]
    title = _title(rt, "政府公报", township)
    home = f"{base}/v1/public/catalog/gazette"
    return _json_feed(title, home, f"{home}/feed.json", items)


@router.get(
    "/gazette/feed.atom",
    summary="政府公报订阅 Atom 1.0 feed of gazette issues",
    responses=media_types(200, "application/atom+xml"),
)
async def gazette_atom_feed(request: Request, rt: Rt, township: str | None = None) -> Response:
    rows, base = await _latest_issues(rt.views, township), _base(request)
    updated = rows[0]["published_at"] if rows else datetime.now(UTC).isoformat()
    entries = "".join(
        "<entry>"
        f"<id>urn:uuid:{r['issue_id']}</id>"
        f"<title>{escape(r['title'])}</title>"
        f'<link href="{escape(_issue_url(base, r))}"/>'
        f"<published>{r['published_at']}</published>"
        f"<updated>{r['published_at']}</updated>"
        f"<summary>第{r['number']}期，内容哈希 {escape(r['content_hash'])}</summary>"
        "</entry>"
        for r in rows
    )
    return _atom_feed(
        f"urn:gongkai:gazette:{township or 'all'}",
        _title(rt, "政府公报", township),
        f"{base}/v1/public/catalog/gazette/feed.atom",
        updated,
        entries,
    )


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
