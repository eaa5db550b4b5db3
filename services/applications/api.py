"""HTTP API of 依申请公开 (commands and queries), under /v1/requests and /v1/annual-reports.

The lifecycle commands' routes are generated from the command table (handlers.py); the
routes here are the ones that are not one command on one request, and the reads.

No `from __future__ import annotations` here: FastAPI must see the real dependency objects
and command models, not strings.
"""

from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from services.applications import annual, annual_publication, queries, report, reviews, suggestions
from services.applications.commands import (
    ConfirmOnlineRequest,
    PublishAnnualReport,
    RecordAnnualReportText,
    RegisterRequest,
)
from services.applications.domain import applicant_key
from services.applications.handlers import (
    REQUEST_COMMANDS,
    ApplicationsHandlers,
    annual_report_of,
)
from services.applications.handlers import decide_review as decide_case
from services.applications.handlers import open_review as open_case
from services.applications.handlers import record_text as record_annual_text
from shared.deps import Caller, handlers_of, runtime_of
from shared.envelope import RecordedEvent
from shared.errors import Forbidden, NotFound
from shared.http import IdempotencyKey, correlation_id
from shared.identity import Principal, require_org, within_scope
from shared.openapi import media_types
from shared.routes import COMMAND_RESPONSES, command_router, run_command
from shared.service import Runtime
from shared.workdays import local_date

DUE_SOON_WORKING_DAYS = 5

Rt = Annotated[Runtime, Depends(runtime_of("applications"))]
H = Annotated[ApplicationsHandlers, Depends(handlers_of("applications", ApplicationsHandlers))]
Year = Annotated[int, Path(ge=2008, le=2100)]
Format = Annotated[str, Query(pattern="^(json|csv|html)$")]
#: What a report route answers, by `format`.
REPORT_FORMATS = media_types(200, "application/json", "text/csv", "text/html")
Due = Annotated[str | None, Query(pattern="^(soon|overdue)$")]
Search = Annotated[str | None, Query(min_length=1, max_length=200)]

router = APIRouter(prefix="/v1/requests", tags=["applications 依申请公开"])
annual_router = APIRouter(prefix="/v1/annual-reports", tags=["annual report 年度报告"])
online_router = APIRouter(prefix="/v1/online-requests", tags=["applications 依申请公开"])


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


def _written(e: RecordedEvent) -> dict[str, Any]:
    return {**e.payload, "version": e.version, "type": e.type}


def _rendered(body: dict[str, Any], format: str, render: Any) -> Response:
    if format == "json":
        return JSONResponse(body)
    media = "text/csv" if format == "csv" else "text/html"
    return Response(render(body, format), media_type=f"{media}; charset=utf-8")


@router.post(
    "",
    status_code=201,
    summary="登记依申请公开申请 Register an information request",
    responses=COMMAND_RESPONSES,
)
async def register(
    cmd: RegisterRequest,
    request: Request,
    caller: Caller,
    rt: Rt,
    h: H,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        return 201, registered(await h.register(cmd, caller, correlation_id(request)))

    body = cmd.model_dump(mode="json")
    return await run_command(rt.idempotency, caller, key, None, body, act, _location)


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
    rt: Rt,
    h: H,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        return 201, _written(await open_case(h, request_id, cmd, caller, correlation_id(request)))

    fingerprint = {"command": "reviews", "path": str(request_id), **cmd.model_dump(mode="json")}
    return await run_command(rt.idempotency, caller, key, None, fingerprint, act)


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
    rt: Rt,
    h: H,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        return 200, _written(
            await decide_case(h, request_id, case_id, cmd, caller, correlation_id(request))
        )

    where = {"command": "decision", "path": f"{request_id}/{case_id}"}
    fingerprint = {**where, **cmd.model_dump(mode="json")}
    return await run_command(rt.idempotency, caller, key, None, fingerprint, act)


def _filters(
    h: ApplicationsHandlers,
    caller: Principal,
    tenant: str | None,
    status: str | None,
    queue: str | None,
    due: str | None,
    q: str | None,
    applicant: tuple[str, str] | None = None,
) -> queries.Filters:
    """The ledger's filters within the caller's subtree; `applicant` = (kind, id document)."""
    scope = tenant or str(caller.org)
    require_org(caller, scope)
    key = None
    if applicant:
        if not caller.has_role(*queries.HANDLING_ROLES):
            raise Forbidden(
                rule="applicant.handling_roles_only",
                field="applicant_id_document",
                message_zh="仅承办人员可按申请人查询",
                message_en="only roles that handle requests may search by applicant",
            )
        key = applicant_key(*applicant)
    today = local_date(h.clock())
    soon = h.calendar().add_workdays(today, DUE_SOON_WORKING_DAYS).due
    mine = caller.sub if queue == "mine" else None
    return queries.Filters(
        scope=scope, status=status, mine=mine, open_only=queue == "open", due=due, q=q,
        applicant_key=key, today=today, soon_until=soon,
    )  # fmt: skip


@router.get(
    "",
    summary="申请台账 List requests: queue, due soon, overdue, search",
    response_model=dict[str, Any],
)
async def list_requests(
    request: Request,
    caller: Caller,
    rt: Rt,
    h: H,
    tenant: str | None = None,
    status: str | None = None,
    queue: Annotated[
        str | None,
        Query(
            pattern="^(mine|open)$",
            description="在办队列：mine 本人承办的，open 范围内全部未办结的"
            " (mine: the caller's open requests; open: every open request in scope)",
        ),
    ] = None,
    due: Due = None,
    q: Search = None,
    applicant_id_document: str | None = None,
    applicant_kind: str = "natural_person",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Response:
    applicant = (applicant_kind, applicant_id_document) if applicant_id_document else None
    f = _filters(h, caller, tenant, status, queue, due, q, applicant)
    items, nxt = await queries.page(rt.views, f, limit, cursor)
    if items and queries.sees_applicant(caller):
        shown = [r["request_id"] for r in items]
        await h.record_applicant_read(caller, shown, "GET /v1/requests", correlation_id(request))
    body = {"items": [queries.view(r, caller) for r in items], "next_cursor": nxt}
    # The rows are JSON values already (text, numbers, booleans, decoded JSON): orjson writes
    # 200 of them in 0.1 ms where FastAPI's encoder and json.dumps took 48 ms (loaded VM).
    return Response(orjson.dumps(body), media_type="application/json")


@router.get(
    "/export.csv",
    summary="导出台账 CSV export (no applicant identity)",
    responses=media_types(200, "text/csv"),
)
async def export_csv(
    caller: Caller,
    rt: Rt,
    h: H,
    tenant: str | None = None,
    status: str | None = None,
    due: Due = None,
    q: Search = None,
) -> Response:
    rows = await queries.every(rt.views, _filters(h, caller, tenant, status, None, due, q))
    return Response(queries.to_csv(rows), media_type="text/csv; charset=utf-8")


@router.get(
    "/annual-report",
    summary="年度报告第三部分 Annual report section 三",
    responses=REPORT_FORMATS,
)
async def annual_report(
    caller: Caller,
    h: H,
    year: Annotated[int, Query(ge=2008, le=2100)],
    tenant: str | None = None,
    format: Format = "json",
) -> Response:
    body = await annual_report_of(h, tenant or str(caller.org), year, caller)
    return _rendered(body, format, report.render)


@router.get("/{request_id}", summary="申请详情 One request")
async def get_request(
    request_id: UUID, request: Request, caller: Caller, rt: Rt, h: H
) -> JSONResponse:
    row = await rt.views.fetchrow("SELECT * FROM app_ledger WHERE request_id = $1", str(request_id))
    if row is None or not within_scope(caller, row["tenant"]):
        # Outside the caller's subtree looks the same as absent: no existence leak.
        raise NotFound(
            rule="request.not_found",
            field="request_id",
            message_zh=f"未找到申请 {request_id}",
            message_en=f"request {request_id} not found",
        )
    if queries.sees_applicant(caller):
        where = "GET /v1/requests/{request_id}"
        await h.record_applicant_read(caller, [row["request_id"]], where, correlation_id(request))
    return JSONResponse(queries.view(row, caller), headers={"ETag": f'"{row["version"]}"'})


@router.get("/{request_id}/clock", summary="答复期限 The reply clock, explained")
async def get_clock(request_id: UUID, caller: Caller, h: H) -> dict[str, Any]:
    return await h.clock_of(request_id, caller)


@router.get("/{request_id}/history", summary="办理记录 What happened, from the events")
async def get_history(request_id: UUID, caller: Caller, h: H) -> dict[str, Any]:
    return {"items": await h.history(request_id, caller)}


@router.get(
    "/{request_id}/suggestions",
    summary="已主动公开的文件 Published documents matching the request (Art. 36(一))",
)
async def get_suggestions(
    request_id: UUID, caller: Caller, h: H, limit: Annotated[int, Query(ge=1, le=20)] = 5
) -> dict[str, Any]:
    return await suggestions.suggest(h, request_id, caller, limit)


@annual_router.get(
    "/{year}",
    summary="政府信息公开工作年度报告 The whole annual report (一–六)",
    responses=REPORT_FORMATS,
)
async def get_annual_report(
    year: Year, caller: Caller, h: H, tenant: str | None = None, format: Format = "json"
) -> Response:
    body = await annual.full_report(h, tenant or str(caller.org), year, caller)
    return _rendered(body, format, report.render_annual)


@annual_router.post(
    "/{year}/texts",
    status_code=201,
    summary="撰写年度报告文字部分 Record the office's text of 一, 五 or 六",
    responses=COMMAND_RESPONSES,
)
async def record_text(
    year: Year,
    cmd: RecordAnnualReportText,
    request: Request,
    caller: Caller,
    rt: Rt,
    h: H,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        today = local_date(h.clock())
        return 201, _written(
            await record_annual_text(h, year, cmd, caller, correlation_id(request), today)
        )

    fingerprint = {"command": "annual-text", "year": year, **cmd.model_dump(mode="json")}
    return await run_command(rt.idempotency, caller, key, None, fingerprint, act)


@annual_router.post(
    "/{year}/publication",
    status_code=201,
    summary="年度报告向社会公布 Publish the report: on time, late, copied (条例第四十九、五十条)",
    responses=COMMAND_RESPONSES,
)
async def publish_annual_report(
    year: Year,
    cmd: PublishAnnualReport,
    request: Request,
    caller: Caller,
    rt: Rt,
    h: H,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        today = local_date(h.clock())
        event = await annual_publication.publish(
            h, year, cmd, caller, correlation_id(request), today
        )
        # The event id: assessment cards name it behind 年度报告 deductions.
        return 201, {**_written(event), "event_id": str(event.event_id)}

    fingerprint = {"command": "annual-publication", "year": year, **cmd.model_dump(mode="json")}
    return await run_command(rt.idempotency, caller, key, None, fingerprint, act)


@online_router.get("", summary="待确认的网上申请 Online requests awaiting confirmation")
async def pending_online(
    caller: Caller, rt: Rt, tenant: Annotated[str | None, Query(max_length=200)] = None
) -> dict[str, Any]:
    """No applicant data: the description and the day, to confirm by (Art. 31(3))."""
    org = tenant or str(caller.org)
    if not within_scope(caller, org):
        raise Forbidden(
            rule="scope.outside",
            field="tenant",
            message_zh="无权查看其他机关的网上申请",
            message_en="outside the caller's organization",
        )
    rows = await rt.views.fetch(
        "SELECT submission_id, tenant, submitted_on, submitted_at, description FROM app_online "
        "WHERE request_id IS NULL AND (tenant = $1 OR tenant LIKE $2) ORDER BY submitted_at",
        org,
        org + "/%",
    )
    return {"items": [dict(r) for r in rows]}


@online_router.post(
    "/{submission_id}/confirm",
    status_code=201,
    summary="确认收到网上申请并登记 Confirm receipt of an online request (Art. 31(3))",
    responses=COMMAND_RESPONSES,
)
async def confirm_online(
    submission_id: UUID,
    cmd: ConfirmOnlineRequest,
    request: Request,
    caller: Caller,
    rt: Rt,
    h: H,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        event = await h.confirm_online(submission_id, cmd, caller, correlation_id(request))
        return 201, registered(event)

    fingerprint = {
        "command": "confirm-online",
        "path": str(submission_id),
        **cmd.model_dump(mode="json"),
    }
    return await run_command(rt.idempotency, caller, key, None, fingerprint, act, _location)


def routers() -> list[APIRouter]:
    """The generated command routes first: their paths are more specific than the reads'."""
    from services.applications.public_api import router as public

    return [command_router(REQUEST_COMMANDS), router, annual_router, online_router, public]
