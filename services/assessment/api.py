"""HTTP API of 考核 under /v1/assessment: schemes, scores, ranks, changes, ledger commands.

The commands on one task or training session are generated from the command tables
(handlers.py, shared/routes.py); the commands that create a stream or read across
streams are routed here with the same envelope (`run_command`). The live page is
board_api.py.

No `from __future__ import annotations` here: FastAPI must see the real dependency
objects and command models, not strings.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

import orjson
import yaml
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

from services.assessment import handlers, ledger_view, queries, study
from services.assessment.board_api import Viewer
from services.assessment.board_api import router as board_router
from services.assessment.commands import AddTask, ClosePeriod, PlanSession, RecognizeHighlight
from services.assessment.queries import Which, card_of, owner_for, ranking, scheme_or_404, visible
from shared.deps import Caller, runtime_of
from shared.envelope import RecordedEvent
from shared.errors import NotFound, ValidationFailed
from shared.http import IdempotencyKey, correlation_id
from shared.identity import Principal, require_org
from shared.routes import COMMAND_RESPONSES, command_router, run_command
from shared.service import Runtime
from shared.workdays import local_date

PREFIX = handlers.PREFIX
Rt = Annotated[Runtime, Depends(runtime_of("assessment"))]
WhichScheme = Annotated[Which, Depends()]
#: The plain command functions of handlers.py that create a stream.
Step = Callable[[Runtime, Any, Principal, Any], Awaitable[RecordedEvent]]

router = APIRouter(prefix=PREFIX, tags=["assessment 考核"])


def _read_scheme(raw: bytes, content_type: str) -> tuple[object, str]:
    """The scheme given as YAML (fingerprinted by its text) or JSON (by canonical JSON)."""
    try:
        if "yaml" in content_type:
            return yaml.safe_load(raw.decode()), raw.decode()
        data = orjson.loads(raw)
        return data, handlers.source_text_of(data)
    except (ValueError, yaml.YAMLError) as exc:
        raise ValidationFailed(
            rule="scheme.unreadable",
            field="body",
            message_zh="考核方案无法解析（应为 JSON 或 YAML）",
            message_en=f"the scheme could not be read as JSON or YAML: {type(exc).__name__}",
        ) from None


async def _create(
    rt: Runtime,
    request: Request,
    caller: Principal,
    key: str | None,
    name: str,
    cmd: BaseModel,
    step: Step,
) -> JSONResponse:
    """A command that creates a stream: answered 201 with its event; `name` keys its
    Idempotency-Key fingerprint (as before the spine)."""

    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        return 201, handlers.accepted(await step(rt, cmd, caller, correlation_id(request)))

    fingerprint = {name: cmd.model_dump(mode="json")}
    return await run_command(rt.idempotency, caller, key, None, fingerprint, act)


# --- commands that create a stream or read across streams ------------------------------


@router.post(
    "/schemes",
    status_code=201,
    summary="发布考核方案 Publish a scheme (JSON or YAML)",
    responses=COMMAND_RESPONSES,
)
async def publish_scheme(
    request: Request, caller: Caller, rt: Rt, key: IdempotencyKey = None
) -> JSONResponse:
    raw = await request.body()
    data, text = _read_scheme(raw, request.headers.get("content-type", ""))

    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        event, created = await handlers.publish_scheme(
            rt.store, rt.orgs, data, text, caller, correlation_id(request)
        )
        return (201 if created else 200), handlers.accepted(event)

    return await run_command(rt.idempotency, caller, key, None, {"scheme": text}, act)


@router.post(
    "/periods/close",
    status_code=201,
    summary="关闭考核周期 Close a period: freeze its scores",
    responses=COMMAND_RESPONSES,
    response_class=JSONResponse,
)
async def close_period(
    cmd: ClosePeriod, request: Request, caller: Caller, rt: Rt, key: IdempotencyKey = None
) -> JSONResponse:
    return await _create(rt, request, caller, key, "close", cmd, handlers.close_period)


@router.post(
    "/tasks",
    status_code=201,
    summary="新增工作台账事项 Add a task ledger item",
    responses=COMMAND_RESPONSES,
    response_class=JSONResponse,
)
async def add_task(
    cmd: AddTask, request: Request, caller: Caller, rt: Rt, key: IdempotencyKey = None
) -> JSONResponse:
    return await _create(rt, request, caller, key, "add_task", cmd, handlers.add_task)


@router.post(
    "/training/sessions",
    status_code=201,
    summary="培训计划场次 Plan a session",
    responses=COMMAND_RESPONSES,
    response_class=JSONResponse,
)
async def plan_session(
    cmd: PlanSession, request: Request, caller: Caller, rt: Rt, key: IdempotencyKey = None
) -> JSONResponse:
    return await _create(rt, request, caller, key, "plan", cmd, handlers.plan_session)


@router.post(
    "/highlights",
    status_code=201,
    summary="认定亮点工程 Recognise a highlight",
    responses=COMMAND_RESPONSES,
    response_class=JSONResponse,
)
async def recognize(
    cmd: RecognizeHighlight, request: Request, caller: Caller, rt: Rt, key: IdempotencyKey = None
) -> JSONResponse:
    return await _create(rt, request, caller, key, "highlight", cmd, handlers.recognize_highlight)


# --- scores ----------------------------------------------------------------------------


@router.get("/schemes", summary="考核方案 Published schemes")
async def list_schemes(caller: Caller, rt: Rt, year: int | None = None) -> dict[str, Any]:
    return {"items": await queries.schemes(rt.views, year)}


@router.get(
    "/scoreboard",
    summary="排名 Ranking of townships (or of a township's units)",
    responses={404: {"description": "未找到考核方案或考核对象 no such scheme or subject"}},
)
async def scoreboard(caller: Viewer, rt: Rt, which: WhichScheme) -> dict[str, Any]:
    return await ranking(rt, caller, which)


@router.get(
    "/scores",
    summary="得分明细 One subject's card: indicators and causing events",
    responses={404: {"description": "未找到考核方案或考核对象 no such scheme or subject"}},
)
async def score_of(caller: Viewer, rt: Rt, subject: str, which: WhichScheme) -> dict[str, Any]:
    return await card_of(rt, caller, subject, which)


@router.get("/changes", summary="今日变化 ScoreChanged entries (of a day, or after a seq)")
async def list_changes(
    caller: Caller,
    rt: Rt,
    day: Annotated[str | None, Query(pattern=r"^(today|\d{4}-\d{2}-\d{2})$")] = None,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    if day == "today":
        day = local_date(rt.clock()).isoformat()
    items, nxt = await queries.changes(rt.views, day=day, after=after, limit=limit, cursor=cursor)
    items = [i for i in items if visible(caller, i["scheme_id"].split(":", 2)[2], i["subject"])]
    return {"items": items, "next_cursor": nxt}


@router.get("/changes/stream", summary="实时推送 Server-Sent Events of ScoreChanged")
async def stream_changes(
    caller: Viewer,
    rt: Rt,
    after: Annotated[int, Query(ge=0)] = 0,
    seconds: Annotated[float, Query(gt=0, le=300)] = 30,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Each ScoreChanged row as an SSE `score-changed` event; `id` is its seq (resume).

    A reconnecting EventSource sends `Last-Event-ID`; the stream resumes after it."""
    start = after
    if last_event_id and last_event_id.strip().isdigit():
        start = max(after, int(last_event_id.strip()))
    events = _score_events(rt, caller, start, seconds)
    return StreamingResponse(events, media_type="text/event-stream")


async def _score_events(
    rt: Runtime, caller: Principal, start: int, seconds: float
) -> AsyncIterator[bytes]:
    last = start
    until = time.monotonic() + seconds
    yield b": scoreboard stream\nretry: 1000\n\n"
    while time.monotonic() < until:
        items, _ = await queries.changes(rt.views, day=None, after=last, limit=200, cursor=None)
        for item in items:
            last = item["seq"]
            owner = item["scheme_id"].split(":", 2)[2]
            if visible(caller, owner, item["subject"]):
                data = orjson.dumps(item).decode()
                yield f"id: {last}\nevent: score-changed\ndata: {data}\n\n".encode()
        if not items:
            await asyncio.sleep(0.3)


# --- periods and the task ledger -------------------------------------------------------


@router.get("/periods", summary="已关闭的考核周期 Closed periods of a scheme")
async def list_periods(caller: Caller, rt: Rt, which: WhichScheme) -> dict[str, Any]:
    owner_path = owner_for(rt, which.level, None, which.owner)
    found = await scheme_or_404(rt, which.year, which.level, owner_path)
    items = await queries.periods(rt.views, found.scheme_id)
    return {"scheme_id": found.scheme_id, "items": items}


@router.get("/periods/{period}", summary="周期快照 The frozen scoreboard of a closed period")
async def period_snapshot(
    period: str, caller: Caller, rt: Rt, which: WhichScheme
) -> dict[str, Any]:
    owner_path = owner_for(rt, which.level, None, which.owner)
    found = await scheme_or_404(rt, which.year, which.level, owner_path)
    frozen = await queries.period(rt.views, found.scheme_id, period)
    if frozen is None:
        raise NotFound(
            rule="period.not_found",
            field="period",
            message_zh=f"考核周期 {period} 未关闭或不存在",
            message_en=f"no closed period {period} of {found.scheme_id}",
        )
    frozen["items"] = [r for r in frozen["items"] if visible(caller, owner_path, r["subject"])]
    return frozen


@router.get("/tasks", summary="工作台账 Task ledger items of an org subtree")
async def list_tasks(
    caller: Caller,
    rt: Rt,
    org: str | None = None,
    status: Annotated[str | None, Query(pattern="^(open|overdue|done|done_late)$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    scope = org or str(caller.org)
    require_org(caller, scope)
    items, nxt = await ledger_view.tasks(rt.views, scope, status, limit, cursor)
    return {"items": items, "next_cursor": nxt}


@router.get(
    "/training/study",
    summary="领导干部学法记录 The leaders' record of studying the 条例 (方案§六(一))",
)
async def study_record(
    caller: Caller,
    rt: Rt,
    year: Annotated[int, Query(ge=2008, le=2100)],
    org: str | None = None,
) -> dict[str, Any]:
    """Per leader of the township, the sessions covering the 条例 they attended in the year."""
    township = rt.orgs.township_of(org or str(caller.org))
    if township is None:
        raise ValidationFailed(
            rule="study.not_a_township",
            field="org",
            message_zh="学法记录按乡镇统计：请指定一个乡镇或其站所",
            message_en="the record is kept per township: name a township or one of its units",
        )
    scope = str(township.path)
    require_org(caller, scope)
    sessions = await study.held_sessions(rt.views, scope, year)
    return study.record(rt.orgs, scope, year, sessions)


def routers() -> list[APIRouter]:
    """The generated command routes first (as the closures mounted them), then the rest."""
    return [*(command_router(table) for table in handlers.TABLES), router, board_router]
