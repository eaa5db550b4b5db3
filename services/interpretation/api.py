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
    Delegate,
    DraftInterpretation,
    QualityCheck,
    RegisterPolicy,
    RequestFollowUp,
    Review,
    ReviseInterpretation,
)
from shared.envelope import RecordedEvent
from shared.errors import ConcurrencyConflict, NotFound
from shared.http import IdempotencyKey, IfMatch, correlation_id, expected_version, stale_if_match
from shared.identity import Principal, require_org, within_scope
from shared.workdays import local_date

Outcome = tuple[list[RecordedEvent], dict[str, Any] | None]


def accepted(events: list[RecordedEvent], quality: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "events": [e.type for e in events],
        "event_ids": [str(e.event_id) for e in events],
    }
    for e in events:
        p = e.payload
        if e.stream_type == "interpretation":
            body |= {"interpretation_id": p["interpretation_id"], "version": e.version}
        if e.stream_type == "obligation":
            body |= {"document_id": p["document_id"], "obligation_version": e.version}
        if e.type == "InterpretationRequired":
            body |= {k: p[k] for k in ("owner_unit", "due", "latest_due", "due_provisional")}
        elif e.type in ("FollowUpRequested", "FollowUpCasesAdded"):
            body |= {k: p[k] for k in ("follow_up_id", "stage", "case_ids", "due")}
        elif e.type == "InterpretationPublished":
            body |= {k: p[k] for k in ("published_at", "forms", "channels", "stage", "quality")}
        elif e.type == "ObligationFulfilled":
            body |= {k: p[k] for k in ("synchronous", "on_time")}
    if quality is not None:
        body["quality"] = quality
    return body


def not_found(what: str, ident: Any) -> NotFound:
    return NotFound(
        rule=f"{what}.not_found",
        field=f"{what}_id" if what != "policy" else "document_id",
        message_zh=f"未找到 {ident}",
        message_en=f"{what} {ident} not found",
    )


def build_router(runtime: Any, current_principal: Any) -> APIRouter:
    router = APIRouter(prefix="/v1/interpretation", tags=["interpretation 政策解读"])
    Caller = Annotated[Principal, Depends(current_principal)]

    def h() -> Any:
        return runtime.handlers

    async def command(
        caller: Principal,
        key: str | None,
        if_match: str | None,
        fingerprint: dict[str, Any],
        call: Callable[[int | None], Awaitable[Outcome]],
        status: int = 200,
    ) -> JSONResponse:
        expected = expected_version(if_match)

        async def run() -> tuple[int, Any]:
            try:
                events, quality = await call(expected)
            except ConcurrencyConflict as err:
                if expected is not None:
                    raise stale_if_match(err) from err
                raise
            return status, accepted(events, quality)

        response = await runtime.idempotency.run(caller, key, fingerprint, run)
        return response

    def plain(events: list[RecordedEvent]) -> Outcome:
        return events, None

    @router.post(
        "/policies", status_code=201, summary="登记系统外公开的政策 Register a policy by hand"
    )
    async def register_policy(
        cmd: RegisterPolicy, request: Request, caller: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        corr = correlation_id(request)

        async def call(_: int | None) -> Outcome:
            return plain(await h().register_policy(cmd, caller, corr))

        return await command(caller, key, None, cmd.model_dump(mode="json"), call, 201)

    @router.post("/obligations/{document_id}/delegate", summary="委托解读 Delegate (recorded)")
    async def delegate(
        document_id: UUID,
        cmd: Delegate,
        request: Request,
        caller: Caller,
        key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> JSONResponse:
        corr = correlation_id(request)

        async def call(expected: int | None) -> Outcome:
            return plain(await h().delegate(document_id, cmd, caller, corr, expected))

        fp = {"cmd": "delegate", "document_id": str(document_id), **cmd.model_dump(mode="json")}
        return await command(caller, key, if_match, fp, call)

    @router.post(
        "/obligations/{document_id}/follow-ups",
        status_code=201,
        summary="请求分阶段跟踪解读 Request a follow-up stage (sentiment)",
    )
    async def follow_up(
        document_id: UUID,
        cmd: RequestFollowUp,
        request: Request,
        caller: Caller,
        key: IdempotencyKey = None,
    ) -> JSONResponse:
        corr = correlation_id(request)

        async def call(_: int | None) -> Outcome:
            return plain(await h().request_follow_up(document_id, cmd, caller, corr))

        fp = {"cmd": "follow-up", "document_id": str(document_id), **cmd.model_dump(mode="json")}
        return await command(caller, key, None, fp, call, 201)

    @router.post("/quality-check", summary="质量自查（不写入） Measure a text against the gate")
    async def quality_check(cmd: QualityCheck, caller: Caller) -> dict[str, Any]:
        result: dict[str, Any] = await h().check(cmd, caller)
        return result

    @router.post("/interpretations", status_code=201, summary="起草解读 Draft an interpretation")
    async def draft(
        cmd: DraftInterpretation, request: Request, caller: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        corr = correlation_id(request)

        async def call(_: int | None) -> Outcome:
            result: Outcome = await h().draft(cmd, caller, corr)
            return result

        return await command(caller, key, None, cmd.model_dump(mode="json"), call, 201)

    @router.post("/interpretations/{interpretation_id}/revise", summary="修改 Revise")
    async def revise(
        interpretation_id: UUID,
        cmd: ReviseInterpretation,
        request: Request,
        caller: Caller,
        key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> JSONResponse:
        corr = correlation_id(request)

        async def call(expected: int | None) -> Outcome:
            result: Outcome = await h().revise(interpretation_id, cmd, caller, corr, expected)
            return result

        fp = {"cmd": "revise", "id": str(interpretation_id), **cmd.model_dump(mode="json")}
        return await command(caller, key, if_match, fp, call)

    @router.post("/interpretations/{interpretation_id}/review", summary="审核 Approve or reject")
    async def review(
        interpretation_id: UUID,
        cmd: Review,
        request: Request,
        caller: Caller,
        key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> JSONResponse:
        corr = correlation_id(request)

        async def call(expected: int | None) -> Outcome:
            return plain(await h().review(interpretation_id, cmd, caller, corr, expected))

        fp = {"cmd": "review", "id": str(interpretation_id), **cmd.model_dump(mode="json")}
        return await command(caller, key, if_match, fp, call)

    @router.post(
        "/interpretations/{interpretation_id}/publish",
        summary="发布（须通过质量检查） Publish past the quality gate",
    )
    async def publish(
        interpretation_id: UUID,
        request: Request,
        caller: Caller,
        key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> JSONResponse:
        corr = correlation_id(request)

        async def call(expected: int | None) -> Outcome:
            return plain(await h().publish(interpretation_id, caller, corr, expected))

        return await command(
            caller, key, if_match, {"cmd": "publish", "id": str(interpretation_id)}, call
        )

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
        today = local_date(h().clock()) if overdue else None
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
            runtime.views, scope, year, local_date(h().clock()), since, until
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
    router.include_router(build_router(runtime, current_principal))
    router.include_router(build_public_router(runtime))
    return router
