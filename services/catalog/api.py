"""HTTP API of 主动公开 for staff, under /v1/catalog: the commands that are not one step on
one document, the document reads and the checks (the lists and reports: reports.py; the
public API: public_api.py). `routers()` is what the service mounts.

No `from __future__ import annotations` here: FastAPI must see the real dependency objects
and command models, not strings.
"""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from services.catalog import duties_api, jobs, public_api, reports, views
from services.catalog.access import SWEEP_ROLES, home
from services.catalog.column_checks import check_columns
from services.catalog.commands import (
    CompileGazette,
    ConfigureColumn,
    DraftDocument,
    RegisterPublishedDocument,
)
from services.catalog.deps import STAFF_PREFIX, STAFF_TAG, H, Rt
from services.catalog.handlers import DOCUMENT_COMMANDS, DOCUMENTS, accepted
from shared.commands import acting_role, actor_of, load
from shared.deps import Caller
from shared.errors import NotFound
from shared.http import IdempotencyKey, correlation_id
from shared.identity import Principal, authorize
from shared.routes import COMMAND_RESPONSES, command_router, run_command
from shared.service import Runtime

router = APIRouter(prefix=STAFF_PREFIX, tags=[STAFF_TAG])


def _document(body: dict[str, Any]) -> str | None:
    return f"/v1/catalog/documents/{body['document_id']}" if "document_id" in body else None


# The commands that are not one step on one document: a new document, a column, a
# gazette issue.


@router.post(
    "/documents", status_code=201, summary="拟稿 Draft a document", responses=COMMAND_RESPONSES
)
async def draft(
    cmd: DraftDocument, request: Request, caller: Caller, rt: Rt, h: H, key: IdempotencyKey = None
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        return 201, accepted(await h.draft(cmd, caller, correlation_id(request)))

    body = cmd.model_dump(mode="json")
    return await run_command(rt.idempotency, caller, key, None, body, act, _document)


@router.post(
    "/published-documents",
    status_code=201,
    summary="历史信息登记 Register a document published before the platform",
    responses=COMMAND_RESPONSES,
)
async def register_published(
    cmd: RegisterPublishedDocument,
    request: Request,
    caller: Caller,
    rt: Rt,
    h: H,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        event = await h.register_published(cmd, caller, correlation_id(request))
        p = event.payload
        return 201, {
            "document_id": p["document_id"],
            "published_on": p["published_on"],
            "content_hash": p["content_hash"],
            "event_id": str(event.event_id),
        }

    fingerprint = {"command": "published-documents", **cmd.model_dump(mode="json")}
    return await run_command(rt.idempotency, caller, key, None, fingerprint, act)


@router.post(
    "/columns",
    status_code=201,
    summary="设置栏目及更新要求 Configure a column",
    responses=COMMAND_RESPONSES,
)
async def configure_column(
    cmd: ConfigureColumn, request: Request, caller: Caller, rt: Rt, h: H, key: IdempotencyKey = None
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        event = await h.configure_column(cmd, caller, correlation_id(request))
        return 201, {**event.payload, "event_id": str(event.event_id)}

    fingerprint = {"command": "columns", **cmd.model_dump(mode="json")}
    return await run_command(rt.idempotency, caller, key, None, fingerprint, act)


@router.post(
    "/gazette-issues",
    status_code=201,
    summary="编印政府公报 Compile a gazette issue",
    responses=COMMAND_RESPONSES,
)
async def compile_gazette(
    cmd: CompileGazette, request: Request, caller: Caller, rt: Rt, h: H, key: IdempotencyKey = None
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        return 201, accepted([await h.compile_gazette(cmd, caller, correlation_id(request))])

    body = cmd.model_dump(mode="json")
    return await run_command(rt.idempotency, caller, key, None, body, act, _document)


# One document, its revisions and their diff, as its stream holds them.


async def _revisions(rt: Runtime, document_id: UUID, caller: Principal) -> list[dict[str, Any]]:
    await load(rt, DOCUMENTS, document_id, caller)
    return views.revisions(await rt.store.read_stream(DOCUMENTS.stream(document_id)))


@router.get("/documents/{document_id}", summary="文件详情 One document (from its stream)")
async def get_document(document_id: UUID, caller: Caller, rt: Rt) -> JSONResponse:
    state, _tenant, version = await load(rt, DOCUMENTS, document_id, caller)
    return JSONResponse(views.document_view(state), headers={"ETag": f'"{version}"'})


@router.get("/documents/{document_id}/revisions", summary="版本历史 Version history")
async def history(document_id: UUID, caller: Caller, rt: Rt) -> dict[str, Any]:
    return {"items": await _revisions(rt, document_id, caller)}


@router.get("/documents/{document_id}/history", summary="办理记录 What happened, from the events")
async def document_history(document_id: UUID, caller: Caller, rt: Rt) -> dict[str, Any]:
    """The document's events as the workbench shows them (公开属性认定, 三审三校 sign-offs,
    redactions, publication): type, time, actor and payload, the revision texts left out
    (`/revisions` has them)."""
    await load(rt, DOCUMENTS, document_id, caller)
    events = await rt.store.read_stream(DOCUMENTS.stream(document_id))
    return {
        "items": [
            {
                "version": e.version,
                "type": e.type,
                "recorded_at": e.recorded_at.isoformat(),
                "actor": e.actor.id,
                "payload": {k: v for k, v in e.payload.items() if k != "content"},
            }
            for e in events
        ]
    }


@router.get("/documents/{document_id}/diff", summary="版本差异 Diff of two revisions")
async def diff(
    document_id: UUID,
    caller: Caller,
    rt: Rt,
    from_revision: Annotated[int, Query(alias="from", ge=1)],
    to_revision: Annotated[int, Query(alias="to", ge=1)],
) -> dict[str, Any]:
    by_revision = {r["revision"]: r for r in await _revisions(rt, document_id, caller)}
    for field, wanted in (("from", from_revision), ("to", to_revision)):
        if wanted not in by_revision:
            raise NotFound(
                rule="revision.not_found",
                field=field,
                message_zh=f"版本 {wanted} 不存在",
                message_en=f"revision {wanted} does not exist",
            )
    return views.diff(by_revision[from_revision], by_revision[to_revision])


# The Art. 26 sweep and the column check, on demand, for a township.


@router.post("/deadline-checks", summary="检查二十个工作日公开时限 Run the Art. 26 sweep")
async def deadline_checks(caller: Caller, rt: Rt, tenant: str | None = None) -> dict[str, Any]:
    scope = tenant or home(rt.orgs, str(caller.org))
    authorize(caller, scope, *SWEEP_ROLES)
    flagged = await jobs.sweep(rt, scope)
    return {"flagged": [e.payload for e in flagged]}


@router.post("/column-checks", summary="栏目更新检查 Record stale and empty columns")
async def column_checks(
    request: Request, caller: Caller, rt: Rt, township: str | None = None
) -> dict[str, Any]:
    scope = township or home(rt.orgs, str(caller.org))
    authorize(caller, scope, *SWEEP_ROLES)
    actor = actor_of(caller, acting_role(caller, SWEEP_ROLES))
    corr = correlation_id(request)
    events = await check_columns(rt, home(rt.orgs, scope), actor, corr)
    return {"recorded": [{"type": e.type, **e.payload} for e in events]}


def routers() -> list[APIRouter]:
    """The generated command routes first: their paths are more specific than the reads'.
    Then the staff API (this module's routes, then the lists and reports) and the public,
    unauthenticated read API."""
    return [
        command_router(DOCUMENT_COMMANDS),
        router,
        duties_api.router,
        reports.router,
        public_api.router,
    ]
