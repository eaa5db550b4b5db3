"""The public, unauthenticated routes of 依申请公开: 网上申请 and its status (issue #18).

- `POST /v1/public/online-requests`: a submission (条例 Art. 29), answered with the tracking
  code and the query password, each shown this once; recorded as `OnlineRequestSubmitted`,
  received only when the office confirms (Art. 31(3), `POST /v1/online-requests/{id}/confirm`).
- `POST /v1/public/online-requests/status`: status, due date and reply state by tracking
  code and query password, in a body (never in a URL). An unknown code and a wrong password
  get the same 404 after the same work (a scrypt against a dummy hash).

Both count against a sliding window per address (shared/floodgate.py); the address is the
peer's, or the `X-Forwarded-For` a service account (the portal) passes for its visitor.
A refused request writes nothing.

No `from __future__ import annotations` here: FastAPI must see the real types.
"""

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from services.applications import online
from services.applications.commands import OnlineRequestLookup, SubmitOnlineRequest
from services.applications.handlers import ApplicationsHandlers
from shared.deps import current_principal, handlers_of, runtime_of
from shared.errors import GongkaiError, NotFound, TooManyAttempts
from shared.floodgate import SlidingWindow
from shared.http import correlation_id
from shared.service import Runtime

H = Annotated[ApplicationsHandlers, Depends(handlers_of("applications", ApplicationsHandlers))]
Rt = Annotated[Runtime, Depends(runtime_of("applications"))]

#: Per address: submissions and status look-ups within 10 minutes (decision 112).
SUBMIT_LIMIT = (10, 600.0)
STATUS_LIMIT = (30, 600.0)

router = APIRouter(prefix="/v1/public/online-requests", tags=["applications public 网上申请"])


async def _address(request: Request) -> str:
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
    authorization = request.headers.get("authorization")
    if not forwarded or not authorization:
        return peer
    try:
        forwarder = await current_principal(request, authorization)
    except GongkaiError:
        return peer
    return forwarded[:100] if forwarder.kind == "service" else peer


async def _limit(request: Request, h: ApplicationsHandlers, what: str) -> None:
    limit, window = SUBMIT_LIMIT if what == "submit" else STATUS_LIMIT
    gate = h.public_limits.setdefault(what, SlidingWindow(limit, window))
    wait = gate.hit(await _address(request), time.monotonic())
    if wait is not None:
        seconds = int(wait) + 1
        raise TooManyAttempts(
            rule=f"online_request.{what}_flood",
            field=None,
            message_zh=f"提交过于频繁，请 {seconds} 秒后再试",
            message_en=f"too many requests from this address; retry in {seconds} s",
            details={"retry_after": seconds},
        )


LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"description": "提交过于频繁 too many from this address; Retry-After"}
}


@router.post(
    "",
    status_code=201,
    summary="网上申请 Submit an information request (no account)",
    responses=LIMITED,
)
async def submit(cmd: SubmitOnlineRequest, request: Request, h: H) -> dict[str, Any]:
    await _limit(request, h, "submit")
    event, code, password = await h.submit_online(cmd, correlation_id(request))
    return {
        "submission_id": event.payload["submission_id"],
        "tenant": event.tenant,
        "submitted_on": event.payload["submitted_on"],
        "tracking_code": code,
        "query_password": password,
        "status": "submitted",
        "receipt_rule": "以本机关确认收到之日为收到申请之日（条例第三十一条第三项）",
    }


@router.post(
    "/status",
    summary="网上申请办理进度 Status by tracking code and query password",
    responses={
        404: {"description": "查询码或查询密码不正确 unknown code or wrong password (one answer)"},
        **LIMITED,
    },
)
async def status(cmd: OnlineRequestLookup, request: Request, rt: Rt, h: H) -> dict[str, Any]:
    await _limit(request, h, "status")
    row = await rt.views.fetchrow(
        """SELECT o.password_hash, o.submitted_on, l.number, l.status, l.received_on,
                  l.reply_due, l.due_provisional, l.concluded_on, l.reply_type
           FROM app_online o LEFT JOIN app_ledger l ON l.request_id = o.request_id
           WHERE o.code_hash = $1""",
        online.hash_code(cmd.tracking_code),
    )
    stored = row["password_hash"] if row is not None else None
    if not await asyncio.to_thread(online.verify_password, cmd.query_password, stored):
        raise NotFound(
            rule="online_request.not_found",
            field="tracking_code",
            message_zh="查询码或查询密码不对，请核对后重新输入",
            message_en="unknown tracking code or wrong query password",
        )
    assert row is not None
    found = dict(row)
    if found["status"] is None:
        found["status"] = "submitted"
    return online.public_status(found)
