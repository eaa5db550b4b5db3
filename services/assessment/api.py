"""HTTP API of 考核 under /v1/assessment: schemes, scores, ranks, changes, ledger commands.

The commands on one task or training session are generated from the command tables
(handlers.py, shared/routes.py); the commands that create a stream or read across
streams are routed here with the same envelope (`run_command`). The live page is
board_api.py.

No `from __future__ import annotations` here: FastAPI must see the real dependency
objects and command models the routes close over, not strings.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
import yaml
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

from services.assessment import handlers as h
from services.assessment import ledger_view, queries
from services.assessment.board_api import build_board_router, viewer_of
from services.assessment.commands import AddTask, ClosePeriod, PlanSession, RecognizeHighlight
from services.assessment.reads import Which, card_of, owner_for, ranking, scheme_or_404, visible
from shared.envelope import RecordedEvent
from shared.errors import NotFound, ValidationFailed
from shared.http import IdempotencyKey, correlation_id
from shared.identity import Principal, require_org
from shared.routes import COMMAND_RESPONSES, command_router, run_command
from shared.workdays import local_date

PREFIX = h.PREFIX
WhichScheme = Annotated[Which, Depends()]


def build_router(runtime: Any, current_principal: Any) -> APIRouter:
    outer = APIRouter()
    for table in h.TABLES:
        outer.include_router(command_router(table))
    outer.include_router(_command_routes(runtime, current_principal))
    outer.include_router(_score_routes(runtime, current_principal))
    outer.include_router(_period_and_ledger_routes(runtime, current_principal))
    outer.include_router(build_board_router(runtime, current_principal))
    return outer


def _read_scheme(raw: bytes, content_type: str) -> tuple[object, str]:
    """The scheme given as YAML (fingerprinted by its text) or JSON (by canonical JSON)."""
    try:
        if "yaml" in content_type:
            return yaml.safe_load(raw.decode()), raw.decode()
        data = orjson.loads(raw)
        return data, h.source_text_of(data)
    except (ValueError, yaml.YAMLError) as exc:
        raise ValidationFailed(
            rule="scheme.unreadable",
            field="body",
            message_zh="考核方案无法解析（应为 JSON 或 YAML）",
            message_en=f"the scheme could not be read as JSON or YAML: {type(exc).__name__}",
        ) from None


@dataclass(frozen=True)
class Create:
    """A command that creates a stream: `POST PREFIX<path>`, answered 201 with its event."""

    path: str
    step: Callable[[Any, Any, Principal, Any], Awaitable[RecordedEvent]]
    model: type[BaseModel]
    name: str
    #: The key of its Idempotency-Key fingerprint (as before the spine).
    key: str
    summary: str


CREATES = (
    Create(
        "/periods/close",
        h.close_period,
        ClosePeriod,
        "close_period",
        "close",
        "关闭考核周期 Close a period: freeze its scores",
    ),
    Create(
        "/tasks",
        h.add_task,
        AddTask,
        "add_task",
        "add_task",
        "新增工作台账事项 Add a task ledger item",
    ),
    Create(
        "/training/sessions",
        h.plan_session,
        PlanSession,
        "plan_session",
        "plan",
        "培训计划场次 Plan a session",
    ),
    Create(
        "/highlights",
        h.recognize_highlight,
        RecognizeHighlight,
        "recognize",
        "highlight",
        "认定亮点工程 Recognise a highlight",
    ),
)


def _add_create(router: APIRouter, runtime: Any, caller_type: Any, spec: Create) -> None:
    async def endpoint(
        cmd: spec.model,  # type: ignore[name-defined]
        request: Request,
        caller: caller_type,  # type: ignore[valid-type]
        key: IdempotencyKey = None,
    ) -> JSONResponse:
        async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
            event = await spec.step(runtime, cmd, caller, correlation_id(request))
            return 201, h.accepted(event)

        fingerprint = {spec.key: cmd.model_dump(mode="json")}
        return await run_command(runtime.idempotency, caller, key, None, fingerprint, act)

    endpoint.__name__ = spec.name
    router.add_api_route(
        spec.path,
        endpoint,
        methods=["POST"],
        status_code=201,
        summary=spec.summary,
        responses=COMMAND_RESPONSES,
        response_class=JSONResponse,
    )


def _command_routes(runtime: Any, current_principal: Any) -> APIRouter:
    """Commands that create a stream or read across streams, in the one envelope."""
    router = APIRouter(prefix=PREFIX, tags=["assessment 考核"])
    Caller = Annotated[Principal, Depends(current_principal)]

    @router.post(
        "/schemes",
        status_code=201,
        summary="发布考核方案 Publish a scheme (JSON or YAML)",
        responses=COMMAND_RESPONSES,
    )
    async def publish_scheme(
        request: Request, caller: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        raw = await request.body()
        data, text = _read_scheme(raw, request.headers.get("content-type", ""))

        async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
            event, created = await h.publish_scheme(
                runtime.store, runtime.orgs, data, text, caller, correlation_id(request)
            )
            return (201 if created else 200), h.accepted(event)

        return await run_command(runtime.idempotency, caller, key, None, {"scheme": text}, act)

    for spec in CREATES:
        _add_create(router, runtime, Caller, spec)
    return router


def _score_routes(runtime: Any, current_principal: Any) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["assessment 考核"])
    Caller = Annotated[Principal, Depends(current_principal)]
    Viewer = Annotated[Principal, Depends(viewer_of(current_principal))]

    @router.get("/schemes", summary="考核方案 Published schemes")
    async def list_schemes(caller: Caller, year: int | None = None) -> dict[str, Any]:
        return {"items": await queries.schemes(runtime.views, year)}

    @router.get("/scoreboard", summary="排名 Ranking of townships (or of a township's units)")
    async def scoreboard(caller: Viewer, which: WhichScheme) -> dict[str, Any]:
        return await ranking(runtime, caller, which)

    @router.get("/scores", summary="得分明细 One subject's card: indicators and causing events")
    async def score_of(caller: Viewer, subject: str, which: WhichScheme) -> dict[str, Any]:
        return await card_of(runtime, caller, subject, which)

    @router.get("/changes", summary="今日变化 ScoreChanged entries (of a day, or after a seq)")
    async def list_changes(
        caller: Caller,
        day: Annotated[str | None, Query(pattern=r"^(today|\d{4}-\d{2}-\d{2})$")] = None,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        if day == "today":
            day = local_date(runtime.clock()).isoformat()
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
        events = _score_events(runtime, caller, start, seconds)
        return StreamingResponse(events, media_type="text/event-stream")

    return router


async def _score_events(
    runtime: Any, caller: Principal, start: int, seconds: float
) -> AsyncIterator[bytes]:
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


def _period_and_ledger_routes(runtime: Any, current_principal: Any) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["assessment 考核"])
    Caller = Annotated[Principal, Depends(current_principal)]

    @router.get("/periods", summary="已关闭的考核周期 Closed periods of a scheme")
    async def list_periods(caller: Caller, which: WhichScheme) -> dict[str, Any]:
        owner_path = owner_for(runtime, which.level, None, which.owner)
        found = await scheme_or_404(runtime, which.year, which.level, owner_path)
        items = await queries.periods(runtime.views, found.scheme_id)
        return {"scheme_id": found.scheme_id, "items": items}

    @router.get("/periods/{period}", summary="周期快照 The frozen scoreboard of a closed period")
    async def period_snapshot(period: str, caller: Caller, which: WhichScheme) -> dict[str, Any]:
        owner_path = owner_for(runtime, which.level, None, which.owner)
        found = await scheme_or_404(runtime, which.year, which.level, owner_path)
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

    return router
