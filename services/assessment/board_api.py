"""The live scoreboard page of 考核 (HTML, Server-Sent Events) and its view cookie.

A browser's EventSource cannot send Authorization, so the page and the read routes it
uses also accept a short-lived view cookie (board.py; docs/assessment.md).

No `from __future__ import annotations` here: FastAPI must see the real dependency
objects, not strings.
"""

import secrets
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import parse_qs

import jwt
import structlog
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.assessment import board, queries
from services.assessment.handlers import PREFIX
from services.assessment.queries import PageWhich, card_of, owner_for, ranking
from shared.deps import current_principal, runtime_of
from shared.errors import Forbidden, NotFound, Unauthenticated
from shared.gateway import sign_in_call
from shared.identity import Principal, verify_token
from shared.service import Runtime
from shared.workdays import local_date

log = structlog.get_logger("gongkai.assessment.board")
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
        return login_form(request, here)
    try:
        principal = board.verify_view_token(cookie, secret(request), datetime.now(UTC))
        request.app.state.account_book.check(principal)  # a view ends with its account
        return principal
    except (Unauthenticated, Forbidden) as err:
        return login_form(request, here, "登录已过期或账号已停用，请重新登录。", err.status)


def login_form(
    request: Request,
    next_url: str,
    problem: str | None = None,
    status: int = 200,
    username: str = "",
    *,
    nonce: str | None = None,
) -> HTMLResponse:
    """The sign-in page with its login-CSRF token, bound to a nonce in an HttpOnly cookie."""
    nonce = nonce or request.cookies.get(board.LOGIN_COOKIE) or secrets.token_urlsafe(32)
    csrf = board.login_csrf(nonce, secret(request))
    response = html(board.login_page(next_url, csrf, problem, username), status)
    response.set_cookie(
        board.LOGIN_COOKIE,
        nonce,
        max_age=3600,
        path=board.COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


SIGNIN_WORDS = {
    "signin.failed": "用户名或密码错误，请重新输入。",
    "account.suspended": "该账号已停用，请联系本单位的系统管理员。",
    "password.change_required": (
        "请先在政务公开工作台修改初始密码（或已满90天的密码），再登录实时排名。"
    ),
}


async def password_sign_in(
    request: Request, form: dict[str, list[str]], next_url: str
) -> Response | str:
    """The form's user name and password, through the accounts API: an access token, or the
    sign-in page again saying why in Chinese (each refusal logged as `http.denied`)."""
    username = (form.get("username") or [""])[0].strip()
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    cross = bool(origin) and (origin == "null" or (origin or "").split("://", 1)[-1] != host)
    nonce = request.cookies.get(board.LOGIN_COOKIE)
    if cross or not board.login_csrf_ok(nonce, secret(request), (form.get("csrf") or [""])[0]):
        rule = "csrf.origin" if cross else "csrf.login_token"
        log.warning("http.denied", status=403, rule=rule, path=request.url.path)
        return login_form(
            request, next_url, "页面已过期或来自其他网站，请重新输入后登录。", 403, username,
            nonce=secrets.token_urlsafe(32),
        )  # fmt: skip
    password = (form.get("password") or [""])[0]
    if not username or not password:
        return login_form(request, next_url, "请填写用户名和密码。", 400, username)
    suite = request.app.state.suite
    answer = await sign_in_call(
        request.app,
        dict(suite.settings.service_urls),
        "/v1/auth/password",
        {"username": username, "password": password},
        request.client.host if request.client else "unknown",
        request.headers.get("x-correlation-id"),
    )
    if answer.ok:
        return str(answer.body["access_token"])
    rule = str(answer.problem.get("rule", ""))
    log.warning("http.denied", status=answer.status, rule=rule, path=request.url.path, sub=username)
    if answer.status == 429:
        seconds = int((answer.problem.get("details") or {}).get("retry_after") or 60)
        text = f"密码连续输错次数过多，已暂时锁定，请{max(1, round(seconds / 60))}分钟后再试。"
    else:
        text = SIGNIN_WORDS.get(rule, "暂时无法登录，请稍后重试。")
    return login_form(request, next_url, text, answer.status, username)


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
    next_url = board.safe_next((form.get("next") or [""])[0])
    token = ""
    by_password = False
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()  # a program with a token of its own
    elif "username" in form or "csrf" in form:
        signed_in = await password_sign_in(request, form, next_url)
        if isinstance(signed_in, Response):
            return signed_in
        token, by_password = signed_in, True
    if not token:
        raise Unauthenticated(
            rule="token.missing",
            field="username",
            message_zh="请用用户名和密码登录（程序可用 Authorization: Bearer …）",
            message_en="sign in with user name and password (programs: Authorization: Bearer …)",
        )
    now = datetime.now(UTC)
    principal = verify_token(token, secret(request), now)
    request.app.state.account_book.check(principal)
    expires = int(jwt.decode(token, options={"verify_signature": False})["exp"])
    if by_password:
        # a person who just signed in watches for the view's hour, not the access token's
        # minutes; the account book still checks every read (suspension, sign-out everywhere)
        expires = int(now.timestamp()) + board.VIEW_SECONDS
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
