"""舆情回应 / 政民互动 as a service of the suite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.sentiment.api import routers
from services.sentiment.classifier import Classifier, default_classifier, load_model
from services.sentiment.cli import add_commands
from services.sentiment.events import registry
from services.sentiment.handlers import (
    CASE_COMMANDS,
    MESSAGE_COMMANDS,
    MODEL_COMMANDS,
    SentimentHandlers,
)
from services.sentiment.jobs import escalation_job, hotspot_job
from services.sentiment.model_store import ModelBook
from services.sentiment.policies import PolicyCatalog, PolicyLinks
from services.sentiment.projections import ModelLedger, OpinionLedger
from shared.service import Runtime, ServiceDefinition, Suite

#: A district's own trained model, if deployed (`gongkai sentiment train --out <this>`).
MODEL_FILE = Path("sentiment") / "model.json"


def startup_classifier(settings: Any) -> Classifier:
    """The model a process starts with, until the register names a promoted one: the
    district's file under var/, else the shipped model."""
    if settings is not None:
        path = Path(settings.var_dir) / MODEL_FILE
        if path.exists():
            return Classifier(load_model(path))
    return default_classifier()


def _classifier(suite: Suite) -> Classifier:
    return startup_classifier(getattr(suite, "settings", None))


def hotspot_processor(runtime: Runtime, suite: Suite) -> Any:
    """The hotspot agent (stream.py); faust is imported by the worker that runs it, not by
    every process that knows the service."""
    from services.sentiment.stream import hotspot_processor as build

    return build(runtime, suite)


def _handlers(runtime: Runtime, suite: Suite) -> SentimentHandlers:
    startup = _classifier(suite)
    models = ModelBook(
        store=runtime.store,
        artefacts=getattr(runtime.store, "db", runtime.views),
        views=runtime.views,
        startup=startup,
    )
    return SentimentHandlers(
        store=runtime.store,
        views=runtime.views,
        orgs=suite.orgs,
        calendar=suite.calendar,
        clock=suite.clock,
        classifier=startup,
        models=models,
    )


SERVICE = ServiceDefinition(
    name="sentiment",
    registry=registry,
    projections=lambda: [OpinionLedger(), PolicyCatalog(), PolicyLinks(), ModelLedger()],
    commands=(CASE_COMMANDS, MESSAGE_COMMANDS, MODEL_COMMANDS),
    routers=routers,
    build_handlers=_handlers,
    background=(escalation_job, hotspot_job),
    stream_processors=(hotspot_processor,),
    add_commands=add_commands,
)
