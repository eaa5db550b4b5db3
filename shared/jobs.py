"""One item's failure never stops a background job's work for the others.

A scheduler walks many items (requests, obligations, documents, tasks) each pass. Before
issue #21 one request whose received date the working-day calendar could not count from
raised out of the pass, so no request of the district got its deadline alert, every pass,
until someone found it. Now each item's work runs isolated: a failure is logged (with the
job, the item and the error, never the item's content), counted, and the item is skipped;
the others go on. The item is tried again on a later pass, so a transient failure heals.
"""

from __future__ import annotations

import traceback
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from shared.errors import GongkaiError

T = TypeVar("T")

log = structlog.get_logger("gongkai.jobs")

#: This process's item failures per job since it started, and the items failing now per
#: job: `gongkai_job_item_failures_total` and `gongkai_job_items_failing` (JobCollector).
FAILURES: dict[str, int] = defaultdict(int)
FAILING: dict[str, int] = {}


class JobCollector(Collector):
    """The jobs' failures on /metrics (the alert GongkaiJobItemFailing)."""

    def collect(self) -> Iterator[Any]:
        total = CounterMetricFamily(
            "gongkai_job_item_failures",
            "Item failures of the background jobs of this process since it started",
            labels=["job"],
        )
        failing = GaugeMetricFamily(
            "gongkai_job_items_failing",
            "Items a background job failed on at its last try (skipped, retried next pass)",
            labels=["job"],
        )
        for job, count in sorted(FAILURES.items()):
            total.add_metric([job], count)
        for job, count in sorted(FAILING.items()):
            failing.add_metric([job], count)
        yield total
        yield failing


class ItemFailures:
    """The isolation of one background job's items, and its count of failures.

    A failing item is logged with its traceback the first time it fails with a given
    error, then at debug level while it keeps failing the same way (a job passes every
    few seconds); `failed` counts every failure, `failing` names the items failing now.
    """

    def __init__(self, job: str) -> None:
        self.job = job
        self.failed = 0
        self.failing: dict[str, str] = {}

    def run(self, item: str, work: Callable[[], T]) -> T | None:
        """`work()`, or None when it raised (logged and counted)."""
        try:
            result = work()
        except Exception as exc:
            self._failed(item, exc)
            return None
        self._succeeded(item)
        return result

    async def run_async(self, item: str, work: Callable[[], Awaitable[T]]) -> T | None:
        """`await work()`, or None when it raised (logged and counted)."""
        try:
            result = await work()
        except Exception as exc:
            self._failed(item, exc)
            return None
        self._succeeded(item)
        return result

    def _succeeded(self, item: str) -> None:
        if self.failing.pop(item, None) is not None:
            FAILING[self.job] = len(self.failing)

    def _failed(self, item: str, exc: Exception) -> None:
        self.failed += 1
        FAILURES[self.job] += 1
        error = type(exc).__name__
        fields: dict[str, Any] = {"job": self.job, "item": item, "error": error}
        if isinstance(exc, GongkaiError):
            fields["rule"] = exc.rule
        if self.failing.get(item) == error:
            log.debug("job.item_failed_again", **fields)
            return
        self.failing[item] = error
        FAILING[self.job] = len(self.failing)
        # Where it failed, not the message: a validation error quotes its input, which may
        # be an applicant's name or a citizen's words.
        frames = traceback.extract_tb(exc.__traceback__)[-3:]
        where = [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames]
        log.error("job.item_failed", failed=self.failed, where=where, **fields)
