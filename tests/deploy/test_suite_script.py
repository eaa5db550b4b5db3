"""`make up` / `make down` (deploy/suite.sh) as a new user runs them, on ports of its own.

The shared Kafka and PostgreSQL are never touched: this test gives deploy/suite.sh its own
broker and server ports (Kafka 27092/27093, PostgreSQL 27432, services from 27100: below
the ephemeral range, so no client socket takes them; GONGKAI_SUITE_TEST_* to override)
and state directories, and
checks that `up` starts every process the code defines, waits for each /ready, prints the
addresses and tokens, loads the demo district once, is idempotent, and that `down` stops
everything it started.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.deploy.common import REPO, units

#: Real servers of their own (not the shared ones): counted by `pytest -m kafka` / `-m postgres`.
pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

SCRIPT = REPO / "deploy" / "suite.sh"


def _env(state: Path) -> dict[str, str]:
    pg_port = os.environ.get("GONGKAI_SUITE_TEST_PG_PORT", "27432")
    return {
        **os.environ,
        "GONGKAI_KAFKA_PORT": os.environ.get("GONGKAI_SUITE_TEST_KAFKA_PORT", "27092"),
        "GONGKAI_KAFKA_CONTROLLER_PORT": os.environ.get(
            "GONGKAI_SUITE_TEST_CONTROLLER_PORT", "27093"
        ),
        "GONGKAI_PG_PORT": pg_port,
        "GONGKAI_PG_DIR": f"/tmp/gongkai-suite-test-pg-{pg_port}",
        "GONGKAI_PG_FAST": "1",
        "GONGKAI_INFRA_DIR": str(state / "infra"),
        "GONGKAI_SUITE_DIR": str(state / "suite"),
        "GONGKAI_SUITE_BASE_PORT": os.environ.get("GONGKAI_SUITE_TEST_BASE_PORT", "27100"),
        "GONGKAI_TOPIC_PREFIX": "suite-test",
    }


def _run(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=400
    )


def _listed_requests(api: str, token: str, want: int = 3, timeout: float = 30) -> list[object]:
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(
            api + "/v1/requests", headers={"Authorization": f"Bearer {token}"}, timeout=5
        ).json()
        # until the process's account book has the demo accounts, the token is refused (401)
        items = answer.get("items", [])
        if len(items) >= want or time.monotonic() > deadline:
            return list(items)
        time.sleep(0.3)


def test_make_up_starts_every_service_process_and_make_down_stops_them() -> None:
    state = REPO / "var" / "suite-test"
    shutil.rmtree(state, ignore_errors=True)
    env = _env(state)
    listed: dict[str, str] = {}
    try:
        up = _run("up", env)
        assert up.returncode == 0, up.stderr[-4000:]
        listed = dict(
            re.findall(r"^  ((?:serve|worker)-\w+)\s+(http://127\.0\.0\.1:\d+)", up.stdout, re.M)
        )
        assert set(listed) == {f"{role}-{service}" for role, service in units()}
        for url in listed.values():
            assert httpx.get(url + "/ready", timeout=5).status_code == 200
        tokens = re.findall(r"^      (eyJ[\w.-]+)$", up.stdout, re.M)
        assert len(tokens) >= 4
        assert "demo district" in up.stderr and (state / "suite" / "demo.loaded").exists()

        # The demo district's requests reach the read model through Kafka (handler 王铁童).
        assert len(_listed_requests(listed["serve-applications"], tokens[0])) == 3

        pids = {p.name: p.read_text() for p in (state / "suite").glob("*.pid")}
        again = _run("up", env)  # idempotent: nothing restarted, the demo not loaded twice
        assert again.returncode == 0, again.stderr[-4000:]
        assert {p.name: p.read_text() for p in (state / "suite").glob("*.pid")} == pids
        assert "already running" in again.stderr and "demo district" not in again.stderr
        assert _run("status", env).returncode == 0
    finally:
        down = _run("down", env)
        shutil.rmtree(env["GONGKAI_PG_DIR"], ignore_errors=True)
    assert down.returncode == 0, down.stderr[-3000:]
    assert not list((state / "suite").glob("*.pid"))
    for url in listed.values():
        try:
            httpx.get(url + "/health", timeout=1)
            raise AssertionError(f"{url} still answers after down")
        except httpx.TransportError:
            pass
    # It started Kafka and PostgreSQL, so it stops them.
    assert "[kafka] stopped" in down.stderr and "[postgres] stopped" in down.stderr
    assert _run("down", env).returncode == 0  # idempotent
    shutil.rmtree(state, ignore_errors=True)
