"""The opinion officer's, the assessor's and the auditor's pages: the pure parts (clock
words, the classifier's reasons in Chinese, a card's breakdown in words, a trail row, the
extension date), and the audit trail's access filter (docs/workbench.md)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.audit.trail import TrailQuery
from services.workbench import audit, opinion, scores
from services.workbench.forms import Field
from shared.workdays import WorkdayCalendar

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Beijing, a Monday


def calendar() -> WorkdayCalendar:
    return WorkdayCalendar.default()


def test_a_case_clock_is_told_in_hours_within_48_hours_and_in_working_days_beyond() -> None:
    cal = calendar()
    soon = (NOW + timedelta(hours=30)).isoformat()
    late = (NOW - timedelta(hours=5, minutes=10)).isoformat()
    far = datetime(2026, 12, 28, 15, 59, 59, tzinfo=UTC).isoformat()
    assert opinion.clock(soon, NOW, cal).words == "还剩30小时"
    overdue = opinion.clock(late, NOW, cal)
    assert (overdue.words, overdue.level) == ("已超期5小时", "overdue")
    assert opinion.clock(far, NOW, cal).words.startswith("还剩")
    assert opinion.clock(far, NOW, cal).words.endswith("个工作日")
    assert opinion.clock(far, NOW, cal, done="已办结").words == "已办结"


def test_the_classifiers_decision_is_shown_in_chinese_with_the_words_that_decided() -> None:
    why = opinion.reasons(
        {
            "category": "城乡建设",
            "category_confidence": 0.87,
            "category_reasons": ["路灯", "维修"],
            "tags": [{"tag": "重大民生", "reasons": ["老人"]}],
            "polarity": "negative",
            "sentiment_reasons": ["不及时", "强调·不满意"],
            "urgency": "urgent",
            "urgency_classes": ["重大民生"],
            "urgency_reasons": ["重大民生:摔倒"],
        }
    )
    assert why["polarity"] == "负面" and why["urgency"] == "紧急"
    assert why["confidence"] == 87 and why["category_reasons"] == "路灯、维修"
    assert why["sentiment_reasons"] == "不及时、强调·不满意"
    assert why["tags"] == [("重大民生", "老人")]


def test_an_extension_asked_for_a_day_ends_at_its_last_second_in_beijing() -> None:
    fields = [
        Field("requested_due", "申请延至", "date", True),
        Field("reason", "延期理由", "text", True),
    ]
    body = opinion._step_body(fields, {"requested_due": "2026-12-20", "reason": "需现场勘查"})
    assert body == {"requested_due": "2026-12-20T23:59:59+08:00", "reason": "需现场勘查"}


def test_a_breakdown_names_causes_and_items_in_words_without_ids() -> None:
    task = "0190aaaa-0000-7000-8000-000000000001"
    card: dict[str, Any] = {
        "subject": "shangdang/xihuo/social-affairs",
        "signals": {"ledger.task_overdue": "工作台账事项逾期未完成（方案§20）"},
        "lines": [
            {"name": "工作台账落实", "kind": "indicator", "weight": 25, "points": 20, "raw": 5,
             "cases": [{"signal": "ledger.task_overdue", "case": task, "event_ids": ["e1"]}]},
            {"name": "亮点工程", "kind": "bonus", "weight": 0, "points": 2, "raw": 2,
             "cases": [{"signal": "highlight.recognized", "case": "h1", "event_ids": ["e2"]}]},
        ],
        "veto_cases": [],
    }  # fmt: skip
    lines = asyncio.run(scores.breakdown(None, card, {task: "整改空白栏目"}))  # type: ignore[arg-type]
    first, bonus = lines
    assert first["deducted"] == 5
    assert first["causes"] == [
        {
            "label": "工作台账事项逾期未完成（方案§20）",
            "cases": [
                {
                    "name": "整改空白栏目",
                    "href": "/workbench/scores/tasks?org=shangdang/xihuo/social-affairs",
                }
            ],
        }
    ]
    # A cause the API gives no label for, and an item nobody can look up: numbered, no id.
    assert bonus["causes"] == [
        {"label": "其他原因", "cases": [{"name": "事项（第1件）", "href": ""}]}
    ]


class _Book:
    def get(self, account_id: str) -> Any:
        return None


class _Orgs:
    def find_person(self, person_id: str) -> Any:
        raise KeyError(person_id)

    def get(self, path: str) -> Any:
        raise KeyError(path)


def test_an_access_event_row_names_the_reader_and_the_fields_never_the_values() -> None:
    from services.workbench.pages import Workbench

    wb = Workbench.__new__(Workbench)
    wb.orgs, wb.book = _Orgs(), _Book()  # type: ignore[assignment]
    record = {
        "seq": 7,
        "service": "sentiment",
        "hash": "ab" * 32,
        "event": {
            "type": "CitizenDataRead",
            "stream_id": "personal-data-access-xia-lu",
            "tenant": "shangdang/xihuo",
            "recorded_at": "2026-12-06T18:30:00+00:00",
            "actor": {"id": "xia-lu"},
            "payload": {
                "message_ids": ["m1", "m2"],
                "endpoint": "GET /v1/messages",
                "fields": ["citizen"],
            },
        },
    }
    row = audit.record_row(wb, record)
    assert row["what"] == "查阅留言人个人信息" and row["service"] == "舆情回应"
    assert row["read"] == "2条留言" and row["fields"] == "留言人姓名和电话"
    assert row["when"] == "2026年12月7日 02:30"


def test_the_access_filter_reads_only_the_personal_data_access_streams() -> None:
    sql, args = TrailQuery(tenant="shangdang/xihuo", access_only=True).sql(0, 100)
    assert "stream_id LIKE" in sql and "personal-data-access-%" in args
    plain, _ = TrailQuery(tenant="shangdang/xihuo").sql(0, 100)
    assert "stream_id LIKE" not in plain


def test_the_searched_period_defaults_to_the_last_seven_days() -> None:
    assert audit._period("", "", date(2026, 12, 7)) == (date(2026, 12, 1), date(2026, 12, 7))
    assert audit._period("2026-12-07", "2026-12-01", date(2026, 12, 7)) == (
        date(2026, 12, 1),
        date(2026, 12, 7),
    )


def test_a_person_without_a_request_queue_starts_in_their_own_section() -> None:
    from services.workbench.landing import landing
    from shared.identity import Principal, Role

    def who(*roles: Role) -> Principal:
        return Principal(sub="x", org="shangdang/xihuo", roles=frozenset(roles), kind="user")

    assert landing(who(Role.OPINION_OFFICER)) == "/workbench/opinion"
    assert landing(who(Role.AUDITOR)) == "/workbench/audit"
    assert landing(who(Role.DISTRICT_ASSESSOR)) == "/workbench/scores"
    assert landing(who(Role.REQUEST_HANDLER)) is None
