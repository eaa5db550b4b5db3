"""The public, unauthenticated read API of 政策解读, under /v1/public/interpretation:
published interpretations and their policies, linked both ways.

No `from __future__ import annotations` here: FastAPI must see the real dependency objects,
not strings.
"""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from services.interpretation import queries
from shared.deps import runtime_of
from shared.errors import NotFound
from shared.service import Runtime

Rt = Annotated[Runtime, Depends(runtime_of("interpretation"))]

router = APIRouter(prefix="/v1/public/interpretation", tags=["interpretation public 公开"])


def not_found(what: str, ident: Any) -> NotFound:
    return NotFound(
        rule=f"{what}.not_found",
        field=f"{what}_id" if what != "policy" else "document_id",
        message_zh=f"未找到 {ident}",
        message_en=f"{what} {ident} not found",
    )


async def policy_row(rt: Runtime, document_id: str) -> Any:
    row = await rt.views.fetchrow(
        "SELECT * FROM itp_obligations WHERE document_id = $1", document_id
    )
    withdrawn = await rt.views.fetchval(
        "SELECT withdrawn FROM itp_policies WHERE document_id = $1", document_id
    )
    if row is None or row["status"] == "cancelled" or withdrawn:
        raise not_found("policy", document_id)  # a withdrawn policy leaves public view
    return row


def policy_link(row: Any) -> dict[str, Any]:
    # Only the catalog serves the policy's own page; a policy registered by hand was
    # published outside the system, so there is no page to link to (url is null).
    from_catalog = row["source"] == "catalog"
    return {
        "document_id": row["document_id"],
        "title": row["title"],
        "document_number": row["document_number"],
        "published_on": row["published_on"],
        "source": row["source"],
        "url": f"/v1/public/catalog/documents/{row['document_id']}" if from_catalog else None,
    }


@router.get("/policies/{document_id}", summary="政策及其解读 A policy and its interpretations")
async def public_policy(document_id: UUID, rt: Rt) -> dict[str, Any]:
    row = await policy_row(rt, str(document_id))
    items = await queries.interpretations_of(rt.views, str(document_id), published_only=True)
    return policy_link(row) | {
        "interpretations": [
            {
                "interpretation_id": i["interpretation_id"],
                "title": i["title"],
                "stage": i["stage"],
                "published_at": i["published_at"],
                "url": f"/v1/public/interpretation/interpretations/{i['interpretation_id']}",
            }
            for i in items
        ]
    }


@router.get("/interpretations/{interpretation_id}", summary="已发布解读 One interpretation")
async def public_interpretation(interpretation_id: UUID, rt: Rt) -> dict[str, Any]:
    row = await rt.views.fetchrow(
        "SELECT * FROM itp_interpretations WHERE interpretation_id = $1 AND status = 'published'",
        str(interpretation_id),
    )
    if row is None:
        raise not_found("interpretation", interpretation_id)
    policy = await policy_row(rt, row["document_id"])
    return queries.interpretation_view(row, public=True) | {"policy": policy_link(policy)}
