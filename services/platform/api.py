"""HTTP API of the platform service, under /v1/calendars: working-day calendars.

No `from __future__ import annotations` here: FastAPI must see the real dependency objects,
not strings.
"""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.platform.handlers import publish_calendar, published
from shared.deps import Caller, runtime_of
from shared.http import IdempotencyKey, correlation_id
from shared.routes import COMMAND_RESPONSES, run_command
from shared.service import Runtime
from shared.workdays import format_due, parse_year_calendar

Rt = Annotated[Runtime, Depends(runtime_of("platform"))]

#: What publishing can refuse: no If-Match, no instance to miss (404).
REFUSALS: dict[int | str, dict[str, Any]] = {
    status: COMMAND_RESPONSES[status] for status in (401, 403, 409, 422)
}

router = APIRouter(prefix="/v1/calendars", tags=["platform 工作日历"])


@router.post(
    "",
    status_code=201,
    summary="发布年度工作日历 Publish a year's calendar",
    response_model=dict[str, Any],
    responses=REFUSALS,
)
async def publish(
    body: dict[str, Any],
    request: Request,
    caller: Caller,
    rt: Rt,
    key: IdempotencyKey = None,
) -> JSONResponse:
    calendar = parse_year_calendar(body)

    async def act(expected: int | None) -> tuple[int, dict[str, Any]]:
        event = await publish_calendar(rt.store, calendar, caller, correlation_id(request))
        return 201, published(calendar, event)

    # No Location: a published year has no page of its own (GET /v1/calendars/due reads it).
    fingerprint = {"command": "publish-calendar", **calendar.model_dump(mode="json")}
    return await run_command(rt.idempotency, caller, key, None, fingerprint, act)


@router.get("/due", summary="计算到期日 Add working days to a date")
async def due(
    caller: Caller,
    rt: Rt,
    start: Annotated[date, Query(alias="from")],
    days: Annotated[int, Query(ge=0, le=1000)],
) -> dict[str, Any]:
    result = rt.calendar().add_workdays(start, days)
    return {**result.model_dump(mode="json"), "text": format_due(result)}


def routers() -> list[APIRouter]:
    return [router]
