"""Fixtures of the fault tests: their own Kafka and PostgreSQL, one deployment per test.

The servers are started once per session (deploy/kafka.sh, deploy/postgres.sh on ports of
their own, see harness.py) and stopped at the end; each test gets a fresh database and
topic prefix. Healing times are collected and printed at the end of the run, and written
to var/faults/healing.json.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator

import pytest

from tests.faults.harness import REPO, Deployment, OwnInfra

HEALING: list[dict[str, object]] = []
FAULTS_DIR = REPO / "var" / "faults"


@pytest.fixture(scope="session")
def own_infra() -> Iterator[OwnInfra]:
    # Under var/, not pytest's temp dir: concurrent pytest runs prune old temp dirs, and a
    # broker's data dir must not vanish under it.
    state = FAULTS_DIR / f"infra-{os.getpid()}"
    infra = OwnInfra(state)
    infra.start()
    try:
        yield infra
    finally:
        infra.stop()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def deployment(own_infra: OwnInfra, request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """Logs stay in var/faults/logs/<test>/ after the run, for the post-mortem."""
    logs = FAULTS_DIR / "logs" / request.node.name
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    deployment = Deployment(own_infra, logs)
    deployment.create_database()
    try:
        yield deployment
    finally:
        deployment.stop_all()
        deployment.drop_database()


@pytest.fixture
def healing(request: pytest.FixtureRequest) -> object:
    """`healing(fault=..., seconds=..., **facts)` records how long a fault took to heal."""

    def record(**facts: object) -> None:
        HEALING.append({"test": request.node.name, **facts})

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not HEALING:
        return
    terminalreporter.section("fault healing times")
    for row in HEALING:
        extra = ", ".join(f"{k}={v}" for k, v in row.items() if k not in {"test", "fault"})
        terminalreporter.write_line(f"{row['fault']}: {extra}")
    out = FAULTS_DIR / "healing.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(HEALING, ensure_ascii=False, indent=2))
