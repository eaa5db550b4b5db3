"""HTTP API of 政策解读: staff under /v1/interpretation, public under /v1/public/interpretation.

No `from __future__ import annotations` here: FastAPI must see the real
dependency objects the router closes over, not strings.
"""

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.interpretation import queries
from services.interpretation.commands import (
    DraftInterpretation,
    QualityCheck,
    RegisterPolicy,
    RequestFollowUp,
    ReviseInterpretation,
)
from services.interpretation.handlers import (
    INTERPRETATION_COMMANDS,
    OBLIGATION_COMMANDS,
    accepted,
)
from services.interpretation.handlers import publish as publish_of
from services.interpretation.handlers import revise as revise_of
from shared.commands import execute
from shared.envelope import RecordedEvent
from shared.errors import NotFound
from shared.http import IdempotencyKey, IfMatch, correlation_id
from shared.identity import Principal, require_org, within_scope
from shared.routes import COMMAND_RESPONSES, command_router, run_command
from shared.workdays import local_date

#: The events a command wrote, and the quality report it measured (drafting, revising).
Outcome = tuple[list[RecordedEvent], dict[str, Any] | None]

BASE = "/v1/interpretation"


def not_found(what: str, ident: Any) -> NotFound:
    return NotFound(
        rule=f"{what}.not_found",
        field=f"{what}_id" if what != "policy" else "document_id",
        message_zh=f"未找到 {ident}",
        message_en=f"{what} {ident} not found",
    )


def _location(body: dict[str, Any]) -> str | None:
    """The instance a command wrote: the interpretation, else the obligation."""
    if "interpretation_id" in body:
        return f"{BASE}/interpretations/{body['interpretation_id']}"
    return f"{BASE}/obligations/{body['document_id']}" if "document_id" in body else None


async def _command(
    runtime: Any,
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

    return await run_command(
        runtime.idempotency, caller, key, if_match, fingerprint, answer, _location
    )


def build_obligation_commands(runtime: Any, current_principal: Any) -> APIRouter:
    """Registering a policy by hand (two new streams) and asking for a follow-up (201)."""
    router = APIRouter(prefix=BASE, tags=["interpretation 政策解读"])
    Caller = Annotated[Principal, Depends(current_principal)]

    @router.post(
        "/policies",
        status_code=201,
        summary="登记系统外公开的政策 Register a policy by hand",
        responses=COMMAND_RESPONSES,
    )
    async def register_policy(
        cmd: RegisterPolicy, request: Request, caller: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        async def act(_: int | None) -> Outcome:
            return await runtime.handlers.register_policy(
                cmd, caller, correlation_id(request)
            ), None

        return await _command(runtime, caller, key, None, cmd.model_dump(mode="json"), act, 201)

    @router.post(
        "/obligations/{document_id}/follow-ups",
        status_code=201,
        summary="请求分阶段跟踪解读 Request a follow-up stage (sentiment)",
        responses=COMMAND_RESPONSES,
    )
    async def follow_up(
        document_id: UUID,
        cmd: RequestFollowUp,
        request: Request,
        caller: Caller,
        key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> JSONResponse:
        async def act(expected: int | None) -> Outcome:
            events = await execute(
                runtime,
                OBLIGATION_COMMANDS,
                "follow-ups",
                document_id,
                cmd,
                caller,
                correlation_id(request),
                expected,
            )
            return events, None

        fp = {"command": "follow-ups", "path": str(document_id), **cmd.model_dump(mode="json")}
        return await _command(runtime, caller, key, if_match, fp, act, 201)

    return router


def build_interpretation_commands(runtime: Any, current_principal: Any) -> APIRouter:
    """Measuring, drafting (a new stream), revising (the whole report) and publishing."""
    router = APIRouter(prefix=BASE, tags=["interpretation 政策解读"])
    Caller = Annotated[Principal, Depends(current_principal)]

    @router.post("/quality-check", summary="质量自查（不写入） Measure a text against the gate")
    async def quality_check(cmd: QualityCheck, caller: Caller) -> dict[str, Any]:
        result: dict[str, Any] = await runtime.handlers.check(cmd, caller)
        return result

    @router.post(
        "/interpretations",
        status_code=201,
        summary="起草解读 Draft an interpretation",
        responses=COMMAND_RESPONSES,
    )
    async def draft(
        cmd: DraftInterpretation, request: Request, caller: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        async def act(_: int | None) -> Outcome:
            events, report = await runtime.handlers.draft(cmd, caller, correlation_id(request))
            return events, report

        return await _command(runtime, caller, key, None, cmd.model_dump(mode="json"), act, 201)

    @router.post(
        "/interpretations/{interpretation_id}/revise",
        summary="修改 Revise",
        responses=COMMAND_RESPONSES,
    )
    async def revise(
        interpretation_id: UUID,
        cmd: ReviseInterpretation,
        request: Request,
        caller: Caller,
        key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> JSONResponse:
        async def act(expected: int | None) -> Outcome:
            corr = correlation_id(request)
            events, report = await revise_of(
                runtime, interpretation_id, cmd, caller, corr, expected
            )
            return events, report

        fp = {"command": "revise", "path": str(interpretation_id), **cmd.model_dump(mode="json")}
        return await _command(runtime, caller, key, if_match, fp, act)

    @router.post(
        "/interpretations/{interpretation_id}/publish",
        summary="发布（须通过质量检查） Publish past the quality gate",
        responses=COMMAND_RESPONSES,
    )
    async def publish(
        interpretation_id: UUID,
        request: Request,
        caller: Caller,
        key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> JSONResponse:
        async def act(expected: int | None) -> Outcome:
            corr = correlation_id(request)
            return await publish_of(runtime, interpretation_id, caller, corr, expected), None

        fp = {"command": "publish", "path": str(interpretation_id)}
        return await _command(runtime, caller, key, if_match, fp, act)

    return router


def build_read_router(runtime: Any, current_principal: Any) -> APIRouter:
    """The ledger, one obligation, one interpretation and the rates, for staff in scope."""
    router = APIRouter(prefix=BASE, tags=["interpretation 政策解读"])
    Caller = Annotated[Principal, Depends(current_principal)]

    @router.get("/obligations", summary="解读任务台账 Obligations: open, overdue, by unit")
    async def list_obligations(
        caller: Caller,
        tenant: str | None = None,
        status: Annotated[str | None, Query(pattern="^(open|fulfilled|cancelled)$")] = None,
        overdue: bool = False,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        scope = tenant or str(caller.org)
        require_org(caller, scope)
        today = local_date(runtime.handlers.clock()) if overdue else None
        items, nxt = await queries.obligations_page(
            runtime.views, scope, status, today, limit, cursor
        )
        return {"items": [queries.obligation_view(r) for r in items], "next_cursor": nxt}

    @router.get("/obligations/{document_id}", summary="一项解读任务及其解读 One obligation")
    async def get_obligation(document_id: UUID, caller: Caller) -> JSONResponse:
        row = await runtime.views.fetchrow(
            "SELECT * FROM itp_obligations WHERE document_id = $1", str(document_id)
        )
        if row is None or not within_scope(caller, row["owner_unit"]):
            raise not_found("policy", document_id)
        items = await queries.interpretations_of(
            runtime.views, str(document_id), published_only=False
        )
        body = queries.obligation_view(row) | {
            "interpretations": [queries.interpretation_view(i) for i in items]
        }
        return JSONResponse(body, headers={"ETag": f'"{row["version"]}"'})

    @router.get("/interpretations/{interpretation_id}", summary="解读详情 One interpretation")
    async def get_interpretation(interpretation_id: UUID, caller: Caller) -> JSONResponse:
        row = await runtime.views.fetchrow(
            "SELECT * FROM itp_interpretations WHERE interpretation_id = $1",
            str(interpretation_id),
        )
        if row is None or not within_scope(caller, row["unit"]):
            raise not_found("interpretation", interpretation_id)
        return JSONResponse(
            queries.interpretation_view(row), headers={"ETag": f'"{row["version"]}"'}
        )

    @router.get("/rates", summary="多样化解读率、多渠道发布率、按时率 Rates per tenant, year")
    async def get_rates(
        caller: Caller,
        year: Annotated[int, Query(ge=2008, le=2100)],
        tenant: str | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> dict[str, Any]:
        scope = tenant or str(caller.org)
        require_org(caller, scope)
        result: dict[str, Any] = await queries.rates(
            runtime.views, scope, year, local_date(runtime.handlers.clock()), since, until
        )
        return result

    return router


def build_public_router(runtime: Any) -> APIRouter:
    """Unauthenticated: published interpretations and their policies, linked both ways."""
    router = APIRouter(prefix="/v1/public/interpretation", tags=["interpretation public 公开"])

    async def policy_row(document_id: str) -> Any:
        row = await runtime.views.fetchrow(
            "SELECT * FROM itp_obligations WHERE document_id = $1", document_id
        )
        withdrawn = await runtime.views.fetchval(
            "SELECT withdrawn FROM itp_policies WHERE document_id = $1", document_id
        )
        if row is None or row["status"] == "cancelled" or withdrawn:
            raise not_found("policy", document_id)  # a withdrawn policy leaves public view
        return row

    def policy_link(row: Any) -> dict[str, Any]:
        # Only the catalog serves the policy's own page; a policy registered by hand was
        # published outside the system, so there is no page to link to (url is null).
        from_catalog = row["source"] == "catalog"
        return {
            "document_id": row["document_id"],
            "title": row["title"],
            "document_number": row["document_number"],
            "published_on": row["published_on"],
            "source": row["source"],
            "url": f"/v1/public/catalog/documents/{row['document_id']}" if from_catalog else None,
        }

    @router.get("/policies/{document_id}", summary="政策及其解读 A policy and its interpretations")
    async def public_policy(document_id: UUID) -> dict[str, Any]:
        row = await policy_row(str(document_id))
        items = await queries.interpretations_of(
            runtime.views, str(document_id), published_only=True
        )
        return policy_link(row) | {
            "interpretations": [
                {
                    "interpretation_id": i["interpretation_id"],
                    "title": i["title"],
                    "stage": i["stage"],
                    "published_at": i["published_at"],
                    "url": f"/v1/public/interpretation/interpretations/{i['interpretation_id']}",
                }
                for i in items
            ]
        }

    @router.get("/interpretations/{interpretation_id}", summary="已发布解读 One interpretation")
    async def public_interpretation(interpretation_id: UUID) -> dict[str, Any]:
        row = await runtime.views.fetchrow(
            "SELECT * FROM itp_interpretations WHERE interpretation_id = $1 "
            "AND status = 'published'",
            str(interpretation_id),
        )
        if row is None:
            raise not_found("interpretation", interpretation_id)
        policy = await policy_row(row["document_id"])
        return queries.interpretation_view(row, public=True) | {"policy": policy_link(policy)}

    return router


def build_routers(runtime: Any, current_principal: Any) -> APIRouter:
    router = APIRouter()
    by_hand = ("follow-ups", "revise", "publish")  # 201; the whole report; two streams
    for table in (OBLIGATION_COMMANDS, INTERPRETATION_COMMANDS):
        router.include_router(command_router(table, skip=by_hand))
    router.include_router(build_obligation_commands(runtime, current_principal))
    router.include_router(build_interpretation_commands(runtime, current_principal))
    router.include_router(build_read_router(runtime, current_principal))
    router.include_router(build_public_router(runtime))
    return router
