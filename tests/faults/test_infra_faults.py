"""Servers die under load (issue #9 "fault tests", issue #21): the Kafka broker and
PostgreSQL are killed with SIGKILL (kill -9: no controlled shutdown, no checkpoint) while
three services take writes at once — applications (依申请公开 requests), catalog (drafts)
and sentiment (citizen messages) — and started again. Only the fault tests' own servers
are touched (harness.OwnInfra), never the shared ones.

Each test ends with the harness's invariants for each of the three services (nothing
acknowledged lost; every stored object listed once by the service's read model; every
stored event chained once by the audit worker, the chain verifies and is complete) and
records how long healing took.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.harness import APPLICATIONS, CATALOG, SENTIMENT, Deployment, Load, Process

#: Real servers of their own (not the shared ones): counted by `pytest -m kafka` / `-m postgres`.
pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def _wait_for(probe, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


MIXED = (APPLICATIONS, CATALOG, SENTIMENT)


def _mixed_load(deployment: Deployment) -> list[tuple[Process, Load]]:
    """Each service's API and worker, the audit worker, and a load on each API."""
    loads = []
    for writer in MIXED:
        api, _ = deployment.start("serve", "worker", service=writer.service)
        loads.append((api, Load(api, 40, pause=0.05, writer=writer)))
    deployment.start_audit()
    for _, load in loads:
        load.start()
    _wait_for(lambda: all(len(load.acknowledged) >= 10 for _, load in loads))
    return loads


def _finish(loads: list[tuple[Process, Load]]) -> None:
    for _, load in loads:
        load.join(timeout=150)
        assert not load.is_alive(), f"{load.writer.service}: the load did not finish"
        assert not load.errors, load.errors


def _counts(loads: list[tuple[Process, Load]]) -> dict[str, int]:
    return {load.writer.service: len(load.acknowledged) for _, load in loads}


def test_broker_killed_under_mixed_load_loses_nothing(deployment: Deployment, healing) -> None:  # type: ignore[no-untyped-def]
    """Commands keep being accepted while the broker is dead (they are in the store); the
    relays publish them once it is back, and each worker and the audit worker apply each
    event once."""
    loads = _mixed_load(deployment)
    before = sum(_counts(loads).values())
    killed = time.monotonic()
    deployment.infra.kill_kafka()
    time.sleep(2.0)
    accepted_while_down = sum(_counts(loads).values()) - before
    deployment.infra.start_kafka()
    restarted = time.monotonic()
    _finish(loads)
    healed = deployment.converge_loads(loads, timeout=120)
    chain = deployment.check_chains(*(w.service for w in MIXED))
    healing(
        fault="Kafka broker kill -9 + start, mixed load",
        broker_down_seconds=round(restarted - killed, 1),
        seconds_from_broker_back=round(healed - restarted, 1),
        acknowledged=_counts(loads),
        accepted_while_broker_down=accepted_while_down,
        processes_restarted_by_supervisor=sum(p.restarts for p in deployment.processes),
        chain=chain,
    )


def test_postmaster_killed_under_mixed_load_loses_nothing(deployment: Deployment, healing) -> None:  # type: ignore[no-untyped-def]
    """While the database is dead the APIs answer 5xx and the clients retry with the same
    Idempotency-Key; PostgreSQL replays its WAL on the next start, and the relays and
    workers resume from their checkpoints.

    A relay or worker task whose connection broke is restarted by the kernel's supervision
    with backoff; should a task die for good (`task.crashed`) or a process exit, the test's
    supervisor restarts the process, as a Kubernetes liveness probe or systemd would
    (reported as processes_restarted_by_supervisor).
    """
    loads = _mixed_load(deployment)
    killed = time.monotonic()
    deployment.infra.kill_postgres()
    time.sleep(1.0)
    deployment.infra.start_postgres()
    restarted = time.monotonic()
    _finish(loads)
    healed = deployment.converge_loads(loads, timeout=120)
    chain = deployment.check_chains(*(w.service for w in MIXED))
    healing(
        fault="PostgreSQL postmaster kill -9 + start, mixed load",
        processes_restarted_by_supervisor=sum(p.restarts for p in deployment.processes),
        database_down_seconds=round(restarted - killed, 1),
        seconds_from_database_back=round(healed - restarted, 1),
        acknowledged=_counts(loads),
        unknown_outcome=sum(load.unknown for _, load in loads),
        client_retries=sum(load.retries for _, load in loads),
        chain=chain,
    )
