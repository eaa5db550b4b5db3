"""Servers die under load: the Kafka broker is stopped and started again, PostgreSQL is
restarted (issue #9, "fault tests"). Only the fault tests' own servers are touched
(harness.OwnInfra), never the shared ones.

Each test ends with the harness's invariants (nothing acknowledged lost, every stored
request listed once, every stored event applied once, every stored event chained once by
the audit worker and the chain verifies) and records how long healing took.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.harness import Deployment, Load

#: Real servers of their own (not the shared ones): counted by `pytest -m kafka` / `-m postgres`.
pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def _wait_for(probe, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_broker_stopped_and_restarted_under_load_loses_nothing(
    deployment: Deployment, healing
) -> None:  # type: ignore[no-untyped-def]
    """Requests keep being accepted while the broker is down (they are in the store); the
    relay publishes them once it is back, and the worker applies each once."""
    api, _ = deployment.start("serve", "worker")
    deployment.start_audit()
    load = Load(api, 50, pause=0.05)
    load.start()
    _wait_for(lambda: len(load.acknowledged) >= 15)
    stopped = time.monotonic()
    deployment.infra.stop_kafka()
    accepted_while_down = len(load.acknowledged)
    time.sleep(2.0)
    accepted_while_down = len(load.acknowledged) - accepted_while_down
    deployment.infra.start_kafka()
    restarted = time.monotonic()
    load.join(timeout=150)
    assert not load.errors, load.errors
    healed = deployment.converge(api, load.acknowledged, timeout=120)
    chain = deployment.check_chain()
    healing(
        fault="Kafka broker stop + start",
        broker_down_seconds=round(restarted - stopped, 1),
        seconds_from_broker_back=round(healed - restarted, 1),
        requests=len(load.acknowledged),
        accepted_while_broker_down=accepted_while_down,
        chain=chain,
    )


def test_postgres_restarted_under_load_loses_nothing(deployment: Deployment, healing) -> None:  # type: ignore[no-untyped-def]
    """While the database is down the API answers 5xx and the client retries with the same
    Idempotency-Key; afterwards the relay and the worker resume from their checkpoints.

    A relay or worker task whose connection broke is restarted by the kernel's supervision
    with backoff; should a task die for good (`task.crashed`) or a process exit, the test's
    supervisor restarts the process, as a Kubernetes liveness probe or systemd would
    (reported as processes_restarted_by_supervisor).
    """
    api, _ = deployment.start("serve", "worker")
    deployment.start_audit()
    load = Load(api, 50, pause=0.05)
    load.start()
    _wait_for(lambda: len(load.acknowledged) >= 15)
    stopped = time.monotonic()
    deployment.infra.stop_postgres()
    time.sleep(1.0)
    deployment.infra.start_postgres()
    restarted = time.monotonic()
    load.join(timeout=150)
    assert not load.errors, load.errors
    healed = deployment.converge(api, load.acknowledged, timeout=120, supervise=True)
    chain = deployment.check_chain()
    healing(
        fault="PostgreSQL restart",
        processes_restarted_by_supervisor=sum(p.restarts for p in deployment.processes),
        database_down_seconds=round(restarted - stopped, 1),
        seconds_from_database_back=round(healed - restarted, 1),
        requests=len(load.acknowledged),
        unknown_outcome=load.unknown,
        client_retries=load.retries,
        chain=chain,
    )
