"""Publishing the annual report (条例第四十九、五十条), its deadline and 照搬照抄 (D-dut).

- **Deadline** [law, 条例第四十九条]: 县级以上人民政府部门 by 31 January, 县级以上地方人民政府
  by 31 March, for the previous year. A township government reports like a department
  (to the district's openness office, by 31 January); the district government by 31 March.
- **Late / missing**: published after its deadline ⇒ `late`; still unpublished the day
  after ⇒ the job records AnnualReportMissed once. Both are the assessment's
  `annual_report.late`, one case per tenant and year.
- **照搬照抄** [ours, measurable]: the office's own text (parts 一, 五, 六; the tables are
  numbers and the generated sentence is a template, so they are left out) is compared with
  the text of the previous year's published report: the share of this year's character
  3-grams (whitespace and punctuation removed) that also occur in last year's text. At or
  above COPY_THRESHOLD (0.8) the report is `copied` (`annual_report.copied`). The
  similarity and the threshold are recorded in the event.
- **Owed since**: the job flags only years on or after the year of the applications
  store's first event (the suite was in use that year); earlier years are outside it.

Pure except `publish` and `check_missing` (read the stream -> decide -> append).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import unicodedata
from collections.abc import Sequence
from datetime import date
from functools import partial
from uuid import UUID

import orjson
import structlog

from services.applications import annual, report
from services.applications.commands import PublishAnnualReport
from services.applications.events import AnnualReportMissed, AnnualReportPublished
from services.applications.handlers import ApplicationsHandlers
from shared.commands import actor_of
from shared.envelope import Actor, RecordedEvent, StreamWrite, new_id
from shared.errors import ConcurrencyConflict, DomainRuleViolated, ValidationFailed
from shared.eventstore import EventStore
from shared.identity import Principal, Role, authorize
from shared.jobs import ItemFailures
from shared.registry import to_new_event
from shared.service import Runtime, Suite
from shared.tenancy import OrgLevel, OrgTree
from shared.workdays import local_date

log = structlog.get_logger("gongkai.applications.annual_report")
COPY_THRESHOLD = 0.8
SHINGLE = 3
JOB_ACTOR = Actor(id="annual-report-job", kind="service", role="service")
JOB_INTERVAL_SECONDS = 600.0


def stream_of(tenant: str, year: int) -> str:
    return f"annual-report-{tenant}-{year}"


def due_on(year: int, government: bool) -> date:
    """条例第四十九条: 1月31日 (a department, a township), 3月31日 (a county-level government)."""
    return date(year + 1, 3, 31) if government else date(year + 1, 1, 31)


def _shingles(text: str) -> set[str]:
    kept = "".join(
        ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith("P")
    )
    if len(kept) < SHINGLE:
        return {kept} if kept else set()
    return {kept[i : i + SHINGLE] for i in range(len(kept) - SHINGLE + 1)}


def similarity(text: str, previous: str) -> float:
    """Share of this year's character 3-grams found in last year's text (0..1, 3 places)."""
    mine = _shingles(text)
    if not mine:
        return 0.0
    return round(len(mine & _shingles(previous)) / len(mine), 3)


def office_text(texts: dict[str, str]) -> str:
    return "\n".join(texts.get(k, "") for k in ("overview", "problems", "other")).strip()


def _published(events: Sequence[RecordedEvent]) -> RecordedEvent | None:
    return next((e for e in events if e.type == "AnnualReportPublished"), None)


def decide_publication(
    *,
    tenant: str,
    year: int,
    government: bool,
    report: dict[str, object],
    texts: dict[str, str],
    history: Sequence[RecordedEvent],
    previous_text: str | None,
    cmd: PublishAnnualReport,
    today: date,
    publisher: str,
) -> AnnualReportPublished:
    """Publish once, for a year that is over, with the office's 一 and 五 written."""
    if year >= today.year:
        raise ValidationFailed(
            rule="annual_report.year_not_over",
            field="year",
            message_zh=f"{year} 年度尚未结束，不能公布该年度报告",
            message_en=f"the year {year} is not over",
        )
    if _published(history) is not None:
        raise DomainRuleViolated(
            rule="annual_report.already_published",
            field="year",
            message_zh=f"{year} 年度报告已公布",
            message_en=f"the {year} report was already published",
        )
    published_on = cmd.published_on or today
    if published_on > today or published_on.year <= year:
        raise ValidationFailed(
            rule="annual_report.published_on_out_of_range",
            field="published_on",
            message_zh=f"公布日期须在 {year + 1} 年1月1日至今天之间",
            message_en=f"the publication day lies between {year + 1}-01-01 and today",
        )
    missing = [
        label for key, label in (("overview", "一"), ("problems", "五")) if not texts.get(key)
    ]
    if missing:
        raise ValidationFailed(
            rule="annual_report.texts_missing",
            field="texts",
            message_zh=f"年度报告第{'、'.join(missing)}部分的文字尚未撰写",
            message_en=f"the office's text of part(s) {', '.join(missing)} is not recorded",
        )
    text = office_text(texts)
    ratio = None if previous_text is None else similarity(text, previous_text)
    due = due_on(year, government)
    return AnnualReportPublished(
        tenant=tenant,
        year=year,
        title=str(report["title"]),
        published_on=published_on,
        due_on=due,
        late=published_on > due,
        url=cmd.url,
        content_sha256=hashlib.sha256(
            orjson.dumps(report, option=orjson.OPT_SORT_KEYS)
        ).hexdigest(),
        office_text=text,
        previous_year_published=previous_text is not None,
        similarity=ratio,
        copy_threshold=COPY_THRESHOLD,
        copied=ratio is not None and ratio >= COPY_THRESHOLD,
        published_by=publisher,
    )


def decide_missed(
    tenant: str, year: int, government: bool, history: Sequence[RecordedEvent], today: date
) -> AnnualReportMissed | None:
    """Once, the day after the deadline, when the year's report is unpublished."""
    due = due_on(year, government)
    if today <= due or _published(history) is not None:
        return None
    if any(e.type == "AnnualReportMissed" for e in history):
        return None
    return AnnualReportMissed(tenant=tenant, year=year, due=due, noticed_on=today)


def _government(orgs: OrgTree, tenant: str) -> bool:
    return orgs.level(tenant) is OrgLevel.DISTRICT


# --- reading and writing ------------------------------------------------------------------


async def publish(
    h: ApplicationsHandlers,
    year: int,
    cmd: PublishAnnualReport,
    principal: Principal,
    correlation_id: UUID,
    today: date,
) -> RecordedEvent:
    """The openness-office head publishes the year's report (条例第五十条)."""
    tenant = cmd.tenant or str(principal.org)
    authorize(principal, tenant, Role.OPENNESS_OFFICE_HEAD)
    h.orgs.get(tenant)
    events = await report.read_log(h.store)
    document = annual.build(
        events=events,
        publications=await annual.publication_rows(h.views),
        tenant=tenant,
        name=str(h.orgs.get(tenant).name),
        year=year,
        township_paths=[str(t.path) for t in h.orgs.townships()],
    )
    texts = annual.texts_of(events, tenant, year)
    history = await h.store.read_stream(stream_of(tenant, year))
    before = _published(await h.store.read_stream(stream_of(tenant, year - 1)))
    event = decide_publication(
        tenant=tenant,
        year=year,
        government=_government(h.orgs, tenant),
        report=document,
        texts=texts,
        history=history,
        previous_text=None if before is None else str(before.payload.get("office_text", "")),
        cmd=cmd,
        today=today,
        publisher=principal.sub,
    )
    actor = actor_of(principal, Role.OPENNESS_OFFICE_HEAD)
    write = StreamWrite(
        stream_id=stream_of(tenant, year),
        stream_type=event.stream_type,
        expected_version=len(history),
        events=(to_new_event(event, tenant, actor, correlation_id),),
    )
    (recorded,) = await h.store.append([write])
    return recorded


async def first_year(store: EventStore) -> int | None:
    """The year of the store's first event: reports are owed from that year on."""
    first = await store.read_all(0, 1)
    return local_date(first[0].recorded_at).year if first else None


async def check_missing(
    store: EventStore, orgs: OrgTree, today: date, failures: ItemFailures | None = None
) -> list[RecordedEvent]:
    """Record AnnualReportMissed for last year's unpublished reports of the district and
    each township (after their deadlines); safe to repeat (guarded by stream version)."""
    failures = failures or ItemFailures("annual-report-job")
    year = today.year - 1
    since = await first_year(store)
    if since is None or year < since:
        return []
    tenants = [str(orgs.district.path), *(str(t.path) for t in orgs.townships())]
    written: list[RecordedEvent] = []
    correlation = new_id()

    async def one(tenant: str) -> None:
        stream = stream_of(tenant, year)
        history = await store.read_stream(stream)
        event = decide_missed(tenant, year, _government(orgs, tenant), history, today)
        if event is None:
            return
        write = StreamWrite(
            stream_id=stream,
            stream_type=event.stream_type,
            expected_version=len(history),
            events=(to_new_event(event, tenant, JOB_ACTOR, correlation),),
        )
        with contextlib.suppress(ConcurrencyConflict):
            written.extend(await store.append([write]))

    for tenant in tenants:
        await failures.run_async(stream_of(tenant, year), partial(one, tenant))
    return written


async def run_job(runtime: Runtime, suite: Suite, stop: asyncio.Event) -> None:
    failures = ItemFailures("annual-report-job")
    while not stop.is_set():
        try:
            written = await check_missing(
                runtime.store, suite.orgs, local_date(suite.clock()), failures
            )
            if written:
                log.info("annual_report.missed", count=len(written))
        except Exception as exc:  # keep the job alive; the next round retries
            log.error("annual_report.job_failed", error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=JOB_INTERVAL_SECONDS)
