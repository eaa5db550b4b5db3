"""HTTP API of 主动公开 for staff, under /v1/catalog (the public API: public_api.py).

No `from __future__ import annotations` here: FastAPI must see the real
dependency objects the router closes over, not strings.
"""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.catalog import reports, scheduler, views
from services.catalog.access import SWEEP_ROLES, home
from services.catalog.column_checks import check_columns
from services.catalog.commands import (
    CompileGazette,
    ConfigureColumn,
    DraftDocument,
)
from services.catalog.handlers import DOCUMENT_COMMANDS, DOCUMENTS, accepted
from services.catalog.public_api import build_public_router
from shared.commands import acting_role, actor_of, load
from shared.errors import NotFound
from shared.http import IdempotencyKey, correlation_id
from shared.identity import Principal, authorize
from shared.routes import COMMAND_RESPONSES, command_router, run_command


def _document(body: dict[str, Any]) -> str | None:
    return f"/v1/catalog/documents/{body['document_id']}" if "document_id" in body else None


def build_router(runtime: Any, current_principal: Any) -> APIRouter:
    """`runtime` holds .handlers, .views and .idempotency, filled in when the process starts."""
    router = APIRouter(prefix="/v1/catalog", tags=["catalog 主动公开"])
    add_command_routes(router, runtime, current_principal)
    add_document_reads(router, runtime, current_principal)
    add_checks(router, runtime, current_principal)
    reports.add_report_routes(router, runtime, current_principal)
    root = APIRouter()
    root.include_router(command_router(DOCUMENT_COMMANDS))
    root.include_router(router)
    return root


def add_command_routes(router: APIRouter, runtime: Any, current_principal: Any) -> None:
    """The commands that are not one step on one document: a new document, a column, a
    gazette issue."""
    Caller = Annotated[Principal, Depends(current_principal)]

    @router.post(
        "/documents", status_code=201, summary="拟稿 Draft a document", responses=COMMAND_RESPONSES
    )
    async def draft(
        cmd: DraftDocument, request: Request, caller: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
            return 201, accepted(await runtime.handlers.draft(cmd, caller, correlation_id(request)))

        body = cmd.model_dump(mode="json")
        return await run_command(runtime.idempotency, caller, key, None, body, act, _document)

    @router.post(
        "/columns",
        status_code=201,
        summary="设置栏目及更新要求 Configure a column",
        responses=COMMAND_RESPONSES,
    )
    async def configure_column(
        cmd: ConfigureColumn, request: Request, caller: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
            corr = correlation_id(request)
            event = await runtime.handlers.configure_column(cmd, caller, corr)
            return 201, {**event.payload, "event_id": str(event.event_id)}

        fingerprint = {"command": "columns", **cmd.model_dump(mode="json")}
        return await run_command(runtime.idempotency, caller, key, None, fingerprint, act)

    @router.post(
        "/gazette-issues",
        status_code=201,
        summary="编印政府公报 Compile a gazette issue",
        responses=COMMAND_RESPONSES,
    )
    async def compile_gazette(
        cmd: CompileGazette, request: Request, caller: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
            corr = correlation_id(request)
            return 201, accepted([await runtime.handlers.compile_gazette(cmd, caller, corr)])

        body = cmd.model_dump(mode="json")
        return await run_command(runtime.idempotency, caller, key, None, body, act, _document)


def add_document_reads(router: APIRouter, runtime: Any, current_principal: Any) -> None:
    """One document, its revisions and their diff, as its stream holds them."""
    Caller = Annotated[Principal, Depends(current_principal)]

    async def revisions(document_id: UUID, caller: Principal) -> list[dict[str, Any]]:
        await load(runtime, DOCUMENTS, document_id, caller)
        return views.revisions(await runtime.store.read_stream(DOCUMENTS.stream(document_id)))

    @router.get("/documents/{document_id}", summary="文件详情 One document (from its stream)")
    async def get_document(document_id: UUID, caller: Caller) -> JSONResponse:
        state, _tenant, version = await load(runtime, DOCUMENTS, document_id, caller)
        return JSONResponse(views.document_view(state), headers={"ETag": f'"{version}"'})

    @router.get("/documents/{document_id}/revisions", summary="版本历史 Version history")
    async def history(document_id: UUID, caller: Caller) -> dict[str, Any]:
        return {"items": await revisions(document_id, caller)}

    @router.get("/documents/{document_id}/diff", summary="版本差异 Diff of two revisions")
    async def diff(
        document_id: UUID,
        caller: Caller,
        from_revision: Annotated[int, Query(alias="from", ge=1)],
        to_revision: Annotated[int, Query(alias="to", ge=1)],
    ) -> dict[str, Any]:
        by_revision = {r["revision"]: r for r in await revisions(document_id, caller)}
        for field, wanted in (("from", from_revision), ("to", to_revision)):
            if wanted not in by_revision:
                raise NotFound(
                    rule="revision.not_found",
                    field=field,
                    message_zh=f"版本 {wanted} 不存在",
                    message_en=f"revision {wanted} does not exist",
                )
        return views.diff(by_revision[from_revision], by_revision[to_revision])


def add_checks(router: APIRouter, runtime: Any, current_principal: Any) -> None:
    """The Art. 26 sweep and the column check, on demand, for a township."""
    Caller = Annotated[Principal, Depends(current_principal)]

    @router.post("/deadline-checks", summary="检查二十个工作日公开时限 Run the Art. 26 sweep")
    async def deadline_checks(caller: Caller, tenant: str | None = None) -> dict[str, Any]:
        scope = tenant or home(runtime.orgs, str(caller.org))
        authorize(caller, scope, *SWEEP_ROLES)
        flagged = await scheduler.sweep(runtime, scope)
        return {"flagged": [e.payload for e in flagged]}

    @router.post("/column-checks", summary="栏目更新检查 Record stale and empty columns")
    async def column_checks(
        request: Request, caller: Caller, township: str | None = None
    ) -> dict[str, Any]:
        scope = township or home(runtime.orgs, str(caller.org))
        authorize(caller, scope, *SWEEP_ROLES)
        actor = actor_of(caller, acting_role(caller, SWEEP_ROLES))
        corr = correlation_id(request)
        events = await check_columns(runtime, home(runtime.orgs, scope), actor, corr)
        return {"recorded": [{"type": e.type, **e.payload} for e in events]}


def build_routers(runtime: Any, current_principal: Any) -> APIRouter:
    """The staff API and the public, unauthenticated read API of one service."""
    root = APIRouter()
    root.include_router(build_router(runtime, current_principal))
    root.include_router(build_public_router(runtime))
    return root
