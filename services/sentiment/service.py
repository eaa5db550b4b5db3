"""舆情回应 / 政民互动 as a service of the suite."""

from __future__ import annotations

from pathlib import Path

from services.sentiment.api import routers
from services.sentiment.classifier import Classifier, default_classifier, load_model
from services.sentiment.cli import add_commands
from services.sentiment.events import registry
from services.sentiment.handlers import CASE_COMMANDS, SentimentHandlers
from services.sentiment.jobs import escalation_job, hotspot_job
from services.sentiment.policies import PolicyCatalog, PolicyLinks
from services.sentiment.projections import OpinionLedger
from services.sentiment.stream import hotspot_processor
from shared.service import Runtime, ServiceDefinition, Suite

#: A district's own trained model, if deployed (`gongkai sentiment train --out <this>`).
MODEL_FILE = Path("sentiment") / "model.json"


def _classifier(suite: Suite) -> Classifier:
    settings = getattr(suite, "settings", None)
    if settings is not None:
        path = Path(settings.var_dir) / MODEL_FILE
        if path.exists():
            return Classifier(load_model(path))
    return default_classifier()


def _handlers(runtime: Runtime, suite: Suite) -> SentimentHandlers:
    return SentimentHandlers(
        store=runtime.store,
        views=runtime.views,
        orgs=suite.orgs,
        calendar=suite.calendar,
        clock=suite.clock,
        classifier=_classifier(suite),
    )


SERVICE = ServiceDefinition(
    name="sentiment",
    registry=registry,
    projections=lambda: [OpinionLedger(), PolicyCatalog(), PolicyLinks()],
    commands=(CASE_COMMANDS,),
    routers=routers,
    build_handlers=_handlers,
    background=(escalation_job, hotspot_job),
    stream_processors=(hotspot_processor,),
    add_commands=add_commands,
)
