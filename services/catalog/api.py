"""HTTP API of 主动公开 for staff, under /v1/catalog (the public API: public_api.py).

No `from __future__ import annotations` here: FastAPI must see the real
dependency objects the router closes over, not strings.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.catalog import reports, scheduler, views
from services.catalog.column_checks import check_columns
from services.catalog.commands import (
    CheckAttribute,
    CompileGazette,
    ConfigureColumn,
    DetermineAttribute,
    DraftDocument,
    JustifyFinding,
    ProposeAttribute,
    PublishDocument,
    RecordChannelStatus,
    RecordReview,
    RepealDocument,
    ReviseDocument,
    WithdrawDocument,
)
from services.catalog.events import PublicationChannel
from services.catalog.handlers import document_stream
from services.catalog.public_api import build_public_router
from shared.envelope import Actor, RecordedEvent
from shared.errors import ConcurrencyConflict, NotFound
from shared.http import IdempotencyKey, IfMatch, correlation_id, expected_version, stale_if_match
from shared.identity import Principal, Role, authorize


class Redaction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fingerprints: list[str] | None = Field(default=None, description="默认删减全部未处理项")


def accepted(events: list[RecordedEvent]) -> dict[str, Any]:
    last = events[-1]
    body: dict[str, Any] = {
        "version": last.version,
        "events": [e.type for e in events],
        "event_ids": [str(e.event_id) for e in events],
    }
    for e in events:
        p = e.payload
        if "document_id" in p:
            body["document_id"] = p["document_id"]
        if e.type == "PrivacyScanCompleted":
            body["revision"] = p["revision"]
            body["privacy_findings"] = p["findings"]
        elif e.type == "DocumentPublished":
            body |= {
                "revision": p["revision"],
                "published_at": p["published_at"],
                "publication_due": p["publication_due"],
                "late": p["late"],
                "content_hash": p["content_hash"],
                "channels": p["channels"],
            }
        elif e.type == "GazetteIssuePublished":
            keys = ("issue_id", "number", "title", "previous_hash", "content_hash", "entries")
            body |= {k: p.get(k) for k in keys}
    return body


def build_router(runtime: Any, current_principal: Any) -> APIRouter:
    """`runtime` holds .handlers, .views and .idempotency, filled in when the process starts."""
    router = APIRouter(prefix="/v1/catalog", tags=["catalog 主动公开"])
    Caller = Annotated[Principal, Depends(current_principal)]

    async def command(
        caller: Principal,
        key: str | None,
        if_match: str | None,
        fingerprint: dict[str, Any],
        call: Callable[[int | None], Awaitable[list[RecordedEvent]]],
        status: int = 200,
    ) -> JSONResponse:
        expected = expected_version(if_match)

        async def run() -> tuple[int, Any]:
            try:
                events = await call(expected)
            except ConcurrencyConflict as err:
                if expected is not None:
                    raise stale_if_match(err) from err
                raise
            return status, accepted(events)

        response = await runtime.idempotency.run(caller, key, fingerprint, run)
        body = bytes(response.body)
        data = orjson.loads(body) if response.status_code < 300 else {}
        if isinstance(data, dict) and "document_id" in data:
            response.headers["Location"] = f"/v1/catalog/documents/{data['document_id']}"
            response.headers["ETag"] = f'"{data["version"]}"'
        return response

    def h() -> Any:
        return runtime.handlers

    @router.post("/documents", status_code=201, summary="拟稿 Draft a document")
    async def draft(
        cmd: DraftDocument, request: Request, caller: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        corr = correlation_id(request)
        return await command(
            caller,
            key,
            None,
            cmd.model_dump(mode="json"),
            lambda _: h().draft(cmd, caller, corr),
            status=201,
        )

    def doc_command(path: str, model: Any, method: str, summary: str) -> None:
        async def endpoint(
            document_id: UUID,
            cmd: model,  # type: ignore[valid-type]
            request: Request,
            caller: Caller,
            key: IdempotencyKey = None,
            if_match: IfMatch = None,
        ) -> JSONResponse:
            corr = correlation_id(request)
            return await command(
                caller,
                key,
                if_match,
                {"path": f"{document_id}{path}", **cmd.model_dump(mode="json")},
                lambda exp: getattr(h(), method)(document_id, cmd, caller, corr, exp),
            )

        endpoint.__name__ = method
        router.add_api_route(
            "/documents/{document_id}" + path, endpoint, methods=["POST"], summary=summary
        )

    doc_command("/revisions", ReviseDocument, "revise", "修改/更新 New revision (update: reason)")
    doc_command("/attribute/proposal", ProposeAttribute, "propose", "拟稿人提出公开属性")
    doc_command("/attribute/check", CheckAttribute, "check", "公开属性审核 Attribute check")
    doc_command("/attribute/decision", DetermineAttribute, "determine", "签发人认定公开属性")
    doc_command("/reviews", RecordReview, "review", "三审三校 Pass or reject a review level")
    doc_command("/privacy/justifications", JustifyFinding, "justify", "隐私检测结果说明理由")
    doc_command("/publish", PublishDocument, "publish", "发布 Publish (先审后发)")
    doc_command("/withdraw", WithdrawDocument, "withdraw", "撤稿 Withdraw with reason")
    doc_command("/repeal", RepealDocument, "repeal", "废止 Repeal a normative document")

    @router.post("/documents/{document_id}/privacy/redaction", summary="删减个人信息 Redact")
    async def redact(
        document_id: UUID,
        cmd: Redaction,
        request: Request,
        caller: Caller,
        key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> JSONResponse:
        corr = correlation_id(request)
        chosen = frozenset(cmd.fingerprints) if cmd.fingerprints is not None else None
        return await command(
            caller,
            key,
            if_match,
            {"path": f"{document_id}/redaction", **cmd.model_dump(mode="json")},
            lambda exp: h().redact(document_id, chosen, caller, corr, exp),
        )

    @router.post("/documents/{document_id}/channels/{channel}", summary="渠道发布状态")
    async def channel_status(
        document_id: UUID,
        channel: PublicationChannel,
        cmd: RecordChannelStatus,
        request: Request,
        caller: Caller,
        key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> JSONResponse:
        corr = correlation_id(request)
        return await command(
            caller,
            key,
            if_match,
            {"path": f"{document_id}/{channel.value}", **cmd.model_dump(mode="json")},
            lambda exp: h().channel_status(document_id, channel, cmd, caller, corr, exp),
        )

    @router.get("/documents/{document_id}", summary="文件详情 One document (from its stream)")
    async def get_document(document_id: UUID, caller: Caller) -> JSONResponse:
        state = await h().visible(document_id, caller)
        return JSONResponse(views.document_view(state), headers={"ETag": f'"{state.version}"'})

    @router.get("/documents/{document_id}/revisions", summary="版本历史 Version history")
    async def history(document_id: UUID, caller: Caller) -> dict[str, Any]:
        await h().visible(document_id, caller)
        events = await runtime.store.read_stream(document_stream(document_id))
        return {"items": views.revisions(events)}

    @router.get("/documents/{document_id}/diff", summary="版本差异 Diff of two revisions")
    async def diff(
        document_id: UUID,
        caller: Caller,
        from_revision: Annotated[int, Query(alias="from", ge=1)],
        to_revision: Annotated[int, Query(alias="to", ge=1)],
    ) -> dict[str, Any]:
        await h().visible(document_id, caller)
        events = await runtime.store.read_stream(document_stream(document_id))
        by_revision = {r["revision"]: r for r in views.revisions(events)}
        for field, wanted in (("from", from_revision), ("to", to_revision)):
            if wanted not in by_revision:
                raise NotFound(
                    rule="revision.not_found",
                    field=field,
                    message_zh=f"版本 {wanted} 不存在",
                    message_en=f"revision {wanted} does not exist",
                )
        return views.diff(by_revision[from_revision], by_revision[to_revision])

    @router.post("/columns", status_code=201, summary="设置栏目及更新要求 Configure a column")
    async def configure_column(
        cmd: ConfigureColumn, request: Request, caller: Caller
    ) -> dict[str, Any]:
        event = await h().configure_column(cmd, caller, correlation_id(request))
        return {**event.payload, "event_id": str(event.event_id)}

    @router.post("/gazette-issues", status_code=201, summary="编印政府公报 Compile a gazette issue")
    async def compile_gazette(
        cmd: CompileGazette, request: Request, caller: Caller, key: IdempotencyKey = None
    ) -> JSONResponse:
        corr = correlation_id(request)

        async def call(_: int | None) -> list[RecordedEvent]:
            return [await h().compile_gazette(cmd, caller, corr)]

        return await command(caller, key, None, cmd.model_dump(mode="json"), call, status=201)

    @router.post("/deadline-checks", summary="检查二十个工作日公开时限 Run the Art. 26 sweep")
    async def deadline_checks(caller: Caller, tenant: str | None = None) -> dict[str, Any]:
        scope = tenant or h().home(str(caller.org))
        authorize(caller, scope, Role.OPENNESS_OFFICE_HEAD, Role.ADMINISTRATOR)
        flagged = await scheduler.sweep(runtime, scope)
        return {"flagged": [e.payload for e in flagged]}

    @router.post("/column-checks", summary="栏目更新检查 Record stale and empty columns")
    async def column_checks(
        request: Request, caller: Caller, township: str | None = None
    ) -> dict[str, Any]:
        scope = township or h().home(str(caller.org))
        authorize(caller, scope, Role.OPENNESS_OFFICE_HEAD, Role.ADMINISTRATOR)
        home = h().home(scope)
        role = Role.OPENNESS_OFFICE_HEAD if Role.OPENNESS_OFFICE_HEAD in caller.roles else None
        actor = Actor(id=caller.sub, kind=caller.kind, role=(role or Role.ADMINISTRATOR).value)
        events = await check_columns(runtime, home, actor, correlation_id(request))
        return {"recorded": [{"type": e.type, **e.payload} for e in events]}

    reports.add_report_routes(router, runtime, current_principal)
    return router


def build_routers(runtime: Any, current_principal: Any) -> APIRouter:
    """The staff API and the public, unauthenticated read API of one service."""
    root = APIRouter()
    root.include_router(build_router(runtime, current_principal))
    root.include_router(build_public_router(runtime))
    return root
