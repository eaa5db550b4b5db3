"""订阅: Atom 1.0 and JSON Feed 1.1 of an organ's publications, of one of its columns and
of its 政府公报 issues, linking to the portal's own pages (a reader follows an entry to the
page a citizen reads, not to JSON). The organ's gazette issues also have a page of their
own here, the feeds' home.

Read through the catalog's public API like every portal page; absolute links from the
address the reader used (a feed is read elsewhere). Decision 144.

No `from __future__ import annotations` here: FastAPI must see the real types.
"""

from datetime import UTC
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.portal import shape
from services.portal.pagecache import Page, kept
from services.portal.routes import CATALOG, PREFIX, P, _cached, _missing, _require
from services.portal.site import COLUMN_NAMES, Portal
from shared import feeds
from shared.tenancy import OrgUnit

FEED_SIZE = 50

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def _feed_response(feed: feeds.Feed, kind: str) -> Response:
    headers = {"Cache-Control": "public, max-age=300"}
    if kind == "atom":
        return Response(feeds.atom(feed), media_type=feeds.ATOM_TYPE, headers=headers)
    return Response(feeds.json_feed(feed), media_type=feeds.JSON_TYPE, headers=headers)


def _document_entry(base: str, d: dict[str, Any]) -> feeds.Entry:
    number = f"{d['document_number']} " if d.get("document_number") else ""
    return feeds.Entry(
        id=f"urn:uuid:{d['document_id']}",
        url=f"{base}/doc/{d['document_id']}",
        title=d["title"],
        published=d["published_at"],
        updated=d["updated_at"],
        author=d["drafting_unit_name"],
        summary=f"{number}{COLUMN_NAMES.get(d['column'], d['column'])}",
        tags=(d["kind"], d["column"]),
    )


async def _documents(
    request: Request, portal: Portal, unit: OrgUnit, column: str | None, kind: str
) -> Response:
    async with portal.api(request.app) as api:
        answer = await api.get(
            "catalog",
            f"{CATALOG}/documents",
            {"township": str(unit.path), "column": column, "limit": FEED_SIZE},
        )
    _require(answer)
    base = _base(request)
    home = f"{base}/{unit.path.slug}" + (f"/column/{column}" if column else "")
    what = f"{COLUMN_NAMES[column]}" if column else "政府信息主动公开"
    feed = feeds.Feed(
        id=f"urn:gongkai:portal:{unit.path}" + (f":{column}" if column else ""),
        title=f"{what} · {unit.name}",
        home_url=home,
        atom_url=f"{home}/feed.atom",
        json_url=f"{home}/feed.json",
        entries=[_document_entry(base, d) for d in answer.body.get("items", [])],
        author=unit.name,
        empty_updated=portal.clock().astimezone(UTC).isoformat(),
    )
    return _feed_response(feed, kind)


@router.get("/{slug}/feed.{kind}")
async def organ_feed(slug: str, kind: str, request: Request, portal: P) -> Response:
    unit = portal.organ(slug)
    if unit is None or kind not in ("atom", "json"):
        return _missing(request, portal, "没有这个订阅源。")
    return await _documents(request, portal, unit, None, kind)


@router.get("/{slug}/column/{code}/feed.{kind}")
async def column_feed(slug: str, code: str, kind: str, request: Request, portal: P) -> Response:
    unit = portal.organ(slug)
    if unit is None or code not in COLUMN_NAMES or kind not in ("atom", "json"):
        return _missing(request, portal, "没有这个订阅源。")
    return await _documents(request, portal, unit, code, kind)


async def _issues(request: Request, portal: Portal, unit: OrgUnit) -> list[dict[str, Any]]:
    async with portal.api(request.app) as api:
        answer = await api.get("catalog", f"{CATALOG}/gazette", {"township": str(unit.path)})
    _require(answer)
    items: list[dict[str, Any]] = answer.body.get("items", [])
    return items


@router.get("/{slug}/gazette/feed.{kind}")
async def gazette_feed(slug: str, kind: str, request: Request, portal: P) -> Response:
    unit = portal.organ(slug)
    if unit is None or kind not in ("atom", "json"):
        return _missing(request, portal, "没有这个订阅源。")
    issues, base = await _issues(request, portal, unit), _base(request)
    home = f"{base}/{unit.path.slug}/gazette"
    feed = feeds.Feed(
        id=f"urn:gongkai:portal:gazette:{unit.path}",
        title=f"政府公报 · {unit.name}",
        home_url=home,
        atom_url=f"{home}/feed.atom",
        json_url=f"{home}/feed.json",
        entries=[
            feeds.Entry(
                id=f"urn:uuid:{i['issue_id']}",
                url=f"{base}/gazette/{i['issue_id']}",
                title=i["title"],
                published=i["published_at"],
                updated=i["published_at"],
                summary=f"共{len(i.get('entries', []))}份文件，内容哈希 {i['content_hash']}",
            )
            for i in issues[:FEED_SIZE]
        ],
        author=unit.name,
        empty_updated=portal.clock().astimezone(UTC).isoformat(),
    )
    return _feed_response(feed, kind)


@router.get("/{slug}/gazette")
async def gazette_list(slug: str, request: Request, portal: P) -> Response:
    """政府公报: the organ's issues, newest first, each with its check in words."""
    unit = portal.organ(slug)
    if unit is None:
        return _missing(request, portal, "没有这个栏目。")

    async def build() -> Page:
        issues = await _issues(request, portal, unit)
        html = portal.render(
            "gazette_list.html", title=f"政府公报 - {unit.name}", unit=unit, issues=issues
        )
        return Page(html, shape.newest([i["published_at"] for i in issues]))

    page = await kept(request, portal.pages, request.url.path, build)
    return _cached(request, page.html, page.changed)
