"""Which event loop each process runs (decision 159): `serve portal`, the process that takes
public traffic, runs libuv's (uvloop); every other `serve`, every `worker` and `gongkai run`
name asyncio's, which aiokafka, asyncpg and faust are tested on. The processes themselves run
in the e2e suites; here, what `gongkai` hands uvicorn."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
import uvicorn

from gongkai import cli


@pytest.fixture
def handed(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    monkeypatch.setenv("GONGKAI_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("GONGKAI_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("GONGKAI_TOKEN_SECRET", "x" * 32)
    return calls


@pytest.mark.parametrize(
    ("service", "role", "loop"),
    [
        ("portal", "serve", "uvloop"),
        ("catalog", "serve", "asyncio"),
        ("sentiment", "serve", "asyncio"),
        ("sentiment", "worker", "asyncio"),
    ],
)
def test_only_the_portal_s_own_process_runs_libuv_s_loop(
    handed: list[dict[str, Any]], service: str, role: str, loop: str
) -> None:
    args = argparse.Namespace(service=service, port=18999)
    assert cli._serve(args, role) == 0
    assert handed[-1]["loop"] == loop


def test_uvloop_is_installed_for_it() -> None:
    import uvloop

    loop = uvloop.new_event_loop()
    try:
        assert loop.run_until_complete(_answer()) == 42
    finally:
        loop.close()


async def _answer() -> int:
    return 42
