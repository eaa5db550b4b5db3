"""HTTP routes of the policy Q&A knowledge base (政策问答库): staff under
/v1/interpretation/qa, public reads under /v1/public/interpretation/qa.

The steps on one entry (答复, 脱敏, 退回修改, 审核发布) are generated from `QA_COMMANDS`;
registering (a new stream) and the duplicate suggestions (no write) are routed here.

No `from __future__ import annotations` here: FastAPI must see the real types.
"""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.interpretation import qa_projection as views
from services.interpretation.qa import remaining_words
from services.interpretation.qa_commands import RegisterQuestion, SuggestAnswers
from services.interpretation.qa_handlers import (
    QA_COMMANDS,
    QAS,
    entry_answer,
    register_question,
    suggest,
)
from shared.deps import Caller, runtime_of
from shared.errors import ValidationFailed
from shared.http import IdempotencyKey, correlation_id
from shared.identity import require_org, within_scope
from shared.routes import COMMAND_RESPONSES, command_router, run_command
from shared.service import Runtime
from shared.workdays import local_date

BASE = "/v1/interpretation/qa"
PUBLIC = "/v1/public/interpretation/qa"

Rt = Annotated[Runtime, Depends(runtime_of("interpretation"))]

router = APIRouter(prefix=BASE, tags=["interpretation 政策问答库"])


def _staff(rt: Runtime, row: Any) -> dict[str, Any]:
    """An entry for staff, with its deadline in words while it is not yet answered."""
    body = views.staff_view(row)
    if row["answered_at"] is None:
        due = datetime.fromisoformat(row["due_at"])
        body["due_in_words"] = remaining_words(due, local_date(rt.clock()), rt.calendar())
    return body


public_router = APIRouter(prefix=PUBLIC, tags=["interpretation public 公开"])


@router.post(
    "",
    status_code=201,
    summary="登记政策咨询 Register a question about a policy",
    responses=COMMAND_RESPONSES,
)
async def register(
    cmd: RegisterQuestion, request: Request, caller: Caller, rt: Rt, key: IdempotencyKey = None
) -> JSONResponse:
    async def act(_: int | None) -> tuple[int, dict[str, Any]]:
        events = await register_question(rt, cmd, caller, correlation_id(request))
        first = events[0]
        body = entry_answer(events, UUID(first.payload["qa_id"]))
        return 201, body | {
            "due_at": first.payload["due_at"],
            "similar": first.payload["similar"],
            "interpretation_ids": first.payload["interpretation_ids"],
        }

    def location(body: dict[str, Any]) -> str | None:
        return f"{BASE}/{body['qa_id']}" if "qa_id" in body else None

    fingerprint = cmd.model_dump(mode="json")
    return await run_command(rt.idempotency, caller, key, None, fingerprint, act, location)


@router.post("/suggestions", summary="查重与政策匹配（不写入） Suggest policies and answers")
async def suggestions(cmd: SuggestAnswers, caller: Caller, rt: Rt) -> dict[str, Any]:
    return await suggest(rt, cmd, caller)


@router.get("", summary="政策问答台账 Q&A entries in the caller's subtree")
async def list_entries(
    caller: Caller,
    rt: Rt,
    tenant: str | None = None,
    status: Annotated[
        str | None, Query(pattern="^(registered|answered|returned|published)$")
    ] = None,
    document_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    scope = tenant or str(caller.org)
    require_org(caller, scope)
    sql = "SELECT * FROM itp_qa WHERE (tenant = $1 OR tenant LIKE $2)"
    args: list[Any] = [scope, scope + "/%"]
    if status:
        args.append(status)
        sql += f" AND status = ${len(args)}"
    if document_id:
        args.append(str(document_id))
        sql += f" AND document_id = ${len(args)}"
    args.append(limit)
    rows = await rt.views.fetch(sql + f" ORDER BY due_at, qa_id LIMIT ${len(args)}", *args)
    return {"items": [_staff(rt, r) for r in rows]}


@router.get("/{qa_id}", summary="一条政策问答 One Q&A entry")
async def get_entry(qa_id: UUID, caller: Caller, rt: Rt) -> JSONResponse:
    row = await rt.views.fetchrow("SELECT * FROM itp_qa WHERE qa_id = $1", str(qa_id))
    if row is None or not within_scope(caller, row["tenant"]):
        raise QAS.not_found(qa_id)
    return JSONResponse(_staff(rt, row), headers={"ETag": f'"{row["version"]}"'})


@public_router.get("", summary="已发布的政策问答 Published Q&A: of a policy, or searched")
async def public_entries(
    rt: Rt,
    document_id: UUID | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    township: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    if document_id is not None:
        items = await views.published(rt.views, str(document_id))
        return {"items": items, "total": len(items)}
    if q is not None:
        return await views.search(rt.views, q, township or None)
    raise ValidationFailed(
        rule="qa.query_missing",
        field="q",
        message_zh="请给出政策文件编号（document_id）或检索词（q）",
        message_en="give a policy (document_id) or search words (q)",
    )


def routers() -> list[APIRouter]:
    return [command_router(QA_COMMANDS), router, public_router]
