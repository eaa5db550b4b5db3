"""Which events count in the assessment: event → findings (考核事项), a pure function.

A finding is one failure (or one merit) of one org on one day: a signal name, the case it
is about, the org it is charged to, the day and the id of the event that reported it.
Schemes (scheme.py) attach points to signals, never to event types, so a scheme can be
written and checked before the service that emits the events exists.

Matching is by event type name and payload field, read defensively: an event type that
does not exist yet activates its rule the day it appears; an unknown type, or a payload
without the expected fields, yields no finding (it never parks the event). The `case`
key makes a failure count once however many events report it (a reply that is both
escalated and answered late is one late case — DOMAIN.md §5 "per case").
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

#: Every signal a scheme may name, with its label (DOMAIN.md §5, 方案§20, §21).
KNOWN_SIGNALS: Mapping[str, str] = {
    "disclosure.late": "主动公开信息未在20个工作日内公开（条例第二十六条）",
    "disclosure.personal_data_leak": "泄露个人隐私或敏感信息（方案§8）",
    "disclosure.secret_leak": "涉密信息上网（涉密不上网、上网不涉密，方案§18）",
    "column.stale": "栏目未按期更新（动态栏目2周、其他6个月）",
    "column.empty": "栏目空白",
    "request.reply_overdue": "依申请公开逾期未答复（条例第三十三条）",
    "request.decision_corrected": "依申请公开答复被复议或诉讼纠正",
    "interpretation.not_synchronous": "政策文件与解读未同步公开（三同步，方案§15）",
    "interpretation.published": "已发布解读的政策（解读率的基数，方案§15）",
    "interpretation.diversified": "解读含至少一种非文字形式（多样化解读率，方案§15、§五(二)）",
    "interpretation.multichannel": "解读在至少两个渠道发布（多渠道发布率，方案§15、§五(二)）",
    "opinion.response_late": "舆情或群众留言未按期回应（方案§17）",
    "qa.consultation": "登记的政策咨询（答复及时率的基数，方案§16）",
    "qa.answered_in_time": "政策咨询在时限内答复（答复及时率，方案§16）",
    "annual_report.late": "年度报告逾期或未发布（条例第四十九、五十条）",
    "annual_report.copied": "年度报告照搬照抄",
    "ledger.task_overdue": "工作台账事项逾期未完成（方案§20）",
    "training.session_missed": "培训计划未按期落实（方案§20、§六(一)）",
    "highlight.recognized": "亮点工程（方案§21）",
    "highlight.popular_column": "最受群众欢迎的政务公开专栏（月度访问量前三，群众口碑，方案§21）",
    # --- issue #20 duties (D-dut): 规范性文件备案, 学法 ---------------------------------
    "filing.overdue": "规章、行政规范性文件未在公布之日起30日内报送备案（方案§18）",
    "study.regulation_not_covered": "年度内未开展含《政府信息公开条例》的学法培训（方案§六(一)）",
    "study.leaders_absent": "领导干部年度内未参加《政府信息公开条例》学法（方案§六(一)）",
    "enforcement.publication_late": (
        "行政执法决定未在7个工作日内公示（国办发〔2018〕118号；方案§10）"
    ),
    "submission.none_in_month": "单位当月未报送信息（报送刊登情况通报，方案§18）",
}


@dataclass(frozen=True)
class Finding:
    signal: str
    case: str
    org: str
    on: date
    event_id: str
    event_type: str


@dataclass(frozen=True)
class Source:
    """What the classifier reads of a recorded event (kept small to stay pure and testable)."""

    event_id: str
    type: str
    tenant: str
    occurred_at: datetime
    payload: Mapping[str, Any]


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).date() if value.utcoffset() is not None else None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            if len(value) == 10:
                return date.fromisoformat(value)
            instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return _day(instant)
    return None


def _on(source: Source, *fields: str) -> date:
    """The day of the fact: the first payload date present, else the event's own day."""
    for name in fields:
        found = _day(source.payload.get(name))
        if found is not None:
            return found
    return source.occurred_at.astimezone(SHANGHAI).date()


def _case(source: Source, *fields: str) -> str:
    for name in fields:
        value = source.payload.get(name)
        if value not in (None, ""):
            return str(value)
    return source.event_id


def _org(source: Source, *fields: str) -> str:
    """Charge the finding to a payload org path inside the tenant's township, else the tenant."""
    root = source.tenant.split("/")[0]
    for name in fields:
        value = source.payload.get(name)
        if isinstance(value, str) and (value == root or value.startswith(root + "/")):
            return value
    return source.tenant


def _finding(source: Source, signal: str, case: str, org: str, on: date) -> Finding:
    return Finding(signal, case, org, on, source.event_id, source.type)


def _flag(source: Source, name: str) -> bool:
    return source.payload.get(name) is True


def _document_published(s: Source) -> list[Finding]:
    """Late first publication is the same case as its PublicationDeadlineMissed; a late
    update (a changed document, Art. 26 "形成或者变更") is a case of its own revision."""
    if not _flag(s, "late"):
        return []
    document = _case(s, "document_id")
    case = f"{document}:{s.payload.get('revision', 1)}" if _flag(s, "is_update") else document
    org = _org(s, "drafting_unit")
    return [_finding(s, "disclosure.late", case, org, _on(s, "published_at"))]


def _simple(signal: str, case_fields: tuple[str, ...], date_fields: tuple[str, ...] = ()) -> Any:
    def classify(s: Source) -> list[Finding]:
        org = _org(s, "unit", "org", "drafting_unit", "owner_unit")
        return [_finding(s, signal, _case(s, *case_fields), org, _on(s, *date_fields))]

    return classify


def _interpretation_late(s: Source) -> list[Finding]:
    """三同步: published after the latest due (3 working days, 郑州) or flagged late."""
    late = _flag(s, "late") or s.payload.get("on_time") is False
    late = late or s.payload.get("within_deadline") is False
    if not late:
        return []
    case = _case(s, "policy_document_id", "document_id", "obligation_id", "interpretation_id")
    org = _org(s, "unit", "owner_unit", "drafting_unit", "org")
    on = _on(s, "published_on", "published_at")
    return [_finding(s, "interpretation.not_synchronous", case, org, on)]


def _interpretation_published(s: Source) -> list[Finding]:
    """三同步 lateness, and the two rates of 方案§15 (DOMAIN.md §3, our definitions): a
    policy is interpreted in diverse forms when one of its published interpretations has a
    form other than plain text (图解, 访谈, 动漫, 短视频, 问答…), and on multiple channels when
    one of them went out on at least two channels. The case is the policy document."""
    found = _interpretation_late(s)
    document = s.payload.get("document_id")
    if document in (None, ""):
        return found
    case = str(document)
    org = _org(s, "unit", "owner_unit", "drafting_unit", "org")
    on = _on(s, "published_at", "published_on")
    found.append(_finding(s, "interpretation.published", case, org, on))
    forms = s.payload.get("forms")
    if isinstance(forms, list) and any(isinstance(f, str) and f != "text" for f in forms):
        found.append(_finding(s, "interpretation.diversified", case, org, on))
    channels = s.payload.get("channels")
    if isinstance(channels, list) and len({c for c in channels if isinstance(c, str)}) >= 2:
        found.append(_finding(s, "interpretation.multichannel", case, org, on))
    return found


def _qa_registered(s: Source) -> list[Finding]:
    """Every question registered in the Q&A knowledge base is a case of the base."""
    org = _org(s, "owner_unit")
    case = _case(s, "qa_id")
    return [_finding(s, "qa.consultation", case, org, _on(s, "received_at"))]


def _qa_answered(s: Source) -> list[Finding]:
    """The first answer within the limit (its verdict travels on every revision, so a
    revision never turns a late answer into a timely one); the case is the entry."""
    if s.payload.get("on_time") is not True:
        return []
    case = _case(s, "qa_id")
    return [_finding(s, "qa.answered_in_time", case, s.tenant, _on(s, "answered_at"))]


def _case_responded(s: Source) -> list[Finding]:
    if s.payload.get("on_time") is not False:
        return []
    return [
        _finding(s, "opinion.response_late", _case(s, "case_id"), s.tenant, _on(s, "responded_at"))
    ]


_CORRECTED = {"corrected", "revoked", "overturned", "纠正", "结果纠正"}


def _review_outcome(s: Source) -> list[Finding]:
    """Art. 51: a reply corrected on administrative review or in court (报告第四部分 结果纠正)."""
    outcome = s.payload.get("outcome", s.payload.get("result"))
    if s.type != "RequestDecisionCorrected" and outcome not in _CORRECTED:
        return []
    case = _case(s, "case_id", "request_id")
    return [_finding(s, "request.decision_corrected", case, s.tenant, _on(s, "decided_on", "on"))]


def _annual_report_published(s: Source) -> list[Finding]:
    """Late (条例第四十九条: by 31 January) and copied (照搬照抄: the office's text this
    year is over the threshold similar to last year's, applications/annual_publication.py)
    are two cases of the same report."""
    case = f"{s.tenant}:{s.payload.get('year', '')}"
    on = _on(s, "published_on")
    found = []
    if _flag(s, "late"):
        found.append(_finding(s, "annual_report.late", case, s.tenant, on))
    if _flag(s, "copied"):
        found.append(_finding(s, "annual_report.copied", case, s.tenant, on))
    return found


def _annual_report_missing(s: Source) -> list[Finding]:
    case = f"{s.tenant}:{s.payload.get('year', '')}"
    return [_finding(s, "annual_report.late", case, s.tenant, _on(s, "noticed_on", "due"))]


def _task_completed(s: Source) -> list[Finding]:
    """Done after its due date: the same case as TaskOverdue (counted once)."""
    if not _flag(s, "late"):
        return []
    on = _on(s, "completed_on")
    return [_finding(s, "ledger.task_overdue", _case(s, "task_id"), s.tenant, on)]


#: 最受群众欢迎的专栏: the top places of a month's ranking count as 群众口碑 evidence.
POPULAR_TOP = 3


def _popular_columns(s: Source) -> list[Finding]:
    """方案§21 群众口碑: the subscriptions service's monthly 最受欢迎专栏 (PopularColumnsRanked);
    each of the first POPULAR_TOP columns is one finding of its township, case = the column
    and the month (a scheme gives it bonus points; recognising a 亮点工程 stays a person's act)."""
    ranking = s.payload.get("ranking")
    if not isinstance(ranking, list):
        return []
    on = _on(s, "last_day")
    found = []
    for entry in ranking:
        if not isinstance(entry, dict) or not isinstance(entry.get("rank"), int):
            continue
        township = entry.get("township")
        if entry["rank"] > POPULAR_TOP or not isinstance(township, str) or not township:
            continue
        case = f"{township}:{entry.get('column', '')}:{s.payload.get('period', '')}"
        found.append(_finding(s, "highlight.popular_column", case, township, on))
    return found


# --- issue #20 duties (D-dut) ---------------------------------------------------------


def _document_filed(s: Source) -> list[Finding]:
    """备案 after its 30 days: the same case as the FilingOverdue the sweep recorded."""
    if not _flag(s, "late"):
        return []
    org = _org(s, "drafting_unit")
    return [_finding(s, "filing.overdue", _case(s, "document_id"), org, _on(s, "filed_on"))]


_INCIDENT_SIGNALS = {
    "secret_leak": "disclosure.secret_leak",
    "personal_data_leak": "disclosure.personal_data_leak",
}


def _incident_confirmed(s: Source) -> list[Finding]:
    """泄密 / 个人信息泄露 confirmed by the openness-office head: the leak signals (the
    secret leak is a veto in the demo scheme)."""
    signal = _INCIDENT_SIGNALS.get(str(s.payload.get("kind", "")))
    if signal is None:
        return []
    org = _org(s, "org", "unit")
    case = _case(s, "incident_id")
    return [_finding(s, signal, case, org, _on(s, "confirmed_on", "occurred_on"))]


def _study_missed(s: Source) -> list[Finding]:
    """学法 (方案§六(一)): a year without a session covering the 条例, and/or leaders who
    attended none; one case per org and year each, charged to the year that passed."""
    case = f"{_case(s, 'org')}:{s.payload.get('year', '')}"
    org = _org(s, "org")
    on = _on(s, "year_end", "noticed_on")
    found = []
    if s.payload.get("sessions_covering") == 0:
        found.append(_finding(s, "study.regulation_not_covered", case, org, on))
    absent = s.payload.get("leaders_absent")
    if isinstance(absent, list) and absent:
        found.append(_finding(s, "study.leaders_absent", case, org, on))
    return found


DUTY_CLASSIFIERS: Mapping[str, Callable[[Source], list[Finding]]] = {
    # catalog: 规范性文件备案 (方案§18) and confirmed information-security incidents
    "FilingOverdue": _simple("filing.overdue", ("document_id",), ("noticed_on", "due_on")),
    "DocumentFiled": _document_filed,
    "DisclosureIncidentConfirmed": _incident_confirmed,
    # assessment: 学法 (方案§六(一))
    "RegulationStudyMissed": _study_missed,
}


def _enforcement_published(s: Source) -> list[Finding]:
    """行政执法公示 after its due day (7 working days for 行政许可 / 行政处罚, 国办发〔2018〕118号):
    the same case as its EnforcementPublicationOverdue (counted once)."""
    if not _flag(s, "late"):
        return []
    org = _org(s, "unit")
    on = _on(s, "published_on")
    return [_finding(s, "enforcement.publication_late", _case(s, "decision_id"), org, on)]


def _submission_bulletin(s: Source) -> list[Finding]:
    """报送刊登情况通报 (方案§18, decision 83): each unit listed with nothing submitted
    in the month is one case (unit and month), charged to the unit on the month's last day."""
    month = s.payload.get("month")
    rows = s.payload.get("rows")
    if not isinstance(month, str) or not isinstance(rows, list):
        return []
    last = _month_end(month)
    if last is None:
        return []
    found = []
    for row in rows:
        if not isinstance(row, Mapping) or row.get("submitted") != 0:
            continue
        unit = row.get("unit")
        if isinstance(unit, str) and unit:
            found.append(_finding(s, "submission.none_in_month", f"{unit}:{month}", unit, last))
    return found


def _month_end(month: str) -> date | None:
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        return None
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


Classifier = Callable[[Source], list[Finding]]

#: Event type → classifier. Several names are accepted for events not built yet.
CLASSIFIERS: Mapping[str, Classifier] = {
    # catalog (issue #4)
    "DocumentPublished": _document_published,
    "PublicationDeadlineMissed": _simple(
        "disclosure.late", ("document_id",), ("detected_on", "publication_due")
    ),
    "PersonalDataLeakConfirmed": _simple("disclosure.personal_data_leak", ("document_id",)),
    "PrivacyBreachConfirmed": _simple("disclosure.personal_data_leak", ("document_id",)),
    "SecretLeakConfirmed": _simple("disclosure.secret_leak", ("document_id",)),
    "ColumnStale": _simple("column.stale", ("column", "column_id"), ("noticed_on", "due")),
    "ColumnUpdateOverdue": _simple("column.stale", ("column", "column_id"), ("noticed_on",)),
    "ColumnEmpty": _simple("column.empty", ("column", "column_id"), ("noticed_on",)),
    # applications (issue #3)
    "DeadlineMissed": _simple("request.reply_overdue", ("request_id",), ("noticed_on",)),
    "ReviewCaseDecided": _review_outcome,
    "RequestDecisionCorrected": _review_outcome,
    "ReviewOutcomeRecorded": _review_outcome,
    "ReconsiderationDecided": _review_outcome,
    "LitigationDecided": _review_outcome,
    "AnnualReportPublished": _annual_report_published,
    "AnnualReportMissed": _annual_report_missing,
    "AnnualReportOverdue": _annual_report_missing,
    "AnnualReportCopied": _simple("annual_report.copied", ("report_id", "year")),
    # interpretation (issue #5)
    "ObligationFulfilled": _interpretation_late,
    "InterpretationPublished": _interpretation_published,
    "InterpretationOverdue": _simple(
        "interpretation.not_synchronous", ("policy_document_id", "document_id", "obligation_id")
    ),
    "InterpretationDeadlineMissed": _simple(
        "interpretation.not_synchronous",
        ("policy_document_id", "document_id", "obligation_id"),
        ("noticed_on",),
    ),
    # sentiment (issue #6): escalation and a late answer are the same case
    "CaseResponded": _case_responded,
    "CaseEscalated": _simple("opinion.response_late", ("case_id",), ("overdue_since",)),
    # interpretation: the policy Q&A knowledge base (方案§16 政策咨询)
    "QuestionRegistered": _qa_registered,
    "QuestionAnswered": _qa_answered,
    # enforcement (issue #23): published late and noticed overdue are the same case
    "EnforcementDecisionPublished": _enforcement_published,
    "EnforcementPublicationOverdue": _simple(
        "enforcement.publication_late", ("decision_id",), ("noticed_on",)
    ),
    # catalog 信息报送 (issue #20)
    "SubmissionBulletinIssued": _submission_bulletin,
    # assessment's own aggregates (方案§20, §21)
    "TaskOverdue": _simple("ledger.task_overdue", ("task_id",), ("due_on",)),
    "TaskCompleted": _task_completed,
    "TrainingSessionMissed": _simple("training.session_missed", ("session_id",), ("planned_on",)),
    "HighlightProjectRecognized": _simple(
        "highlight.recognized", ("project_id",), ("recognized_on",)
    ),
    # subscriptions (issue #20): 最受欢迎专栏 of a month
    "PopularColumnsRanked": _popular_columns,
    **DUTY_CLASSIFIERS,
}


def classify(source: Source) -> list[Finding]:
    """The findings one event reports; none for types the assessment does not score."""
    classifier = CLASSIFIERS.get(source.type)
    if classifier is None:
        return []
    return [f for f in classifier(source) if f.signal in KNOWN_SIGNALS]
