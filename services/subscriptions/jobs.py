"""The subscriptions job (a ServiceDefinition background job), with injectable time.

Each tick, `now` from the clock:
1. dispatch: every fresh publication not yet dispatched becomes one NoticeQueued per
   matching confirmed subscription, and a PublicationDispatched, in one append;
2. deliver (only with a mailer): every message due (queued, or its retry time reached) is
   sent once; the outcome is appended with the delivery stream's version, so a stale read
   model or a second process never records an attempt twice. A mail server that is down
   costs one failed attempt per message and tick, with the doubling delay between them
   (domain.retry_delay); the messages wait in the store, none is lost;
3. rank: on the first tick an hour into a month, 最受欢迎专栏 of the month before (once).
Each message is isolated (shared/jobs.py ItemFailures).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import datetime, timedelta
from uuid import UUID

import structlog

from services.subscriptions.handlers import SubscriptionHandlers
from shared.jobs import ItemFailures
from shared.service import Runtime, Suite
from shared.workdays import local_date

log = structlog.get_logger("gongkai.subscriptions.job")
JOB = "subscriptions-delivery"


async def tick(
    h: SubscriptionHandlers, now: datetime, failures: ItemFailures | None = None
) -> dict[str, int]:
    failures = failures or ItemFailures(JOB)
    queued = await h.dispatch(now)
    outcome = {"queued": len(queued), "delivered": 0, "retrying": 0, "dead": 0}
    if h.mailer is not None:
        # The messages just queued, and those the read model knows to be due (a message
        # in both is tried once: its stream's version is checked on append).
        due = list(dict.fromkeys([*queued, *await h.due_deliveries(now)]))
        for delivery_id in due:

            async def one(delivery_id: UUID = delivery_id) -> str:
                return await h.deliver(delivery_id, now)

            result = await failures.run_async(f"delivery-{delivery_id}", one)
            if result in outcome:
                outcome[result] += 1
    # An hour into the month, so the last views of the month before were flushed.
    ranked = await h.rank_month(local_date(now - timedelta(hours=1)))
    if ranked is not None:
        log.info("popularity.ranked", period=ranked.period, columns=len(ranked.ranking))
    return outcome


async def run_job(runtime: Runtime, suite: Suite, stop: asyncio.Event) -> None:
    interval = float(os.environ.get("GONGKAI_SUBSCRIPTIONS_JOB_SECONDS", "2"))
    failures = ItemFailures(JOB)
    while not stop.is_set():
        try:
            done = await tick(runtime.handlers, suite.clock(), failures)
            if any(done.values()):
                log.info("subscriptions.tick", **done)
        except Exception as exc:  # keep the job alive (e.g. tables not created yet)
            log.warning("subscriptions.tick_failed", error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
