"""One item's failure never stops a background job's work for the others (issue #21).

shared/jobs.py isolates each item: the failure is logged (once per item and error, with
where it failed, never the message, which may quote personal data), counted, skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
import structlog

from shared.errors import ValidationFailed
from shared.jobs import ItemFailures

pytestmark = pytest.mark.unit
APPLICANT = "王秀英"


@pytest.fixture(autouse=True)
def every_level_logged() -> Iterator[None]:
    """structlog's defaults for these tests: an earlier test that ran the suite's
    configure_logging leaves a level filter that drops debug lines before capture_logs
    sees them (it replaces the processors, not the filtering logger class)."""
    saved = structlog.get_config()
    structlog.reset_defaults()
    yield
    structlog.configure(**saved)


def _fails_for(bad: str) -> Callable[[str], str]:
    def work(item: str) -> str:
        if item == bad:
            raise ValueError(f"{APPLICANT}: year 0 is out of range")
        return item.upper()

    return work


def test_a_failing_item_is_skipped_and_the_others_done__issue21() -> None:
    failures = ItemFailures("test-job")
    work = _fails_for("b")
    with structlog.testing.capture_logs() as logs:
        done = [failures.run(item, lambda i=item: work(i)) for item in ("a", "b", "c")]
    assert done == ["A", None, "C"]
    assert failures.failed == 1 and failures.failing == {"b": "ValueError"}
    (entry,) = logs
    assert (entry["event"], entry["log_level"], entry["job"], entry["item"], entry["error"]) == (
        "job.item_failed",
        "error",
        "test-job",
        "b",
        "ValueError",
    )
    assert "test_jobs.py" in entry["where"][-1] and APPLICANT not in str(entry)


def test_a_repeated_failure_is_counted_but_logged_once_until_it_heals() -> None:
    failures = ItemFailures("test-job")
    with structlog.testing.capture_logs() as logs:
        for _ in range(3):
            failures.run("b", lambda: 1 / 0)
        failures.run("b", lambda: "healed")
        failures.run("b", lambda: 1 / 0)
    assert failures.failed == 4
    levels = [(e["event"], e["log_level"]) for e in logs]
    assert levels == [
        ("job.item_failed", "error"),
        ("job.item_failed_again", "debug"),
        ("job.item_failed_again", "debug"),
        ("job.item_failed", "error"),  # failing again after it healed is news
    ]


def test_async_work_and_a_domain_error_name_the_rule() -> None:
    failures = ItemFailures("test-job")

    async def refuse() -> int:
        raise ValidationFailed(rule="workdays.out_of_range", message_zh="超出", message_en="out")

    async def fine() -> int:
        return 7

    with structlog.testing.capture_logs() as logs:
        assert asyncio.run(failures.run_async("x", refuse)) is None
        assert asyncio.run(failures.run_async("y", fine)) == 7
    assert logs[0]["rule"] == "workdays.out_of_range"


def test_cancellation_is_not_swallowed() -> None:
    failures = ItemFailures("test-job")

    async def cancelled() -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(failures.run_async("x", cancelled))


def test_failures_and_the_items_failing_now_are_on_the_metrics_per_job__issue21() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from shared import jobs

    failures = ItemFailures("metrics-test-job")
    before = jobs.FAILURES["metrics-test-job"]

    def broken() -> None:
        raise ValueError("cannot count")

    failures.run("request-1", broken)
    failures.run("request-2", broken)
    failures.run("request-2", broken)  # the same item again: counted, not a second item
    registry = CollectorRegistry()
    registry.register(jobs.JobCollector())
    text = generate_latest(registry).decode()
    assert f'gongkai_job_item_failures_total{{job="metrics-test-job"}} {before + 3}.0' in text
    assert 'gongkai_job_items_failing{job="metrics-test-job"} 2.0' in text
    failures.run("request-1", lambda: None)  # healed on a later pass
    text = generate_latest(registry).decode()
    assert 'gongkai_job_items_failing{job="metrics-test-job"} 1.0' in text
