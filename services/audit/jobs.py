"""Background job of the audit service: a chain checkpoint every N events or T minutes."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from services.audit import chain
from services.audit.handlers import AuditHandlers
from shared.service import Runtime, Suite

log = structlog.get_logger("gongkai.audit")


async def checkpoint_job(runtime: Runtime, suite: Suite, stop: asyncio.Event) -> None:
    """Take a checkpoint every N events or T minutes; runs where the API runs."""
    handlers: AuditHandlers = runtime.handlers
    await chain.setup_chain(runtime.views)
    while not stop.is_set():
        try:
            await handlers.checkpoint_if_due()
        except Exception as exc:  # a transient database error must not end the job
            log.warning("audit.checkpoint_failed", error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), handlers.poll_seconds)
