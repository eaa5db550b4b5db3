"""The stream apps' two guards against messages faust skips (decision 139, 141): the partition
half of the watchdog (shared.streams._PartitionWatch) and the agent's gap check (`_fresh`).

An input partition whose committed offset does not move while messages wait on it is
stalled even when the app's other partitions make progress: a message faust read but never
handed to the agent leaves a gap its commits never pass, and the partition waits for a
rebalance that may never come (the scoreboard of the distributed e2e suite once missed a
registered consultation for 60 s while later events were scored). The whole-app watchdog
only sees that the app as a whole moves. The rule, with the clock and the broker's answers
given: the consumer here is a stand-in for the three things the watch reads of faust's
(its assignment, its committed offsets, the broker's high watermarks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition

from shared.kafka import is_compacted
from shared.streams import StreamProcessorStuck, _fresh, _PartitionWatch

pytestmark = pytest.mark.unit

SCORED = TopicPartition("gongkai.interpretation.events", 1)
BUSY = TopicPartition("gongkai.sentiment.events", 0)
CHANGELOG = TopicPartition("gongkai.assessment-streamed-offsets-changelog", 1)


@dataclass
class Consumer:
    highwater: dict[TopicPartition, int]
    _committed_offset: dict[TopicPartition, int] = field(default_factory=dict)

    def assignment(self) -> set[TopicPartition]:
        return {*self.highwater, CHANGELOG}

    async def highwaters(self, *tps: TopicPartition) -> dict[TopicPartition, int]:
        return {tp: self.highwater[tp] for tp in tps}


def app_with(consumer: Consumer, **state: Any) -> Any:
    return SimpleNamespace(
        consumer=consumer,
        rebalancing=state.get("rebalancing", False),
        in_recovery=False,
        conf=SimpleNamespace(id="gongkai.assessment-streamed"),
    )


async def test_a_partition_that_commits_nothing_while_the_others_go_on_is_declared_stalled() -> (
    None
):
    consumer = Consumer({SCORED: 8, BUSY: 100}, {SCORED: 7, BUSY: 90})
    app = app_with(consumer)
    watch = _PartitionWatch(after=20, every=5)
    for t in range(0, 21, 5):
        consumer._committed_offset[BUSY] += 2  # the other partition goes on
        consumer.highwater[BUSY] += 2
        await watch.check(app, applying=False, now=float(t))
    with pytest.raises(StreamProcessorStuck) as stuck:
        await watch.check(app, applying=False, now=25.0)
    text = str(stuck.value)
    assert "gongkai.interpretation.events[1]" in text and "past offset 7" in text
    assert "1 message(s) waiting" in text


async def test_a_partition_that_commits_or_has_nothing_waiting_is_not_stalled() -> None:
    consumer = Consumer({SCORED: 8, BUSY: 100}, {SCORED: 8, BUSY: 90})
    app = app_with(consumer)
    watch = _PartitionWatch(after=20, every=5)
    for t in range(0, 61, 5):
        consumer._committed_offset[BUSY] += 1  # behind, but committing
        consumer.highwater[BUSY] += 1
        await watch.check(app, applying=False, now=float(t))  # SCORED: nothing waits


async def test_a_batch_being_applied_defers_the_verdict_and_a_rebalance_starts_again() -> None:
    consumer = Consumer({SCORED: 8}, {SCORED: 7})
    watch = _PartitionWatch(after=20, every=5)
    await watch.check(app_with(consumer), applying=False, now=0.0)
    await watch.check(app_with(consumer), applying=True, now=30.0)  # deferred, not judged
    await watch.check(app_with(consumer, rebalancing=True), applying=False, now=35.0)
    await watch.check(app_with(consumer), applying=False, now=40.0)  # marks start again
    await watch.check(app_with(consumer), applying=False, now=50.0)
    with pytest.raises(StreamProcessorStuck):
        await watch.check(app_with(consumer), applying=False, now=61.0)


async def test_checks_closer_than_every_do_not_ask_the_broker() -> None:
    consumer = Consumer({SCORED: 8}, {SCORED: 7})
    watch = _PartitionWatch(after=20, every=5)
    await watch.check(app_with(consumer), applying=False, now=0.0)
    consumer.highwater.clear()  # a broker call now would fail with KeyError
    await watch.check(app_with(consumer), applying=False, now=4.0)


# --- the agent's own check: an offset beyond the applied position is a skip -----------------


def taken(*offsets: tuple[str, int, int]) -> list[Any]:
    return [
        SimpleNamespace(message=SimpleNamespace(topic=t, partition=p, offset=o))
        for t, p, o in offsets
    ]


def test_an_offset_beyond_the_applied_position_holds_its_partition_back_for_a_reread() -> None:
    scored, busy = ("gongkai.interpretation.events", 1), ("gongkai.sentiment.events", 0)
    offsets = {"gongkai.interpretation.events|1": 11, "gongkai.sentiment.events|0": 90}
    batch = taken((*scored, 10), (*scored, 13), (*busy, 90), (*scored, 14), (*busy, 91))
    fresh, upto, behind = _fresh(batch, offsets, lambda *_: False)
    assert [i.message.offset for i in fresh] == [90, 91]  # 10: applied before; 13, 14 wait
    assert behind == {scored: 11}
    assert upto[busy].message.offset == 91 and scored not in upto


def test_a_gap_the_log_has_is_accepted_and_the_messages_go_on() -> None:
    platform = ("gongkai.platform.events", 0)
    fresh, _, behind = _fresh(taken((*platform, 7), (*platform, 9)), {}, lambda *_: True)
    assert [i.message.offset for i in fresh] == [7, 9] and not behind


def test_only_compacted_topics_have_gaps_of_their_own() -> None:
    assert is_compacted("gongkai.platform.events")
    assert not is_compacted("gongkai.interpretation.events")
