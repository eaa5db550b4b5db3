"""考核 as a service of the suite: schemes, real-time scoring, the task ledger."""

from __future__ import annotations

from services.assessment.api import routers
from services.assessment.cli import add_commands
from services.assessment.events import registry
from services.assessment.handlers import TABLES
from services.assessment.jobs import ensure_read_model, run_scheduler
from services.assessment.ledger_view import TaskLedger
from services.assessment.projections import Scoreboard
from services.assessment.study import TrainingRecord
from shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="assessment",
    registry=registry,
    projections=lambda: [Scoreboard(), TaskLedger(), TrainingRecord()],
    # Distributed scoring is a faust-streaming app over every service topic (issue #7).
    streamed=frozenset({Scoreboard.name}),
    commands=TABLES,
    routers=routers,
    # the scoreboard's sign-in page signs people in through the accounts API
    calls=("accounts",),
    background=(ensure_read_model, run_scheduler),
    add_commands=add_commands,
)
