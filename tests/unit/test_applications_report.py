"""Annual report section 三 from events only (条例 Arts. 49–50; 国办公开办函〔2021〕30号;
DOMAIN.md §2): a generated year with hundreds of requests of every kind."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.applications import commands as c
from services.applications import domain, jobs, report
from services.applications.events import ReplyType, WithholdingReason
from services.applications.state import RequestState
from shared.envelope import Actor, RecordedEvent, new_id
from shared.registry import DomainEvent, payload_of
from shared.workdays import WorkdayCalendar

CAL = WorkdayCalendar.default()
TOWNSHIPS = ("shangdang/sudian", "shangdang/handian", "shangdang/yincheng")
KINDS = ("natural_person", "commercial", "research", "public_welfare", "legal_services", "other")
REPLIES: list[dict[str, Any]] = [
    {"reply_type": "already_public", "location": "http://www.shangdang.gov.cn/xxgk"},
    {"reply_type": "disclosed"},
    {"reply_type": "partial", "withholding_reason": "internal_affairs", "legal_basis": "第十六条"},
    *[
        {"reply_type": "not_disclosed", "withholding_reason": r.value, "legal_basis": "第十四条"}
        for r in WithholdingReason
    ],
    *[
        {"reply_type": t.value, "note": "说明", "location": "新华书店"}
        for t in ReplyType
        if t.value not in ("already_public", "disclosed", "partial", "not_disclosed")
        and t.value != "unclear_after_correction"
    ],
]


class Log:
    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []

    def record(self, stream: str, tenant: str, version: int, event: DomainEvent) -> None:
        now = datetime.now(UTC)
        self.events.append(
            RecordedEvent(
                event_id=new_id(),
                stream_id=stream,
                stream_type=event.stream_type,
                version=version,
                position=len(self.events) + 1,
                type=event.event_type,
                schema_version=event.schema_version,
                tenant=tenant,
                actor=Actor(id="wang-tietong"),
                correlation_id=new_id(),
                causation_id=None,
                occurred_at=now,
                recorded_at=now,
                payload=payload_of(event),
            )
        )


def generate(n: int, seed: int) -> tuple[Log, list[tuple[str, str, date, date | None, str | None]]]:
    """n requests received 2025-07..2026-12; returns the log and the expected summaries."""
    rng = random.Random(seed)
    log = Log()
    truth = []
    for i in range(n):
        tenant = rng.choice(TOWNSHIPS)
        kind = rng.choice(KINDS)
        received = date(2025, 7, 1) + timedelta(days=rng.randrange(0, 549))
        applicant: dict[str, Any] = {
            "kind": "natural_person" if kind == "natural_person" else "organization",
            "name": f"申请人{i}",
            "id_document": f"证件{i}",
            "phone": "13812345678",
        }
        if kind != "natural_person":
            applicant["organization_kind"] = kind
        cmd = c.RegisterRequest.model_validate(
            {
                "channel": "in_person",
                "submitted_on": received.isoformat(),
                "applicant": applicant,
                "description": f"申请公开第{i}项信息",
                "requested_form": "paper",
                "delivery_channel": "post",
            }
        )
        rid = new_id()
        stream = f"request-{rid}"
        event: DomainEvent = domain.register(
            cmd,
            request_id=rid,
            short_name="苏店",
            year=received.year,
            sequence=i + 1,
            today=received,
            calendar=CAL,
        )
        state = RequestState()
        events = [event]
        state = domain.evolve(state, event)
        outcome = rng.randrange(0, 10)
        done_on = received + timedelta(days=rng.randrange(0, 70))
        if outcome == 0:
            pass  # still open
        elif outcome == 1:
            events.append(domain.withdraw(state, c.Withdraw(withdrawn_on=done_on), done_on))
        elif outcome == 2:
            notice = domain.request_correction(
                state,
                c.RequestCorrection(defects=["内容不明确"], notified_on=received),
                received,
                CAL,
            )
            state = domain.evolve(state, notice)
            events += [notice, *jobs.due_events(state, CAL, received + timedelta(days=60))]
        elif outcome == 3:
            notice = domain.issue_fee_notice(
                state,
                c.IssueFeeNotice(mode="per_page", pages=90, notified_on=received),
                received,
                CAL,
                1,
            )
            state = domain.evolve(state, notice)
            events += [notice, *jobs.due_events(state, CAL, received + timedelta(days=60))]
        else:
            body = {**rng.choice(REPLIES), "replied_on": done_on.isoformat()}
            events.append(domain.reply(state, c.Reply.model_validate(body), done_on))
        for version, e in enumerate(events, start=1):
            log.record(stream, tenant, version, e)
        final = RequestState()
        for e in events:
            final = domain.evolve(final, e)
        truth.append((tenant, kind, received, final.concluded_on, final.report_row))
    rng.shuffle(log.events)  # order across streams does not matter; within a stream it does
    log.events.sort(key=lambda e: (e.stream_id, e.version))
    return log, truth


def expected(
    truth: list[tuple[str, str, date, date | None, str | None]], year: int
) -> Counter[str]:
    counts: Counter[str] = Counter()
    for _, _kind, received, concluded, row in truth:
        if received.year > year or (concluded and concluded.year < year):
            continue
        counts["一" if received.year == year else "二"] += 1
        if concluded and concluded.year == year:
            counts[str(row)] += 1
            counts["三(七)"] += 1
        else:
            counts["四"] += 1
    return counts


def test_the_generated_year_balances_per_column_and_matches_the_truth__art50() -> None:
    log, truth = generate(600, seed=2026)
    body = report.build(log.events, "shangdang/sudian", 2026, list(TOWNSHIPS))
    assert all(body["check"].values()), body["check"]
    values = {r["key"]: r["values"] for r in body["rows"] if r["key"]}
    sudian = [t for t in truth if t[0] == "shangdang/sudian"]
    assert {k: v["total"] for k, v in values.items() if v["total"]} == dict(expected(sudian, 2026))
    for column in KINDS:
        want = expected([t for t in sudian if t[1] == column], 2026)
        assert {k: v[column] for k, v in values.items() if v[column]} == dict(want)
    # Every kind of outcome occurs in the generated year.
    assert all(values[k]["total"] > 0 for k in report.OUTCOME_KEYS if k != "三(四)3")
    assert values["二"]["total"] > 0 and values["四"]["total"] > 0


def test_every_year_balances_and_one_years_carry_forward_is_the_next_years_carry_over() -> None:
    log, _ = generate(400, seed=7)
    previous = None
    for year in (2025, 2026, 2027):
        body = report.build(log.events, "shangdang", year, list(TOWNSHIPS))
        assert all(body["check"].values())
        values = {r["key"]: r["values"] for r in body["rows"] if r["key"]}
        if previous is not None:
            assert values["二"] == previous["四"]
        previous = values


def test_district_report_is_the_sum_of_its_townships__art50() -> None:
    log, _ = generate(300, seed=11)
    district = report.build(log.events, "shangdang", 2026, list(TOWNSHIPS))
    total = {r["key"]: r["values"]["total"] for r in district["rows"] if r["key"]}
    towns = district["townships"]
    assert [t["tenant"] for t in towns] == list(TOWNSHIPS)
    for key, value in total.items():
        assert value == sum(t["rows"][key]["total"] for t in towns)


def test_labels_are_exactly_those_of_the_national_format() -> None:
    log, _ = generate(20, seed=1)
    body = report.build(log.events, "shangdang/sudian", 2026, list(TOWNSHIPS))
    labels = [r["label"] for r in body["rows"]]
    assert labels[0] == "一、本年新收政府信息公开申请数量"
    assert "（二）部分公开（区分处理的，只计这一情形，不计其他情形）" in labels
    assert "3.危及“三安全一稳定”" in labels
    assert labels[-2:] == ["（七）总计", "四、结转下年度继续办理"]
    assert [c["label"] for c in body["columns"]] == [
        "自然人",
        "商业企业",
        "科研机构",
        "社会公益组织",
        "法律服务机构",
        "其他",
        "总计",
    ]
    csv_text = report.render(body, "csv")
    assert (
        csv_text.splitlines()[0]
        == "行,自然人,商业企业,科研机构,社会公益组织,法律服务机构,其他,总计"
    )
    html_text = report.render(body, "html")
    assert "法人或其他组织" in html_text and "（七）总计" in html_text


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10_000), year=st.sampled_from([2025, 2026, 2027]))
def test_the_balance_holds_for_any_generated_log__art50(seed: int, year: int) -> None:
    log, truth = generate(60, seed=seed)
    body = report.build(log.events, "shangdang", year, list(TOWNSHIPS))
    assert all(body["check"].values())
    values = {r["key"]: r["values"]["total"] for r in body["rows"] if r["key"]}
    assert {k: v for k, v in values.items() if v} == dict(expected(truth, year))
