"""The live scoreboard page of 考核 (HTML, Server-Sent Events) and its view cookie.

A browser's EventSource cannot send Authorization, so the page and the read routes it
uses also accept a short-lived view cookie (board.py; docs/assessment.md).

No `from __future__ import annotations` here: FastAPI must see the real dependency
objects, not strings.
"""

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import parse_qs

import jwt
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.assessment import board, queries
from services.assessment.handlers import PREFIX
from services.assessment.queries import PageWhich, card_of, owner_for, ranking
from shared.deps import current_principal, runtime_of
from shared.errors import Forbidden, NotFound, Unauthenticated
from shared.identity import Principal, verify_token
from shared.service import Runtime
from shared.workdays import local_date

Page = Annotated[PageWhich, Depends()]
Rt = Annotated[Runtime, Depends(runtime_of("assessment"))]


def secret(request: Request) -> str:
    return str(request.app.state.token_secret)


def html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=board.HTML_HEADERS)


async def viewer(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    """Read-only routes the live page uses: the bearer token, or the board's view cookie."""
    cookie = request.cookies.get(board.COOKIE)
    if authorization or not cookie:
        return await current_principal(request, authorization)
    principal = board.verify_view_token(cookie, secret(request), datetime.now(UTC))
    request.app.state.account_book.check(principal)  # a view ends with its account
    return principal


Viewer = Annotated[Principal, Depends(viewer)]
"""The caller of a read the live page also makes (401 without a token or a view cookie)."""


def page_caller(request: Request) -> Principal | HTMLResponse:
    """The view cookie's principal, or the sign-in page (which comes back here)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    cookie = request.cookies.get(board.COOKIE)
    if not cookie:
        return html(board.login_page(here))
    try:
        principal = board.verify_view_token(cookie, secret(request), datetime.now(UTC))
        request.app.state.account_book.check(principal)  # a view ends with its account
        return principal
    except (Unauthenticated, Forbidden) as err:
        return html(board.login_page(here, f"{err.message_zh} {err.message_en}"), err.status)


router = APIRouter(prefix=PREFIX, tags=["assessment 考核"])


@router.get(
    "/board",
    response_class=HTMLResponse,
    summary="实时排名页面 Live scoreboard page (HTML, Server-Sent Events)",
)
async def board_view(request: Request, rt: Rt, page: Page) -> Response:
    caller = page_caller(request)
    if isinstance(caller, Response):
        return caller
    which = page.this(local_date(rt.clock()).year)
    after = await queries.latest_seq(rt.views)  # before the cards: nothing missed
    try:
        data = await ranking(rt, caller, which)
    except NotFound as err:
        text = f"{err.message_zh} / {err.message_en}"
        return html(board.message_page("实时排名 Live scoreboard", text), 404)
    query = board.board_query(which.year, which.level.value, data["owner"])
    return html(board.board_page(data, query, after, datetime.now(UTC)))


@router.get(
    "/board/subject",
    response_class=HTMLResponse,
    summary="得分明细页面 A subject's breakdown with the events behind each deduction",
)
async def board_subject(request: Request, rt: Rt, subject: str, page: Page) -> Response:
    caller = page_caller(request)
    if isinstance(caller, Response):
        return caller
    which = page.this(local_date(rt.clock()).year)
    data = await card_of(rt, caller, subject, which)
    owner_path = owner_for(rt, which.level, subject, which.owner)
    events = await queries.finding_events(rt.views, which.year, subject)
    query = board.board_query(which.year, which.level.value, owner_path)
    return html(board.breakdown_page(data, data["name"], query, events))


@router.get("/board/board.js", include_in_schema=False)
async def board_script() -> Response:
    return Response(
        board.SCRIPT,
        media_type="text/javascript; charset=utf-8",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )


@router.post(
    "/board/login",
    summary="看板登录 Exchange a bearer token (form body or header) for a view cookie",
    response_class=RedirectResponse,
    status_code=303,
)
async def board_login(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    token = (form.get("token") or [""])[0].strip()
    next_url = board.safe_next((form.get("next") or [""])[0])
    if not token and authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    if not token:
        raise Unauthenticated(
            rule="token.missing",
            field="token",
            message_zh="缺少身份令牌（表单字段 token 或 Authorization: Bearer …）",
            message_en="missing bearer token (form field token or Authorization: Bearer …)",
        )
    now = datetime.now(UTC)
    try:
        principal = verify_token(token, secret(request), now)
        request.app.state.account_book.check(principal)
    except (Unauthenticated, Forbidden) as err:
        if "token" in form:
            return html(board.login_page(next_url, f"{err.message_zh} {err.message_en}"), 401)
        raise
    expires = int(jwt.decode(token, options={"verify_signature": False})["exp"])
    view = board.issue_view_token(principal, secret(request), now, expires)
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        board.COOKIE,
        view,
        max_age=max(1, min(board.VIEW_SECONDS, expires - int(now.timestamp()))),
        path=board.COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/board/logout", summary="看板退出 Drop the view cookie", status_code=303)
async def board_logout() -> Response:
    response = RedirectResponse(board.BOARD_PATH, status_code=303)
    response.delete_cookie(board.COOKIE, path=board.COOKIE_PATH)
    return response
