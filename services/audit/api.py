"""HTTP API of the audit service, under /v1/audit: read-only for auditors (审计人员).

No `from __future__ import annotations` here: FastAPI must see the real dependency
objects the router closes over, not strings.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from services.audit import chain, trail
from services.audit.handlers import checkpoint_record, read_checkpoints
from services.audit.personal import personal_events
from shared.http import correlation_id
from shared.identity import Principal, Role, require_org, require_role, require_write
from shared.service import discover


class AccessRecord(BaseModel):
    """A service tells the audit log that a person read someone's personal data."""

    model_config = ConfigDict(extra="forbid")

    reader: str = Field(min_length=1, max_length=200, description="person id of the reader")
    tenant: str = Field(min_length=1, max_length=300)
    subject_ref: str = Field(min_length=1, max_length=300, description="e.g. request/<uuid>")
    service: str = Field(min_length=1, max_length=100)
    endpoint: str = Field(min_length=1, max_length=300, description="e.g. GET /v1/requests/{id}")
    fields: list[str] = Field(min_length=1, max_length=50)


def build_router(runtime: Any, current_principal: Any) -> APIRouter:
    router = APIRouter(prefix="/v1/audit", tags=["audit 审计"])
    Caller = Annotated[Principal, Depends(current_principal)]
    marked: dict[tuple[str, str], list[str]] = {}

    def personal_in(record: dict[str, Any]) -> list[str]:
        if not marked:
            marked.update(personal_events({n: d.registry for n, d in discover().items()}))
        event = record["event"]
        if event["stream_type"] == "personal-data-access":
            return []  # an access event holds references to personal data, not the data
        return [f"{event['type']}.{p}" for p in marked.get((record["service"], event["type"]), [])]

    @router.get("/trail", summary="审计轨迹 Export the chained events (auditors only)")
    async def get_trail(
        request: Request,
        caller: Caller,
        stream: str | None = None,
        actor: str | None = None,
        tenant: str | None = None,
        start: Annotated[datetime | None, Query(alias="from")] = None,
        end: Annotated[datetime | None, Query(alias="to")] = None,
        format: Literal["jsonl", "csv"] = "jsonl",
    ) -> StreamingResponse:
        require_role(caller, Role.AUDITOR)
        if tenant:
            require_org(caller, tenant)
        query = trail.TrailQuery(stream, actor, tenant, start, end, scope=str(caller.org))
        query.validate()

        async def body() -> AsyncIterator[bytes]:
            shown: set[str] = set()
            try:
                if format == "csv":
                    yield trail.csv_header().encode()
                async for record in trail.rows(runtime.views, query):
                    shown.update(personal_in(record))
                    if format == "csv":
                        yield trail.csv_lines([record]).encode()
                    else:
                        yield trail.jsonl_line(record)
            finally:
                if shown:
                    # The export showed applicants' or citizens' data: who read it is
                    # recorded like any other read of personal data (the query names whose),
                    # also when the client left half way (shielded from its cancellation).
                    await asyncio.shield(
                        runtime.handlers.record_access(
                            caller.sub,
                            tenant=str(caller.org),
                            subject_ref=f"trail?{request.url.query}"[:300],
                            service="audit",
                            endpoint="GET /v1/audit/trail",
                            fields=sorted(shown),
                        )
                    )

        media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
        return StreamingResponse(body(), media_type=media)

    @router.get("/verify", summary="校验哈希链 Verify the hash chain")
    async def verify(
        caller: Caller, from_seq: Annotated[int, Query(alias="from", ge=1)] = 1
    ) -> dict[str, Any]:
        """Walk the chain from `from` (default: the first link); stop at the first break."""
        require_role(caller, Role.AUDITOR, Role.ADMINISTRATOR)
        await chain.setup_chain(runtime.views)
        marks = [
            (int(e.payload["seq"]), str(e.payload["head_hash"]))
            for e in await read_checkpoints(runtime.store)
        ]
        result = await chain.verify(runtime.views, from_seq=from_seq, checkpoints=marks)
        return {
            "ok": result.broken is None,
            "verified": result.verified,
            "head_seq": result.head_seq,
            "head_hash": result.head_hash,
            "events_per_second": round(result.rate),
            "checkpoints_checked": len(marks),
            "broken": None
            if result.broken is None
            else {
                "seq": result.broken.seq,
                "event_id": result.broken.event_id,
                "reason": result.broken.reason,
            },
        }

    @router.get("/checkpoints", summary="链检查点 Chain checkpoints, to export and sign")
    async def list_checkpoints(caller: Caller) -> dict[str, Any]:
        require_role(caller, Role.AUDITOR, Role.ADMINISTRATOR)
        return {"items": [checkpoint_record(e) for e in await read_checkpoints(runtime.store)]}

    @router.post("/checkpoints", status_code=201, summary="立即生成检查点 Take a checkpoint now")
    async def take_checkpoint(caller: Caller, request: Request) -> JSONResponse:
        event = await runtime.handlers.checkpoint("operator", caller, correlation_id(request))
        if event is None:
            return JSONResponse({"detail": "chain is empty"}, status_code=200)
        return JSONResponse(checkpoint_record(event), status_code=201)

    @router.post("/access-events", status_code=201, summary="记录个人信息查阅 Record a read")
    async def record_access(cmd: AccessRecord, caller: Caller) -> dict[str, Any]:
        require_write(caller)
        require_role(caller, Role.SERVICE)
        require_org(caller, cmd.tenant)
        event = await runtime.handlers.record_access(
            cmd.reader,
            tenant=cmd.tenant,
            subject_ref=cmd.subject_ref,
            service=cmd.service,
            endpoint=cmd.endpoint,
            fields=cmd.fields,
        )
        return {"event_id": str(event.event_id), "version": event.version}

    return router
