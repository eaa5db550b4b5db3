"""HTTP API of 舆情回应: intake, bulk import, the case ledger and its steps, hotspots.

The case steps' routes are generated from CASE_COMMANDS (handlers.py); the routes here are
the ones that are not one command on one case (intake writes a message's stream and its
case's), and the reads (queries.py). The public status route, without a token, lives in
public_api.py.

No `from __future__ import annotations` here: FastAPI must see the real dependency objects
and command models, not strings.
"""

import hashlib
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.sentiment import commands as c
from services.sentiment import public_api, queries
from services.sentiment.handlers import (
    CASE_COMMANDS,
    CASES,
    MESSAGE_COMMANDS,
    MODEL_COMMANDS,
    SentimentHandlers,
)
from services.sentiment.importer import ParsedRow, RowError, parse_csv, parse_jsonl
from services.sentiment.learning import CLASSIFIER_ID
from services.sentiment.policies import suggestions
from shared.deps import Caller, handlers_of, runtime_of
from shared.errors import GongkaiError, ValidationFailed
from shared.http import IdempotencyKey, correlation_id
from shared.identity import Principal, require_org, within_scope
from shared.routes import COMMAND_RESPONSES, command_router, run_command
from shared.service import Runtime

Rt = Annotated[Runtime, Depends(runtime_of("sentiment"))]
H = Annotated[SentimentHandlers, Depends(handlers_of("sentiment", SentimentHandlers))]
Limit = Annotated[int, Query(ge=1, le=200)]

router = APIRouter(prefix="/v1", tags=["sentiment 舆情回应"])


class ClassifyText(BaseModel):
    text: str


# --- intake -------------------------------------------------------------------------------


@router.post(
    "/messages",
    status_code=201,
    summary="登记留言 Receive a message",
    responses=COMMAND_RESPONSES,
)
async def receive(
    cmd: c.ReceiveMessage,
    request: Request,
    caller: Caller,
    rt: Rt,
    h: H,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        body = await h.receive(cmd, caller, correlation_id(request))
        return (200 if body["duplicate"] else 201), body

    fingerprint = cmd.model_dump(mode="json")
    return await run_command(rt.idempotency, caller, key, None, fingerprint, act, _message_location)


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


@router.post("/messages/classify", summary="试分类 Classify a text without recording it")
async def classify(cmd: ClassifyText, caller: Caller, h: H) -> dict[str, Any]:
    if not cmd.text.strip():
        raise ValidationFailed(
            rule="message.text_empty",
            field="text",
            message_zh="留言内容不能为空",
            message_en="the message text is empty",
        )
    live = await h.models.live() if h.models is not None else h.classifier
    return live.classify(cmd.text).as_payload()


# --- reads --------------------------------------------------------------------------------


@router.get("/messages", summary="留言列表 List messages (cursor pagination)")
async def list_messages(
    request: Request,
    caller: Caller,
    rt: Rt,
    h: H,
    tenant: str | None = None,
    case_id: str | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    scope = tenant or str(caller.org)
    require_org(caller, scope)
    page = await queries.messages(rt.views, caller, scope, case_id, limit, cursor)
    await _record_citizen_read(h, request, caller, page["items"], "GET /v1/messages")
    return page


@router.get("/messages/{message_id}", summary="留言详情 One message")
async def get_message(
    message_id: UUID, request: Request, caller: Caller, rt: Rt, h: H
) -> dict[str, Any]:
    row = await rt.views.fetchrow(
        "SELECT * FROM sent_messages WHERE message_id = $1", str(message_id)
    )
    if row is None or not within_scope(caller, row["tenant"]):
        raise queries.message_not_found(message_id)
    view = queries.message_view(row, caller)
    await queries.with_labels(rt.views, [view])
    endpoint = "GET /v1/messages/{message_id}"
    await _record_citizen_read(h, request, caller, [view], endpoint)
    return view


@router.get("/opinion-cases", summary="舆情台账 The case ledger (cursor pagination)")
async def list_cases(
    caller: Caller,
    rt: Rt,
    tenant: str | None = None,
    status: str | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    scope = tenant or str(caller.org)
    require_org(caller, scope)
    return await queries.cases(rt.views, scope, status, limit, cursor)


@router.get("/opinion-cases/{case_id}", summary="案件详情 One case with its steps")
async def get_case(case_id: UUID, caller: Caller, rt: Rt) -> JSONResponse:
    row = await rt.views.fetchrow("SELECT * FROM sent_cases WHERE case_id = $1", str(case_id))
    if row is None or not within_scope(caller, row["tenant"]):
        raise CASES.not_found(case_id)
    body = await queries.case_detail(rt.views, row)
    return JSONResponse(body, headers={"ETag": f'"{row["version"]}"'})


@router.get(
    "/opinion-cases/{case_id}/policy-suggestions",
    summary="误读政策：可能涉及的政策 Policies the case may be about, with the reasons",
)
async def policy_suggestions(case_id: UUID, caller: Caller, rt: Rt) -> dict[str, Any]:
    row = await rt.views.fetchrow("SELECT tenant FROM sent_cases WHERE case_id = $1", str(case_id))
    if row is None or not within_scope(caller, row["tenant"]):
        raise CASES.not_found(case_id)
    return await suggestions(rt.views, str(case_id), row["tenant"])


@router.get(
    "/sentiment-models",
    summary="分类模型 Registered models, the live one, shadow runs and their agreement",
)
async def list_models(caller: Caller, rt: Rt, h: H) -> dict[str, Any]:
    live = await h.models.live_model_id() if h.models else h.classifier.topic_model.model_id
    body = await queries.models(rt.views, live)
    return body | {"classifier_id": str(CLASSIFIER_ID)}


@router.get(
    "/sentiment-categories",
    summary="已知分类 The categories a correction may name (the lexicon's and the live model's)",
)
async def list_categories(caller: Caller, h: H) -> dict[str, Any]:
    """What a 纠正分类 form offers: the same set `correct-classification` checks against."""
    return {"categories": sorted(await h.known_categories())}


@router.get("/hotspots", summary="热点 Hotspots detected")
async def list_hotspots(caller: Caller, rt: Rt, tenant: str | None = None) -> dict[str, Any]:
    scope = tenant or str(caller.org)
    require_org(caller, scope)
    return await queries.hotspots(rt.views, scope)


def routers() -> list[APIRouter]:
    """The generated case steps first, then intake and reads, then the public status."""
    return [
        command_router(CASE_COMMANDS),
        command_router(MESSAGE_COMMANDS),
        command_router(MODEL_COMMANDS),
        router,
        public_api.router,
    ]


async def _import(
    h: SentimentHandlers, rows: list[ParsedRow | RowError], caller: Principal, correlation: UUID
) -> dict[str, Any]:
    """Receive each good row; a bad row or a refused one is reported by its line."""
    report: dict[str, Any] = {"rows": len(rows), "imported": 0, "duplicates": 0}
    errors: list[dict[str, Any]] = []
    for row in rows:
        if isinstance(row, RowError):
            errors.append(row.as_dict())
            continue
        try:
            result = await h.receive(row.command, caller, correlation)
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


async def _record_citizen_read(
    h: SentimentHandlers,
    request: Request,
    caller: Principal,
    views: list[dict[str, Any]],
    endpoint: str,
) -> None:
    """A response that shows citizens' identity is itself recorded (issue #8: access events)."""
    shown = [str(v["message_id"]) for v in views if v["citizen"] is not None]
    if shown:
        await h.record_citizen_read(caller, shown, endpoint, correlation_id(request))


def _message_location(body: dict[str, Any]) -> str | None:
    return f"/v1/messages/{body['message_id']}" if "message_id" in body else None
