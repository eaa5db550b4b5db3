"""Routes of the subscriptions service that need a token (public ones: public_api.py).

- The portal's service account flushes page views and forwards ratings
  (`POST /v1/popularity/views`, `POST /v1/popularity/ratings`).
- Staff of the openness office (and auditors, read-only) see the subscriptions of their
  subtree with masked addresses, one subscription with its address in clear (recorded as a
  SubscriberDataRead access event), and the delivery records.

No `from __future__ import annotations` here: FastAPI must see the real types.
"""

from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Query, Request

from services.subscriptions import public_api, tokens
from services.subscriptions.commands import CountViews, RateDocument
from services.subscriptions.handlers import SubscriptionHandlers
from shared.deps import Caller, handlers_of
from shared.envelope import Actor
from shared.errors import NotFound
from shared.http import correlation_id
from shared.identity import Principal, Role, authorize, require_role, within_scope

H = Annotated[SubscriptionHandlers, Depends(handlers_of("subscriptions", SubscriptionHandlers))]
STAFF = (Role.OPENNESS_OFFICE_HEAD, Role.ADMINISTRATOR, Role.AUDITOR, Role.DISTRICT_ASSESSOR)

router = APIRouter(tags=["subscriptions 订阅推送与专栏热度"])


@router.post("/v1/popularity/views", status_code=202, summary="页面访问量 Flushed page views")
async def count_views(cmd: CountViews, caller: Caller, h: H) -> dict[str, Any]:
    authorize(caller, h.district, Role.SERVICE)
    return {"views": await h.count_views(cmd.day, list(cmd.counts))}


@router.post("/v1/popularity/ratings", status_code=201, summary="有用/没用 A document rated")
async def rate(cmd: RateDocument, caller: Caller, h: H) -> dict[str, Any]:
    authorize(caller, h.district, Role.SERVICE)
    return await h.rate(cmd.document_id, cmd.township, cmd.column, cmd.useful, cmd.rater)


def _row(r: Any, email: str | None = None) -> dict[str, Any]:
    return {
        "subscription_id": r["subscription_id"],
        "organ": r["organ"],
        "email": email if email is not None else tokens.mask(r["email"]),
        "topics": orjson.loads(r["topics"]),
        "status": r["status"],
        "requested_at": r["requested_at"],
        "confirmed_at": r["confirmed_at"],
        "unsubscribed_at": r["unsubscribed_at"],
    }


@router.get("/v1/subscriptions", summary="订阅者（邮箱脱敏） Subscriptions, addresses masked")
async def list_subscriptions(
    caller: Caller,
    h: H,
    status: Annotated[str | None, Query(pattern="^(pending|active|unsubscribed)$")] = None,
) -> dict[str, Any]:
    require_role(caller, *STAFF)
    rows = await h.views.fetch("SELECT * FROM sub_subscribers ORDER BY requested_at DESC")
    items = [
        _row(r)
        for r in rows
        if within_scope(caller, r["organ"]) and (status is None or r["status"] == status)
    ]
    counts: dict[str, int] = {}
    for item in items:
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    return {"items": items[:500], "counts": counts}


@router.get("/v1/subscriptions/{subscription_id}", summary="一个订阅（含邮箱，记录查阅）")
async def show_subscription(
    subscription_id: UUID, request: Request, caller: Caller, h: H
) -> dict[str, Any]:
    """The address in clear, for answering the subscriber; the read is recorded."""
    require_role(caller, *STAFF)
    row = await h.views.fetchrow(
        "SELECT * FROM sub_subscribers WHERE subscription_id = $1", str(subscription_id)
    )
    if row is None or not within_scope(caller, row["organ"]):
        raise NotFound(
            rule="subscription.not_found",
            field="subscription_id",
            message_zh="未找到该订阅",
            message_en="subscription not found",
        )
    await h.record_subscriber_read(
        _actor(caller),
        str(caller.org),
        [row["subscription_id"]],
        "GET /v1/subscriptions/{subscription_id}",
        correlation_id(request),
    )
    return _row(row, email=row["email"])


@router.get("/v1/subscriptions-deliveries", summary="邮件发送记录 Delivery records")
async def deliveries(
    caller: Caller,
    h: H,
    status: Annotated[str | None, Query(pattern="^(queued|retrying|delivered|dead)$")] = None,
) -> dict[str, Any]:
    require_role(caller, *STAFF)
    sql = (
        "SELECT d.*, s.organ FROM sub_deliveries d "
        "LEFT JOIN sub_subscribers s ON s.subscription_id = d.subscription_id"
    )
    rows = await h.views.fetch(sql + " ORDER BY d.queued_at DESC")
    items = [
        {
            k: r[k]
            for k in (
                "delivery_id",
                "subscription_id",
                "kind",
                "publication_key",
                "subject",
                "status",
                "attempts",
                "next_at",
                "last_error",
                "queued_at",
                "finished_at",
            )
        }
        for r in rows
        if (r["organ"] is None or within_scope(caller, r["organ"]))
        and (status is None or r["status"] == status)
    ]
    return {"items": items[:500]}


def _actor(caller: Principal) -> Actor:
    role = next((r.value for r in STAFF if r in caller.roles), None)
    return Actor(id=caller.sub, kind=caller.kind, role=role)


def routers() -> list[APIRouter]:
    return [public_api.router, router]
