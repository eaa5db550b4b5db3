"""`gongkai sentiment train --from-events`: the public sample plus every correction in the log.

Reads the service's log whole (texts stay in this process: nothing is printed but counts,
labels and figures), trains the linear topic model on the sample and the corrections outside
the held-out split, evaluates it and the live model on the held-out corrections, stores the
model file (model_store.py) and appends `ModelRegistered` to the register's stream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson

from services.sentiment.classifier import LinearTopicModel, train_linear_topic_model
from services.sentiment.events import (
    ClassFigures,
    Evaluation,
    ModelRegistered,
    TrainingSet,
    registry,
)
from services.sentiment.learning import (
    CLASSIFIER_ID,
    Correction,
    content_id,
    corrections_from_log,
    held_out_split,
    register,
)
from services.sentiment.model_store import CLASSIFIER_STREAM, ModelBook, save_artefact
from services.sentiment.training import Evaluation as Figures
from services.sentiment.training import Sample, evaluate_model
from shared.db import Database
from shared.envelope import Actor, StreamWrite, new_id
from shared.eventstore import EventStore
from shared.registry import DomainEvent, to_new_event


@dataclass(frozen=True)
class Retrained:
    event: ModelRegistered
    evaluation: Figures | None
    baseline: Figures | None
    registered: bool


async def log_events(store: EventStore) -> list[DomainEvent]:
    """The service's own events, decoded, in log order."""
    found: list[DomainEvent] = []
    position = 0
    while batch := await store.read_all(position, 5000):
        for event in batch:
            if registry.knows(event.type):
                found.append(registry.decode(event))
        position = batch[-1].position
    return found


def figures(result: Figures) -> Evaluation:
    return Evaluation(
        rows=result.total,
        accuracy=round(result.accuracy, 4),
        macro_f1=round(result.macro_f1, 4),
        per_class=[
            ClassFigures(
                label=s.label,
                precision=round(s.precision, 4),
                recall=round(s.recall, 4),
                f1=round(s.f1, 4),
                support=s.support,
            )
            for s in result.per_class
        ],
        confusion=[(g, p, n) for g, p, n in result.confusion],
    )


def fit(
    sample: Sequence[Sample],
    corrections: Sequence[Correction],
    categories: Mapping[str, Sequence[str]] | None,
) -> LinearTopicModel:
    """The linear topic model on the sample plus the corrections, its id its content hash."""
    rows = [*sample, *((c.text, c.category) for c in corrections)]
    model = train_linear_topic_model(rows, categories=categories, model_id="pending")
    model.linear.model_id = content_id(model.to_json())
    model.linear.meta = {"sample_rows": len(sample), "corrections": len(corrections)}
    return model


async def train_from_events(
    store: EventStore,
    artefacts: Database,
    book: ModelBook,
    sample: Sequence[Sample],
    categories: Mapping[str, Sequence[str]] | None,
    description: str,
    tenant: str,
    actor: Actor,
    held_out_share: float = 0.3,
) -> Retrained:
    log = corrections_from_log(await log_events(store))
    train, test = held_out_split(log.categories, held_out_share)
    model = fit(sample, train, categories)
    held_out = [(c.text, c.category) for c in test]
    evaluation = evaluate_model(model, held_out) if held_out else None
    live = await book.live()
    baseline = evaluate_model(live.topic_model, held_out) if held_out else None
    body = orjson.dumps(model.to_json(), option=orjson.OPT_SORT_KEYS)
    location, digest, size = await save_artefact(artefacts, model.model_id, body)
    event = ModelRegistered(
        classifier_id=CLASSIFIER_ID,
        model_id=model.model_id,
        kind="linear",
        training=TrainingSet(
            description=description,
            sample_rows=len(sample),
            corrections=len(log.categories),
            corrections_train=len(train),
            corrections_held_out=len(test),
            polarity_corrections=log.polarity_corrections,
            classes=list(model.classes),
        ),
        evaluation=figures(evaluation) if evaluation else None,
        baseline=figures(baseline) if baseline else None,
        artefact=location,
        artefact_sha256=digest,
        artefact_bytes=size,
    )
    state = await book.state()
    if model.model_id in state.models:
        return Retrained(event, evaluation, baseline, registered=False)
    register(state, event)
    await store.append(
        [
            StreamWrite(
                stream_id=CLASSIFIER_STREAM,
                stream_type="sentiment-classifier",
                expected_version=state.version,
                events=(to_new_event(event, tenant, actor, new_id()),),
            )
        ]
    )
    return Retrained(event, evaluation, baseline, registered=True)
