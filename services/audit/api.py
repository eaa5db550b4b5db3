"""HTTP API of the audit service, under /v1/audit: read-only for auditors (审计人员).

The two commands (a checkpoint now, an access event) are routed by hand through the one
command envelope (handlers.py says why they are no command-table rows); the reads are
queries.py's.

No `from __future__ import annotations` here: FastAPI must see the real dependency
objects and models, not strings.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from services.audit import queries, trail
from services.audit.handlers import AuditHandlers
from shared.deps import Caller, handlers_of, runtime_of
from shared.http import IdempotencyKey, correlation_id
from shared.identity import Principal, Role, require_org, require_role, require_write
from shared.routes import COMMAND_RESPONSES, run_command
from shared.service import Runtime

Rt = Annotated[Runtime, Depends(runtime_of("audit"))]
H = Annotated[AuditHandlers, Depends(handlers_of("audit", AuditHandlers))]

#: What the hand-routed commands can refuse: no If-Match, no instance to miss (404).
REFUSALS: dict[int | str, dict[str, Any]] = {
    status: COMMAND_RESPONSES[status] for status in (401, 403, 422)
}

router = APIRouter(prefix="/v1/audit", tags=["audit 审计"])


class AccessRecord(BaseModel):
    """A service tells the audit log that a person read someone's personal data."""

    model_config = ConfigDict(extra="forbid")

    reader: str = Field(min_length=1, max_length=200, description="person id of the reader")
    tenant: str = Field(min_length=1, max_length=300)
    subject_ref: str = Field(min_length=1, max_length=300, description="e.g. request/<uuid>")
    service: str = Field(min_length=1, max_length=100)
    endpoint: str = Field(min_length=1, max_length=300, description="e.g. GET /v1/requests/{id}")
    fields: list[str] = Field(min_length=1, max_length=50)


@router.get("/trail", summary="审计轨迹 Export the chained events (auditors only)")
async def get_trail(
    request: Request,
    caller: Caller,
    rt: Rt,
    h: H,
    stream: str | None = None,
    actor: str | None = None,
    tenant: str | None = None,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    format: Literal["jsonl", "csv"] = "jsonl",
    access: bool = False,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> StreamingResponse:
    """`access=true`: only the reads of personal data; `after` (a seq) and `limit` page it."""
    require_role(caller, Role.AUDITOR)
    if tenant:
        require_org(caller, tenant)
    query = trail.TrailQuery(
        stream, actor, tenant, start, end, scope=str(caller.org), access_only=access
    )
    query.validate()
    page = (after, limit)
    body = _exported(rt, h, query, format, caller, f"trail?{request.url.query}"[:300], page)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(body, media_type=media)


async def _exported(
    rt: Runtime,
    h: AuditHandlers,
    query: trail.TrailQuery,
    format: str,
    caller: Principal,
    subject_ref: str,
    page: tuple[int, int | None] = (0, None),
) -> AsyncIterator[bytes]:
    """The trail's lines, and afterwards the access event for the personal data they showed."""
    shown: set[str] = set()
    try:
        if format == "csv":
            yield trail.csv_header().encode()
        async for record in trail.rows(rt.views, query, after=page[0], limit=page[1]):
            shown.update(queries.personal_in(record))
            if format == "csv":
                yield trail.csv_lines([record]).encode()
            else:
                yield trail.jsonl_line(record)
    finally:
        if shown:
            # The export showed applicants' or citizens' data: who read it is recorded like
            # any other read of personal data (the query names whose), also when the client
            # left half way (shielded from its cancellation).
            await asyncio.shield(
                h.record_access(
                    caller.sub,
                    tenant=str(caller.org),
                    subject_ref=subject_ref,
                    service="audit",
                    endpoint="GET /v1/audit/trail",
                    fields=sorted(shown),
                )
            )


@router.get("/verify", summary="校验哈希链 Verify the hash chain")
async def verify(
    caller: Caller, rt: Rt, from_seq: Annotated[int, Query(alias="from", ge=1)] = 1
) -> dict[str, Any]:
    """Walk the chain from `from` (default: the first link); stop at the first break."""
    require_role(caller, Role.AUDITOR, Role.ADMINISTRATOR)
    return await queries.verification(rt.views, rt.store, from_seq)


@router.get("/checkpoints", summary="链检查点 Chain checkpoints, to export and sign")
async def list_checkpoints(caller: Caller, rt: Rt) -> dict[str, Any]:
    require_role(caller, Role.AUDITOR, Role.ADMINISTRATOR)
    return {
        "items": [queries.checkpoint_record(e) for e in await queries.read_checkpoints(rt.store)]
    }


@router.post(
    "/checkpoints",
    status_code=201,
    summary="立即生成检查点 Take a checkpoint now",
    responses=REFUSALS,
)
async def take_checkpoint(
    caller: Caller, request: Request, rt: Rt, h: H, key: IdempotencyKey = None
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        event = await h.checkpoint("operator", caller, correlation_id(request))
        if event is None:
            return 200, {"detail": "chain is empty"}
        return 201, queries.checkpoint_record(event)

    # No Location: a checkpoint has no page of its own (GET /v1/audit/checkpoints lists them).
    return await run_command(rt.idempotency, caller, key, None, {"command": "checkpoint"}, act)


@router.post(
    "/access-events",
    status_code=201,
    summary="记录个人信息查阅 Record a read",
    response_model=dict[str, Any],
    responses=REFUSALS,
)
async def record_access(
    cmd: AccessRecord, caller: Caller, rt: Rt, h: H, key: IdempotencyKey = None
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        require_write(caller)
        require_role(caller, Role.SERVICE)
        require_org(caller, cmd.tenant)
        event = await h.record_access(
            cmd.reader,
            tenant=cmd.tenant,
            subject_ref=cmd.subject_ref,
            service=cmd.service,
            endpoint=cmd.endpoint,
            fields=cmd.fields,
        )
        return 201, {"event_id": str(event.event_id), "version": event.version}

    fingerprint = {"command": "access-events", **cmd.model_dump(mode="json")}
    return await run_command(rt.idempotency, caller, key, None, fingerprint, act)


def routers() -> list[APIRouter]:
    return [router]
