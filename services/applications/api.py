"""HTTP API of 依申请公开 (commands and queries), under /v1/requests.

No `from __future__ import annotations` here: FastAPI must see the real
dependency objects and command models the routes close over, not strings.
"""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from services.applications import annual, queries, report, reviews, suggestions
from services.applications.commands import RegisterRequest
from services.applications.domain import applicant_key
from services.applications.handlers import REQUEST_COMMANDS, annual_report_of
from services.applications.handlers import decide_review as decide_review_of
from services.applications.handlers import open_review as open_review_of
from shared.envelope import RecordedEvent
from shared.errors import Forbidden, NotFound
from shared.http import IdempotencyKey, correlation_id
from shared.identity import Principal, require_org, within_scope
from shared.routes import COMMAND_RESPONSES, command_router, run_command
from shared.workdays import local_date

DUE_SOON_WORKING_DAYS = 5


def registered(event: RecordedEvent) -> dict[str, Any]:
    """What registering answers: the number and the statutory dates, at once."""
    p = event.payload
    return {
        "request_id": p["request_id"],
        "version": event.version,
        "event_id": str(event.event_id),
        "type": event.type,
        "number": p["number"],
        "received_on": p["received_on"],
        "correction_notice_due": p["correction_notice_due"],
        "reply_due": p["reply_due"],
        "reply_deadline": p["reply_deadline"],
    }


def _location(body: dict[str, Any]) -> str | None:
    return f"/v1/requests/{body['request_id']}" if "request_id" in body else None


def build_router(runtime: Any, current_principal: Any) -> APIRouter:
    """`runtime` holds .handlers, .views and .idempotency, filled in when the process starts."""
    router = APIRouter(prefix="/v1/requests", tags=["applications 依申请公开"])
    Caller = Annotated[Principal, Depends(current_principal)]

    @router.post(
        "",
        status_code=201,
        summary="登记依申请公开申请 Register an information request",
        responses=COMMAND_RESPONSES,
    )
    async def register(
        cmd: RegisterRequest, request: Request, caller: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
            event = await runtime.handlers.register(cmd, caller, correlation_id(request))
            return 201, registered(event)

        body = cmd.model_dump(mode="json")
        return await run_command(runtime.idempotency, caller, key, None, body, act, _location)

    @router.post(
        "/{request_id}/reviews",
        status_code=201,
        summary="登记行政复议/诉讼 Record a case",
        responses=COMMAND_RESPONSES,
    )
    async def open_review(
        request_id: UUID,
        cmd: reviews.OpenCase,
        request: Request,
        caller: Caller,
        key: IdempotencyKey = None,
    ) -> JSONResponse:
        async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
            e = await open_review_of(
                runtime.handlers, request_id, cmd, caller, correlation_id(request)
            )
            return 201, {**e.payload, "version": e.version, "type": e.type}

        fingerprint = {"command": "reviews", "path": str(request_id), **cmd.model_dump(mode="json")}
        return await run_command(runtime.idempotency, caller, key, None, fingerprint, act)

    @router.post(
        "/{request_id}/reviews/{case_id}/decision",
        summary="复议/诉讼结果 Record the result",
        responses=COMMAND_RESPONSES,
    )
    async def decide_review(
        request_id: UUID,
        case_id: UUID,
        cmd: reviews.DecideCase,
        request: Request,
        caller: Caller,
        key: IdempotencyKey = None,
    ) -> JSONResponse:
        async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
            e = await decide_review_of(
                runtime.handlers, request_id, case_id, cmd, caller, correlation_id(request)
            )
            return 200, {**e.payload, "version": e.version, "type": e.type}

        body = {"command": "decision", "path": f"{request_id}/{case_id}"}
        fingerprint = {**body, **cmd.model_dump(mode="json")}
        return await run_command(runtime.idempotency, caller, key, None, fingerprint, act)

    def filters(
        caller: Principal,
        tenant: str | None,
        status: str | None,
        queue: str | None,
        due: str | None,
        q: str | None,
        applicant_id_document: str | None,
        applicant_kind: str,
    ) -> queries.Filters:
        scope = tenant or str(caller.org)
        require_org(caller, scope)
        key = None
        if applicant_id_document:
            if not caller.has_role(*queries.HANDLING_ROLES):
                raise Forbidden(
                    rule="applicant.handling_roles_only",
                    field="applicant_id_document",
                    message_zh="仅承办人员可按申请人查询",
                    message_en="only roles that handle requests may search by applicant",
                )
            key = applicant_key(applicant_kind, applicant_id_document)
        today = local_date(runtime.handlers.clock())
        soon = runtime.handlers.calendar().add_workdays(today, DUE_SOON_WORKING_DAYS).due
        return queries.Filters(
            scope=scope,
            status=status,
            mine=caller.sub if queue == "mine" else None,
            due=due,
            q=q,
            applicant_key=key,
            today=today,
            soon_until=soon,
        )

    @router.get("", summary="申请台账 List requests: queue, due soon, overdue, search")
    async def list_requests(
        request: Request,
        caller: Caller,
        tenant: str | None = None,
        status: str | None = None,
        queue: Annotated[str | None, Query(pattern="^mine$")] = None,
        due: Annotated[str | None, Query(pattern="^(soon|overdue)$")] = None,
        q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
        applicant_id_document: str | None = None,
        applicant_kind: str = "natural_person",
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        f = filters(caller, tenant, status, queue, due, q, applicant_id_document, applicant_kind)
        items, nxt = await queries.page(runtime.views, f, limit, cursor)
        if items and queries.sees_applicant(caller):
            await runtime.handlers.record_applicant_read(
                caller,
                [r["request_id"] for r in items],
                "GET /v1/requests",
                correlation_id(request),
            )
        return {"items": [queries.view(r, caller) for r in items], "next_cursor": nxt}

    @router.get("/export.csv", summary="导出台账 CSV export (no applicant identity)")
    async def export_csv(
        caller: Caller,
        tenant: str | None = None,
        status: str | None = None,
        due: Annotated[str | None, Query(pattern="^(soon|overdue)$")] = None,
        q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    ) -> Response:
        f = filters(caller, tenant, status, None, due, q, None, "natural_person")
        rows = await queries.every(runtime.views, f)
        return Response(queries.to_csv(rows), media_type="text/csv; charset=utf-8")

    @router.get("/annual-report", summary="年度报告第三部分 Annual report section 三")
    async def annual_report(
        caller: Caller,
        year: Annotated[int, Query(ge=2008, le=2100)],
        tenant: str | None = None,
        format: Annotated[str, Query(pattern="^(json|csv|html)$")] = "json",
    ) -> Response:
        body = await annual_report_of(runtime.handlers, tenant or str(caller.org), year, caller)
        if format == "json":
            return JSONResponse(body)
        media = "text/csv" if format == "csv" else "text/html"
        return Response(report.render(body, format), media_type=f"{media}; charset=utf-8")

    @router.get("/{request_id}", summary="申请详情 One request")
    async def get_request(request_id: UUID, request: Request, caller: Caller) -> JSONResponse:
        row = await runtime.views.fetchrow(
            "SELECT * FROM app_ledger WHERE request_id = $1", str(request_id)
        )
        if row is None or not within_scope(caller, row["tenant"]):
            # Outside the caller's subtree looks the same as absent: no existence leak.
            raise NotFound(
                rule="request.not_found",
                field="request_id",
                message_zh=f"未找到申请 {request_id}",
                message_en=f"request {request_id} not found",
            )
        if queries.sees_applicant(caller):
            await runtime.handlers.record_applicant_read(
                caller,
                [row["request_id"]],
                "GET /v1/requests/{request_id}",
                correlation_id(request),
            )
        return JSONResponse(queries.view(row, caller), headers={"ETag": f'"{row["version"]}"'})

    @router.get("/{request_id}/clock", summary="答复期限 The reply clock, explained")
    async def get_clock(request_id: UUID, caller: Caller) -> dict[str, Any]:
        result: dict[str, Any] = await runtime.handlers.clock_of(request_id, caller)
        return result

    @router.get("/{request_id}/history", summary="办理记录 What happened, from the events")
    async def get_history(request_id: UUID, caller: Caller) -> dict[str, Any]:
        return {"items": await runtime.handlers.history(request_id, caller)}

    @router.get(
        "/{request_id}/suggestions",
        summary="已主动公开的文件 Published documents matching the request (Art. 36(一))",
    )
    async def get_suggestions(
        request_id: UUID, caller: Caller, limit: Annotated[int, Query(ge=1, le=20)] = 5
    ) -> dict[str, Any]:
        return await suggestions.suggest(runtime.handlers, request_id, caller, limit)

    outer = APIRouter()
    outer.include_router(command_router(REQUEST_COMMANDS, runtime, current_principal))
    outer.include_router(router)
    outer.include_router(build_annual_router(runtime, current_principal))
    return outer


def build_annual_router(runtime: Any, current_principal: Any) -> APIRouter:
    """The whole annual report (条例 Art. 50), under /v1/annual-reports."""
    router = APIRouter(prefix="/v1/annual-reports", tags=["annual report 年度报告"])
    Caller = Annotated[Principal, Depends(current_principal)]
    Year = Annotated[int, Path(ge=2008, le=2100)]

    @router.get("/{year}", summary="政府信息公开工作年度报告 The whole annual report (一–六)")
    async def get_annual_report(
        year: Year,
        caller: Caller,
        tenant: str | None = None,
        format: Annotated[str, Query(pattern="^(json|csv|html)$")] = "json",
    ) -> Response:
        body = await annual.full_report(runtime.handlers, tenant or str(caller.org), year, caller)
        if format == "json":
            return JSONResponse(body)
        media = "text/csv" if format == "csv" else "text/html"
        return Response(annual.render(body, format), media_type=f"{media}; charset=utf-8")

    @router.post(
        "/{year}/texts",
        status_code=201,
        summary="撰写年度报告文字部分 Record the office's text of 一, 五 or 六",
    )
    async def record_text(
        year: Year,
        cmd: annual.RecordAnnualReportText,
        request: Request,
        caller: Caller,
        key: IdempotencyKey = None,
    ) -> JSONResponse:
        async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
            h = runtime.handlers
            e = await annual.record_text(
                h, year, cmd, caller, correlation_id(request), local_date(h.clock())
            )
            return 201, {**e.payload, "version": e.version, "type": e.type}

        fingerprint = {"command": "annual-text", "year": year, **cmd.model_dump(mode="json")}
        return await run_command(runtime.idempotency, caller, key, None, fingerprint, act)

    return router
