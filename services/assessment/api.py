"""HTTP API of 考核 under /v1/assessment: schemes, scores, ranks, changes, ledger commands.

No `from __future__ import annotations` here: FastAPI must see the real dependency
objects and command models the routes close over, not strings.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs
from uuid import UUID

import jwt
import orjson
import yaml
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from services.assessment import board, ledger_view, queries
from services.assessment.commands import (
    AddTask,
    ClosePeriod,
    CompleteTask,
    HoldSession,
    PlanSession,
    RecognizeHighlight,
)
from services.assessment.handlers import source_text_of
from services.assessment.scheme import Level, Scheme, scheme_id
from shared.envelope import RecordedEvent
from shared.errors import ConcurrencyConflict, NotFound, Unauthenticated, ValidationFailed
from shared.http import IdempotencyKey, IfMatch, correlation_id, expected_version, stale_if_match
from shared.identity import Principal, require_org, verify_token, within_scope
from shared.workdays import local_date

PREFIX = "/v1/assessment"


def _accepted(event: RecordedEvent) -> dict[str, Any]:
    return {
        "event_id": str(event.event_id),
        "stream_id": event.stream_id,
        "version": event.version,
        "type": event.type,
        **event.payload,
    }


def _no_scheme(sid: str) -> NotFound:
    return NotFound(
        rule="scheme.not_found",
        field="scheme_id",
        message_zh=f"尚未发布考核方案 {sid}",
        message_en=f"no published scheme {sid}",
    )


def build_router(runtime: Any, current_principal: Any) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["assessment 考核"])
    Caller = Annotated[Principal, Depends(current_principal)]

    def secret(request: Request) -> str:
        return str(request.app.state.token_secret)

    async def viewer(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> Principal:
        """Read-only routes the live page uses: the bearer token, or the board's view cookie
        (a browser's EventSource cannot send Authorization; docs/assessment.md)."""
        cookie = request.cookies.get(board.COOKIE)
        if authorization or not cookie:
            principal: Principal = await current_principal(request, authorization)
            return principal
        return board.verify_view_token(cookie, secret(request), datetime.now(UTC))

    Viewer = Annotated[Principal, Depends(viewer)]

    def orgs() -> Any:
        return runtime.handlers.orgs

    def owner_for(level: Level, subject: str | None, owner: str | None) -> str:
        if owner:
            return owner
        district = str(orgs().district.path)
        if level is Level.township or subject is None:
            return district
        return "/".join(subject.split("/")[:2])

    async def scheme_or_404(year: int, level: Level, owner: str) -> Scheme:
        sid = scheme_id(year, level.value, owner)
        found = await queries.scheme(runtime.views, sid)
        if found is None:
            raise _no_scheme(sid)
        return found[0]

    def visible(caller: Principal, owner: str, subject: str) -> bool:
        return within_scope(caller, owner) or within_scope(caller, subject)

    async def run_idempotent(
        caller: Principal, key: str | None, fingerprint: Any, act: Any, status: int = 201
    ) -> JSONResponse:
        async def run() -> tuple[int, Any]:
            return status, _accepted(await act())

        return await runtime.idempotency.run(caller, key, fingerprint, run)

    # ------------------------------------------------------------------ schemes
    @router.post(
        "/schemes", status_code=201, summary="发布考核方案 Publish a scheme (JSON or YAML)"
    )
    async def publish_scheme(
        request: Request, caller: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        raw = await request.body()
        try:
            if "yaml" in request.headers.get("content-type", ""):
                data = yaml.safe_load(raw.decode())
                text = raw.decode()
            else:
                data = orjson.loads(raw)
                text = source_text_of(data)
        except (ValueError, yaml.YAMLError) as exc:
            raise ValidationFailed(
                rule="scheme.unreadable",
                field="body",
                message_zh="考核方案无法解析（应为 JSON 或 YAML）",
                message_en=f"the scheme could not be read as JSON or YAML: {type(exc).__name__}",
            ) from None

        async def run() -> tuple[int, Any]:
            event, created = await runtime.handlers.publish_scheme(
                data, text, caller, correlation_id(request)
            )
            return (201 if created else 200), _accepted(event)

        return await runtime.idempotency.run(caller, key, {"scheme": text}, run)

    @router.get("/schemes", summary="考核方案 Published schemes")
    async def list_schemes(caller: Caller, year: int | None = None) -> dict[str, Any]:
        return {"items": await queries.schemes(runtime.views, year)}

    # ------------------------------------------------------------------ scores
    async def ranking(
        caller: Principal, year: int, level: Level, owner: str | None
    ) -> dict[str, Any]:
        owner_path = owner_for(level, None, owner)
        found = await scheme_or_404(year, level, owner_path)
        if level is Level.township:
            subjects = [str(t.path) for t in orgs().townships()]
        else:
            # The township's own offices (镇本级) carry what is recorded at the township.
            subjects = [owner_path, *(str(u.path) for u in orgs().units_of(owner_path))]
        names = {str(u.path): u.name for u in orgs()}
        if level is Level.unit:
            names[owner_path] = f"{names.get(owner_path, owner_path)}（镇本级）"
        cards = [await queries.card(runtime.views, found, s) for s in subjects]
        rows = queries.ranked(cards, names)
        rows = [r for r in rows if visible(caller, owner_path, r["subject"])]
        return {
            "scheme_id": found.scheme_id,
            "title": found.title,
            "pass_line": found.pass_line,
            "owner": owner_path,
            "items": rows,
        }

    @router.get("/scoreboard", summary="排名 Ranking of townships (or of a township's units)")
    async def scoreboard(
        caller: Viewer,
        year: Annotated[int, Query(ge=2008, le=2100)],
        level: Level = Level.township,
        owner: str | None = None,
    ) -> dict[str, Any]:
        return await ranking(caller, year, level, owner)

    async def card_of(
        caller: Principal, subject: str, year: int, level: Level, owner: str | None
    ) -> dict[str, Any]:
        owner_path = owner_for(level, subject, owner)
        if subject not in orgs() or not visible(caller, owner_path, subject):
            raise NotFound(
                rule="subject.not_found",
                field="subject",
                message_zh=f"未找到考核对象 {subject}",
                message_en=f"no assessed subject {subject}",
            )
        found = await scheme_or_404(year, level, owner_path)
        card = await queries.card(runtime.views, found, subject, cases=True)
        return {"name": orgs().get(subject).name, "pass_line": found.pass_line, **card.as_dict()}

    @router.get("/scores", summary="得分明细 One subject's card: indicators and causing events")
    async def score_of(
        caller: Viewer,
        subject: str,
        year: Annotated[int, Query(ge=2008, le=2100)],
        level: Level = Level.township,
        owner: str | None = None,
    ) -> dict[str, Any]:
        return await card_of(caller, subject, year, level, owner)

    @router.get("/changes", summary="今日变化 ScoreChanged entries (of a day, or after a seq)")
    async def list_changes(
        caller: Caller,
        day: Annotated[str | None, Query(pattern=r"^(today|\d{4}-\d{2}-\d{2})$")] = None,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        if day == "today":
            day = local_date(runtime.handlers.clock()).isoformat()
        items, nxt = await queries.changes(
            runtime.views, day=day, after=after, limit=limit, cursor=cursor
        )
        items = [i for i in items if visible(caller, i["scheme_id"].split(":", 2)[2], i["subject"])]
        return {"items": items, "next_cursor": nxt}

    @router.get("/changes/stream", summary="实时推送 Server-Sent Events of ScoreChanged")
    async def stream_changes(
        caller: Viewer,
        after: Annotated[int, Query(ge=0)] = 0,
        seconds: Annotated[float, Query(gt=0, le=300)] = 30,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        """Each ScoreChanged row as an SSE `score-changed` event; `id` is its seq (resume).

        A reconnecting EventSource sends `Last-Event-ID`; the stream resumes after it."""
        start = after
        if last_event_id and last_event_id.strip().isdigit():
            start = max(after, int(last_event_id.strip()))

        async def events() -> AsyncIterator[bytes]:
            last = start
            until = time.monotonic() + seconds
            yield b": scoreboard stream\nretry: 1000\n\n"
            while time.monotonic() < until:
                items, _ = await queries.changes(
                    runtime.views, day=None, after=last, limit=200, cursor=None
                )
                for item in items:
                    last = item["seq"]
                    owner = item["scheme_id"].split(":", 2)[2]
                    if visible(caller, owner, item["subject"]):
                        data = orjson.dumps(item).decode()
                        yield f"id: {last}\nevent: score-changed\ndata: {data}\n\n".encode()
                if not items:
                    await asyncio.sleep(0.3)

        return StreamingResponse(events(), media_type="text/event-stream")

    # ------------------------------------------------------------------ periods
    @router.post(
        "/periods/close", status_code=201, summary="关闭考核周期 Close a period: freeze its scores"
    )
    async def close_period(
        cmd: ClosePeriod, request: Request, caller: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        async def act() -> RecordedEvent:
            result: RecordedEvent = await runtime.handlers.close_period(
                cmd, caller, correlation_id(request)
            )
            return result

        fingerprint = {"close": cmd.model_dump(mode="json")}
        return await run_idempotent(caller, key, fingerprint, act)

    @router.get("/periods", summary="已关闭的考核周期 Closed periods of a scheme")
    async def list_periods(
        caller: Caller,
        year: Annotated[int, Query(ge=2008, le=2100)],
        level: Level = Level.township,
        owner: str | None = None,
    ) -> dict[str, Any]:
        found = await scheme_or_404(year, level, owner_for(level, None, owner))
        items = await queries.periods(runtime.views, found.scheme_id)
        return {"scheme_id": found.scheme_id, "items": items}

    @router.get("/periods/{period}", summary="周期快照 The frozen scoreboard of a closed period")
    async def period_snapshot(
        period: str,
        caller: Caller,
        year: Annotated[int, Query(ge=2008, le=2100)],
        level: Level = Level.township,
        owner: str | None = None,
    ) -> dict[str, Any]:
        owner_path = owner_for(level, None, owner)
        found = await scheme_or_404(year, level, owner_path)
        frozen = await queries.period(runtime.views, found.scheme_id, period)
        if frozen is None:
            raise NotFound(
                rule="period.not_found",
                field="period",
                message_zh=f"考核周期 {period} 未关闭或不存在",
                message_en=f"no closed period {period} of {found.scheme_id}",
            )
        frozen["items"] = [r for r in frozen["items"] if visible(caller, owner_path, r["subject"])]
        return frozen

    # ------------------------------------------------------------------ task ledger
    @router.post("/tasks", status_code=201, summary="新增工作台账事项 Add a task ledger item")
    async def add_task(
        cmd: AddTask, request: Request, caller: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        async def act() -> RecordedEvent:
            result: RecordedEvent = await runtime.handlers.add_task(
                cmd, caller, correlation_id(request)
            )
            return result

        return await run_idempotent(caller, key, {"add_task": cmd.model_dump(mode="json")}, act)

    @router.get("/tasks", summary="工作台账 Task ledger items of an org subtree")
    async def list_tasks(
        caller: Caller,
        org: str | None = None,
        status: Annotated[str | None, Query(pattern="^(open|overdue|done|done_late)$")] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        scope = org or str(caller.org)
        require_org(caller, scope)
        items, nxt = await ledger_view.tasks(runtime.views, scope, status, limit, cursor)
        return {"items": items, "next_cursor": nxt}

    @router.post("/tasks/{task_id}/complete", summary="台账事项完成 Complete a task")
    async def complete_task(
        task_id: UUID,
        cmd: CompleteTask,
        request: Request,
        caller: Caller,
        key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> JSONResponse:
        expected = expected_version(if_match)

        async def act() -> RecordedEvent:
            try:
                result: RecordedEvent = await runtime.handlers.complete_task(
                    task_id, cmd, caller, correlation_id(request), expected
                )
            except ConcurrencyConflict as err:
                if expected is not None:
                    raise stale_if_match(err) from err
                raise
            return result

        fingerprint = {"complete": str(task_id), **cmd.model_dump(mode="json")}
        return await run_idempotent(caller, key, fingerprint, act, status=200)

    # ------------------------------------------------------------------ training
    @router.post("/training/sessions", status_code=201, summary="培训计划场次 Plan a session")
    async def plan_session(
        cmd: PlanSession, request: Request, caller: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        async def act() -> RecordedEvent:
            result: RecordedEvent = await runtime.handlers.plan_session(
                cmd, caller, correlation_id(request)
            )
            return result

        return await run_idempotent(caller, key, {"plan": cmd.model_dump(mode="json")}, act)

    @router.post("/training/sessions/{session_id}/held", summary="培训已举办 Record a session")
    async def hold_session(
        session_id: UUID,
        cmd: HoldSession,
        request: Request,
        caller: Caller,
        key: IdempotencyKey = None,
    ) -> JSONResponse:
        async def act() -> RecordedEvent:
            result: RecordedEvent = await runtime.handlers.hold_session(
                session_id, cmd, caller, correlation_id(request)
            )
            return result

        fingerprint = {"held": str(session_id), **cmd.model_dump(mode="json")}
        return await run_idempotent(caller, key, fingerprint, act, status=200)

    # ------------------------------------------------------------------ highlights
    @router.post("/highlights", status_code=201, summary="认定亮点工程 Recognise a highlight")
    async def recognize(
        cmd: RecognizeHighlight, request: Request, caller: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        async def act() -> RecordedEvent:
            result: RecordedEvent = await runtime.handlers.recognize_highlight(
                cmd, caller, correlation_id(request)
            )
            return result

        return await run_idempotent(caller, key, {"highlight": cmd.model_dump(mode="json")}, act)

    # ------------------------------------------------------------------ live page
    def html(text: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(text, status_code=status, headers=board.HTML_HEADERS)

    def page_caller(request: Request) -> Principal | HTMLResponse:
        """The view cookie's principal, or the sign-in page (which comes back here)."""
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        cookie = request.cookies.get(board.COOKIE)
        if not cookie:
            return html(board.login_page(here))
        try:
            return board.verify_view_token(cookie, secret(request), datetime.now(UTC))
        except Unauthenticated as err:
            return html(board.login_page(here, f"{err.message_zh} {err.message_en}"), 401)

    def default_year(year: int | None) -> int:
        return year if year is not None else local_date(runtime.handlers.clock()).year

    @router.get(
        "/board",
        response_class=HTMLResponse,
        summary="实时排名页面 Live scoreboard page (HTML, Server-Sent Events)",
    )
    async def board_view(
        request: Request,
        year: Annotated[int | None, Query(ge=2008, le=2100)] = None,
        level: Level = Level.township,
        owner: str | None = None,
    ) -> Response:
        caller = page_caller(request)
        if isinstance(caller, Response):
            return caller
        after = await queries.latest_seq(runtime.views)  # before the cards: nothing missed
        try:
            data = await ranking(caller, default_year(year), level, owner)
        except NotFound as err:
            text = f"{err.message_zh} / {err.message_en}"
            return html(board.message_page("实时排名 Live scoreboard", text), 404)
        query = board.board_query(default_year(year), level.value, data["owner"])
        return html(board.board_page(data, query, after, datetime.now(UTC)))

    @router.get(
        "/board/subject",
        response_class=HTMLResponse,
        summary="得分明细页面 A subject's breakdown with the events behind each deduction",
    )
    async def board_subject(
        request: Request,
        subject: str,
        year: Annotated[int | None, Query(ge=2008, le=2100)] = None,
        level: Level = Level.township,
        owner: str | None = None,
    ) -> Response:
        caller = page_caller(request)
        if isinstance(caller, Response):
            return caller
        the_year = default_year(year)
        data = await card_of(caller, subject, the_year, level, owner)
        owner_path = owner_for(level, subject, owner)
        events = await queries.finding_events(runtime.views, the_year, subject)
        query = board.board_query(the_year, level.value, owner_path)
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
        except Unauthenticated as err:
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

    return router
