"""Where trained models live, and which one classifies now (the I/O beside learning.py).

Artefacts: the model file (JSON, never pickle) is stored in the table
`sentiment_model_artefacts` of the sentiment service's *event store* database — the SQLite
file `var/sentiment/events.db` in embedded mode, the `sentiment` schema of PostgreSQL in
distributed mode — keyed by model id, with its sha256 (also in `ModelRegistered`). Every
process of the service opens that database already (the API, the worker, the CLI), it is
backed up with the log, and a projection rebuild never drops it (it is not a read model: a
model cannot be rebuilt from events). A 5 MB JSON is too big for a Kafka event.

`ModelBook` answers "which model is live, which is in shadow" from the register's stream
(`sentiment-classifier-<id>`), re-read whenever its version moves: a promotion appended by any
process is picked up by the next message any API process classifies, with no restart.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from services.sentiment.classifier import AnyTopicModel, Classifier, model_from_json
from services.sentiment.events import registry
from services.sentiment.learning import (
    CLASSIFIER_ID,
    ClassifierState,
    evolve_classifier,
)
from shared.db import Database
from shared.eventstore import EventStore

ARTEFACTS = "sentiment_model_artefacts"
ARTEFACT_SCHEMA = (
    f"""CREATE TABLE IF NOT EXISTS {ARTEFACTS} (
        model_id TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        body TEXT NOT NULL,
        stored_at TEXT NOT NULL
    )""",
)
CLASSIFIER_STREAM = f"sentiment-classifier-{CLASSIFIER_ID}"


def artefact_location(model_id: str) -> str:
    return f"db:sentiment/{ARTEFACTS}/{model_id}"


async def save_artefact(db: Database, model_id: str, body: bytes) -> tuple[str, str, int]:
    """Store the model file (once per id); its location, sha256 and size."""
    await db.execute_script(ARTEFACT_SCHEMA)
    digest = hashlib.sha256(body).hexdigest()
    await db.execute(
        f"""INSERT INTO {ARTEFACTS} (model_id, sha256, bytes, body, stored_at)
            VALUES ($1, $2, $3, $4, $5) ON CONFLICT (model_id) DO NOTHING""",
        model_id,
        digest,
        len(body),
        body.decode(),
        datetime.now(UTC).isoformat(),
    )
    return artefact_location(model_id), digest, len(body)


async def load_artefact(db: Database, model_id: str, sha256: str | None = None) -> AnyTopicModel:
    """The stored model; refused if absent or if its bytes are not the registered ones."""
    await db.execute_script(ARTEFACT_SCHEMA)
    row = await db.fetchrow(f"SELECT sha256, body FROM {ARTEFACTS} WHERE model_id = $1", model_id)
    if row is None:
        raise LookupError(f"model {model_id} has no stored artefact")
    body = str(row["body"]).encode()
    digest = hashlib.sha256(body).hexdigest()
    if digest != row["sha256"] or (sha256 is not None and digest != sha256):
        raise ValueError(f"model {model_id}: the stored artefact's sha256 does not match")
    return model_from_json(orjson.loads(body))


@dataclass
class ModelBook:
    """The live model and the model in shadow, as the register's events say."""

    store: EventStore
    artefacts: Database
    views: Database
    startup: Classifier
    _version: int = -1
    _state: ClassifierState = field(default_factory=ClassifierState)
    _loaded: dict[str, Classifier] = field(default_factory=dict)

    @property
    def startup_model_id(self) -> str:
        return self.startup.topic_model.model_id

    async def state(self) -> ClassifierState:
        version = await self.store.stream_version(CLASSIFIER_STREAM)
        if version != self._version:
            state = ClassifierState()
            for event in await self.store.read_stream(CLASSIFIER_STREAM):
                state = evolve_classifier(state, registry.decode(event))
            self._state, self._version = state, version
        return self._state

    async def _classifier(self, model_id: str | None) -> Classifier:
        if model_id is None:
            return self.startup
        if model_id not in self._loaded:
            entry = self._state.models[model_id]
            model = await load_artefact(self.artefacts, model_id, entry.artefact_sha256)
            self._loaded[model_id] = Classifier(model)
        return self._loaded[model_id]

    async def live(self) -> Classifier:
        state = await self.state()
        return await self._classifier(state.live)

    async def live_model_id(self) -> str:
        state = await self.state()
        return state.live or self.startup_model_id

    async def shadow(self) -> Classifier | None:
        """The model in shadow while fewer than its N answers are recorded (read model)."""
        state = await self.state()
        if state.shadow is None:
            return None
        answers = await shadow_answers(self.views, state.shadow)
        if answers >= state.shadow_messages:
            return None
        return await self._classifier(state.shadow)


async def shadow_answers(views: Database, model_id: str) -> int:
    value: Any = await views.fetchval(
        "SELECT COUNT(*) FROM sent_model_shadow WHERE model_id = $1", model_id
    )
    return int(value or 0)
