"""HTTP API of 政策解读 for staff, under /v1/interpretation (public reads: public_api.py).

The commands on one obligation or one interpretation are routes generated from the command
tables (handlers.py); the routes here are the commands that are not one command on one
stream (registering a policy and drafting open new streams, publishing appends to two), the
quality self-check that writes nothing, and the reads.

No `from __future__ import annotations` here: FastAPI must see the real dependency objects
and command models, not strings.
"""

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.interpretation import public_api, queries
from services.interpretation.commands import DraftInterpretation, QualityCheck, RegisterPolicy
from services.interpretation.handlers import (
    INTERPRETATION_COMMANDS,
    OBLIGATION_COMMANDS,
    InterpretationHandlers,
    accepted,
)
from services.interpretation.handlers import publish as publish_of
from services.interpretation.public_api import not_found
from shared.deps import Caller, handlers_of, runtime_of
from shared.envelope import RecordedEvent
from shared.http import IdempotencyKey, IfMatch, correlation_id
from shared.identity import Principal, require_org, within_scope
from shared.routes import COMMAND_RESPONSES, command_router, run_command
from shared.service import Runtime
from shared.workdays import local_date

#: The events a command wrote, and the quality report it measured (drafting).
Outcome = tuple[list[RecordedEvent], dict[str, Any] | None]

BASE = "/v1/interpretation"

Rt = Annotated[Runtime, Depends(runtime_of("interpretation"))]
H = Annotated[
    InterpretationHandlers, Depends(handlers_of("interpretation", InterpretationHandlers))
]

router = APIRouter(prefix=BASE, tags=["interpretation 政策解读"])


def _location(body: dict[str, Any]) -> str | None:
    """The instance a command wrote: the interpretation, else the obligation."""
    if "interpretation_id" in body:
        return f"{BASE}/interpretations/{body['interpretation_id']}"
    return f"{BASE}/obligations/{body['document_id']}" if "document_id" in body else None


async def _command(
    rt: Runtime,
    caller: Principal,
    key: str | None,
    if_match: str | None,
    fingerprint: dict[str, Any],
    act: Callable[[int | None], Awaitable[Outcome]],
    status: int = 200,
) -> JSONResponse:
    """The kernel's envelope (shared.routes.run_command) around a command routed by hand."""

    async def answer(expected: int | None) -> tuple[int, dict[str, Any]]:
        events, quality = await act(expected)
        return status, accepted(events, quality)

    return await run_command(rt.idempotency, caller, key, if_match, fingerprint, answer, _location)


# ------------------------------------------------------------------ commands routed by hand


@router.post(
    "/policies",
    status_code=201,
    summary="登记系统外公开的政策 Register a policy by hand",
    responses=COMMAND_RESPONSES,
)
async def register_policy(
    cmd: RegisterPolicy, request: Request, caller: Caller, rt: Rt, h: H, key: IdempotencyKey = None
) -> JSONResponse:
    async def act(_: int | None) -> Outcome:
        return await h.register_policy(cmd, caller, correlation_id(request)), None

    return await _command(rt, caller, key, None, cmd.model_dump(mode="json"), act, 201)


@router.post("/quality-check", summary="质量自查（不写入） Measure a text against the gate")
async def quality_check(cmd: QualityCheck, caller: Caller, h: H) -> dict[str, Any]:
    return await h.check(cmd, caller)


@router.post(
    "/interpretations",
    status_code=201,
    summary="起草解读 Draft an interpretation",
    responses=COMMAND_RESPONSES,
)
async def draft(
    cmd: DraftInterpretation,
    request: Request,
    caller: Caller,
    rt: Rt,
    h: H,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def act(_: int | None) -> Outcome:
        return await h.draft(cmd, caller, correlation_id(request))

    return await _command(rt, caller, key, None, cmd.model_dump(mode="json"), act, 201)


@router.post(
    "/interpretations/{interpretation_id}/publish",
    summary="发布（须通过质量检查） Publish past the quality gate",
    responses=COMMAND_RESPONSES,
)
async def publish(
    interpretation_id: UUID,
    request: Request,
    caller: Caller,
    rt: Rt,
    key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    async def act(expected: int | None) -> Outcome:
        corr = correlation_id(request)
        return await publish_of(rt, interpretation_id, caller, corr, expected), None

    fp = {"command": "publish", "path": str(interpretation_id)}
    return await _command(rt, caller, key, if_match, fp, act)


# ------------------------------------------------------------------ reads


@router.get("/obligations", summary="解读任务台账 Obligations: open, overdue, by unit")
async def list_obligations(
    caller: Caller,
    rt: Rt,
    h: H,
    tenant: str | None = None,
    status: Annotated[str | None, Query(pattern="^(open|fulfilled|cancelled)$")] = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    scope = tenant or str(caller.org)
    require_org(caller, scope)
    today = local_date(h.clock()) if overdue else None
    items, nxt = await queries.obligations_page(rt.views, scope, status, today, limit, cursor)
    return {"items": [queries.obligation_view(r) for r in items], "next_cursor": nxt}


@router.get("/obligations/{document_id}", summary="一项解读任务及其解读 One obligation")
async def get_obligation(document_id: UUID, caller: Caller, rt: Rt) -> JSONResponse:
    row = await rt.views.fetchrow(
        "SELECT * FROM itp_obligations WHERE document_id = $1", str(document_id)
    )
    if row is None or not within_scope(caller, row["owner_unit"]):
        raise not_found("policy", document_id)
    items = await queries.interpretations_of(rt.views, str(document_id), published_only=False)
    body = queries.obligation_view(row) | {
        "interpretations": [queries.interpretation_view(i) for i in items]
    }
    return JSONResponse(body, headers={"ETag": f'"{row["version"]}"'})


@router.get("/interpretations/{interpretation_id}", summary="解读详情 One interpretation")
async def get_interpretation(interpretation_id: UUID, caller: Caller, rt: Rt) -> JSONResponse:
    row = await rt.views.fetchrow(
        "SELECT * FROM itp_interpretations WHERE interpretation_id = $1", str(interpretation_id)
    )
    if row is None or not within_scope(caller, row["unit"]):
        raise not_found("interpretation", interpretation_id)
    return JSONResponse(queries.interpretation_view(row), headers={"ETag": f'"{row["version"]}"'})


@router.get("/rates", summary="多样化解读率、多渠道发布率、按时率 Rates per tenant, year")
async def get_rates(
    caller: Caller,
    rt: Rt,
    h: H,
    year: Annotated[int, Query(ge=2008, le=2100)],
    tenant: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    scope = tenant or str(caller.org)
    require_org(caller, scope)
    today = local_date(h.clock())
    return await queries.rates(rt.views, scope, year, today, since, until)


def routers() -> list[APIRouter]:
    """The generated command routes first (publish is routed by hand: two streams), then
    the staff routes and the public reads."""
    return [
        command_router(OBLIGATION_COMMANDS),
        command_router(INTERPRETATION_COMMANDS, skip=("publish",)),
        router,
        public_api.router,
    ]
