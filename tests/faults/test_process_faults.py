"""Processes die: kill -9 of a projection worker and of a service's relay, poison messages,
and two workers of one consumer group (issue #9, "fault tests" and "scale-out").

Each test drives real `gongkai serve` / `gongkai worker` processes on the fault tests' own
Kafka broker and PostgreSQL server through HTTP, and ends with the harness's invariants:
nothing acknowledged is lost, the read model lists every stored request exactly once,
every stored event was applied exactly once (ARCHITECTURE: at-least-once delivery, the
consumer inbox dedupes by event id), and the audit worker's hash chain holds every stored
event exactly once and verifies (docs/audit.md; `gongkai audit verify`, `completeness`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from shared.identity import Role
from shared.kafka import ensure_topics
from tests.faults.harness import Deployment, Load, Process, token

#: Real servers of their own (not the shared ones): counted by `pytest -m kafka` / `-m postgres`.
pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def _wait_for(probe, timeout: float = 60.0, step: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(step)


def test_worker_killed_mid_stream_resumes_without_loss_or_double_count(
    deployment: Deployment, healing
) -> None:  # type: ignore[no-untyped-def]
    """Both consumers die mid-stream: the applications projection worker and the audit
    worker (which chains every topic); each resumes from the offsets stored with its
    read model, and neither the ledger nor the chain misses or repeats an event. Restarted
    under the same GONGKAI_KAFKA_INSTANCE_ID, each takes its partitions back at once."""
    api, worker = deployment.start("serve", "worker")
    audit = deployment.start_audit()
    load = Load(api, 60)
    load.start()
    # Mid-stream: both workers have handled part of the load and more keeps arriving.
    _wait_for(lambda: deployment.inbox_size() >= 30 and deployment.chained()[1] >= 30)
    deployment.kill9(worker)
    deployment.kill9(audit)
    killed = time.monotonic()
    time.sleep(1.0)  # events keep arriving while no worker runs
    deployment.launch(worker, audit)
    restarted = time.monotonic()
    load.join(timeout=120)
    assert not load.errors, load.errors
    assert len(load.acknowledged) == 60
    healed = deployment.converge(api, load.acknowledged)
    chain = deployment.check_chain()
    # Restarted under their names, the workers are the same static group members: they
    # take their partitions back at once instead of waiting out the dead members' 30 s
    # session (26 s from restart to converged before GONGKAI_KAFKA_INSTANCE_ID).
    assert healed - restarted < 15, f"converged {healed - restarted:.1f} s after the restart"
    healing(
        fault="worker kill -9 (applications projections + audit chain)",
        seconds_from_kill=round(healed - killed, 1),
        seconds_from_restart=round(healed - restarted, 1),
        requests=len(load.acknowledged),
        chain=chain,
    )


def test_serve_killed_mid_publish_republishes_and_the_inbox_dedupes(
    deployment: Deployment, healing
) -> None:  # type: ignore[no-untyped-def]
    api, _ = deployment.start("serve", "worker")
    deployment.start_audit()
    load = Load(api, 60)
    load.start()
    # Mid-publish: some events are in the store and not yet all relayed.
    _wait_for(lambda: len(load.acknowledged) >= 20, step=0.01)
    deployment.kill9(api)
    killed = time.monotonic()
    deployment.launch(api)
    restarted = time.monotonic()
    load.join(timeout=150)
    assert not load.errors, load.errors
    assert len(load.acknowledged) + load.unknown == 60
    healed = deployment.converge(api, load.acknowledged)
    chain = deployment.check_chain()
    healing(
        fault="serve (API + relay) kill -9",
        seconds_from_kill=round(healed - killed, 1),
        seconds_from_restart=round(healed - restarted, 1),
        requests=len(load.acknowledged),
        unknown_outcome=load.unknown,
        client_retries=load.retries,
        chain=chain,
    )


def test_poison_messages_go_to_the_dlq_and_the_worker_goes_on(
    deployment: Deployment, healing
) -> None:  # type: ignore[no-untyped-def]
    """Two messages no relay wrote land on the applications topic: bytes that are no event,
    and a well-formed envelope whose payload the registry refuses (a forgery: its event id
    is in no store). The projection worker parks and dead-letters both and goes on; the
    audit worker dead-letters the bytes and chains the envelope as received, and the
    completeness check names it as "chained but not in store" while every stored event is
    chained once and the chain verifies."""
    api, _ = deployment.start("serve", "worker")
    deployment.start_audit()
    before = Load(api, 10)
    before.run()
    deployment.converge(api, before.acknowledged)
    injected = time.monotonic()
    forged = asyncio.run(_inject_poison(deployment))
    after = Load(api, 10)
    after.run()
    # The two poison messages are not events of the store: the inbox holds the decodable one.
    healed = _converge_with_poison(
        deployment, api, before.acknowledged | after.acknowledged, forged
    )
    parked, dlq = asyncio.run(_dead_letters(deployment))
    assert parked == 1, "the undecodable-payload event is parked in dead_letters"
    mine = dlq[deployment.group]
    assert len(mine) == 2 and all(r.startswith(("undecodable", "applications.")) for r in mine), dlq
    audit_group = f"{deployment.prefix}.audit.projections"
    assert [r.split(":")[0] for r in dlq[audit_group]] == ["undecodable"], dlq
    chain = deployment.check_chain(foreign={forged})
    parked_row = _operator_discards_the_parked_event(deployment, api)
    healing(
        fault="poison messages",
        seconds_to_apply_later_events=round(healed - injected, 1),
        chain=chain,
        operator=f"listed and discarded the parked forgery of {parked_row['consumer']}",
    )


def _operator_discards_the_parked_event(deployment: Deployment, api: Process) -> dict[str, Any]:
    """The operator's side in distributed mode (docs/operations.md "A projection parked
    events"): the service's own `serve` process lists what its worker parked (in the same
    PostgreSQL schema), an auditor may look but not act, a retry of the forgery is refused
    (it is in no store to read again), and a discard with a reason removes it and is
    recorded in the platform's log."""
    admin = {"Authorization": f"Bearer {token('chen-gang', 'shangdang', Role.ADMINISTRATOR)}"}
    auditor = {"Authorization": f"Bearer {token('liu-min', 'shangdang', Role.AUDITOR)}"}
    ops = "/v1/ops/dead-letters"
    with httpx.Client(base_url=api.url, timeout=30) as c:
        rows = c.get(ops, headers=auditor)
        assert rows.status_code == 200, rows.text
        [row] = [r for r in rows.json() if r["service"] == "applications"]
        at = f"{ops}/{row['consumer']}/{row['stream_id']}"
        shown = c.get(at, headers=auditor).json()
        assert [e["event_type"] for e in shown["events"]] == ["RequestRegistered"]
        assert c.post(at + "/retry", headers=auditor).json()["rule"] == "auditor.read_only"
        # Re-driving reads the event from its store again: a forgery is in none, so the
        # retry is refused (and writes nothing) naming the rule.
        retried = c.post(at + "/retry", headers=admin)
        assert retried.status_code == 422, retried.text
        assert retried.json()["rule"] == "dead_letters.event_missing"
        reason = {"reason": "伪造的消息，不在事件库中"}
        assert c.post(at + "/discard", headers=admin, json=reason).status_code == 200
        assert [r for r in c.get(ops, headers=admin).json() if r["service"] == "applications"] == []
    actions = asyncio.run(_platform_actions(deployment))
    assert actions == [("ParkedEventsDiscarded", "chen-gang")], actions
    return dict(row)


async def _platform_actions(deployment: Deployment) -> list[tuple[str, str]]:
    from shared.eventstore import open_postgres_store

    store = await open_postgres_store(deployment.database_url, schema="platform", listen=False)
    try:
        events = await store.read_all(0, 1000)
    finally:
        await store.close()
    return [(e.type, e.actor.id) for e in events if e.type.startswith("ParkedEvents")]


def _converge_with_poison(  # type: ignore[no-untyped-def]
    deployment: Deployment, api, acknowledged: set[str], forged: str
) -> float:
    deadline = time.monotonic() + 60
    while True:
        chained, links = deployment.chained()
        stored, events = deployment.stored_requests()
        event_ids = deployment.stored_event_ids()
        listed = deployment.read_model(api)
        assert len(listed) == len(set(listed))
        assert links == len(chained), "an event is chained twice"
        assert chained <= event_ids | {forged}, chained - event_ids
        if (
            set(listed) == stored
            and deployment.inbox_size() == events + 1
            and chained == event_ids | {forged}
        ):
            assert acknowledged <= stored
            return time.monotonic()
        assert time.monotonic() < deadline, "later events not applied after the poison"
        time.sleep(0.2)


async def _inject_poison(deployment: Deployment) -> str:
    """Publish the two poison messages; return the forged envelope's event id."""
    from shared.eventstore import open_postgres_store

    store = await open_postgres_store(deployment.database_url, schema="applications", listen=False)
    try:
        real = next(e for e in await store.read_all(0, 100) if e.type == "RequestRegistered")
    finally:
        await store.close()
    broken = real.model_copy(
        update={
            "event_id": uuid.uuid4(),
            "stream_id": f"request-{uuid.uuid4()}",
            "payload": {"request_id": "not-a-uuid", "number": 7},
        }
    )
    producer = AIOKafkaProducer(bootstrap_servers=deployment.infra.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(deployment.topic, b"\xff not an event", key=b"poison")
        await producer.send_and_wait(
            deployment.topic, broken.to_wire(), key=broken.stream_id.encode()
        )
    finally:
        await producer.stop()
    return str(broken.event_id)


async def _dead_letters(deployment: Deployment) -> tuple[int, dict[str, list[str]]]:
    """Rows parked by the applications worker, and the DLQ's reasons per consumer group."""
    import asyncpg

    conn = await asyncpg.connect(deployment.database_url)
    try:
        parked = int(await conn.fetchval("SELECT count(*) FROM applications.dead_letters"))
    finally:
        await conn.close()
    consumer = AIOKafkaConsumer(
        f"{deployment.prefix}.dlq",
        bootstrap_servers=deployment.infra.bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=5000)
        reasons: dict[str, list[str]] = {}
        for records in batches.values():
            for m in records:
                headers = dict(m.headers)
                group = headers["dlq.consumer"].decode()
                reasons.setdefault(group, []).append(headers["dlq.reason"].decode())
    finally:
        await consumer.stop()
    return parked, reasons


def test_two_workers_of_one_group_share_the_partitions_and_apply_each_event_once(
    deployment: Deployment, healing
) -> None:  # type: ignore[no-untyped-def]
    """Scale-out (issue #9): the group splits the partitions between the two workers, and the
    inbox keeps a rebalance's overlap from applying an event twice.

    An offset commit that meets a partition revoked mid-batch is skipped (the database's
    offsets rule); should a worker still die, the test's supervisor restarts it, as an
    orchestrator would, and the count is reported (0 in the recorded runs). The audit
    worker chains the same events once whatever the rebalances.
    """
    asyncio.run(ensure_topics(deployment.infra.bootstrap, [deployment.topic], partitions=6))
    api, first, second = deployment.start("serve", "worker", "worker")
    deployment.start_audit()
    started = time.monotonic()
    load = Load(api, 80)
    load.run()
    healed = deployment.converge(api, load.acknowledged, supervise=True)
    chain = deployment.check_chain()
    members = _settled_members(deployment)
    a, b = members.values()
    assert a and b and not (a & b), f"partitions not shared: {members}"
    assert a | b == set(range(6))
    healing(
        fault="scale-out (2 workers, 6 partitions)",
        seconds_for_80_requests=round(healed - started, 1),
        assignment=sorted(sorted(v) for v in members.values()),
        worker_restarts_by_supervisor=first.restarts + second.restarts,
        chain=chain,
    )


def _settled_members(deployment: Deployment, timeout: float = 60) -> dict[str, set[int]]:
    """The group's assignment once both workers are members (a rebalance may be under way)."""
    deadline = time.monotonic() + timeout
    while True:
        deployment.restart_crashed()
        members = asyncio.run(_group_members(deployment))
        if len(members) == 2 and all(members.values()):
            return members
        assert time.monotonic() < deadline, f"group not settled with two members: {members}"
        time.sleep(0.5)


async def _group_members(deployment: Deployment) -> dict[str, set[int]]:
    from aiokafka.protocol.group import MemberAssignment

    admin = AIOKafkaAdminClient(bootstrap_servers=deployment.infra.bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([deployment.group])
    finally:
        await admin.close()
    # DescribeGroups: groups = [(error, group, state, protocol_type, protocol, members)],
    # members = [(member_id, client_id, client_host, metadata, assignment)].
    members: dict[str, set[int]] = {}
    for member in response.groups[0][5]:
        if not member[4]:  # joined, not yet assigned (rebalancing)
            members[member[0]] = set()
            continue
        assignment = MemberAssignment.decode(member[4])
        members[member[0]] = {
            p for topic, parts in assignment.assignment if topic == deployment.topic for p in parts
        }
    return members
