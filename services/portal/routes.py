"""The portal's pages under /gk (公开): the organs' 政府信息公开专栏 (guide, rules, columns,
annual reports), a document and its interpretations, search, 留言 and its status.
Server-rendered Chinese HTML, no JavaScript, no account; one cookie only for a reader who
chooses 大字 (large text).

Every GET page carries a strong ETag of its bytes (and Last-Modified where the data says
when it changed) and answers a matching conditional request with 304; `Cache-Control:
public, no-cache` lets proxies keep a copy but ask each time, so a withdrawn document never
lingers. 留言 and its status are POSTs answered with `no-store`: the tracking code never
appears in a URL, a log line or a cache.

No `from __future__ import annotations` here: FastAPI must see the real types.
"""

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.portal import qa as policy_qa
from services.portal import shape
from services.portal.apply import refusal
from services.portal.engagement import count_view
from services.portal.guard import Refused, cn_number
from services.portal.pagecache import Page, kept
from services.portal.site import COLUMN_NAMES, FORM_NAMES, HERE, KIND_NAMES, Portal
from shared.deps import handlers_of
from shared.gateway import Answer, Api, ServiceUnreachable
from shared.tenancy import OrgUnit

P = Annotated[Portal, Depends(handlers_of("portal", Portal))]
PREFIX = "/gk"
CATALOG = "/v1/public/catalog"
INTERPRETATION = "/v1/public/interpretation"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SAFE = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
COLUMN_PAGE = 20

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _cached(
    request: Request, html: str, last_modified: datetime | None = None, status: int = 200
) -> Response:
    """A public page with its validators, or 304 when the client's copy is current;
    gzip-compressed for a client that accepts it (苏店镇's column index: 5.4 KB to 2.0 KB),
    with an ETag of its own and `Vary: Accept-Encoding`, so a shared cache keeps both."""
    body = html.encode("utf-8")
    etag = shape.etag_of(body)
    headers = {**SAFE, "Cache-Control": "public, no-cache", "Vary": "Accept-Encoding"}
    if len(body) >= shape.GZIP_FROM and shape.accepts_gzip(request.headers):
        body, etag = shape.gzipped(body), shape.gzip_etag(etag)
        headers["Content-Encoding"] = "gzip"
    headers["ETag"] = etag
    if last_modified is not None:
        headers["Last-Modified"] = shape.http_date(last_modified)
    if status == 200 and shape.not_modified(request.headers, etag, last_modified):
        headers.pop("Content-Encoding", None)
        return Response(status_code=304, headers=headers)
    return HTMLResponse(body, status_code=status, headers=headers)


def _private(html: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers={**SAFE, "Cache-Control": "no-store"})


def _missing_html(portal: Portal, what: str) -> str:
    return portal.render("message.html", title="页面不存在", heading="页面不存在", text=what)


def _missing(request: Request, portal: Portal, what: str) -> Response:
    return _cached(request, _missing_html(portal, what), status=404)


def _unit_or_none(portal: Portal, slug: str) -> OrgUnit | None:
    return portal.organ(slug)


async def _columns(api: Api, township: str) -> list[dict[str, Any]]:
    """Each catalog column with its latest publication (the public API, newest first)."""

    async def latest(code: str, name: str) -> dict[str, Any]:
        answer = await api.get(
            "catalog", f"{CATALOG}/documents", {"township": township, "column": code, "limit": 1}
        )
        items = answer.body.get("items", []) if answer.ok else []
        return {"code": code, "name": name, "updated_at": items[0]["updated_at"] if items else None}

    return list(await asyncio.gather(*(latest(c, n) for c, n in COLUMN_NAMES.items())))


@router.get("")
@router.get("/")
async def index(request: Request, portal: P) -> Response:
    html = portal.render("index.html", title="政府信息公开")
    return _cached(request, html)


#: 适老化 大字版 (decision 145): the reader's choice, kept in one cookie that names nothing
#: but the choice. Every page is the same HTML for everyone (the page cache and the ETags
#: stay per page); the stylesheet differs, so it is revalidated on each page (304 when
#: unchanged) and varies on the cookie.
TEXT_COOKIE = "gk_text"
STYLES = {name: (HERE / "static" / f"{name}.css").read_bytes() for name in ("portal", "large")}
#: Each size's stylesheet and its ETag, made once: every page load revalidates one.
STYLESHEETS = {
    size: (body, shape.etag_of(body))
    for size, body in (
        ("normal", STYLES["portal"]),
        ("large", STYLES["portal"] + b"\n" + STYLES["large"]),
    )
}


@router.get("/static/{name}")
async def static(name: str, request: Request) -> Response:
    if name != "portal.css":
        return Response(status_code=404)
    size = "large" if request.cookies.get(TEXT_COOKIE) == "large" else "normal"
    body, etag = STYLESHEETS[size]
    headers = {"Cache-Control": "public, no-cache", "Vary": "Cookie", "ETag": etag}
    if shape.not_modified(request.headers, etag, None):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/css; charset=utf-8", headers=headers)


@router.get("/text-size")
async def text_size(request: Request) -> Response:
    """字号 standard or large: remember the choice and go back to the page it was made on."""
    back = _same_site_page(request)
    response = RedirectResponse(back, status_code=303, headers={"Cache-Control": "no-store"})
    if request.query_params.get("size") == "large":
        response.set_cookie(
            TEXT_COOKIE, "large", max_age=365 * 86400, path=PREFIX, samesite="lax", httponly=True
        )
    else:
        response.delete_cookie(TEXT_COOKIE, path=PREFIX)
    return response


def _same_site_page(request: Request) -> str:
    """The portal page the reader came from (its Referer, same host, under /gk), or the
    portal's front page: never a redirect elsewhere."""
    came = urlsplit(request.headers.get("referer", ""))
    if came.netloc != request.headers.get("host") or not came.path.startswith(PREFIX + "/"):
        return PREFIX + "/"
    if came.path.startswith(PREFIX + "/text-size"):
        return PREFIX + "/"
    return came.path + (f"?{came.query}" if came.query else "")


@router.get("/doc/{document_id}")
async def document(document_id: uuid.UUID, request: Request, portal: P) -> Response:
    async def build() -> Page:
        async with portal.api(request.app) as api:
            answer = await api.get("catalog", f"{CATALOG}/documents/{document_id}")
            if answer.status == 404:
                html = _missing_html(portal, "没有找到这份文件，它可能尚未公开或已被撤回。")
                return Page(html, status=404)
            _require(answer)
            doc = answer.body
            gazette = await api.get("catalog", f"{CATALOG}/gazette", {"township": doc["township"]})
            qa = await policy_qa.of_policy(api, str(document_id))
        issue = None
        if gazette.ok:
            issue = next(
                (
                    i
                    for i in gazette.body.get("items", [])
                    if any(e.get("document_id") == doc["document_id"] for e in i.get("entries", []))
                ),
                None,
            )
        html = portal.render(
            "document.html",
            title=doc["title"],
            doc=doc,
            issue=issue,
            unit=_organ_of(portal, doc["township"]),
            paragraphs=_paras(doc),
            qa=qa,
        )
        changed = [doc.get("updated_at"), *[e.get("published_at") for e in qa or []]]
        meta = {"township": doc["township"], "column": doc["column"]}
        return Page(html, shape.newest(changed), meta=meta)

    page = await kept(request, portal.pages, request.url.path, build)
    if page.status == 200:
        township, column = page.meta["township"], page.meta["column"]
        count_view(request, portal, township, column, str(document_id))
    return _cached(request, page.html, page.changed, page.status)


@router.get("/interpretation/{interpretation_id}")
async def interpretation(interpretation_id: uuid.UUID, request: Request, portal: P) -> Response:
    """政策解读: the published interpretation, with the policy it explains (linked both
    ways: the document's page lists its interpretations)."""

    async def build() -> Page:
        async with portal.api(request.app) as api:
            answer = await api.get(
                "interpretation", f"{INTERPRETATION}/interpretations/{interpretation_id}"
            )
        if answer.status == 404:
            html = _missing_html(portal, "没有找到这篇解读，它可能尚未发布或已被撤回。")
            return Page(html, status=404)
        _require(answer)
        item = answer.body
        policy = item["policy"]
        html = portal.render(
            "interpretation.html",
            title=item["title"],
            item=item,
            policy=policy,
            forms=[_form(f) for f in item.get("forms", [])],
            unit=_organ_over(portal, str(item.get("unit", ""))),
        )
        return Page(html, shape.newest([item.get("published_at")]))

    page = await kept(request, portal.pages, request.url.path, build)
    return _cached(request, page.html, page.changed, page.status)


def _form(form: dict[str, Any]) -> dict[str, str]:
    """One 解读形式 by its Chinese name, with its link when it has a web address."""
    url = str(form.get("url") or "")
    return {
        "name": FORM_NAMES.get(str(form.get("form")), str(form.get("form"))),
        "url": url if url.startswith(("https://", "http://")) else "",
    }


#: Each entry's text today against the text the issue compiled (catalog gazette_views).
ENTRY_STATUS = {
    "matches": "与公报刊登时一致",
    "superseded": "刊登后已更新，公报所载为当时版本",
    "not_public": "已撤回，不再公开",
    "differs": "与公报刊登时不一致",
}


@router.get("/gazette/{issue_id}")
async def gazette_issue(issue_id: uuid.UUID, request: Request, portal: P) -> Response:
    """政府公报一期: its documents (linked), and the checks anyone can repeat — the issue's
    content hash, its link to the previous issue, each document's text against the one the
    issue compiled."""

    async def build() -> Page:
        async with portal.api(request.app) as api:
            answer = await api.get("catalog", f"{CATALOG}/gazette/{issue_id}")
        if answer.status == 404:
            return Page(_missing_html(portal, "没有找到这一期政府公报。"), status=404)
        _require(answer)
        issue = answer.body
        entries = [
            {**e, "status_zh": ENTRY_STATUS.get(e.get("public_status", ""), "")}
            for e in issue.get("entries", [])
        ]
        html = portal.render(
            "gazette.html",
            title=issue["title"],
            issue=issue,
            entries=entries,
            unit=_organ_of(portal, issue["township"]),
        )
        return Page(html, shape.newest([issue.get("published_at")]))

    page = await kept(request, portal.pages, request.url.path, build)
    return _cached(request, page.html, page.changed, page.status)


def _paras(doc: dict[str, Any]) -> list[str]:
    return [p.strip() for p in str(doc.get("body", "")).splitlines() if p.strip()]


def _organ_of(portal: Portal, path: str) -> OrgUnit | None:
    return next((u for u in portal.organs() if str(u.path) == path), None)


def _organ_over(portal: Portal, path: str) -> OrgUnit | None:
    """The organ (township, else the district) a unit such as `shangdang/sudian/party-office`
    belongs to."""
    over = [u for u in portal.organs() if path == str(u.path) or path.startswith(f"{u.path}/")]
    return max(over, key=lambda u: len(str(u.path)), default=None)


def _require(answer: Answer) -> None:
    if not answer.ok:
        raise ServiceUnreachable(
            rule="portal.upstream_refused",
            field=None,
            message_zh="暂时无法读取信息，请稍后再试",
            message_en=f"upstream answered {answer.status}",
        )


@router.get("/search")
async def search(request: Request, portal: P) -> Response:
    """全文检索 with filters (organ, column, kind, year of publication) that stay on every
    page of the results; a filter value the portal does not know is dropped, not an error."""
    params = dict(parse_qsl(request.url.query))
    q = params.get("q", "").strip()[:200]
    scope = params.get("unit", "")
    unit = _unit_or_none(portal, scope) if scope else None
    years = portal.search_years()
    chosen = {
        "column": params.get("column") if params.get("column") in COLUMN_NAMES else None,
        "kind": params.get("kind") if params.get("kind") in KIND_NAMES else None,
        "year": params.get("year") if params.get("year", "").isdigit() else None,
    }
    if chosen["year"] is not None and int(chosen["year"]) not in years:
        chosen["year"] = None
    try:
        page = int(params.get("page", "1"))
    except ValueError:
        page = 1
    items: list[dict[str, Any]] = []
    terms: list[str] = []
    error = ""
    paging = shape.page_of(0, 1)
    qa_hits: dict[str, Any] = {}
    total = 0
    if q:
        async with portal.api(request.app) as api:
            answer = await api.get(
                "catalog",
                f"{CATALOG}/search",
                {
                    "q": q,
                    "township": str(unit.path) if unit else None,
                    **chosen,
                    "limit": shape.SEARCH_MAX,
                },
            )
            qa_hits = await policy_qa.search(api, q, str(unit.path) if unit else None)
        if answer.ok:
            found = answer.body.get("items", [])
            terms = [q, *answer.body.get("terms", [])]
            paging = shape.page_of(len(found), page)
            start = (paging.page - 1) * shape.PAGE_SIZE
            items = found[start : start + shape.PAGE_SIZE]
            total = len(found)
        else:
            error = str(answer.problem.get("message_zh") or "检索词无法识别，请换一个词再试")
    kept = {"q": q, "unit": unit.path.slug if unit else None, **chosen}
    html = portal.render(
        "search.html",
        title=f"检索：{q}" if q else "检索",
        q=q,
        unit=unit,
        chosen=chosen,
        filtered=any(chosen.values()),
        columns=COLUMN_NAMES,
        kinds=KIND_NAMES,
        years=years,
        query=urlencode({k: v for k, v in kept.items() if v}),
        items=items,
        terms=terms,
        paging=paging,
        total=total,
        error=error,
        qa_hits=qa_hits,
    )
    return _cached(request, html)


@router.get("/message")
async def message_form(request: Request, portal: P) -> Response:
    params = dict(parse_qsl(request.url.query))
    chosen = params.get("unit", "")
    unit = _unit_or_none(portal, chosen)
    form = {"org": str(unit.path) if unit else ""}
    html = portal.render(
        "leave.html",
        title="我要留言",
        form=form,
        errors={},
        key=str(uuid.uuid4()),
        challenge=portal.guard.challenge("message"),
    )
    return _private(html)


@router.post("/message")
async def message_send(request: Request, portal: P) -> Response:
    admitted = await portal.guard.admit(request, "message")
    if isinstance(admitted, Refused):
        return refusal(portal, admitted)
    form = {k: v for k, v in admitted.form.items() if k not in ("form_token", "answer")}
    key = form.get("key") or str(uuid.uuid4())
    organs = [str(u.path) for u in portal.organs()]
    errors = shape.check_message(form, organs)
    if admitted.challenge:
        errors["answer"] = admitted.challenge
    if not errors:
        body: dict[str, Any] = {
            "tenant": form["org"],
            "source": "message_board",
            "external_id": f"portal-{key}",
            "text": form["text"].strip(),
        }
        if form.get("title", "").strip():
            body["title"] = form["title"].strip()
        citizen = {k: form[k].strip() for k in ("name", "phone") if form.get(k, "").strip()}
        if citizen:
            body["citizen"] = citizen
        async with portal.api(request.app) as api:
            answer = await api.post("sentiment", "/v1/messages", body, key=key)
        if answer.ok and answer.body.get("tracking_code"):
            html = portal.render(
                "sent.html",
                title="留言已提交",
                code=answer.body["tracking_code"],
                due=answer.body.get("response_due"),
                unit=_organ_of(portal, form["org"]),
            )
            return _private(html, 201 if answer.status == 201 else 200)
        problem = answer.problem
        field = {"tenant": "org"}.get(str(problem.get("field")), str(problem.get("field")))
        errors[field if field in shape.FIELD_LABELS else "text"] = str(
            problem.get("message_zh") or "提交没有成功，请稍后再试"
        )
    html = portal.render(
        "leave.html",
        title="我要留言",
        form=form,
        errors=errors,
        key=key,
        labels=shape.FIELD_LABELS,
        challenge=portal.guard.challenge("message"),
    )
    return _private(html, 422)


@router.get("/track")
async def track_form(request: Request, portal: P) -> Response:
    return _cached(request, portal.render("track.html", title="留言办理查询", errors={}))


@router.post("/track")
async def track(request: Request, portal: P) -> Response:
    admitted = await portal.guard.admit(request, "track")
    if isinstance(admitted, Refused):
        return refusal(portal, admitted)
    form = admitted.form
    code = shape.unblock(form.get("code", ""))
    if not code:
        html = portal.render(
            "track.html", title="留言办理查询", errors={"code": "请填写查询码"}, code=code
        )
        return _private(html, 422)
    async with portal.api(request.app) as api:
        answer = await api.get("sentiment", f"/v1/public/requests/{code}")
    if answer.status == 404 or not answer.ok or not answer.body:
        html = portal.render(
            "track.html",
            title="留言办理查询",
            errors={"code": "没有找到这个查询码，请核对后重新输入（注意大小写）"},
            code=code,
        )
        return _private(html, 404 if answer.status == 404 else 422)
    html = portal.render("status.html", title="留言办理情况", item=answer.body[0])
    return _private(html)


@router.get("/{slug}")
async def home(slug: str, request: Request, portal: P) -> Response:
    unit = portal.organ(slug)
    if unit is None:
        return _missing(request, portal, "没有这个栏目。")

    async def build() -> Page:
        async with portal.api(request.app) as api:
            columns = await _columns(api, str(unit.path))
        html = portal.render(
            "home.html",
            title=f"{unit.name}政府信息公开",
            unit=unit,
            guide=portal.guides[str(unit.path)],
            rules_count=cn_number(len(portal.guides[str(unit.path)].rules)),
            columns=columns,
            years=portal.report_years(),
        )
        return Page(html, shape.newest([c["updated_at"] for c in columns]))

    page = await kept(request, portal.pages, request.url.path, build)
    return _cached(request, page.html, page.changed)


async def _guide_page(
    slug: str, request: Request, portal: Portal, template: str, what: str
) -> Response:
    """A page made from the organ's guide file: the 指南 itself, or its 制度."""
    unit = portal.organ(slug)
    if unit is None:
        return _missing(request, portal, "没有这个栏目。")
    html = portal.render(
        template, title=f"{unit.name}{what}", unit=unit, guide=portal.guides[str(unit.path)]
    )
    return _cached(request, html)


@router.get("/{slug}/guide")
async def guide(slug: str, request: Request, portal: P) -> Response:
    return await _guide_page(slug, request, portal, "guide.html", "政府信息公开指南")


@router.get("/{slug}/rules")
async def rules(slug: str, request: Request, portal: P) -> Response:
    """政府信息公开制度: the rules the organ works by (data, like its guide)."""
    return await _guide_page(slug, request, portal, "rules.html", "政府信息公开制度")


@router.get("/{slug}/column/{code}")
async def column(slug: str, code: str, request: Request, portal: P) -> Response:
    unit = portal.organ(slug)
    if unit is None or code not in COLUMN_NAMES:
        return _missing(request, portal, "没有这个栏目。")
    cursor = dict(parse_qsl(request.url.query)).get("after")

    async def build() -> Page:
        async with portal.api(request.app) as api:
            answer = await api.get(
                "catalog",
                f"{CATALOG}/documents",
                {
                    "township": str(unit.path),
                    "column": code,
                    "limit": COLUMN_PAGE,
                    "cursor": cursor,
                },
            )
        if answer.status == 422:
            return Page(_missing_html(portal, "页码无效，请从栏目首页重新打开。"), status=404)
        _require(answer)
        items = answer.body.get("items", [])
        html = portal.render(
            "column.html",
            title=f"{COLUMN_NAMES[code]} - {unit.name}",
            unit=unit,
            code=code,
            name=COLUMN_NAMES[code],
            items=items,
            next_cursor=answer.body.get("next_cursor"),
            first=not cursor,
        )
        return Page(html, shape.newest([i["updated_at"] for i in items]))

    key = request.url.path + (f"?after={cursor}" if cursor else "")
    page = await kept(request, portal.pages, key, build)
    if page.status == 200:
        count_view(request, portal, str(unit.path), code, "")
    return _cached(request, page.html, page.changed, page.status)


@router.get("/{slug}/report/{year}")
async def annual_report(slug: str, year: int, request: Request, portal: P) -> Response:
    unit = portal.organ(slug)
    if unit is None or year not in portal.report_years():
        return _missing(request, portal, "没有这一年度的政府信息公开工作年度报告。")
    async with portal.api(request.app) as api:
        answer = await api.get(
            "applications",
            f"/v1/annual-reports/{year}",
            {"tenant": str(unit.path), "format": "json"},
        )
    _require(answer)
    report = answer.body
    sections = {s["key"]: s for s in report["sections"]}
    html = portal.render("report.html", title=report["title"], unit=unit, r=report, s=sections)
    return _cached(request, html)


@router.get("/{slug}/enforcement")
async def enforcement(slug: str, request: Request, portal: P) -> Response:
    """行政执法公示 of an organ (issue #23): published decisions, masked, with search."""
    unit = portal.organ(slug)
    if unit is None:
        return _missing(request, portal, "没有这个栏目。")
    params = dict(parse_qsl(request.url.query))
    q = params.get("q", "").strip()[:100]
    cursor = params.get("after")
    async with portal.api(request.app) as api:
        answer = await api.get(
            "enforcement",
            "/v1/public/enforcement/decisions",
            {"township": str(unit.path), "q": q or None, "limit": COLUMN_PAGE, "cursor": cursor},
        )
    if answer.status == 422:
        return _missing(request, portal, "页码无效，请从行政执法公示首页重新打开。")
    _require(answer)
    html = portal.render(
        "enforcement.html",
        title=f"行政执法公示 - {unit.name}",
        unit=unit,
        q=q,
        items=answer.body.get("items", []),
        next_cursor=answer.body.get("next_cursor"),
        first=not cursor,
    )
    return _cached(request, html)


def routers() -> list[APIRouter]:
    from services.portal.apply import router as applying
    from services.portal.engagement import router as engagement
    from services.portal.feeds import router as feeds

    # before router: its /{slug} would take /gk/subscribe and /gk/apply
    return [engagement, applying, feeds, router]
