"""主动公开目录发布 as a service of the suite."""

from __future__ import annotations

from services.catalog.api import routers
from services.catalog.column_checks import column_check_job
from services.catalog.events import registry
from services.catalog.gazette_views import GazetteIssues
from services.catalog.handlers import DOCUMENT_COMMANDS, CatalogHandlers
from services.catalog.interpretations import PublishedInterpretations
from services.catalog.jobs import deadline_job
from services.catalog.projections import DocumentLedger, PublicCatalog
from services.catalog.submission_api import routers as submission_routers
from services.catalog.submission_handlers import SUBMISSION_COMMANDS
from services.catalog.submission_views import SubmissionLedger
from shared.service import Runtime, ServiceDefinition, Suite


def _handlers(runtime: Runtime, suite: Suite) -> CatalogHandlers:
    return CatalogHandlers(
        store=runtime.store, orgs=suite.orgs, calendar=suite.calendar, clock=suite.clock
    )


SERVICE = ServiceDefinition(
    name="catalog",
    registry=registry,
    projections=lambda: [
        DocumentLedger(),
        PublicCatalog(),
        GazetteIssues(),
        PublishedInterpretations(),
        SubmissionLedger(),
    ],
    commands=(DOCUMENT_COMMANDS, SUBMISSION_COMMANDS),
    routers=lambda: [*routers(), *submission_routers()],
    build_handlers=_handlers,
    background=(deadline_job, column_check_job),
)
