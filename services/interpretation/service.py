"""政策解读 as a service of the suite.

Thresholds are read here, at composition (never in the domain), from the environment:
GONGKAI_INTERPRETATION_TARGET_DAYS (default 0: the same day as the policy),
GONGKAI_INTERPRETATION_LIMIT_DAYS (default 3 working days, at most 20),
GONGKAI_INTERPRETATION_FOLLOW_UP_DAYS (default 3: a follow-up stage's working days) and
GONGKAI_INTERPRETATION_MAX_CONTAINMENT (default 0.5), _NGRAM (6), _MIN_CHARS (300),
_MIN_PART_CHARS (40), _MIN_REASON_CHARS (4: a part waived as not applicable needs a reason).
"""

from __future__ import annotations

import os

from services.interpretation.api import routers
from services.interpretation.cli import add_commands
from services.interpretation.domain import DeadlineRules
from services.interpretation.events import registry
from services.interpretation.handlers import (
    INTERPRETATION_COMMANDS,
    OBLIGATION_COMMANDS,
    InterpretationHandlers,
)
from services.interpretation.jobs import run_scheduler
from services.interpretation.projections import (
    InterpretationLedger,
    MisreadingInbox,
    PolicyInbox,
)
from services.interpretation.qa_api import routers as qa_routers
from services.interpretation.qa_handlers import QA_COMMANDS
from services.interpretation.qa_projection import QaLedger
from services.interpretation.quality import QualityRules
from shared.service import Runtime, ServiceDefinition, Suite


def _env(name: str, default: str) -> str:
    return os.environ.get(f"GONGKAI_INTERPRETATION_{name}", default)


def rules_from_env() -> tuple[DeadlineRules, QualityRules]:
    deadlines = DeadlineRules(
        target_working_days=int(_env("TARGET_DAYS", "0")),
        limit_working_days=int(_env("LIMIT_DAYS", "3")),
        follow_up_working_days=int(_env("FOLLOW_UP_DAYS", "3")),
    )
    quality = QualityRules(
        ngram=int(_env("NGRAM", "6")),
        max_containment=float(_env("MAX_CONTAINMENT", "0.5")),
        min_explanatory_chars=int(_env("MIN_CHARS", "300")),
        min_part_chars=int(_env("MIN_PART_CHARS", "40")),
        min_part_reason_chars=int(_env("MIN_REASON_CHARS", "4")),
    )
    return deadlines, quality


def _handlers(runtime: Runtime, suite: Suite) -> InterpretationHandlers:
    deadlines, quality = rules_from_env()
    return InterpretationHandlers(
        store=runtime.store,
        orgs=suite.orgs,
        calendar=suite.calendar,
        clock=suite.clock,
        views=runtime.views,
        deadlines=deadlines,
        quality=quality,
    )


SERVICE = ServiceDefinition(
    name="interpretation",
    registry=registry,
    projections=lambda: [PolicyInbox(), InterpretationLedger(), MisreadingInbox(), QaLedger()],
    commands=(OBLIGATION_COMMANDS, INTERPRETATION_COMMANDS, QA_COMMANDS),
    routers=lambda: [*routers(), *qa_routers()],
    build_handlers=_handlers,
    background=(run_scheduler,),
    add_commands=add_commands,
)
