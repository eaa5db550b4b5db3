"""The audit service (审计): a complete, tamper-evident log of every event of the suite.

No command table: its two commands act on no instance the kernel could load (handlers.py).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.audit.api import routers
from services.audit.chain import ChainRecorder
from services.audit.cli import add_commands
from services.audit.events import registry
from services.audit.handlers import AuditHandlers
from services.audit.jobs import checkpoint_job
from shared.service import Runtime, ServiceDefinition, Suite


def _recorders() -> list[ChainRecorder]:
    """One chain recorder per service, this one included (its checkpoints are chained too).

    Discovered when called (not at import): services/audit/service.py is itself imported
    by discovery.
    """
    from shared.service import discover

    return [ChainRecorder(name) for name in discover()]


def _handlers(runtime: Runtime, suite: Suite) -> AuditHandlers:
    return AuditHandlers(
        store=runtime.store,
        views=runtime.views,
        clock=suite.clock,
        district=str(suite.orgs.district.path),
        **AuditSettings().model_dump(),
    )


class AuditSettings(BaseSettings):
    """The checkpoint job's rhythm (docs/operations.md), read when the suite starts."""

    model_config = SettingsConfigDict(env_prefix="GONGKAI_AUDIT_", extra="ignore")

    checkpoint_every: int = Field(default=1000, gt=0, description="chained events")
    checkpoint_minutes: float = Field(default=60.0, gt=0)
    poll_seconds: float = Field(default=5.0, gt=0, validation_alias="GONGKAI_AUDIT_CHECKPOINT_POLL")


SERVICE = ServiceDefinition(
    name="audit",
    registry=registry,
    projections=_recorders,
    routers=routers,
    build_handlers=_handlers,
    background=(checkpoint_job,),
    add_commands=add_commands,
)
