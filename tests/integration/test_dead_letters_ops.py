"""Parked events for operators: `/v1/ops/dead-letters` and `gongkai dead-letters` (embedded).

Rule (docs/operations.md "A projection parked events"): a district administrator lists,
inspects, re-drives and discards a projection's parked events; every re-drive and
discard is an event in the platform store (who, what, why), which the audit chain
records; auditors may look, and nobody else may act.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gongkai.app import create_app
from gongkai.cli import main
from shared.envelope import Actor, NewEvent, StreamWrite
from shared.eventstore import open_sqlite_store
from shared.identity import Role
from shared.settings import Settings
from tests import accounts

pytestmark = pytest.mark.integration

SECRET = "dead-letters-" + "x" * 40
LEDGER = "applications.request_ledger"
STREAM = "request-00000000-0000-7000-8000-000000000001"


#: Who calls: (sub, org, roles). Their accounts are provisioned in each test's suite.
CALLERS = {
    "ADMIN": ("wu-admin", "shangdang", (Role.ADMINISTRATOR,)),
    "AUDITOR": ("zhou-audit", "shangdang", (Role.AUDITOR,)),
    "TOWNSHIP_ADMIN": ("sun-admin", "shangdang/sudian", (Role.ADMINISTRATOR,)),
}
ADMIN, AUDITOR, TOWNSHIP_ADMIN = "ADMIN", "AUDITOR", "TOWNSHIP_ADMIN"


class Authorized:
    """A TestClient whose `headers=<caller name>` become that caller's bearer token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.tokens: dict[str, dict[str, str]] = {}

    def _headers(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        who = kwargs.get("headers")
        if isinstance(who, str):
            if who not in self.tokens:
                sub, org, roles = CALLERS[who]
                token = accounts.token(self.client, SECRET, sub, org, *roles)
                self.tokens[who] = {"Authorization": f"Bearer {token}"}
            kwargs["headers"] = self.tokens[who]
        return kwargs

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self.client.get(*args, **self._headers(kwargs))

    def post(self, *args: Any, **kwargs: Any) -> Any:
        return self.client.post(*args, **self._headers(kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def poison() -> StreamWrite:
    """A request registration whose payload the ledger cannot read (no fields at all)."""
    event = NewEvent(
        type="RequestRegistered",
        tenant="shangdang/sudian",
        actor=Actor(id="li-guifang", role="request_handler"),
        payload={},
    )
    return StreamWrite(stream_id=STREAM, stream_type="request", events=(event,))


@pytest.fixture
def var(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def client(var: Path) -> Iterator[TestClient]:
    settings = Settings(var_dir=var, token_secret=SECRET, log_level="warning")
    app = create_app(settings)  # every service, embedded
    with TestClient(app) as client:
        store = app.state.suite.runtimes["applications"].store
        client.portal.call(store.append, [poison()])
        yield Authorized(client)  # type: ignore[misc]


def parked(client: TestClient) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        found = client.get("/v1/ops/dead-letters", headers=AUDITOR).json()
        if found or time.monotonic() > deadline:
            return list(found)
        time.sleep(0.05)


def test_an_administrator_inspects_retries_and_discards_and_each_action_is_recorded(
    client: TestClient,
) -> None:
    [row] = parked(client)
    assert (row["service"], row["consumer"], row["stream_id"], row["parked"]) == (
        "applications",
        LEDGER,
        STREAM,
        1,
    )
    metrics = client.get("/metrics").text
    assert f'gongkai_parked_events{{consumer="{LEDGER}",service="applications"}} 1.0' in metrics
    shown = client.get(f"/v1/ops/dead-letters/{LEDGER}/{STREAM}", headers=AUDITOR).json()
    assert [e["event_type"] for e in shown["events"]] == ["RequestRegistered"]

    # Acting is the district administrator's: an auditor and a township's administrator not.
    assert client.post(f"/v1/ops/dead-letters/{LEDGER}/{STREAM}/retry", headers=AUDITOR).json()[
        "rule"
    ] == ("auditor.read_only")
    refused = client.post(f"/v1/ops/dead-letters/{LEDGER}/{STREAM}/retry", headers=TOWNSHIP_ADMIN)
    assert (refused.status_code, refused.json()["rule"]) == (403, "org.outside_subtree")

    # The ledger still cannot read it: parked again, and the retry is recorded.
    retried = client.post(f"/v1/ops/dead-letters/{LEDGER}/{STREAM}/retry", headers=ADMIN)
    assert retried.status_code == 200
    assert retried.json()["applied"] == [] and len(retried.json()["still_parked"]) == 1

    no_reason = client.post(
        f"/v1/ops/dead-letters/{LEDGER}/{STREAM}/discard", headers=ADMIN, json={"reason": ""}
    )
    assert no_reason.status_code == 422
    assert len(parked(client)) == 1  # a refused discard removes nothing
    discarded = client.post(
        f"/v1/ops/dead-letters/{LEDGER}/{STREAM}/discard",
        headers=ADMIN,
        json={"reason": "测试数据，已在事件库中更正"},
    )
    assert discarded.status_code == 200, discarded.text
    assert client.get("/v1/ops/dead-letters", headers=ADMIN).json() == []

    platform = client.app.state.suite.runtimes["platform"].store  # type: ignore[attr-defined]
    recorded = client.portal.call(platform.read_all, 0, 100)
    actions = [e for e in recorded if e.type.startswith("ParkedEvents")]
    assert [(e.type, e.actor.id, e.actor.role) for e in actions] == [
        ("ParkedEventsRetried", "wu-admin", "administrator"),
        ("ParkedEventsDiscarded", "wu-admin", "administrator"),
    ]
    assert actions[1].payload["reason"] == "测试数据，已在事件库中更正"
    assert actions[1].payload["event_ids"] == retried.json()["still_parked"]


def test_the_cli_lists_and_discards_against_the_local_stores(
    client: TestClient, var: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    parked(client)
    monkeypatch.setenv("GONGKAI_VAR_DIR", str(var))
    monkeypatch.delenv("GONGKAI_DATABASE_URL", raising=False)
    assert main(["dead-letters", "list"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["consumer"], row["stream_id"]) == (LEDGER, STREAM)
    assert main(["dead-letters", "retry", LEDGER, STREAM]) == 1  # still failing: exit 1
    capsys.readouterr()
    assert main(["dead-letters", "discard", LEDGER, STREAM, "--reason", "forged in a test"]) == 0
    assert json.loads(capsys.readouterr().out)["reason"] == "forged in a test"
    assert main(["dead-letters", "list"]) == 0
    assert json.loads(capsys.readouterr().out) == []

    async def recorded() -> list[str]:
        store = await open_sqlite_store(str(var / "platform" / "events.db"), name="platform")
        try:
            return [e.type for e in await store.read_all(0, 100)]
        finally:
            await store.close()

    assert asyncio.run(recorded()) == ["ParkedEventsRetried", "ParkedEventsDiscarded"]
