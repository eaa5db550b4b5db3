"""HTTP API of 舆情回应: intake, bulk import, the case ledger and its steps, hotspots.

No `from __future__ import annotations` here: FastAPI must see the real dependency objects
the router closes over, not strings. The public status route lives in public_api.py.
"""

from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.sentiment import commands as c
from services.sentiment.public_api import add_public_routes
from services.sentiment.classifier import default_classifier
from services.sentiment.handlers import CASE_COMMANDS, CASES
from services.sentiment.importer import ParsedRow, RowError, parse_csv, parse_jsonl
from services.sentiment.policies import links, suggestions
from shared.db import Row
from shared.errors import GongkaiError, NotFound, ValidationFailed
from shared.http import IdempotencyKey, correlation_id
from shared.identity import Principal, Role, require_org, within_scope
from shared.pagination import decode_cursor, encode_cursor, scope_args, scope_clause
from shared.routes import COMMAND_RESPONSES, command_router, run_command

PERSONAL_ROLES = (Role.OPINION_OFFICER,)


class ClassifyText(BaseModel):
    text: str


def build_router(runtime: Any, current_principal: Any) -> APIRouter:
    """The case steps generated from CASE_COMMANDS; intake, reads and hotspots by hand."""
    router = APIRouter(prefix="/v1", tags=["sentiment 舆情回应"])
    caller = Annotated[Principal, Depends(current_principal)]
    _add_intake_routes(router, runtime, caller)
    _add_message_routes(router, runtime, caller)
    _add_case_routes(router, runtime, caller)
    _add_hotspot_routes(router, runtime, caller)
    add_public_routes(router, runtime)
    outer = APIRouter()
    outer.include_router(command_router(CASE_COMMANDS))
    outer.include_router(router)
    return outer


def _add_intake_routes(router: APIRouter, runtime: Any, Caller: Any) -> None:
    @router.post(
        "/messages",
        status_code=201,
        summary="登记留言 Receive a message",
        responses=COMMAND_RESPONSES,
    )
    async def receive(
        cmd: c.ReceiveMessage, request: Request, caller: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
            body = await runtime.handlers.receive(cmd, caller, correlation_id(request))
            return (200 if body["duplicate"] else 201), body

        fingerprint = cmd.model_dump(mode="json")
        return await run_command(
            runtime.idempotency, caller, key, None, fingerprint, act, _message_location
        )

    @router.post(
        "/messages/import",
        summary="批量导入 Import messages (CSV or JSON Lines) with a per-row report",
        openapi_extra={
            "requestBody": {
                "content": {"text/csv": {}, "application/x-ndjson": {}},
                "required": True,
            }
        },
    )
    async def import_messages(
        request: Request,
        caller: Caller,
        format: Annotated[str | None, Query(pattern="^(csv|jsonl)$")] = None,
        key: IdempotencyKey = None,
    ) -> JSONResponse:
        body = await request.body()
        kind = format or ("csv" if "csv" in request.headers.get("content-type", "") else "jsonl")
        rows = parse_csv(body) if kind == "csv" else parse_jsonl(body)

        async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
            return 200, await _import(runtime, rows, caller, correlation_id(request))

        fingerprint = {"format": kind, "sha": _digest(body)}
        return await run_command(runtime.idempotency, caller, key, None, fingerprint, act)

    @router.post("/messages/classify", summary="试分类 Classify a text without recording it")
    async def classify(cmd: ClassifyText, caller: Caller) -> dict[str, Any]:
        if not cmd.text.strip():
            raise ValidationFailed(
                rule="message.text_empty",
                field="text",
                message_zh="留言内容不能为空",
                message_en="the message text is empty",
            )
        return default_classifier().classify(cmd.text).as_payload()


def _add_message_routes(router: APIRouter, runtime: Any, Caller: Any) -> None:
    @router.get("/messages", summary="留言列表 List messages (cursor pagination)")
    async def list_messages(
        request: Request,
        caller: Caller,
        tenant: str | None = None,
        case_id: str | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        scope = tenant or str(caller.org)
        require_org(caller, scope)
        sql = ["SELECT * FROM sent_messages WHERE " + scope_clause("tenant", 1)]
        args: list[Any] = [*scope_args(scope)]
        if case_id:
            args.append(case_id)
            sql.append(f"AND case_id = ${len(args)}")
        page = await _page(
            runtime,
            sql,
            args,
            "recorded_at",
            "message_id",
            limit,
            cursor,
            lambda r: _message_view(r, caller),
        )
        await _record_citizen_read(runtime, request, caller, page["items"], "GET /v1/messages")
        return page

    @router.get("/messages/{message_id}", summary="留言详情 One message")
    async def get_message(message_id: UUID, request: Request, caller: Caller) -> dict[str, Any]:
        row = await runtime.views.fetchrow(
            "SELECT * FROM sent_messages WHERE message_id = $1", str(message_id)
        )
        if row is None or not within_scope(caller, row["tenant"]):
            raise _message_not_found(message_id)
        view = _message_view(row, caller)
        endpoint = "GET /v1/messages/{message_id}"
        await _record_citizen_read(runtime, request, caller, [view], endpoint)
        return view


def _add_case_routes(router: APIRouter, runtime: Any, Caller: Any) -> None:
    @router.get("/opinion-cases", summary="舆情台账 The case ledger (cursor pagination)")
    async def list_cases(
        caller: Caller,
        tenant: str | None = None,
        status: str | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        scope = tenant or str(caller.org)
        require_org(caller, scope)
        sql = ["SELECT * FROM sent_cases WHERE " + scope_clause("tenant", 1)]
        args: list[Any] = [*scope_args(scope)]
        if status:
            args.append(status)
            sql.append(f"AND status = ${len(args)}")
        return await _page(runtime, sql, args, "opened_at", "case_id", limit, cursor, _case_view)

    @router.get("/opinion-cases/{case_id}", summary="案件详情 One case with its steps")
    async def get_case(case_id: UUID, caller: Caller) -> JSONResponse:
        row = await runtime.views.fetchrow(
            "SELECT * FROM sent_cases WHERE case_id = $1", str(case_id)
        )
        if row is None or not within_scope(caller, row["tenant"]):
            raise CASES.not_found(case_id)
        steps = await runtime.views.fetch(
            "SELECT * FROM sent_case_steps WHERE case_id = $1 ORDER BY version", str(case_id)
        )
        messages = await runtime.views.fetch(
            "SELECT message_id FROM sent_messages WHERE case_id = $1 ORDER BY recorded_at",
            str(case_id),
        )
        body = _case_view(row) | {
            "steps": [
                {
                    "version": s["version"],
                    "step": s["step"],
                    "event_type": s["event_type"],
                    "actor": s["actor"],
                    "at": s["at"],
                    "detail": orjson.loads(s["detail"]),
                }
                for s in steps
            ],
            "message_ids": [m["message_id"] for m in messages],
            "policy_links": await links(runtime.views, str(case_id)),
        }
        return JSONResponse(body, headers={"ETag": f'"{row["version"]}"'})

    @router.get(
        "/opinion-cases/{case_id}/policy-suggestions",
        summary="误读政策：可能涉及的政策 Policies the case may be about, with the reasons",
    )
    async def policy_suggestions(case_id: UUID, caller: Caller) -> dict[str, Any]:
        row = await runtime.views.fetchrow(
            "SELECT tenant FROM sent_cases WHERE case_id = $1", str(case_id)
        )
        if row is None or not within_scope(caller, row["tenant"]):
            raise CASES.not_found(case_id)
        return await suggestions(runtime.views, str(case_id), row["tenant"])


def _add_hotspot_routes(router: APIRouter, runtime: Any, Caller: Any) -> None:
    @router.get("/hotspots", summary="热点 Hotspots detected")
    async def list_hotspots(caller: Caller, tenant: str | None = None) -> dict[str, Any]:
        scope = tenant or str(caller.org)
        require_org(caller, scope)
        rows = await runtime.views.fetch(
            "SELECT * FROM sent_hotspots WHERE "
            + scope_clause("township", 1)
            + " ORDER BY detected_at DESC LIMIT 200",
            *scope_args(scope),
        )
        return {
            "items": [
                {
                    "hotspot_id": r["hotspot_id"],
                    "township": r["township"],
                    "category": r["category"],
                    "window_start": r["window_start"],
                    "window_end": r["window_end"],
                    "message_count": r["message_count"],
                    "negative_intensity": r["negative_intensity"],
                    "crossed": orjson.loads(r["crossed"]),
                    "detected_at": r["detected_at"],
                }
                for r in rows
            ]
        }


async def _import(
    runtime: Any, rows: list[ParsedRow | RowError], caller: Principal, correlation: UUID
) -> dict[str, Any]:
    """Receive each good row; a bad row or a refused one is reported by its line."""
    report: dict[str, Any] = {"rows": len(rows), "imported": 0, "duplicates": 0}
    errors: list[dict[str, Any]] = []
    for row in rows:
        if isinstance(row, RowError):
            errors.append(row.as_dict())
            continue
        try:
            result = await runtime.handlers.receive(row.command, caller, correlation)
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


async def _page(
    runtime: Any,
    sql: list[str],
    args: list[Any],
    order: str,
    id_col: str,
    limit: int,
    cursor: str | None,
    view: Any,
) -> dict[str, Any]:
    if cursor:
        at, ident = decode_cursor(cursor, 2)
        args += [at, ident]
        n = len(args)
        sql.append(f"AND ({order} < ${n - 1} OR ({order} = ${n - 1} AND {id_col} < ${n}))")
    args.append(limit + 1)
    sql.append(f"ORDER BY {order} DESC, {id_col} DESC LIMIT ${len(args)}")
    rows = await runtime.views.fetch(" ".join(sql), *args)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1][order], page[-1][id_col]) if len(rows) > limit else None
    return {"items": [view(r) for r in page], "next_cursor": next_cursor}


async def _record_citizen_read(
    runtime: Any, request: Request, caller: Principal, views: list[dict[str, Any]], endpoint: str
) -> None:
    """A response that shows citizens' identity is itself recorded (issue #8: access events)."""
    shown = [str(v["message_id"]) for v in views if v["citizen"] is not None]
    if shown:
        await runtime.handlers.record_citizen_read(caller, shown, endpoint, correlation_id(request))


def _digest(body: bytes) -> str:
    import hashlib

    return hashlib.sha256(body).hexdigest()


def _message_not_found(message_id: UUID) -> NotFound:
    return NotFound(
        rule="message.not_found",
        field="message_id",
        message_zh=f"未找到留言 {message_id}",
        message_en=f"message {message_id} not found",
    )


def _message_location(body: dict[str, Any]) -> str | None:
    return f"/v1/messages/{body['message_id']}" if "message_id" in body else None


def _message_view(row: Row, caller: Principal) -> dict[str, Any]:
    sees_citizen = caller.has_role(*PERSONAL_ROLES)
    return {
        "message_id": row["message_id"],
        "tenant": row["tenant"],
        "source": row["source"],
        "kind": row["kind"],
        "external_id": row["external_id"],
        "title": row["title"],
        "text": row["text"],
        "citizen": orjson.loads(row["citizen"]) if sees_citizen and row["citizen"] else None,
        "location": row["location"],
        "received_at": row["received_at"],
        "case_id": row["case_id"],
        "classification": orjson.loads(row["classification"]) if row["classification"] else None,
        "recorded_at": row["recorded_at"],
    }


def _case_view(row: Row) -> dict[str, Any]:
    return {
        "case_id": row["case_id"],
        "tenant": row["tenant"],
        "source": row["source"],
        "kind": row["kind"],
        "category": row["category"],
        "tags": orjson.loads(row["tags"]),
        "urgency": row["urgency"],
        "status": row["status"],
        "unit": row["unit"],
        "officer": row["officer"],
        "opened_at": row["opened_at"],
        "response_due": row["response_due"],
        "deadlines": orjson.loads(row["deadlines"]),
        "message_count": row["message_count"],
        "extension_pending": bool(row["extension_pending"]),
        "response": row["response"],
        "responded_at": row["responded_at"],
        "on_time": None if row["on_time"] is None else bool(row["on_time"]),
        "published_at": row["published_at"],
        "published_url": row["published_url"],
        "satisfaction": row["satisfaction"],
        "escalation_level": row["escalation_level"],
        "version": row["version"],
    }
