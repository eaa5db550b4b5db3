"""faust-streaming apps: stateful stream processors over the service topics.

Plain relays and projections use aiokafka (shared/kafka.py); processors that
keep state across events — assessment scoring, hotspot detection — are faust
agents with tables (changelog-backed, so a restarted worker recovers its state
from Kafka). Values on the service topics are the canonical JSON envelope
(contracts/events/envelope.v1.json), read here as raw bytes and decoded with the
same model every other consumer uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import faust
import structlog
from aiokafka.admin import AIOKafkaAdminClient
from faust.streams import _current_event
from faust.types import TP
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent

from shared.db import Database
from shared.delivery import Delivery, Projection, deliver
from shared.envelope import RecordedEvent
from shared.kafka import (
    CONSUMER_TABLES,
    DEFAULT_PARTITIONS,
    DEFAULT_PREFIX,
    dlq_for,
    is_compacted,
    per_topic,
    topic_for,
)

log = structlog.get_logger("gongkai.streams")


class _FlowControl(FlowControlEvent):
    """faust's flow control, but resuming a flow that is already on keeps what is queued.

    faust resumes the flow twice after a rebalance: at the start of table recovery, and in
    `Recovery.on_recovery_completed` (faust/tables/recovery.py, faust-streaming 0.15.3) after
    `consumer.resume_partitions(<input partitions>)` and `await consumer.perform_seek()`.
    mode's `FlowControlEvent.resume` clears every stream's queue (channels are
    `FlowControlQueue(clear_on_resume=True)`), and during that `await` the fetcher has
    already delivered input messages from the seeked position into those queues. The
    second resume dropped them: read (the fetch position is past them) but never tracked
    or acked, so never committed and never read again until the next rebalance: the
    partition stalls with lag (the race of faust-streaming issue #596, open). Seen in
    tests/integration/test_streamed_projection.py as a restarted app that processed 8 of
    9 messages, lag 1; the hotspot agent's 5 of 6 (commit 698b336) fits the same pattern.

    Clearing stays where it is needed: `suspend` + `clear` on revocation and stop, and
    the resume that ends a suspension (messages queued meanwhile predate the seek to the
    committed offsets that follows). A resume while flowing has nothing stale to drop: a
    message fetched before the seek is delivered again after it, once more (consumers
    are idempotent), never lost.
    """

    def resume(self) -> None:
        if self.is_active():
            return
        super().resume()


class _StreamApp(faust.App):
    @cached_property
    def flow_control(self) -> FlowControlEvent:
        return _FlowControl(loop=self.loop)


def create_stream_app(
    app_id: str,
    bootstrap: str,
    *,
    prefix: str = DEFAULT_PREFIX,
    store: str = "memory://",
    **conf: Any,
) -> faust.App:
    """A faust app on our broker; web server off (the service's FastAPI serves health).

    `conf` overrides the defaults, e.g. `topic_partitions` to match the service topics
    (a table's changelog must have as many partitions as its source topic).
    """
    settings: dict[str, Any] = {
        "web_enabled": False,
        "topic_partitions": DEFAULT_PARTITIONS,
        "topic_replication_factor": 1,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    settings.update(conf)
    return _StreamApp(f"{prefix}.{app_id}", broker=f"kafka://{bootstrap}", store=store, **settings)


async def partitions_of(bootstrap: str, topic: str) -> int:
    """How many partitions `topic` has (faust tables must match their source topic's)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        return len(described["partitions"])
    finally:
        await admin.close()


def events_topic(app: faust.App, service: str, prefix: str = DEFAULT_PREFIX) -> faust.TopicT:
    return app.topic(topic_for(service, prefix), key_type=bytes, value_type=bytes)


def decode(value: bytes) -> RecordedEvent:
    return RecordedEvent.from_wire(value)


async def dead_letter(
    app: faust.App, prefix: str, value: bytes, error: Exception | str, *, consumer: str
) -> None:
    """Send a message to the dead-letter topic, the reason (or the error) in the headers."""
    reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    await app.topic(dlq_for(prefix), key_type=bytes, value_type=bytes).send(
        value=value,
        headers=[("dlq.reason", reason[:2000].encode()), ("dlq.consumer", consumer.encode())],
    )


class StreamHandle(Protocol):
    """A built faust app and how many input events its agents have handled so far."""

    app: faust.App

    @property
    def progress(self) -> int: ...


class StreamProcessorStuck(RuntimeError):
    """No progress while input waits (a rebalance or table recovery that never ends)."""


async def input_lag(app: faust.App) -> int:
    """Messages on the app's assigned input partitions not yet processed and committed.

    Measured from the committed offsets (faust commits acknowledged messages every
    `broker_commit_interval`), not the fetch position: faust reads ahead into its stream
    buffers, so the position says nothing about an agent that stopped. faust's own
    topics (table changelogs, the assignor's leader topic) are left out.
    """
    return sum(lag for _, lag in (await partition_lags(app)).values())


def _is_input(topic: str) -> bool:
    """Not one of faust's own topics (a table's changelog, the assignor's leader topic)."""
    return not topic.endswith("-changelog") and "-__assignor-__leader" not in topic


async def partition_lags(app: faust.App) -> dict[Any, tuple[int, int]]:
    """Per assigned input partition: (committed offset, messages after it)."""
    consumer = app.consumer
    committed = getattr(consumer, "_committed_offset", {})
    inputs = [tp for tp in consumer.assignment() if _is_input(tp.topic)]
    if not inputs:
        return {}
    # Asked of the broker, not the last fetch: a partition the app stopped fetching has no
    # fresh high-water mark of its own, and that is exactly the hang to catch.
    highwaters = await consumer.highwaters(*inputs)
    found = {}
    for tp in inputs:
        done = committed.get(tp) or 0
        found[tp] = (done, max(0, (highwaters.get(tp) or 0) - done))
    return found


@dataclass
class _PartitionWatch:
    """The partition half of the watchdog: an input partition whose committed offset has
    not moved for `after` seconds while messages wait on it is stalled, even while the
    app's other partitions make progress (a message faust read but never handed to the
    agent leaves a gap its commits never pass: the partition waits for a rebalance that
    may never come). A check that finds the agent applying a batch is skipped (a database
    retry holds it; the whole-app watchdog judges a retry that never ends), and rebalances
    and table recoveries start the marks again."""

    after: float
    every: float
    marks: dict[Any, tuple[int, float]] = field(default_factory=dict)
    checked: float = float("-inf")

    async def check(self, app: faust.App, applying: bool, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if now - self.checked < self.every:
            return
        self.checked = now
        if app.rebalancing or getattr(app, "in_recovery", False):
            self.marks.clear()  # the whole-app watchdog judges those
            return
        if applying:
            return  # judged at a later check, from the same marks
        lags = await partition_lags(app)
        for tp in list(self.marks):
            if tp not in lags:
                del self.marks[tp]
        for tp, (done, lag) in lags.items():
            mark = self.marks.get(tp)
            if lag == 0 or mark is None or mark[0] != done:
                if lag == 0:
                    self.marks.pop(tp, None)
                else:
                    self.marks[tp] = (done, now)
                continue
            if now - mark[1] > self.after:
                raise StreamProcessorStuck(
                    f"stream processor {app.conf.id}: partition {tp.topic}[{tp.partition}] "
                    f"committed nothing past offset {done} for {self.after:.0f} s with {lag} "
                    "message(s) waiting while the app went on"
                )


async def run_stream_processor(
    build: Callable[[], StreamHandle],
    stop: asyncio.Event,
    *,
    stuck_after: float = 120.0,
    partition_stuck_after: float = 20.0,
    poll: float = 1.0,
) -> None:
    """Run a freshly built faust app until `stop`; raise if it crashes or gets stuck.

    faust can hang in a rebalance or a table recovery (faust-streaming issues #21, #74;
    seen once in our CI: a restarted hotspot agent consumed nothing for 240 s). The
    watchdog raises `StreamProcessorStuck` when the app has made no progress for
    `stuck_after` seconds while it is rebalancing, recovering, or has input waiting, and
    when one input partition has committed nothing for `partition_stuck_after` seconds
    with messages waiting while the app went on (`_PartitionWatch`); the caller's
    supervisor (gongkai/app.py `_supervise`) then builds a new app, which recovers its
    tables from the changelog and resumes from the committed offsets. An idle app with
    nothing to read is never "stuck".
    """
    handle = build()
    app = handle.app
    partitions = _PartitionWatch(partition_stuck_after, every=max(poll, partition_stuck_after / 4))
    await app.start()
    try:
        mark, since = handle.progress, time.monotonic()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll)
            if app.crashed:
                raise RuntimeError(f"stream processor {app.conf.id} crashed: {app.crash_reason!r}")
            await partitions.check(app, bool(getattr(handle, "applying", False)))
            if handle.progress != mark:
                mark, since = handle.progress, time.monotonic()
                continue
            busy = bool(app.rebalancing or getattr(app, "in_recovery", False))
            lag = 0 if busy else await input_lag(app)
            if not busy and lag == 0:
                since = time.monotonic()
                continue
            if time.monotonic() - since > stuck_after:
                raise StreamProcessorStuck(
                    f"stream processor {app.conf.id}: no progress for {stuck_after:.0f} s "
                    f"(rebalancing={app.rebalancing}, in_recovery="
                    f"{getattr(app, 'in_recovery', False)}, input lag={lag})"
                )
    except StreamProcessorStuck:
        # faust's stop waits for every in-flight event to be acknowledged; a stuck agent
        # never acknowledges. Stop without waiting: what was acknowledged is committed, the
        # rest is read again by the next app (its tables and announcements are idempotent).
        app.conf.stream_wait_empty = False
        raise
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(app.stop(), timeout=60)


@dataclass
class ProjectionApp:
    """Read-model projections fed by a faust agent (see `build_projection_app`)."""

    app: faust.App
    offsets: Any
    applied: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    #: A batch is being applied (or retried): the partition watch waits for it.
    applying: bool = False

    @property
    def progress(self) -> int:
        return self.applied + self.skipped + self.dead_lettered

    async def status(self) -> dict[str, Any]:
        """What /ready shows of the app: its input partitions per topic, the messages after
        its committed offsets (per topic, against the broker's high watermarks) and its
        counts."""
        found: dict[str, Any] = {
            "app": self.app.conf.id,
            "applied": self.applied,
            "skipped": self.skipped,
            "dead_lettered": self.dead_lettered,
        }
        if not self.app.started:
            return {**found, "started": False}
        try:  # a broker call: bounded, so /ready answers while the broker is away
            lags = await asyncio.wait_for(partition_lags(self.app), timeout=2.0)
        except Exception as exc:  # rebalancing, broker away: say so
            return {**found, "partitions_unknown": type(exc).__name__}
        held = per_topic((tp.topic, tp.partition, waiting) for tp, (_, waiting) in lags.items())
        # Not "lag": /metrics exports that as gongkai_projection_lag_events, and faust
        # commits every few seconds, so a busy app is rarely at 0 (the never-catches-up
        # alert would fire on a healthy app).
        return {
            **found,
            "rebalancing": bool(self.app.rebalancing),
            "partitions": held["partitions"],
            "uncommitted": held["waiting"],
            "lag_by_topic": held["by_topic"],
        }


def build_projection_app(
    projections: Sequence[Projection],
    db: Database,
    bootstrap: str,
    topics: Sequence[str],
    *,
    app_id: str,
    prefix: str = DEFAULT_PREFIX,
    routes: Mapping[str, Collection[str]] | None = None,
    partitions: int = DEFAULT_PARTITIONS,
    datadir: str | None = None,
    batch: int = 500,
    within: float = 0.05,
    retry_limit: float = 10.0,
    **settings: Any,
) -> ProjectionApp:
    """A faust app applying `projections` to `db` from `topics`, each event once.

    Batches (up to `batch`, or what arrived within `within` s) go through one
    `shared.delivery.deliver` each, the step the consumer worker and the embedded runner
    share (inbox, batch fallback, parking). What survives a restart: the changelog-backed
    table `<app_id>-offsets` (per partition, the next offset applied: messages read again
    are skipped before the database) and the `consumer_inbox` rows in the read model's own
    transaction (an event the relay published twice is applied once). A non-event and each
    parked event go to the dead-letter topic; an infrastructure error is retried, holding the
    partitions (the watchdog rebuilds the app past its limit).
    """
    conf: dict[str, Any] = {"datadir": datadir} if datadir else {}
    conf.update(settings)
    if datadir:
        Path(datadir).parent.mkdir(parents=True, exist_ok=True)  # faust makes only the leaf
    app = create_stream_app(app_id, bootstrap, prefix=prefix, topic_partitions=partitions, **conf)
    offsets = app.Table(f"{app_id}-offsets", default=None, partitions=partitions)
    handle = ProjectionApp(app, offsets)
    consumer = f"{prefix}.{app_id}"
    wanted = {
        p.name: set(routes.get(p.name, topics)) if routes else set(topics) for p in projections
    }
    Item = tuple[Any, RecordedEvent]  # (faust event, decoded event)

    async def apply(items: Sequence[Item]) -> None:
        outcome = await deliver(
            db,
            projections,
            [Delivery(event, item.message.topic, item) for item, event in items],
            consumer=consumer,
            routes=wanted,
            inbox=True,
        )
        handle.applied += outcome.applied
        handle.skipped += outcome.duplicates
        for delivery, reason in outcome.parked:
            handle.dead_lettered += 1
            await dead_letter(app, prefix, delivery.message.value, reason, consumer=consumer)

    rereads = _Rereads(app, app_id)

    @app.agent(app.topic(*topics, key_type=bytes, value_type=bytes))
    async def project(stream):  # type: ignore[no-untyped-def]
        async for taken in stream.take_events(batch, within=within):
            fresh, upto, behind = _fresh(taken, offsets, rereads.accept_gap)
            handle.skipped += len(taken) - len(fresh)
            items: list[Item] = []
            for item in fresh:
                try:
                    items.append((item, decode(item.value)))
                except Exception as exc:
                    handle.dead_lettered += 1
                    await dead_letter(app, prefix, item.value, exc, consumer=consumer)
            handle.applying = True
            try:
                await _until_applied(apply, items, app_id, retry_limit)
            finally:
                handle.applying = False
            for item in upto.values():  # one changelog write per partition, not per message
                _remember(offsets, item)
            for key, done in behind.items():
                await rereads.seek(key, done)

    return handle


class _Rereads:
    """Reads a partition again from the next offset this app applied when faust hands over
    a later message (`_fresh`'s gap). faust-streaming 0.15.3 can drop a fetched batch during
    a rebalance and then count the skipped offsets as a gap (`Consumer._drain_messages`
    `_add_gap`, meant for compaction and transaction markers), so its commits pass messages
    no agent saw (tests/integration/test_streamed_projection.py; decision 141). Our service
    topics have no gaps of their own (an idempotent, non-transactional producer; not
    compacted), so a later offset means messages were skipped: seek back to the recorded
    position, once per few seconds. A gap that is still there after three re-reads is real
    (the broker no longer holds those offsets: retention) and is accepted, logged."""

    PATIENCE = 5.0
    ATTEMPTS = 3

    def __init__(self, app: faust.App, app_id: str) -> None:
        self.app = app
        self.app_id = app_id
        #: (topic, partition) → (offset sought, when, how many times)
        self.sought: dict[tuple[str, int], tuple[int, float, int]] = {}

    def accept_gap(self, key: tuple[str, int], done: int, offset: int) -> bool:
        if is_compacted(key[0]):  # compaction removes offsets: the log's gap
            return True
        sought = self.sought.get(key)
        if sought is not None and sought[0] == done and sought[2] >= self.ATTEMPTS:
            log.warning(
                "stream.gap_accepted", app=self.app_id, topic=key[0], partition=key[1],
                missing_from=done, missing_to=offset,
            )  # fmt: skip
            del self.sought[key]
            return True
        return False

    async def seek(self, key: tuple[str, int], done: int) -> None:
        now = time.monotonic()
        sought = self.sought.get(key)
        attempts = 0
        if sought is not None and sought[0] == done:
            if now - sought[1] < self.PATIENCE:
                return  # the messages before the seek are still arriving
            attempts = sought[2]
        log.warning(
            "stream.gap_reread", app=self.app_id, topic=key[0], partition=key[1], offset=done
        )
        try:
            await self.app.consumer.seek(TP(*key), done)
        except Exception as exc:  # revoked meanwhile (a rebalance): its next holder starts
            # from the committed offsets and meets the same check against the table
            log.warning("stream.gap_reread_failed", app=self.app_id, error=type(exc).__name__)
            return
        self.sought[key] = (done, now, attempts + 1)


def _remember(offsets: Any, item: Any) -> None:
    """Record the partition's next offset in the offsets table, as of that message."""
    message = item.message
    token = _current_event.set(weakref.ref(item))  # the table writes to its partition
    try:
        offsets[f"{message.topic}|{message.partition}"] = message.offset + 1
    finally:
        _current_event.reset(token)


def _fresh(
    taken: Sequence[Any],
    offsets: Any,
    accept_gap: Callable[[tuple[str, int], int, int], bool],
) -> tuple[list[Any], dict[tuple[str, int], Any], dict[tuple[str, int], int]]:
    """The batch's messages past the applied position, per partition the last of them, and
    the partitions to read again from their position (`behind`).

    faust delivers a message again after it seeks back to the committed offsets (after a
    rebalance, even in the batch that holds the first copy): a message below the position
    is skipped and does not move it back (it did: a later batch then dead-lettered a poison
    message a second time). A message above the position means faust skipped the ones in
    between (`_Rereads`): unless `accept_gap` says the gap is the log's, it and the rest of
    its partition in the batch wait for the partition to be read again from the position.
    """
    fresh: list[Any] = []
    upto: dict[tuple[str, int], Any] = {}
    behind: dict[tuple[str, int], int] = {}
    for item in taken:
        message = item.message
        key = (message.topic, message.partition)
        if key in behind:
            continue
        if key in upto:
            done = upto[key].message.offset + 1
        else:
            done = offsets.get(f"{message.topic}|{message.partition}")
        if done is not None and message.offset < done:
            continue
        if done is not None and message.offset > done and not accept_gap(key, done, message.offset):
            behind[key] = done
            continue
        upto[key] = item
        fresh.append(item)
    return fresh, upto, behind


async def _until_applied(
    apply: Callable[[Sequence[Any]], Awaitable[None]],
    items: Sequence[Any],
    app_id: str,
    retry_limit: float,
) -> None:
    """Apply, retrying an infrastructure error (database down) with backoff, holding the
    partitions; the watchdog rebuilds the app if that takes longer than its limit."""
    delay = 0.2
    while items:
        try:
            await apply(items)
            return
        except Exception as exc:
            log.warning("stream.retry", app=app_id, error=repr(exc), delay=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, retry_limit)


async def setup_projection_app(db: Database, projections: Sequence[Projection]) -> None:
    """The read-model tables, the kernel's dead_letters and the consumer inbox."""
    await db.execute_script([*CONSUMER_TABLES, *(s for p in projections for s in p.schema)])
