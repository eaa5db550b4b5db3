"""工作台 as a service of the suite: pages only, no events of its own.

It records nothing itself: every change is a command of another service, sent through that
service's public API on behalf of the signed-in person, so the events (and their audit) are
that service's. Its registry is empty; contracts/ lists its (empty) topic like any other.
"""

from __future__ import annotations

from typing import Any

from services.workbench import (
    audit,
    bulletin,
    enforcement,
    interpret,
    online,
    opinion,
    opinion_message,
    review,
    review_draft,
    scores,
)
from services.workbench.pages import Workbench
from services.workbench.routes import routers
from services.workbench.websessions import WebSessions
from shared.registry import EventRegistry
from shared.service import ServiceDefinition

registry = EventRegistry(service="workbench")


def _handlers(runtime: Any, suite: Any) -> Workbench:
    return Workbench(
        urls=dict(suite.settings.service_urls),
        orgs=suite.orgs,
        calendar=suite.calendar,
        clock=suite.clock,
        sessions=WebSessions(runtime.views),
        book=suite.accounts,
        secret=suite.settings.resolved_token_secret(),
    )


SERVICE = ServiceDefinition(
    name="workbench",
    registry=registry,
    routers=lambda: [
        *routers(),
        bulletin.router,
        enforcement.router,
        online.router,
        opinion.router,
        opinion_message.router,
        scores.router,
        audit.router,
        review_draft.router,  # before review.router: /review/new is not a document id
        review.router,
        interpret.router,
    ],
    build_handlers=_handlers,
    calls=(
        "accounts",
        "applications",
        "platform",
        "catalog",
        "enforcement",
        "interpretation",
        "sentiment",
        "assessment",
        "audit",
    ),
)
