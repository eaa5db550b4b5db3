"""Public status of a citizen's own message, in the shape of Open311 GeoReport v2.

The citizen holds the tracking code given once at intake (only its hash is stored). The
answer says status, agency responsible and expected datetime, and nothing about anyone
else: not the text of other messages grouped into the same case, not the handling officer,
not the citizen's own contact details. No token: the route is on its own router, without
the `Caller` dependency.

No `from __future__ import annotations` here: FastAPI must see the real dependency objects.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from services.sentiment.intake import hash_code
from shared.deps import runtime_of
from shared.errors import NotFound
from shared.service import Runtime

Rt = Annotated[Runtime, Depends(runtime_of("sentiment"))]

router = APIRouter(prefix="/v1", tags=["sentiment 舆情回应"])

OPEN311_STATUS = {
    "opened": "open",
    "dispatched": "open",
    "accepted": "open",
    "returned": "open",
    "reopened": "open",
    "responded": "closed",
    "dissatisfied": "closed",
    "closed": "closed",
}


@router.get(
    "/public/requests/{tracking_code}",
    summary="留言办理进度 Status of my message (Open311 GeoReport v2 style, no token)",
    tags=["public"],
)
async def public_status(tracking_code: str, rt: Rt) -> list[dict[str, Any]]:
    row = await rt.views.fetchrow(
        """SELECT m.message_id, m.received_at, m.case_id, c.status, c.unit, c.category,
                  c.response_due, c.updated_at, c.response, c.published_at
           FROM sent_messages m LEFT JOIN sent_cases c ON c.case_id = m.case_id
           WHERE m.tracking_code_hash = $1""",
        hash_code(tracking_code),
    )
    if row is None:
        raise NotFound(
            rule="tracking_code.unknown",
            field="tracking_code",
            message_zh="查询码无效",
            message_en="unknown tracking code",
        )
    status = row["status"] or "opened"
    agency = None
    if row["unit"]:
        try:
            agency = rt.orgs.get(row["unit"]).name
        except NotFound:
            agency = None
    return [
        {
            "service_request_id": row["message_id"],
            "status": OPEN311_STATUS.get(status, "open"),
            "status_detail": status,
            "status_notes": row["response"] if status in ("responded", "closed") else None,
            "service_name": row["category"],
            "service_code": row["category"],
            "agency_responsible": agency,
            "requested_datetime": row["received_at"],
            "updated_datetime": row["updated_at"],
            "expected_datetime": row["response_due"],
            "result_published_datetime": row["published_at"],
        }
    ]
