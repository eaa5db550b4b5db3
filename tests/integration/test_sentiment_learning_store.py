"""The learning loop's storage on real stores (SQLite and PostgreSQL), in process (issue #19):
corrections through the command spine, `train_from_events` (artefact in the store's
database, `ModelRegistered` appended), the register's commands, and the model book that the
classifying process reads — the next message names the promoted model, then the start-up one
after a rollback. The process-level loop in both modes is tests/e2e/test_sentiment_learning.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from services.sentiment.classifier import default_classifier
from services.sentiment.commands import (
    CorrectClassification,
    PromoteModel,
    ReceiveMessage,
    RollBackModel,
    StartShadow,
)
from services.sentiment.handlers import MESSAGE_COMMANDS, MODEL_COMMANDS, SentimentHandlers
from services.sentiment.learning import CLASSIFIER_ID
from services.sentiment.model_store import ARTEFACTS, ModelBook, load_artefact
from services.sentiment.projections import ModelLedger, OpinionLedger
from services.sentiment.retrain import train_from_events
from shared.commands import execute
from shared.db import Database, SqliteDatabase
from shared.envelope import Actor, new_id
from shared.envelope import utcnow as now
from shared.errors import ValidationFailed
from shared.eventstore import SqlEventStore, open_postgres_store, open_sqlite_store
from shared.identity import Principal, Role
from shared.projections import ProjectionRunner
from shared.tenancy import load_org_tree
from shared.workdays import WorkdayCalendar

ORGS = load_org_tree(Path(__file__).parents[2] / "deploy" / "demo" / "district.yaml")
OFFICER = Principal(sub="liu-yang", org="shangdang/sudian", roles=frozenset({Role.OPINION_OFFICER}))
OPERATOR = Principal(sub="ops", org="shangdang", roles=frozenset({Role.ADMINISTRATOR}))
SAMPLE = [
    ("工地夜间施工噪音扰民", "城乡建设"),
    ("小区物业乱收停车费", "城乡建设"),
    ("化工厂夜里偷排废水河道发臭", "环境保护"),
    ("养猪场臭味熏天污水横流", "环境保护"),
    ("公交车长期晚点班次太少", "交通运输"),
    ("路口红绿灯坏了没人修", "交通运输"),
]


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[SqlEventStore, Database]]:
    if request.param == "sqlite":
        store = await open_sqlite_store(str(tmp_path / "events.db"), name="sentiment")
        views: Database = await SqliteDatabase.open(tmp_path / "views.db")
    else:
        schema = request.getfixturevalue("pg_schema")
        store = await open_postgres_store(request.getfixturevalue("pg_url"), schema=schema)
        views = store.db
    yield store, views
    if views is not store.db:
        await views.close()
    await store.close()


async def test_corrections_train_register_shadow_promote_and_roll_back(
    backend: tuple[SqlEventStore, Database],
) -> None:
    store, views = backend
    startup = default_classifier()
    book = ModelBook(store=store, artefacts=store.db, views=views, startup=startup)
    handlers = SentimentHandlers(
        store=store,
        views=views,
        orgs=ORGS,
        calendar=WorkdayCalendar.default,
        clock=now,
        classifier=startup,
        models=book,
    )
    deps = SimpleNamespace(
        store=store,
        views=views,
        orgs=ORGS,
        clock=now,
        calendar=WorkdayCalendar.default,
        handlers=handlers,
    )
    runners = [ProjectionRunner(p, store, views) for p in (OpinionLedger(), ModelLedger())]
    for runner in runners:
        await runner.setup()

    async def project() -> None:
        for runner in runners:
            await runner.run_once()

    async def receive(text: str) -> dict[str, Any]:
        cmd = ReceiveMessage.model_validate({"source": "mailbox", "text": text})
        return await handlers.receive(cmd, OFFICER, new_id())

    sent = [await receive(f"公交线路{i}号车长期不按站停靠，公交班次太少") for i in range(4)]
    for body in sent:
        target = "环境保护" if body["classification"]["category"] != "环境保护" else "城乡建设"
        await execute(
            deps,
            MESSAGE_COMMANDS,
            "correct-classification",
            body["message_id"],
            CorrectClassification(category=target),
            OFFICER,
            new_id(),
        )
    # The latest correction of a message wins; a no-op writes nothing.
    await execute(
        deps,
        MESSAGE_COMMANDS,
        "correct-classification",
        sent[0]["message_id"],
        CorrectClassification(category="交通运输", polarity="negative"),
        OFFICER,
        new_id(),
    )
    head = await store.head_position()
    with pytest.raises(ValidationFailed):
        await execute(
            deps,
            MESSAGE_COMMANDS,
            "correct-classification",
            sent[0]["message_id"],
            CorrectClassification(category="交通运输"),
            OFFICER,
            new_id(),
        )
    assert await store.head_position() == head

    actor = Actor(id="trainer", kind="user", role="administrator")
    result = await train_from_events(
        store, store.db, book, SAMPLE, None, "test sample", "shangdang", actor, 0.5
    )
    assert result.registered and result.event.training.corrections == 4
    model_id = result.event.model_id
    # The artefact is where the event says, and its hash is checked on load.
    loaded = await load_artefact(store.db, model_id, result.event.artefact_sha256)
    assert loaded.model_id == model_id
    with pytest.raises(ValueError):
        await load_artefact(store.db, model_id, "0" * 64)
    again = await train_from_events(
        store, store.db, book, SAMPLE, None, "test sample", "shangdang", actor, 0.5
    )
    assert not again.registered  # the same content: the same model, registered once

    async def command(name: str, cmd: Any) -> None:
        await execute(deps, MODEL_COMMANDS, name, CLASSIFIER_ID, cmd, OPERATOR, new_id())

    await command("shadow", StartShadow(model_id=model_id, messages=1))
    shadowed = await receive("路灯坏了一个月没人修")
    assert shadowed["classification"]["model_id"] == startup.topic_model.model_id
    count = await views.fetchval(
        "SELECT COUNT(*) FROM sent_model_shadow WHERE model_id = $1", model_id
    )
    assert int(count) == 1
    await command("promote", PromoteModel(model_id=model_id))
    promoted = await receive("公交站台被拆")
    assert promoted["classification"]["model_id"] == model_id
    await project()
    row = await views.fetchrow("SELECT status FROM sent_models WHERE model_id = $1", model_id)
    assert row is not None and row["status"] == "live"
    corrected = await views.fetchrow(
        "SELECT category, corrections FROM sent_message_corrections WHERE message_id = $1",
        sent[0]["message_id"],
    )
    assert corrected is not None and (corrected["category"], corrected["corrections"]) == (
        "交通运输",
        2,
    )
    await command("rollback", RollBackModel(model_id=model_id, reason="test"))
    back = await receive("公交车票价太贵")
    assert back["classification"]["model_id"] == startup.topic_model.model_id
    stored = await store.db.fetchval(f"SELECT COUNT(*) FROM {ARTEFACTS}")
    assert int(stored) == 1
