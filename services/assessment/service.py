"""考核 as a service of the suite: schemes, real-time scoring, the task ledger."""

from __future__ import annotations

from typing import Any

from services.assessment.api import build_router
from services.assessment.cli import add_commands
from services.assessment.events import registry
from services.assessment.handlers import AssessmentHandlers
from services.assessment.jobs import ensure_read_model, run_scheduler
from services.assessment.ledger_view import TaskLedger
from services.assessment.projections import Scoreboard
from shared.service import ServiceDefinition


def _handlers(runtime: Any, suite: Any) -> AssessmentHandlers:
    return AssessmentHandlers(
        store=runtime.store, orgs=suite.orgs, clock=suite.clock, views=runtime.views
    )


SERVICE = ServiceDefinition(
    name="assessment",
    registry=registry,
    projections=lambda: [Scoreboard(), TaskLedger()],
    # Distributed scoring is a faust-streaming app over every service topic (issue #7).
    streamed=frozenset({Scoreboard.name}),
    build_router=build_router,
    build_handlers=_handlers,
    background=(ensure_read_model, run_scheduler),
    add_commands=add_commands,
)
