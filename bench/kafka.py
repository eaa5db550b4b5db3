"""Kafka bus throughput: store → topic through `Relay`, topic → projection through
`KafkaProjectionWorker`, against raw aiokafka on the same broker (issue #10 item 2).

    python -m bench.kafka [--events N] [--repeats R] [--partitions P]
                          [--database-url URL] [--bootstrap HOST:PORT] [--json OUT]

N `RequestRegistered` events (the applications service's, ~600-byte Chinese payload)
are appended to a fresh PostgreSQL schema (not timed). Each round then measures, on
fresh topics of P partitions on the same broker:

- raw produce: aiokafka `AIOKafkaProducer` with the relay's settings (idempotent,
  acks=all) sending the very same values, keys and headers, every send awaited at the
  end — the limit of the relay;
- relay: `Relay.publish_available()` from the store to a topic, checkpoint included;
- raw consume: aiokafka `AIOKafkaConsumer` (partitions assigned, no group) reading every
  message of the relay's topic — the limit of the worker;
- raw consume + apply: the same consumer applying the real projection (the request
  ledger, `services.applications.projections.RequestLedger`) in one transaction per
  fetched batch, without inbox, offsets or dead letters — what the projection itself costs;
- worker: `KafkaProjectionWorker([RequestLedger()])` in a consumer group, from the first
  fetch until every event is in the ledger (group join excluded: the first message's
  arrival starts the clock for both consumers).

Every run checks its count (messages on the topic, rows in the ledger). The median of
the rounds is printed with the ratios. A script, never a test.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner

from bench.common import database_url, kafka_bootstrap, load, machine, median, print_machine
from services.applications.events import (
    Applicant,
    ApplicantKind,
    Channel,
    DeadlineBasis,
    DeliveryChannel,
    RequestedForm,
    RequestRegistered,
)
from services.applications.projections import RequestLedger
from shared import kafka as bus
from shared.db import PostgresDatabase
from shared.envelope import Actor, RecordedEvent, StreamWrite, canonical_json
from shared.eventstore import SqlEventStore, open_postgres_store
from shared.kafka import ensure_topics, headers_of
from shared.registry import to_new_event

TENANT = "shangdang/sudian/party-office"
ACTOR = Actor(id="u-wangfang", kind="user", role="registrar")
PARTITIONER = DefaultPartitioner()


def registration(i: int) -> RequestRegistered:
    """A 苏店镇 online request (the contract example) with its own id and number."""
    received = date(2026, 2, 10)
    return RequestRegistered(
        request_id=uuid.uuid4(),
        number=f"苏店〔2026〕{i + 1}号",
        year=2026,
        sequence=i + 1,
        channel=Channel.online,
        submitted_on=received,
        received_on=received,
        applicant=Applicant(
            kind=ApplicantKind.natural_person,
            name="张三",
            id_document="居民身份证 140421199003150012",
            phone="13903551234",
            email="zhangsan@example.com",
            address="山西省长治市上党区苏店镇府前街8号",
        ),
        description="申请公开苏店镇2025年财政预算执行情况及惠民惠农补贴资金发放明细",
        requested_form=RequestedForm.electronic,
        delivery_channel=DeliveryChannel.email,
        correction_notice_due=date(2026, 2, 24),
        reply_due=date(2026, 3, 13),
        reply_deadline=DeadlineBasis(
            start=date(2026, 2, 11),
            working_days=20,
            due=date(2026, 3, 13),
            provisional=False,
            calendars=["2026: 国务院办公厅 v1"],
        ),
    )


async def fill(store: SqlEventStore, count: int) -> None:
    writes = [
        StreamWrite(
            stream_id=f"request-{e.request_id}",
            stream_type="request",
            expected_version=0,
            events=(to_new_event(e, TENANT, ACTOR),),
        )
        for e in (registration(i) for i in range(count))
    ]
    for i in range(0, len(writes), 100):
        await store.append(writes[i : i + 100])


async def drop_topics(bootstrap: str, topics: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(topics)
    except Exception as exc:  # cleaning up: report, do not fail the run
        print(f"(could not delete topics: {exc})", file=sys.stderr)
    finally:
        await admin.close()


class Bench:
    def __init__(self, args: argparse.Namespace, url: str, bootstrap: str) -> None:
        self.args = args
        self.url = url
        self.bootstrap = bootstrap
        self.tag = uuid.uuid4().hex[:8]
        self.topics: list[str] = []
        self.schemas: list[str] = []
        self.events: list[RecordedEvent] = []
        self.store: SqlEventStore | None = None
        self.runs: dict[str, list[float]] = {}
        self.bus: Any = bus
        if args.kernel:  # another shared/kafka.py (e.g. `git show HEAD~1:shared/kafka.py`)
            spec = importlib.util.spec_from_file_location("gkbench_kafka", args.kernel)
            assert spec is not None and spec.loader is not None
            self.bus = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(self.bus)

    def topic(self, name: str) -> str:
        topic = f"gkbench-{self.tag}-{name}"
        self.topics.append(topic)
        return topic

    def schema(self, name: str) -> str:
        schema = f"gkbench_{self.tag}_{name}"
        self.schemas.append(schema)
        return schema

    async def prepare(self) -> None:
        self.store = await open_postgres_store(self.url, schema=self.schema("store"), listen=False)
        await fill(self.store, self.args.events)
        self.events = await self.store.read_all(0, self.args.events + 1)
        assert len(self.events) == self.args.events

    async def raw_produce(self, r: int, batched: bool) -> float:
        """The same messages through aiokafka alone: `send()` each, or record batches."""
        topic = self.topic(f"raw-{r}-{'batch' if batched else 'send'}")
        await ensure_topics(self.bootstrap, [topic], self.args.partitions)
        messages = [(e.to_wire(), e.stream_id.encode(), headers_of(e)) for e in self.events]
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            enable_idempotence=True,
            acks="all",
            linger_ms=2,
            max_batch_size=bus.RELAY_BATCH_BYTES,  # the relay's best setting, for both
        )
        await producer.start()
        try:
            await producer.send_and_wait(topic, value=b"warm-up", key=b"warm-up")
            partitions = sorted(await producer.partitions_for(topic))
            t0 = time.perf_counter()
            if not batched:
                futures = [
                    await producer.send(topic, value=v, key=k, headers=h) for v, k, h in messages
                ]
            else:
                futures, batches = [], {}
                for v, k, h in messages:
                    p = PARTITIONER(k, partitions, partitions)
                    batch = batches.get(p) or batches.setdefault(p, producer.create_batch())
                    if batch.append(key=k, value=v, timestamp=None, headers=h) is None:
                        futures.append(await producer.send_batch(batch, topic, partition=p))
                        batch = batches[p] = producer.create_batch()
                        batch.append(key=k, value=v, timestamp=None, headers=h)
                for p, batch in batches.items():
                    futures.append(await producer.send_batch(batch, topic, partition=p))
            await asyncio.gather(*futures)
            elapsed = time.perf_counter() - t0
        finally:
            await producer.stop()
        return len(messages) / elapsed

    async def relay(self, r: int) -> tuple[float, str]:
        assert self.store is not None
        topic = self.topic(f"relay-{r}")
        relay = self.bus.Relay(
            self.store, self.store.db, self.bootstrap, topic, dlq=self.topic(f"dlq-{r}")
        )
        await relay.setup()
        await ensure_topics(self.bootstrap, [topic], self.args.partitions)
        await relay.start()
        try:
            assert relay.producer is not None
            warm = self.topic(f"warm-{r}")
            await ensure_topics(self.bootstrap, [warm], 1)
            await relay.producer.send_and_wait(warm, value=b"warm-up")
            t0 = time.perf_counter()
            sent = await relay.publish_available()
            elapsed = time.perf_counter() - t0
        finally:
            await relay.stop()
        assert sent == len(self.events), (sent, len(self.events))
        return sent / elapsed, topic

    async def raw_consume(
        self, topic: str, apply: Callable[[list[Any]], Awaitable[None]] | None = None
    ) -> float:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            parts = [TopicPartition(topic, p) for p in range(self.args.partitions)]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            got = 0
            t0 = 0.0
            while got < len(self.events):
                batches = await consumer.getmany(timeout_ms=1000, max_records=500)
                if not t0 and batches:
                    t0 = time.perf_counter()
                for messages in batches.values():
                    if apply is not None:
                        await apply(messages)
                    got += len(messages)
            elapsed = time.perf_counter() - t0
        finally:
            await consumer.stop()
        assert got == len(self.events), got
        return got / elapsed

    async def raw_apply(self, r: int, topic: str) -> float:
        db = await PostgresDatabase.open(self.url, self.schema(f"rawviews_{r}"))
        ledger = RequestLedger()
        try:
            await db.execute_script(list(ledger.schema))

            async def apply(messages: list[Any]) -> None:
                async with db.transaction() as tx:
                    for m in messages:
                        await ledger.apply(tx, RecordedEvent.from_wire(m.value))

            rate = await self.raw_consume(topic, apply)
            rows = await db.fetchval("SELECT count(*) FROM app_ledger")
            assert rows == len(self.events), rows
        finally:
            await db.close()
        return rate

    async def worker(self, r: int, topic: str) -> float:
        db = await PostgresDatabase.open(self.url, self.schema(f"views_{r}"))
        worker = self.bus.KafkaProjectionWorker(
            [RequestLedger()],
            db,
            self.bootstrap,
            topic,
            group=f"gkbench-{self.tag}-{r}",
            dlq=self.topic(f"wdlq-{r}"),
        )
        try:
            await worker.start()
            t0 = 0.0
            first = 0
            while worker.applied < len(self.events):
                n = await worker.poll_once(timeout_ms=1000)
                if n and not t0:
                    t0 = time.perf_counter()  # the first batch is in hand: start the clock
                    first = worker.applied
            elapsed = time.perf_counter() - t0
            rows = await db.fetchval("SELECT count(*) FROM app_ledger")
            inbox = await db.fetchval("SELECT count(*) FROM consumer_inbox")
            assert rows == inbox == len(self.events), (rows, inbox)
        finally:
            await worker.stop()
            await db.close()
        # the first batch was handled before the clock started: count it out
        return (worker.applied - first) / elapsed

    async def run(self) -> None:
        for r in range(self.args.repeats):
            self.say("raw send", await self.raw_produce(r, batched=False))
            self.say("raw batch", await self.raw_produce(r, batched=True))
            relay, topic = await self.relay(r)
            self.say("relay", relay)
            self.say("raw consume", await self.raw_consume(topic))
            self.say("raw consume + apply", await self.raw_apply(r, topic))
            self.say("worker", await self.worker(r, topic))

    def say(self, name: str, value: float) -> None:
        self.runs.setdefault(name, []).append(value)
        print(f"  {name:<22} {value:>10,.0f} events/s", file=sys.stderr)

    async def cleanup(self) -> None:
        if self.store is not None:
            await self.store.db.close()
        conn = await asyncpg.connect(self.url)
        try:
            for schema in self.schemas:
                await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()
        if self.topics:
            await drop_topics(self.bootstrap, self.topics)


def report(b: Bench) -> dict[str, float]:
    m = {name: median(values) for name, values in b.runs.items()}
    width = 58
    print()
    print(
        f"Kafka bus, {b.args.events:,} events, {b.args.partitions} partitions, "
        f"median of {b.args.repeats} round(s) (events/s)"
    )
    for name, label in (
        ("raw send", "raw aiokafka send() per message (idempotent, acks=all)"),
        ("raw batch", "raw aiokafka send_batch (idempotent, acks=all)"),
        ("relay", "gongkai Relay store → topic"),
        ("raw consume", "raw aiokafka consume (no group)"),
        ("raw consume + apply", "raw consume + RequestLedger.apply, 1 tx/batch"),
        ("worker", "gongkai KafkaProjectionWorker → RequestLedger"),
    ):
        runs = ", ".join(f"{v:,.0f}" for v in b.runs[name])
        print(f"  {label:<{width}} {m[name]:>9,.0f}   ({runs})")
    ratios = {
        "relay / raw send_batch": m["relay"] / m["raw batch"],
        "relay / raw send()": m["relay"] / m["raw send"],
        "worker / raw consume": m["worker"] / m["raw consume"],
        "worker / raw consume + apply": m["worker"] / m["raw consume + apply"],
    }
    for name, value in ratios.items():
        print(f"  {'ratio ' + name:<{width}} {value:>9.2f}")
    return ratios


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--database-url")
    parser.add_argument("--bootstrap")
    parser.add_argument("--json")
    parser.add_argument(
        "--kernel", help="measure the Relay and worker of this file instead of shared/kafka.py"
    )
    args = parser.parse_args(argv)
    url, bootstrap = database_url(args.database_url), kafka_bootstrap(args.bootstrap)
    if not url or not bootstrap:
        print("bench.kafka needs PostgreSQL and Kafka (--database-url, --bootstrap)")
        return 2
    info = await machine(url, ("pydantic",))
    b = Bench(args, url, bootstrap)
    try:
        await b.prepare()
        sample = b.events[0]
        sizes = {
            "payload": f"{len(canonical_json(sample.payload))} bytes canonical JSON "
            f"(message value {len(sample.to_wire())} bytes)",
            "kafka": bootstrap,
        }
        print_machine(info, sizes)
        await b.run()
        ratios = report(b)
        print(f"load avg    {load()} at end")
        if args.json:
            body = json.dumps({"machine": info, "runs": b.runs, "ratios": ratios}, indent=2)
            await asyncio.to_thread(Path(args.json).write_text, body)
    finally:
        await b.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
