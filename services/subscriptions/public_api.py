"""The public, unauthenticated routes of 订阅推送 and 专栏热度 (the portal calls them).

- `/v1/public/subscriptions`: the choices, subscribe (answers the same whether or not the
  address is known), confirm and unsubscribe by signed token.
- `/v1/public/popularity/columns?period=YYYY-MM`: 最受欢迎专栏 of a month (the recorded
  ranking once the month is closed, the running tally before).

No `from __future__ import annotations` here: FastAPI must see the real types.
"""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.subscriptions import domain
from services.subscriptions.commands import LinkToken, Subscribe, Unsubscribe
from services.subscriptions.events import TopicKind
from services.subscriptions.handlers import SubscriptionHandlers
from shared.deps import handlers_of
from shared.errors import ValidationFailed
from shared.http import correlation_id
from shared.workdays import local_date

H = Annotated[SubscriptionHandlers, Depends(handlers_of("subscriptions", SubscriptionHandlers))]

router = APIRouter(prefix="/v1/public", tags=["subscriptions public 订阅（公众）"])


@router.get("/subscriptions/choices", summary="可订阅的内容 What can be followed")
async def choices(h: H) -> dict[str, Any]:
    c = h.choices
    return {
        "organs": sorted(c.organs),
        "topics": {
            TopicKind.column.value: sorted(c.columns),
            TopicKind.kind.value: sorted(c.kinds),
            TopicKind.group.value: list(domain.POLICY_GROUPS),
        },
        "topic_kinds": {k.value: k.label_zh for k in TopicKind},
    }


@router.post("/subscriptions", status_code=202, summary="订阅 Subscribe (double opt-in)")
async def subscribe(cmd: Subscribe, request: Request, h: H) -> dict[str, Any]:
    return await h.subscribe(cmd.email, cmd.organ, list(cmd.topics), correlation_id(request))


@router.post(
    "/subscriptions/confirm",
    summary="确认订阅 Confirm by the mailed link",
    responses={404: {"description": "链接无效或已过期 unknown or expired link"}},
)
async def confirm(cmd: LinkToken, request: Request, h: H) -> dict[str, Any]:
    return await h.confirm(cmd.token, correlation_id(request))


@router.post(
    "/subscriptions/unsubscribe",
    summary="退订 Unsubscribe (one click)",
    responses={404: {"description": "链接无效或已过期 unknown or expired link"}},
)
async def unsubscribe(cmd: Unsubscribe, request: Request, h: H) -> JSONResponse:
    body = await h.unsubscribe(cmd.token, cmd.way, correlation_id(request))
    return JSONResponse(body)


@router.get("/popularity/columns", summary="最受欢迎专栏 Most visited columns of a month")
async def popular_columns(
    h: H, period: Annotated[str | None, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")] = None
) -> dict[str, Any]:
    today = local_date(h.clock())
    if period is None:
        period = f"{today:%Y-%m}"
    try:
        first = date.fromisoformat(f"{period}-01")
    except ValueError:
        raise ValidationFailed(
            rule="period.format",
            field="period",
            message_zh="统计期应为 年-月，如 2026-11",
            message_en="period must be YYYY-MM",
        ) from None
    return await h.popular_columns(first)
