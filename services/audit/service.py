"""The audit service (审计): a complete, tamper-evident log of every event of the suite."""

from __future__ import annotations

import os
from typing import Any

from services.audit.api import build_router
from services.audit.chain import ChainRecorder
from services.audit.cli import add_commands
from services.audit.events import registry
from services.audit.handlers import AuditHandlers, checkpoint_job
from shared.service import ServiceDefinition


def _recorders() -> list[ChainRecorder]:
    """One chain recorder per service, this one included (its checkpoints are chained too).

    Discovered when called (not at import): services/audit/service.py is itself imported
    by discovery.
    """
    from shared.service import discover

    return [ChainRecorder(name) for name in discover()]


def _handlers(runtime: Any, suite: Any) -> AuditHandlers:
    return AuditHandlers(
        store=runtime.store,
        views=runtime.views,
        clock=suite.clock,
        district=str(suite.orgs.district.path),
        checkpoint_every=int(os.environ.get("GONGKAI_AUDIT_CHECKPOINT_EVERY", "1000")),
        checkpoint_minutes=float(os.environ.get("GONGKAI_AUDIT_CHECKPOINT_MINUTES", "60")),
        poll_seconds=float(os.environ.get("GONGKAI_AUDIT_CHECKPOINT_POLL", "5")),
    )


SERVICE = ServiceDefinition(
    name="audit",
    registry=registry,
    projections=_recorders,
    build_router=build_router,
    build_handlers=_handlers,
    background=(checkpoint_job,),
    add_commands=add_commands,
)
