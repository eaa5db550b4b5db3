"""行政执法公示 as a service of the suite (issue #23).

Thresholds are read here, at composition (never in the domain), from the environment:
GONGKAI_ENFORCEMENT_MAX_AGE_DAYS (default 1830: an older decision date is refused as a
typo), GONGKAI_ENFORCEMENT_PENALTY_VISIBLE_DAYS (default 365: a penalty's publication
period) and GONGKAI_ENFORCEMENT_MIN_VISIBLE_DAYS (default 90: the minimum before 信用修复).
The time limits of the law (7 / 20 working days to publish, 3 to withdraw) are not
settings: they are the law's (domain.py).
"""

from __future__ import annotations

import os

from services.enforcement.api import routers
from services.enforcement.cli import add_commands
from services.enforcement.domain import Rules
from services.enforcement.events import registry
from services.enforcement.handlers import DECISION_COMMANDS, EnforcementHandlers
from services.enforcement.jobs import run_scheduler
from services.enforcement.projections import DecisionLedger
from shared.service import Runtime, ServiceDefinition, Suite


def rules_from_env() -> Rules:
    def env(name: str, default: int) -> int:
        return int(os.environ.get(f"GONGKAI_ENFORCEMENT_{name}", str(default)))

    defaults = Rules()
    return Rules(
        max_age_days=env("MAX_AGE_DAYS", defaults.max_age_days),
        penalty_visible_days=env("PENALTY_VISIBLE_DAYS", defaults.penalty_visible_days),
        min_visible_days=env("MIN_VISIBLE_DAYS", defaults.min_visible_days),
    )


def _handlers(runtime: Runtime, suite: Suite) -> EnforcementHandlers:
    return EnforcementHandlers(
        store=runtime.store,
        orgs=suite.orgs,
        calendar=suite.calendar,
        clock=suite.clock,
        views=runtime.views,
        rules=rules_from_env(),
    )


SERVICE = ServiceDefinition(
    name="enforcement",
    registry=registry,
    projections=lambda: [DecisionLedger()],
    commands=(DECISION_COMMANDS,),
    routers=routers,
    build_handlers=_handlers,
    background=(run_scheduler,),
    add_commands=add_commands,
)
