"""依申请公开 as a service of the suite."""

from __future__ import annotations

from services.applications.annual_publication import run_job as annual_report_job
from services.applications.api import routers
from services.applications.cli import add_commands
from services.applications.enforcement_rows import EnforcementDecisions
from services.applications.events import registry
from services.applications.handlers import REQUEST_COMMANDS, ApplicationsHandlers
from services.applications.jobs import run_scheduler
from services.applications.projections import OnlineRequests, RequestLedger
from services.applications.publications import PublishedDocuments
from shared.service import Runtime, ServiceDefinition, Suite


def _handlers(runtime: Runtime, suite: Suite) -> ApplicationsHandlers:
    return ApplicationsHandlers(
        store=runtime.store,
        orgs=suite.orgs,
        calendar=suite.calendar,
        clock=suite.clock,
        views=runtime.views,
    )


SERVICE = ServiceDefinition(
    name="applications",
    registry=registry,
    projections=lambda: [
        RequestLedger(),
        PublishedDocuments(),
        EnforcementDecisions(),
        OnlineRequests(),
    ],
    commands=(REQUEST_COMMANDS,),
    routers=routers,
    build_handlers=_handlers,
    background=(run_scheduler, annual_report_job),
    add_commands=add_commands,
)
