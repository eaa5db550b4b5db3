"""The public, unauthenticated read API of 行政执法公示, under /v1/public/enforcement: the
published decisions (masked), per township, with search. A withdrawn publication (period
ended, decision annulled, 信用修复) is no longer listed nor found.

No `from __future__ import annotations` here: FastAPI must see the real dependency objects,
not strings.
"""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from services.enforcement import queries
from shared.deps import runtime_of
from shared.errors import NotFound
from shared.service import Runtime

Rt = Annotated[Runtime, Depends(runtime_of("enforcement"))]

router = APIRouter(prefix="/v1/public/enforcement", tags=["enforcement public 公开"])


@router.get("/decisions", summary="行政执法公示 Published decisions, with search")
async def public_decisions(
    rt: Rt,
    township: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    kind: Annotated[str | None, Query(pattern="^(licensing|penalty|coercion)$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> dict[str, Any]:
    return await queries.published(rt.views, township, q, kind, limit, cursor)


@router.get("/decisions/{decision_id}", summary="公示的执法决定 One published decision")
async def public_decision(decision_id: UUID, rt: Rt) -> dict[str, Any]:
    row = await queries.public_one(rt.views, str(decision_id))
    if row is None:
        raise NotFound(
            rule="decision.not_found",
            field="decision_id",
            message_zh=f"未找到公示的执法决定 {decision_id}",
            message_en=f"published decision {decision_id} not found",
        )
    return queries.public_view(row)
