"""HTTP API of 依申请公开 (commands and queries), under /v1/requests.

No `from __future__ import annotations` here: FastAPI must see the real
dependency objects the router closes over, not strings.
"""

from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.applications.commands import AssignRequest, RegisterRequest
from services.applications.handlers import HANDLING_ROLES
from shared.db import Row
from shared.envelope import RecordedEvent
from shared.errors import ConcurrencyConflict, NotFound
from shared.http import (
    IdempotencyKey,
    IfMatch,
    correlation_id,
    expected_version,
    stale_if_match,
)
from shared.identity import Principal, require_org, within_scope
from shared.pagination import decode_cursor, encode_cursor, scope_args, scope_clause


def build_router(runtime: Any, current_principal: Any) -> APIRouter:
    """`runtime` holds .handlers, .views and .idempotency, filled in when the process starts."""
    router = APIRouter(prefix="/v1/requests", tags=["applications 依申请公开"])
    Caller = Annotated[Principal, Depends(current_principal)]

    def accepted(event: RecordedEvent) -> dict[str, Any]:
        p = event.payload
        body = {
            "request_id": p["request_id"],
            "version": event.version,
            "event_id": str(event.event_id),
        }
        if event.type == "RequestRegistered":
            body |= {
                "number": p["number"],
                "received_on": p["received_on"],
                "correction_notice_due": p["correction_notice_due"],
                "reply_due": p["reply_due"],
                "reply_deadline": p["reply_deadline"],
            }
        else:
            body |= {"handler": p["handler"]}
        return body

    @router.post(
        "",
        status_code=201,
        summary="登记依申请公开申请 Register an information request",
        responses={409: {"description": "conflict"}, 422: {"description": "invalid"}},
    )
    async def register(
        cmd: RegisterRequest, request: Request, caller: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        async def run() -> tuple[int, Any]:
            event = await runtime.handlers.register(cmd, caller, correlation_id(request))
            return 201, accepted(event)

        response = await runtime.idempotency.run(caller, key, cmd.model_dump(mode="json"), run)
        _locate(response)
        return response

    @router.post("/{request_id}/assign", summary="指定承办人 Assign a handler")
    async def assign(
        request_id: UUID,
        cmd: AssignRequest,
        request: Request,
        caller: Caller,
        key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> JSONResponse:
        expected = expected_version(if_match)

        async def run() -> tuple[int, Any]:
            try:
                event = await runtime.handlers.assign(
                    request_id, cmd, caller, correlation_id(request), expected
                )
            except ConcurrencyConflict as err:
                if expected is not None:
                    raise stale_if_match(err) from err
                raise
            return 200, accepted(event)

        response = await runtime.idempotency.run(
            caller, key, {"path": str(request_id), **cmd.model_dump(mode="json")}, run
        )
        _locate(response)
        return response

    @router.get("", summary="申请台账 List requests (cursor pagination)")
    async def list_requests(
        caller: Caller,
        tenant: str | None = None,
        status: str | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        scope = tenant or str(caller.org)
        require_org(caller, scope)
        sql = ["SELECT * FROM app_requests WHERE " + scope_clause("tenant", 1)]
        args: list[Any] = [*scope_args(scope)]
        if status:
            args.append(status)
            sql.append(f"AND status = ${len(args)}")
        if cursor:
            registered_at, request_id = decode_cursor(cursor, 2)
            args += [registered_at, request_id]
            n = len(args)
            sql.append(
                f"AND (registered_at < ${n - 1} "
                f"OR (registered_at = ${n - 1} AND request_id < ${n}))"
            )
        args.append(limit + 1)
        sql.append(f"ORDER BY registered_at DESC, request_id DESC LIMIT ${len(args)}")
        rows = await runtime.views.fetch(" ".join(sql), *args)
        page = rows[:limit]
        next_cursor = (
            encode_cursor(page[-1]["registered_at"], page[-1]["request_id"])
            if len(rows) > limit
            else None
        )
        return {"items": [_view(r, caller) for r in page], "next_cursor": next_cursor}

    @router.get("/{request_id}", summary="申请详情 One request")
    async def get_request(request_id: UUID, caller: Caller) -> JSONResponse:
        row = await runtime.views.fetchrow(
            "SELECT * FROM app_requests WHERE request_id = $1", str(request_id)
        )
        if row is None or not within_scope(caller, row["tenant"]):
            # Outside the caller's subtree looks the same as absent: no existence leak.
            raise NotFound(
                rule="request.not_found",
                field="request_id",
                message_zh=f"未找到申请 {request_id}",
                message_en=f"request {request_id} not found",
            )
        return JSONResponse(_view(row, caller), headers={"ETag": f'"{row["version"]}"'})

    return router


def _locate(response: JSONResponse) -> None:
    body = orjson.loads(response.body)
    if isinstance(body, dict) and "request_id" in body:
        response.headers["Location"] = f"/v1/requests/{body['request_id']}"
        response.headers["ETag"] = f'"{body["version"]}"'


def _view(row: Row, caller: Principal) -> dict[str, Any]:
    sees_applicant = any(role in caller.roles for role in HANDLING_ROLES)
    return {
        "request_id": row["request_id"],
        "tenant": row["tenant"],
        "number": row["number"],
        "status": row["status"],
        "channel": row["channel"],
        "applicant_kind": row["applicant_kind"],
        "applicant": orjson.loads(row["applicant"]) if sees_applicant else None,
        "description": row["description"],
        "requested_form": row["requested_form"],
        "delivery_channel": row["delivery_channel"],
        "submitted_on": row["submitted_on"],
        "received_on": row["received_on"],
        "correction_notice_due": row["correction_notice_due"],
        "reply_due": row["reply_due"],
        "due_provisional": bool(row["due_provisional"]),
        "reply_deadline": orjson.loads(row["reply_deadline"]),
        "handler": row["handler"],
        "registered_at": row["registered_at"],
        "version": row["version"],
    }
