"""HTTP API of 行政执法公示: decisions and reviews from the units' systems, bulk import,
the staff ledger; the generated steps (publish, annul, 信用修复); the public list.

No `from __future__ import annotations` here: FastAPI must see the real dependency objects,
not strings.
"""

import hashlib
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.enforcement import commands as c
from services.enforcement import domain, public_api, queries
from services.enforcement.handlers import DECISION_COMMANDS, DECISIONS, EnforcementHandlers
from services.enforcement.importer import ParsedRow, RowError, parse_csv, parse_jsonl
from shared.deps import Caller, handlers_of, runtime_of
from shared.errors import GongkaiError
from shared.http import IdempotencyKey, correlation_id
from shared.identity import Principal, require_org, within_scope
from shared.routes import COMMAND_RESPONSES, command_router, run_command
from shared.service import Runtime

Rt = Annotated[Runtime, Depends(runtime_of("enforcement"))]
H = Annotated[EnforcementHandlers, Depends(handlers_of("enforcement", EnforcementHandlers))]
Limit = Annotated[int, Query(ge=1, le=200)]

router = APIRouter(prefix="/v1/enforcement", tags=["enforcement 行政执法公示"])


def _location(body: dict[str, Any]) -> str | None:
    return f"/v1/enforcement/decisions/{body['decision_id']}" if "decision_id" in body else None


@router.post(
    "/decisions",
    status_code=201,
    summary="记录执法决定 Record an enforcement decision (行政许可、处罚、强制、收费)",
    responses=COMMAND_RESPONSES,
)
async def record_decision(
    cmd: c.RecordDecision,
    request: Request,
    caller: Caller,
    rt: Rt,
    h: H,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        body = await h.record_decision(cmd, caller, correlation_id(request))
        return (200 if body["duplicate"] else 201), body

    fingerprint = cmd.model_dump(mode="json")
    return await run_command(rt.idempotency, caller, key, None, fingerprint, act, _location)


@router.post(
    "/reviews",
    status_code=201,
    summary="记录法制审核 Record the legal review of a major decision (before the decision)",
    responses=COMMAND_RESPONSES,
)
async def record_review(
    cmd: c.RecordReview,
    request: Request,
    caller: Caller,
    rt: Rt,
    h: H,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        return 201, await h.record_review(cmd, caller, correlation_id(request))

    fingerprint = cmd.model_dump(mode="json")
    return await run_command(rt.idempotency, caller, key, None, fingerprint, act, _location)


@router.post(
    "/decisions/import",
    summary="批量导入 Import decisions (CSV or JSON Lines) with a per-row report",
    openapi_extra={
        "requestBody": {
            "content": {"text/csv": {}, "application/x-ndjson": {}},
            "required": True,
        }
    },
)
async def import_decisions(
    request: Request,
    caller: Caller,
    rt: Rt,
    h: H,
    format: Annotated[str | None, Query(pattern="^(csv|jsonl)$")] = None,
    key: IdempotencyKey = None,
) -> JSONResponse:
    body = await request.body()
    kind = format or ("csv" if "csv" in request.headers.get("content-type", "") else "jsonl")
    rows = parse_csv(body) if kind == "csv" else parse_jsonl(body)

    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        return 200, await _import(h, rows, caller, correlation_id(request))

    fingerprint = {"format": kind, "sha": hashlib.sha256(body).hexdigest()}
    return await run_command(rt.idempotency, caller, key, None, fingerprint, act)


@router.get("/decisions", summary="执法决定台账 The decisions (cursor pagination)")
async def list_decisions(
    caller: Caller,
    rt: Rt,
    tenant: str | None = None,
    status: Annotated[
        str | None, Query(pattern="^(review|recorded|not_published|published|withdrawn)$")
    ] = None,
    kind: Annotated[str | None, Query(pattern="^(licensing|penalty|coercion|fee)$")] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    scope = tenant or str(caller.org)
    require_org(caller, scope)
    return await queries.decisions(rt.views, scope, status, kind, limit, cursor)


@router.get(
    "/decisions/{decision_id}",
    summary="执法决定详情 One decision with its 全过程记录 (identifiers and hashes)",
)
async def get_decision(decision_id: UUID, caller: Caller, rt: Rt) -> JSONResponse:
    row = await queries.one(rt.views, str(decision_id))
    if row is None or not within_scope(caller, row["unit"]):
        raise DECISIONS.not_found(decision_id)
    body = queries.staff_view(row)
    body["time_limits"] = {
        "publication": domain.BASIS_PUBLICATION,
        "withdrawal": domain.BASIS_WITHDRAWAL,
        "legal_review": domain.BASIS_REVIEW,
    }
    return JSONResponse(body, headers={"ETag": f'"{row["version"]}"'})


def routers() -> list[APIRouter]:
    """The generated steps first, then intake and reads, then the public list."""
    return [command_router(DECISION_COMMANDS), router, public_api.router]


async def _import(
    h: EnforcementHandlers, rows: list[ParsedRow | RowError], caller: Principal, corr: UUID
) -> dict[str, Any]:
    """Record each good row (its review first, when it carries one and the decision is not
    recorded yet); a bad or refused row is reported by its line."""
    report: dict[str, Any] = {"rows": len(rows), "imported": 0, "duplicates": 0, "reviews": 0}
    errors: list[dict[str, Any]] = []
    for row in rows:
        if isinstance(row, RowError):
            errors.append(row.as_dict())
            continue
        try:
            if row.review is not None and not await h.is_recorded(row.command, caller):
                await h.record_review(row.review, caller, corr)
                report["reviews"] += 1
            result = await h.record_decision(row.command, caller, corr)
        except GongkaiError as err:
            errors.append(
                {
                    "line": row.line,
                    "field": err.field,
                    "rule": err.rule,
                    "message_en": err.message_en,
                    "message_zh": err.message_zh,
                }
            )
            continue
        report["duplicates" if result["duplicate"] else "imported"] += 1
    report["errors"] = errors
    return report
