"""HTTP API of the platform service: working-day calendars."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from services.platform.handlers import publish_calendar
from shared.http import correlation_id
from shared.identity import Principal
from shared.workdays import format_due, parse_year_calendar


def build_router(runtime: Any, current_principal: Any) -> APIRouter:
    router = APIRouter(prefix="/v1/calendars", tags=["platform 工作日历"])
    Caller = Annotated[Principal, Depends(current_principal)]

    @router.post("", status_code=201, summary="发布年度工作日历 Publish a year's calendar")
    async def publish(body: dict[str, Any], request: Request, caller: Caller) -> dict[str, Any]:
        calendar = parse_year_calendar(body)
        event = await publish_calendar(runtime.store, calendar, caller, correlation_id(request))
        return {"year": calendar.year, "version": calendar.version, "event_id": str(event.event_id)}

    @router.get("/due", summary="计算到期日 Add working days to a date")
    async def due(
        caller: Caller,
        start: Annotated[date, Query(alias="from")],
        days: Annotated[int, Query(ge=0, le=1000)],
    ) -> dict[str, Any]:
        result = runtime.calendar().add_workdays(start, days)
        return {**result.model_dump(mode="json"), "text": format_due(result)}

    return router
