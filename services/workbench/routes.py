"""The workbench's pages under /workbench: sign-in, the queue, the ledger, a request, its
command forms and its letters. Server-rendered (Jinja2), working without JavaScript.

No `from __future__ import annotations` here: FastAPI must see the real types.
"""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from services.workbench import forms, letters, menu, session, steps, websessions
from services.workbench.labels import (
    CONCLUDED,
    EVENT_LABELS,
    HISTORY_ENUMS,
    HISTORY_FIELDS,
    HISTORY_OVERRIDES,
    PAUSED,
    Labels,
    status_label,
)
from services.workbench.landing import landing
from services.workbench.pages import HERE, Workbench
from services.workbench.words import URGENCY, cn_date, deadline
from shared.account_book import AccountKind
from shared.deps import handlers_of
from shared.gateway import Answer, Api, sign_in_call
from shared.identity import Principal, issue_token, verify_token
from shared.workdays import YearUsed, describe_year

log = structlog.get_logger("gongkai.workbench")
#: How long a sign-in waits for this process's account book to hold the account.
BOOK_WAIT = 5.0
W = Annotated[Workbench, Depends(handlers_of("workbench", Workbench))]
LARGE = "gk_workbench_large"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on form
    # POSTs, and the CSRF check could not tell this site from another.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
STATIC = {"workbench.css": "text/css", "workbench.js": "text/javascript", "print.css": "text/css"}
#: Tabs of the home queue: (key, title).
TABS = (
    ("overdue", "已超期"),
    ("today", "今日到期"),
    ("soon", "即将到期"),
    ("paused", "暂停计时"),
    ("all", "全部在办"),
)

router = APIRouter(prefix="/workbench", include_in_schema=False)


class Session:
    """A signed-in page: the web session and the access token minted for its API calls."""

    def __init__(self, web: websessions.WebSession, token: str, principal: Principal) -> None:
        self.web = web
        self.token = token
        self.principal = principal


def _denied(request: Request, status: int, rule: str, **what: Any) -> None:
    log.warning("http.denied", status=status, rule=rule, path=request.url.path, **what)


async def _session(request: Request, wb: Workbench) -> Session | None:
    """The signed-in person of this request, checked against the account book on every
    page: a suspended account, an ended generation or a role no longer held ends it."""
    now = wb.clock()
    web, why = await wb.sessions.find(request.cookies.get(websessions.COOKIE), now)
    if web is None:
        if why in ("unknown", "idle", "absolute"):
            _denied(request, 401, f"session.{why}")
        return None
    account = wb.book.get(web.account_id)
    rule = None
    if account is None or not account.exists:
        rule = "account.unknown"
    elif not account.active:
        rule = "account.suspended"
    elif account.generation > web.generation:
        rule = "account.session_ended"
    roles = account.roles_at(web.org) if account is not None and rule is None else frozenset()
    if rule is None and not roles:
        rule = "account.role_not_held"
    if rule is not None or account is None:
        await wb.sessions.end(web.id)
        _denied(request, 401, rule or "account.unknown", sub=web.account_id)
        return None
    principal = Principal(
        sub=web.account_id,
        org=web.org,
        roles=roles,
        kind="user",
        name=account.name or None,
        generation=max(web.generation, account.generation),
    )
    # The token's times are the wall clock's, as the APIs check them (shared/http.py).
    token = issue_token(principal, wb.secret, websessions.ACCESS_TTL, datetime.now(UTC))
    return Session(web, token, principal)


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=HEADERS)


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/workbench/login?" + urlencode({"next": target}), status_code=303)


def _api(request: Request, wb: Workbench, s: Session) -> Api:
    return Api(request.app, s.token, wb.urls, request.headers.get("x-correlation-id"))


def _page(
    request: Request, wb: Workbench, s: Session | None, template: str, status: int = 200, **ctx: Any
) -> HTMLResponse:
    base: dict[str, Any] = {
        "large": request.cookies.get(LARGE) == "1",
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "today": cn_date(wb.today()),
        "user": wb.who(s.principal) if s else None,
        "csrf": websessions.csrf_token(s.web.id, wb.secret) if s else "",
        "menu": menu.entries(s.principal.roles) if s else [],
    }
    return _html(wb.render(template, **base, **ctx), status)


def _message(
    request: Request, wb: Workbench, s: Session | None, title: str, text: str, status: int
) -> HTMLResponse:
    return _page(request, wb, s, "message.html", status, title=title, text=text)


def _refused(request: Request, wb: Workbench, s: Session, answer: Answer) -> Response:
    """A read the API refused: sign in again on 401, otherwise say why in Chinese."""
    if answer.status == 401:
        return _to_login(request)
    problem = answer.problem
    text = problem.get("message_zh") or "操作未成功，请稍后重试"
    title = {403: "没有权限", 404: "未找到"}.get(answer.status, "无法显示")
    return _message(request, wb, s, title, text, answer.status)


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def _same_origin(request: Request) -> bool:
    return session.same_origin(request.headers.get("origin"), request.headers.get("host"))


def _post_allowed(request: Request, s: Session | None, form: dict[str, str]) -> bool:
    """A form post of a signed-in page: same origin and the session's own form token."""
    if s is None:
        return False
    if not _same_origin(request):
        _denied(request, 403, "csrf.origin", sub=s.principal.sub)
        return False
    if not websessions.csrf_ok(s.web.id, _secret(request), form.get("csrf")):
        _denied(request, 403, "csrf.token", sub=s.principal.sub)
        return False
    return True


def _secret(request: Request) -> str:
    return str(request.app.state.token_secret)


def _secure(request: Request) -> bool:
    """The page came over TLS: the scheme uvicorn reports (it believes X-Forwarded-Proto
    from the proxies in FORWARDED_ALLOW_IPS, by default only 127.0.0.1)."""
    return request.url.scheme == "https"


# ----------------------------------------------------------------------------- sign-in

#: What a refused sign-in says, by the API's rule (a township clerk reads these).
SIGNIN_WORDS = {
    "signin.failed": "用户名或密码错误，请重新输入。",
    "account.suspended": "该账号已停用，请联系本单位的系统管理员。",
}
PASSWORD_RULES = (
    "至少8位，最长128位；",
    "大写字母、小写字母、数字、符号（如 - _ ! @）四类中至少包含三类；",
    "不能与用户名相同，也不能包含用户名；",
    "不能与最近5次用过的密码相同；",
    "密码每90天需更换一次。",
)


def _login_form(
    request: Request,
    wb: Workbench,
    template: str,
    status: int = 200,
    *,
    nonce: str | None = None,
    **ctx: Any,
) -> HTMLResponse:
    """A sign-in (or first password) form with its login-CSRF token: bound to a random
    nonce kept in an HttpOnly cookie, so a form posted from another site, or with another
    browser's token, is refused (login CSRF)."""
    nonce = nonce or request.cookies.get(websessions.LOGIN_COOKIE) or websessions.new_id()
    response = _page(
        request,
        wb,
        None,
        template,
        status,
        login_csrf=websessions.csrf_token(nonce, wb.secret, "login"),
        oidc=bool(getattr(request.app.state, "oidc", None)),
        rules=PASSWORD_RULES,
        **ctx,
    )
    response.set_cookie(
        websessions.LOGIN_COOKIE,
        nonce,
        max_age=3600,
        path="/workbench",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    return response


def _login_post_ok(request: Request, wb: Workbench, form: dict[str, str]) -> bool:
    if not _same_origin(request):
        _denied(request, 403, "csrf.origin")
        return False
    nonce = request.cookies.get(websessions.LOGIN_COOKIE)
    if not websessions.csrf_ok(nonce, wb.secret, form.get("csrf"), "login"):
        _denied(request, 403, "csrf.login_token")
        return False
    return True


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _accounts_call(request: Request, wb: Workbench, path: str, body: Any) -> Answer:
    correlation = request.headers.get("x-correlation-id")
    return await sign_in_call(request.app, wb.urls, path, body, _address(request), correlation)


def _signin_error(answer: Answer) -> str:
    problem = answer.problem
    rule = str(problem.get("rule", ""))
    if answer.status == 429:
        seconds = int((problem.get("details") or {}).get("retry_after") or 60)
        what = "此账号" if rule == "signin.account_locked" else "本机"
        return f"密码连续输错次数过多，{what}已暂时锁定，请{_wait_words(seconds)}后再试。"
    if rule in SIGNIN_WORDS:
        return SIGNIN_WORDS[rule]
    if answer.status == 422:
        return str(problem.get("message_zh") or "请检查填写的内容。")
    return "暂时无法登录，请稍后重试。"


def _wait_words(seconds: int) -> str:
    """Retry-After in words: whole minutes (the lock is 15 minutes plus a second)."""
    return f"{max(1, round(seconds / 60))}分钟" if seconds >= 60 else f"{seconds}秒"


async def _signed_in(
    request: Request, wb: Workbench, answer: Answer, target: str, method: str
) -> Response:
    """Start a new session for the account the API signed in: a new id (any session the
    browser brought is ended, never reused), the login nonce cleared."""
    # issued on the accounts service's clock, the suite's (tests move it)
    principal = verify_token(answer.body["access_token"], wb.secret, wb.clock())
    await _book_holds(wb, principal.sub, principal.generation)
    old = request.cookies.get(websessions.COOKIE)
    if old:
        await wb.sessions.end(old)
    web = await wb.sessions.start(
        principal.sub, str(principal.org), principal.generation, method, wb.clock()
    )
    log.info("web.signed_in", account=principal.sub, method=method)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, web.id, _secure(request))
    response.delete_cookie(websessions.LOGIN_COOKIE, path="/workbench")
    return response


async def _book_holds(wb: Workbench, account_id: str, generation: int) -> None:
    """Until this process's account book has caught up with the sign-in (distributed: it
    follows the accounts topic, well under a second behind), at most BOOK_WAIT seconds."""
    waited = 0.0
    while waited < BOOK_WAIT:
        account = wb.book.get(account_id)
        if account is not None and account.exists and account.generation >= generation:
            return
        await asyncio.sleep(0.05)
        waited += 0.05


def set_session_cookie(response: Response, session_id: str, secure: bool) -> None:
    response.set_cookie(
        websessions.COOKIE,
        session_id,
        max_age=int(websessions.ABSOLUTE.total_seconds()),
        path=websessions.PATH,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


class WorkbenchSignIn:
    """OpenID Connect's seam (shared/oidc_routes.py `SignIn`): the person the provider
    vouched for is signed in to the account the provider names, if this process's account
    book holds it as an active person's account with a role at its org; a new web session
    starts as with a password. Anyone else gets a Chinese page and no session."""

    def __init__(self, app: Any, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def sign_in(self, identity: Any, next_path: str) -> Response:
        wb: Workbench = self.app.state.runtimes["workbench"].handlers
        name = str(identity.account_name)
        account = wb.book.get(name)
        rule = ""
        if account is None or not account.exists or account.kind is not AccountKind.PERSON:
            rule, text = (
                "account.unknown",
                (
                    f"统一身份认证已确认您的身份（{name}），但本系统没有对应的工作账号。"
                    "请联系本单位的系统管理员开设账号。"
                ),
            )
        elif not account.active:
            rule, text = "account.suspended", "该账号已停用，请联系本单位的系统管理员。"
        elif not account.roles_at(account.org):
            rule, text = "account.role_not_held", "该账号没有任何工作角色，请联系系统管理员授权。"
        if rule or account is None:
            log.warning(
                "http.denied", status=403, rule=rule, path="/signin/oidc/callback", sub=name
            )
            page = wb.render(
                "message.html", large=False, here="/workbench", today=cn_date(wb.today()),
                user=None, csrf="", title="无法登录", text=text,
            )  # fmt: skip
            return _html(page, 403)
        web = await wb.sessions.start(
            account.id, account.org, account.generation, "oidc", wb.clock()
        )
        log.info("web.signed_in", account=account.id, method="oidc")
        response = RedirectResponse(_safe_next(next_path), status_code=303)
        set_session_cookie(response, web.id, self.secure)
        return response


@router.get("/login")
async def login_page(
    request: Request, wb: W, next: str = "/workbench", done: str = ""
) -> HTMLResponse:
    notice = {"out": "您已退出登录。", "all": "您已在所有设备上退出登录。"}.get(done, "")
    return _login_form(request, wb, "login.html", next=_safe_next(next), notice=notice)


@router.post("/login")
async def login(request: Request, wb: W) -> Response:
    form = await _form(request)
    target = _safe_next(form.get("next"))
    username = (form.get("username") or "").strip()
    if not _login_post_ok(request, wb, form):
        return _login_form(
            request, wb, "login.html", 403, nonce=websessions.new_id(), next=target,
            username=username, errors=[_error("username", "页面已过期或来自其他网站，请重新输入后登录。")],
        )  # fmt: skip
    missing = [
        _error(name, f"请填写{label}。")
        for name, label in (("username", "用户名"), ("password", "密码"))
        if not form.get(name)
    ]
    if missing:
        return _login_form(
            request, wb, "login.html", 400, next=target, username=username, errors=missing
        )
    body = {"username": username, "password": form["password"]}
    answer = await _accounts_call(request, wb, "/v1/auth/password", body)
    if answer.ok:
        return await _signed_in(request, wb, answer, target, "password")
    if answer.problem.get("rule") == "password.change_required":
        expired = bool((answer.problem.get("details") or {}).get("expired"))
        return _login_form(
            request, wb, "password.html", next=target, username=username, expired=expired
        )
    _denied(request, answer.status, str(answer.problem.get("rule", "")), sub=username)
    return _login_form(
        request, wb, "login.html", answer.status, next=target, username=username,
        errors=[_error("password", _signin_error(answer))],
    )  # fmt: skip


@router.post("/password")
async def change_password(request: Request, wb: W) -> Response:
    """The forced change of an initial (or 90-day-old) password, before any other page."""
    form = await _form(request)
    target = _safe_next(form.get("next"))
    username = (form.get("username") or "").strip()

    def again(status: int, *errors: forms.FieldError) -> HTMLResponse:
        return _login_form(
            request, wb, "password.html", status, next=target, username=username,
            errors=list(errors),
        )  # fmt: skip

    if not _login_post_ok(request, wb, form):
        return again(403, _error("password", "页面已过期或来自其他网站，请重新输入后提交。"))
    new, confirm = form.get("new_password") or "", form.get("confirm") or ""
    if not form.get("password"):
        return again(400, _error("password", "请填写原密码（管理员给您的初始密码）。"))
    if not new:
        return again(400, _error("new_password", "请填写新密码。"))
    if new != confirm:
        return again(400, _error("confirm", "两次输入的新密码不一致，请重新输入。"))
    body = {"username": username, "password": form["password"], "new_password": new}
    answer = await _accounts_call(request, wb, "/v1/auth/password/change", body)
    if answer.ok:
        return await _signed_in(request, wb, answer, target, "password")
    rule = str(answer.problem.get("rule", ""))
    _denied(request, answer.status, rule, sub=username)
    if rule.startswith("password.") and answer.status == 422:
        text = str(answer.problem.get("message_zh", "")).split("（GB/T")[0]
        return again(422, _error("new_password", f"{text}。"))
    return again(answer.status, _error("password", _signin_error(answer)))


def _error(name: str, text: str) -> forms.FieldError:
    labels = {
        "username": "用户名",
        "password": "密码",
        "new_password": "新密码",
        "confirm": "再次输入新密码",
    }
    return forms.FieldError(name, name, labels.get(name, name), text)


@router.post("/logout")
async def logout(request: Request, wb: W) -> Response:
    form = await _form(request)
    s = await _session(request, wb)
    if s is None:  # already over (timed out, ended elsewhere): nothing left to end
        return RedirectResponse("/workbench/login?done=out", status_code=303)
    if not _post_allowed(request, s, form):
        return _message(request, wb, None, "无法退出", "页面已过期，请刷新后重试。", 403)
    await wb.sessions.end(s.web.id)
    log.info("web.signed_out", account=s.principal.sub)
    response = RedirectResponse("/workbench/login?done=out", status_code=303)
    response.delete_cookie(websessions.COOKIE, path=websessions.PATH)
    return response


@router.post("/logout-all")
async def logout_everywhere(request: Request, wb: W) -> Response:
    """退出所有设备: the account's session generation is raised (its tokens everywhere stop)
    and every web session of the account is deleted."""
    form = await _form(request)
    s = await _session(request, wb)
    if not _post_allowed(request, s, form):
        return _message(request, wb, None, "无法退出", "页面已过期，请刷新后重试。", 403)
    assert s is not None
    async with _api(request, wb, s) as api:
        answer = await api.post("accounts", "/v1/auth/sign-out-everywhere", {})
    if not answer.ok:
        return _refused(request, wb, s, answer)
    ended = await wb.sessions.end_all(s.principal.sub)
    log.info("web.signed_out_everywhere", account=s.principal.sub, sessions=ended)
    response = RedirectResponse("/workbench/login?done=all", status_code=303)
    response.delete_cookie(websessions.COOKIE, path=websessions.PATH)
    return response


def _safe_next(target: str | None) -> str:
    """Only a workbench page of this origin may follow sign-in (no open redirect)."""
    if target and target.startswith("/workbench") and "//" not in target and "\\" not in target:
        return target
    return "/workbench"


@router.get("/display")
async def display(large: int = 0, next: str = "/workbench") -> Response:
    """适老化: the large-text mode, a preference kept in a cookie (no JavaScript needed)."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        LARGE, "1" if large else "0", max_age=365 * 86400, path="/workbench", samesite="strict"
    )
    return response


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC:
        return Response(status_code=404)
    return FileResponse(
        HERE / "static" / name, media_type=STATIC[name], headers={"Cache-Control": "max-age=3600"}
    )


# ----------------------------------------------------------------------------- lists


def _row(wb: Workbench, item: dict[str, Any]) -> dict[str, Any]:
    status = item.get("status", "")
    done = status_label(status) if status in CONCLUDED else None
    due = deadline(
        item.get("reply_due"), wb.today(), wb.calendar(), paused=PAUSED.get(status), done=done
    )
    applicant = item.get("applicant") or {}
    return {
        **item,
        "deadline": due,
        "status_zh": status_label(status),
        "applicant_name": applicant.get("name", ""),
    }


async def _open_requests(api: Api, wb: Workbench) -> tuple[list[dict[str, Any]], Answer | None]:
    rows: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10):
        params = {"queue": "open", "limit": 200, "cursor": cursor}
        answer = await api.get("applications", "/v1/requests", params)
        if not answer.ok:
            return [], answer
        rows += [_row(wb, i) for i in answer.body["items"]]
        cursor = answer.body.get("next_cursor")
        if not cursor:
            break
    rows.sort(key=lambda r: (URGENCY[r["deadline"].level], r.get("reply_due") or "9999"))
    return rows, None


def _in_tab(row: dict[str, Any], tab: str) -> bool:
    return tab == "all" or row["deadline"].level == tab


@router.get("", response_model=None)
@router.get("/", response_model=None)
async def home(request: Request, wb: W, tab: str = "overdue") -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        rows, refused = await _open_requests(api, wb)
    if refused is not None:
        start = landing(s.principal) if refused.status == 403 else None
        if start:  # not a request handler: their own section (opinion, audit, scores)
            return RedirectResponse(start, status_code=303)
        return _refused(request, wb, s, refused)
    counts = {key: sum(_in_tab(r, key) for r in rows) for key, _ in TABS}
    if tab not in counts:
        tab = "overdue"
    shown = [r for r in rows if _in_tab(r, tab)]
    return _page(
        request, wb, s, "home.html", tabs=TABS, tab=tab, counts=counts, rows=shown, nav="home"
    )


@router.get("/requests", response_model=None)
async def ledger(
    request: Request, wb: W, status: str = "", q: str = "", due: str = "", cursor: str = ""
) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    params = {
        "status": status,
        "q": q,
        "due": due if due in ("soon", "overdue") else "",
        "limit": 50,
        "cursor": cursor,
    }
    async with _api(request, wb, s) as api:
        answer = await api.get("applications", "/v1/requests", params)
    if not answer.ok:
        return _refused(request, wb, s, answer)
    rows = [_row(wb, i) for i in answer.body["items"]]
    query = {k: v for k, v in params.items() if v and k not in ("limit", "cursor")}
    nxt = answer.body.get("next_cursor")
    return _page(
        request, wb, s, "ledger.html", rows=rows, filters=query, statuses=sorted(CONCLUDED | set(PAUSED) | {"registered", "assigned"}),
        export="/workbench/requests/export.csv" + (f"?{urlencode(query)}" if query else ""),
        more=f"/workbench/requests?{urlencode({**query, 'cursor': nxt})}" if nxt else "", nav="ledger",
    )  # fmt: skip


@router.get("/requests/export.csv", response_model=None)
async def export(request: Request, wb: W, status: str = "", q: str = "", due: str = "") -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        answer = await api.raw(
            "applications", "/v1/requests/export.csv", {"status": status, "q": q, "due": due}
        )
    if answer.status_code != 200:
        return _message(
            request, wb, s, "无法导出", "导出未成功，请检查筛选条件后重试。", answer.status_code
        )
    name = f"依申请公开台账-{wb.today().isoformat()}.csv"
    disposition = f"attachment; filename=ledger.csv; filename*=UTF-8''{_quote(name)}"
    return Response(
        answer.content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text)


# ----------------------------------------------------------------------------- register


REGISTER_SKIP = ("tenant",)


async def _register_fields(api: Api, wb: Workbench) -> list[forms.Field]:
    schema, defs = await wb.register_schema(api)
    labels = await wb.labels(api)
    return forms.fields_of(schema, labels.enums, defs=defs, skip=REGISTER_SKIP)


def _defaults(fields: list[forms.Field], wb: Workbench) -> dict[str, str]:
    today = wb.today().isoformat()
    values: dict[str, str] = {}
    for f in fields:
        if f.kind == "date" and f.required:
            values[f.name] = today
        elif f.default is not None:
            values[f.name] = str(f.default)
    return values


#: 条例第三十一条: which date of the form is the day of receipt, per channel (the applications
#: service decides it, domain.receipt_date; a unit test keeps the two in step).
RECEIPT_FIELD = {
    "in_person": "submitted_on",
    "oral": "submitted_on",
    "registered_mail": "signed_on",
    "ordinary_mail": "confirmed_on",
    "online": "confirmed_on",
    "fax": "confirmed_on",
}
REPLY_WORKING_DAYS = 20  # 条例第三十三条第二款
#: Shown until a channel and its date are given (and all the time without JavaScript).
DUE_UNKNOWN = "答复期限：收到申请之日起20个工作日（条例第三十三条）；选择提交渠道并填写收到日期后，这里显示具体日期。"


async def _due_preview(api: Api, values: dict[str, str], fields: list[forms.Field]) -> list[str]:
    """The reply due date as saving would set it, with how it is counted, from the platform's
    working-day calendar (GET /v1/calendars/due); the hint while a channel or date is missing."""
    name = RECEIPT_FIELD.get(values.get("channel") or "")
    received = (values.get(name) or "").strip() if name else ""
    if not name or not received:
        label = next((f.label for f in fields if f.name == name), "")
        return [DUE_UNKNOWN.replace("收到日期", label) if label else DUE_UNKNOWN]
    answer = await api.get(
        "platform", "/v1/calendars/due", {"from": received, "days": REPLY_WORKING_DAYS}
    )
    if not answer.ok:
        return [DUE_UNKNOWN]
    body = answer.body
    years = [YearUsed(*y) for y in body.get("years", [])]
    return [
        f"答复期限：{cn_date(body['due'])}",
        f"收到申请之日为{cn_date(received)}（条例第三十一条），当日不计入，"
        f"其后第{REPLY_WORKING_DAYS}个工作日为答复期限（条例第三十三条第二款）。",
        "工作日历：" + "；".join(describe_year(y) for y in years) + "。",
    ]


@router.get("/requests/new/due", response_model=None)
async def register_due(
    request: Request,
    wb: W,
    channel: str = "",
    submitted_on: str = "",
    signed_on: str = "",
    confirmed_on: str = "",
) -> Response:
    """The register form's due-date preview, for its script as the channel or a date changes."""
    s = await _session(request, wb)
    if s is None:
        return JSONResponse({"lines": []}, status_code=401, headers=HEADERS)
    values = {"channel": channel, "submitted_on": submitted_on, "signed_on": signed_on,
              "confirmed_on": confirmed_on}  # fmt: skip
    async with _api(request, wb, s) as api:
        fields = await _register_fields(api, wb)
        lines = await _due_preview(api, values, fields)
    return JSONResponse({"lines": lines}, headers=HEADERS)


@router.get("/requests/new", response_model=None)
async def register_page(request: Request, wb: W) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        fields = await _register_fields(api, wb)
        state = forms.FormState(fields, _defaults(fields, wb))
        preview = await _due_preview(api, state.values, fields)
    return _register_form(request, wb, s, state, preview)


def _register_form(
    request: Request,
    wb: Workbench,
    s: Session,
    state: forms.FormState,
    preview: list[str],
    status: int = 200,
) -> HTMLResponse:
    return _page(
        request, wb, s, "form.html", status, form=state, key=str(uuid.uuid4()),
        preview=preview, preview_src="/workbench/requests/new/due",
        title="登记依申请公开申请", basis="条例第二十九条至第三十一条", action="/workbench/requests/new",
        intro=(
            "收到申请之日起20个工作日内答复（条例第三十三条）；收到之日按提交渠道确定（第三十一条）："
            "当面或口头提交的，为提交之日；挂号信为签收之日；平常信函、网上、传真为双方确认之日。"
            "答复期限及其计算方法显示在表单下方，保存后即显示登记编号。"
        ),
        back="/workbench", nav="new",
    )  # fmt: skip


@router.post("/requests/new", response_model=None)
async def register(request: Request, wb: W) -> Response:
    s = await _session(request, wb)
    form = await _form(request)
    if s is None or not _post_allowed(request, s, form):
        return _message(
            request, wb, s, "页面已过期", "表单已过期或来源不明，请返回后重新填写。", 403
        )
    async with _api(request, wb, s) as api:
        fields = await _register_fields(api, wb)
        answer = await api.post(
            "applications", "/v1/requests", forms.body_from(fields, form), form.get("key")
        )
        refused = answer.status != 401 and not answer.ok
        preview = await _due_preview(api, form, fields) if refused else []
    if answer.status == 401:
        return _to_login(request)
    if not answer.ok:
        state = forms.FormState(fields, form, forms.errors_from(answer.problem, fields))
        return _register_form(request, wb, s, state, preview, 422 if answer.status == 422 else 409)
    rid, version = answer.body["request_id"], answer.body.get("version", 1)
    target = f"/workbench/requests/{rid}?done=register&v={version}"
    return RedirectResponse(target, status_code=303)


# ----------------------------------------------------------------------------- one request


def _history_rows(
    wb: Workbench, history: list[dict[str, Any]], labels: Labels
) -> list[dict[str, Any]]:
    rows = []
    for e in history:
        details = []
        for key, label in HISTORY_FIELDS.items():
            value = e["payload"].get(key)
            if value in (None, "", []):
                continue
            label, enum = HISTORY_OVERRIDES.get((e["type"], key), (label, HISTORY_ENUMS.get(key)))
            if enum:
                value = labels.enum(enum, value)
            elif isinstance(value, list):
                value = "；".join(str(v) for v in value)
            elif key.endswith(("_on", "_due", "pay_by")) or key == "reply_due":
                value = cn_date(str(value))
            details.append((label, str(value)))
        rows.append(
            {
                "when": e["recorded_at"],
                "what": EVENT_LABELS.get(e["type"], e["type"]),
                "who": wb.person_name(e.get("actor")),
                "details": details,
            }
        )
    return rows


#: After a command, the page waits this long at most for the ledger (a projection) to show it.
CATCH_UP_SECONDS = 10.0


async def read_at(api: Api, service: str, path: str, version: int = 0) -> Answer:
    """An item of a read model at `version` or later: the model is a projection, so right
    after a command a page waits for it (up to CATCH_UP_SECONDS) instead of showing the
    old state."""
    answer = await api.get(service, path)
    waited = 0.0
    while version and waited < CATCH_UP_SECONDS:
        if answer.ok and int(answer.body.get("version", 0)) >= version:
            break
        if not answer.ok and answer.status != 404:
            break
        await asyncio.sleep(0.1)
        waited += 0.1
        answer = await api.get(service, path)
    return answer


async def _request_bundle(
    api: Api, request_id: uuid.UUID, version: int = 0
) -> tuple[dict[str, Any], list[dict[str, Any]], Answer | None]:
    """The request as the ledger shows it, at `version` or later: the ledger is a projection,
    so right after a command the page waits for it instead of showing the old state."""
    answer = await read_at(api, "applications", f"/v1/requests/{request_id}", version)
    if not answer.ok:
        return {}, [], answer
    history = await api.get("applications", f"/v1/requests/{request_id}/history")
    if not history.ok:
        return {}, [], history
    return answer.body, history.body["items"], None


DONE_WORDS = {"register": "已登记。登记编号、答复期限及计算方法见下。"}


@router.get("/requests/{request_id}", response_model=None)
async def detail(
    request: Request, wb: W, request_id: uuid.UUID, done: str = "", v: int = 0
) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        item, history, refused = await _request_bundle(api, request_id, v)
        if refused is not None:
            return _refused(request, wb, s, refused)
        clock = await api.get("applications", f"/v1/requests/{request_id}/clock")
        catalogue = await wb.commands(api)
        labels = await wb.labels(api)
    row = _row(wb, item)
    offered = [catalogue[n] for n in steps.ACTIONS.get(item["status"], ()) if n in catalogue]
    done_text = DONE_WORDS.get(done) or (
        f"已完成：{catalogue[done]['label_zh']}。" if done in catalogue else ""
    )
    return _page(
        request, wb, s, "detail.html", r=row, clock=clock.body if clock.ok else None,
        history=_history_rows(wb, history, labels), labels=labels, next_steps=steps.next_steps(item, history, wb.today().isoformat()),
        actions=offered, letters=steps.letters_of(history), done=done_text,
        handler=wb.person_name(item.get("handler")), org=wb.org_name(item.get("tenant")), nav="ledger",
    )  # fmt: skip


# ----------------------------------------------------------------------------- commands


def _command_defaults(fields: list[forms.Field], wb: Workbench) -> dict[str, str]:
    return _defaults(fields, wb)


def _command_form(
    request: Request, wb: Workbench, s: Session, item: dict[str, Any], entry: dict[str, Any],
    state: forms.FormState, choices: list[tuple[str, str]], status: int = 200,
) -> HTMLResponse:  # fmt: skip
    rid = item["request_id"]
    return _page(
        request, wb, s, "form.html", status, form=state, key=str(uuid.uuid4()),
        title=f"{entry['label_zh']}：{item['number']}", basis=entry.get("basis", ""),
        action=f"/workbench/requests/{rid}/act/{entry['name']}", back=f"/workbench/requests/{rid}",
        intro=INTROS.get(entry["name"], ""), sub_choices=choices, summary=item.get("description", ""), nav="ledger",
    )  # fmt: skip


#: What the law says about a step, above its form.
INTROS = {
    "correction-notice": "申请内容不明确的，应当给予指导和释明，并自收到申请之日起7个工作日内一次性告知申请人作出补正，说明需要补正的事项和合理的补正期限（条例第三十条）。每行填写一项需补正的事项。",
    "correction": "答复期限自行政机关收到补正的申请之日起计算（条例第三十条）。",
    "consultations": "公开可能损害第三方合法权益的，应当书面征求第三方的意见，第三方应自收到之日起15个工作日内提出意见（条例第三十二条）；征求意见所需时间不计算在答复期限内。",
    "consultation-end": "第三方逾期未提出意见的，由行政机关依照条例规定决定是否公开（第三十二条）；其他机关逾期未提出意见的，视为同意公开（第三十四条）。",
    "extension": "需要延长答复期限的，应当经政府信息公开工作机构负责人同意并告知申请人，延长的期限最长不得超过20个工作日（条例第三十三条第二款）。",
    "fee-notice": "申请公开政府信息的数量、频次明显超过合理范围的，可以收取信息处理费（条例第四十二条，国办函〔2020〕109号）。",
    "reply": "根据不同情形分别作出答复（条例第三十六条至第三十九条）；不予公开的，应当告知申请人不予公开的理由。",
    "deliveries": "登记答复或告知书的送达情况和凭证，送达后方可归档。",
    "archive": "办结后整理案卷归档。",
}  # fmt: skip


def _sub_choices(entry: dict[str, Any], history: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Values for the path's other ids: the open consultations, for 征求意见结束."""
    if "consultation_id" not in entry.get("path_params", {}):
        return []
    return [
        (str(c["consultation_id"]), f"{c['party']}（{cn_date(c['started_on'])}起）")
        for c in steps.open_consultations(history)
    ]


async def _command_context(
    api: Api, wb: Workbench, request_id: uuid.UUID, name: str
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None, Answer | None]:
    item, history, refused = await _request_bundle(api, request_id)
    if refused is not None:
        return {}, [], None, refused
    entry = (await wb.commands(api)).get(name)
    return item, history, entry, None


def _fields_of(entry: dict[str, Any], labels: Labels) -> list[forms.Field]:
    return forms.fields_of(entry["schema"], labels.enums)


@router.get("/requests/{request_id}/act/{name}", response_model=None)
async def command_page(request: Request, wb: W, request_id: uuid.UUID, name: str) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        item, history, entry, refused = await _command_context(api, wb, request_id, name)
        labels = await wb.labels(api)
    if refused is not None:
        return _refused(request, wb, s, refused)
    if entry is None:
        return _message(request, wb, s, "未找到", "没有这项办理操作。", 404)
    fields = _fields_of(entry, labels)
    state = forms.FormState(fields, _command_defaults(fields, wb))
    return _command_form(request, wb, s, item, entry, state, _sub_choices(entry, history))


@router.post("/requests/{request_id}/act/{name}", response_model=None)
async def command(request: Request, wb: W, request_id: uuid.UUID, name: str) -> Response:
    s = await _session(request, wb)
    form = await _form(request)
    if s is None or not _post_allowed(request, s, form):
        return _message(
            request, wb, s, "页面已过期", "表单已过期或来源不明，请返回后重新填写。", 403
        )
    async with _api(request, wb, s) as api:
        item, history, entry, refused = await _command_context(api, wb, request_id, name)
        if refused is not None:
            return _refused(request, wb, s, refused)
        if entry is None:
            return _message(request, wb, s, "未找到", "没有这项办理操作。", 404)
        fields = _fields_of(entry, await wb.labels(api))
        choices = _sub_choices(entry, history)
        path = str(entry["path"]).replace("{request_id}", str(request_id))
        for sub in entry.get("path_params", {}):
            path = path.replace(
                "{" + sub + "}", form.get("sub_" + sub) or (choices[0][0] if choices else "none")
            )
        answer = await api.post(
            "applications", path, forms.body_from(fields, form), form.get("key")
        )
    if answer.status == 401:
        return _to_login(request)
    if not answer.ok:
        state = forms.FormState(fields, form, forms.errors_from(answer.problem, fields))
        return _command_form(
            request, wb, s, item, entry, state, choices, 422 if answer.status == 422 else 409
        )
    version = answer.body.get("version", 0) if isinstance(answer.body, dict) else 0
    target = f"/workbench/requests/{request_id}?done={name}&v={version}"
    return RedirectResponse(target, status_code=303)


# ----------------------------------------------------------------------------- letters


@router.get("/requests/{request_id}/letters/{kind}", response_model=None)
async def letter(request: Request, wb: W, request_id: uuid.UUID, kind: str) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    found = await _letter(request, wb, s, request_id, kind)
    if isinstance(found, Response):
        return found
    built, item = found
    return _page(request, wb, s, "letter.html", letter=built, r=item, nav="ledger")


async def _letter(
    request: Request, wb: Workbench, s: Session, request_id: uuid.UUID, kind: str
) -> tuple[letters.Letter, dict[str, Any]] | Response:
    """The request's letter of `kind` and the request, or the page that says why not."""
    async with _api(request, wb, s) as api:
        item, history, refused = await _request_bundle(api, request_id)
        labels = await wb.labels(api)
    if refused is not None:
        return _refused(request, wb, s, refused)
    built = letters.build(kind, item, history, wb.org_name(item.get("tenant")), wb.today(), labels)
    if built is None:
        return _message(request, wb, s, "没有这份文书", "本申请尚未办理到需要这份文书的环节。", 404)
    return built, item


@router.get("/requests/{request_id}/letters/{kind}/pdf", response_model=None)
async def letter_file(request: Request, wb: W, request_id: uuid.UUID, kind: str) -> Response:
    """The same letter as an A4 PDF with its Chinese faces embedded (letter_pdf.py)."""
    # fpdf2 takes ~0.4 s to import: loaded by the first letter, not by every process.
    from services.workbench import letter_pdf

    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    fonts = letter_pdf.find_fonts()
    if fonts is None:
        return _message(
            request, wb, s, "暂时不能下载 PDF",
            "本机没有安装中文字体（Debian 的 fonts-noto-cjk），生成的 PDF 会缺字，所以没有生成。"
            "请联系系统管理员安装；现在可以打开文书页面，用浏览器的“打印”（Ctrl+P）打印或存为 PDF。",
            503,
        )  # fmt: skip
    found = await _letter(request, wb, s, request_id, kind)
    if isinstance(found, Response):
        return found
    built, _ = found
    body = await asyncio.to_thread(letter_pdf.render, built, fonts)  # ~0.5 s of CPU
    name = quote(letter_pdf.file_name(built))
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename=\"letter-{kind}.pdf\"; filename*=UTF-8''{name}",
            "Cache-Control": "no-store",
        },
    )


def routers() -> list[APIRouter]:
    return [router]
