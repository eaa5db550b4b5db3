"""Staff routes of the issue #20 duties of the catalog (D-dut), under /v1/catalog:
confirming an information-security incident and running the filing sweep on demand.
Filing a document and recording the filing body's answer are command rows
(handlers.DOCUMENT_COMMANDS: POST /documents/{id}/filing, /documents/{id}/filing/review).

No `from __future__ import annotations` here: FastAPI must see the real dependency objects
and command models, not strings.
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.catalog import duties
from services.catalog.access import SWEEP_ROLES, home
from services.catalog.commands import ConfirmIncident
from services.catalog.deps import STAFF_PREFIX, STAFF_TAG, H, Rt
from shared.deps import Caller
from shared.http import IdempotencyKey, correlation_id
from shared.identity import authorize
from shared.routes import COMMAND_RESPONSES, run_command

router = APIRouter(prefix=STAFF_PREFIX, tags=[STAFF_TAG])


@router.post(
    "/incidents",
    status_code=201,
    summary="确认信息安全事件 Confirm a leak of secrets or personal data, with its cause",
    responses=COMMAND_RESPONSES,
)
async def confirm_incident(
    cmd: ConfirmIncident,
    request: Request,
    caller: Caller,
    rt: Rt,
    h: H,
    key: IdempotencyKey = None,
) -> JSONResponse:
    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        event = await duties.confirm_incident(h, cmd, caller, correlation_id(request))
        return 201, {
            "event_id": str(event.event_id),
            "stream_id": event.stream_id,
            "version": event.version,
            "type": event.type,
            **event.payload,
        }

    fingerprint = {"command": "incident", **cmd.model_dump(mode="json")}
    return await run_command(rt.idempotency, caller, key, None, fingerprint, act)


@router.post("/filing-checks", summary="检查规范性文件备案时限 Run the filing sweep (方案§18)")
async def filing_checks(caller: Caller, rt: Rt, tenant: str | None = None) -> dict[str, Any]:
    scope = tenant or home(rt.orgs, str(caller.org))
    authorize(caller, scope, *SWEEP_ROLES)
    flagged = await duties.filing_sweep(rt, scope)
    return {"flagged": [e.payload for e in flagged]}
