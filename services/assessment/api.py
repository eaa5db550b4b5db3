"""HTTP API of 考核 under /v1/assessment: schemes, scores, ranks, changes, ledger commands.

No `from __future__ import annotations` here: FastAPI must see the real dependency
objects and command models the routes close over, not strings.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

import orjson
import yaml
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from services.assessment import ledger_view, queries
from services.assessment.commands import (
    AddTask,
    CompleteTask,
    HoldSession,
    PlanSession,
    RecognizeHighlight,
)
from services.assessment.handlers import source_text_of
from services.assessment.scheme import Level, Scheme, scheme_id
from shared.envelope import RecordedEvent
from shared.errors import ConcurrencyConflict, NotFound, ValidationFailed
from shared.http import IdempotencyKey, IfMatch, correlation_id, expected_version, stale_if_match
from shared.identity import Principal, require_org, within_scope
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
    @router.get("/scoreboard", summary="排名 Ranking of townships (or of a township's units)")
    async def scoreboard(
        caller: Caller,
        year: Annotated[int, Query(ge=2008, le=2100)],
        level: Level = Level.township,
        owner: str | None = None,
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
            "items": rows,
        }

    @router.get("/scores", summary="得分明细 One subject's card: indicators and causing events")
    async def score_of(
        caller: Caller,
        subject: str,
        year: Annotated[int, Query(ge=2008, le=2100)],
        level: Level = Level.township,
        owner: str | None = None,
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
        card = await queries.card(runtime.views, found, subject)
        return {"name": orgs().get(subject).name, "pass_line": found.pass_line, **card.as_dict()}

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
        caller: Caller,
        after: Annotated[int, Query(ge=0)] = 0,
        seconds: Annotated[float, Query(gt=0, le=300)] = 30,
    ) -> StreamingResponse:
        """Each ScoreChanged row as an SSE `score-changed` event; `id` is its seq (resume)."""

        async def events() -> AsyncIterator[bytes]:
            last = after
            until = time.monotonic() + seconds
            yield b": scoreboard stream\n\n"
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

    return router
