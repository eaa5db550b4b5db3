"""What the law requires next on a request, and which commands the workbench offers.

Pure: from the request as the ledger shows it and its history. The API stays the judge:
a command offered here that the rules refuse is refused there, in Chinese.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.workbench.words import cn_date

OPEN = ("registered", "assigned")
#: The commands offered per status, most usual first.
ACTIONS: dict[str, tuple[str, ...]] = {
    "registered": (
        "reply", "correction-notice", "consultations", "extension", "fee-notice", "assign",
        "excessive-reasons", "later-reply-date", "withdraw",
    ),
    "assigned": (
        "reply", "correction-notice", "consultations", "extension", "fee-notice", "assign",
        "excessive-reasons", "later-reply-date", "withdraw",
    ),
    "awaiting_correction": ("correction", "withdraw"),
    "consulting": ("consultation-end", "extension", "withdraw"),
    "awaiting_payment": ("fee-payment", "withdraw"),
    "replied": ("deliveries", "archive"),
    "abandoned": ("archive",),
    "fee_lapsed": ("archive",),
    "withdrawn": ("archive",),
    "archived": (),
}  # fmt: skip

#: Letters (格式文书) a request has once the event that makes them happened.
LETTERS: dict[str, tuple[str, str]] = {
    "correction": ("CorrectionRequested", "补正告知书"),
    "consultation": ("ConsultationStarted", "征求意见函"),
    "extension": ("ExtensionGranted", "延期答复告知书"),
    "fee": ("FeeNoticeIssued", "收费通知"),
    "reply": ("RequestReplied", "答复告知书"),
    "delivery": ("DeliveryRecorded", "送达回证"),
}


@dataclass(frozen=True)
class NextStep:
    text: str
    basis: str
    due: str = ""


def last(history: Sequence[Mapping[str, Any]], kind: str) -> Mapping[str, Any] | None:
    found = [e for e in history if e.get("type") == kind]
    return found[-1]["payload"] if found else None


def open_consultations(history: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    ended = {
        e["payload"].get("consultation_id") for e in history if e["type"] == "ConsultationEnded"
    }
    return [
        e["payload"]
        for e in history
        if e["type"] == "ConsultationStarted" and e["payload"].get("consultation_id") not in ended
    ]


def delivered(history: Sequence[Mapping[str, Any]]) -> set[str]:
    return {str(e["payload"].get("document")) for e in history if e["type"] == "DeliveryRecorded"}


def next_steps(
    request: Mapping[str, Any], history: Sequence[Mapping[str, Any]], today: str
) -> list[NextStep]:
    """The legal next step(s) and their deadlines, in plain words."""
    status = request.get("status", "")
    if status in OPEN:
        steps = [
            NextStep(
                "作出答复并制作答复告知书",
                "条例第三十三条：收到申请之日起20个工作日内答复",
                cn_date(request.get("reply_due")),
            )
        ]
        notice_due = request.get("correction_notice_due")
        if notice_due and notice_due >= today and not last(history, "CorrectionRequested"):
            steps.append(
                NextStep(
                    "申请内容不明确的，一次性告知申请人补正",
                    "条例第三十条：收到申请之日起7个工作日内",
                    cn_date(notice_due),
                )
            )
        return steps
    if status == "awaiting_correction":
        return [
            NextStep(
                "等待申请人补正；收到补正后登记“收到补正”，答复期限从收到之日起重新计算",
                "条例第三十条：无正当理由逾期不补正的，视为放弃申请",
                cn_date(request.get("correction_due")),
            )
        ]
    if status == "consulting":
        pending = open_consultations(history)
        due = pending[0].get("answer_due") if pending else None
        return [
            NextStep(
                "等待被征求意见方答复，收到后登记“征求意见结束”；征求意见期间不计入答复期限",
                "条例第三十二条、第三十四条：15个工作日内提出意见",
                cn_date(due),
            )
        ]
    if status == "awaiting_payment":
        fee = last(history, "FeeNoticeIssued") or {}
        return [
            NextStep(
                "等待申请人缴纳信息处理费，缴费后登记“缴费”；缴费前不计入答复期限",
                "国办函〔2020〕109号：逾期未缴费的，视为放弃申请",
                cn_date(fee.get("pay_by")),
            )
        ]
    if status == "replied" and "reply" not in delivered(history):
        return [
            NextStep(
                "将答复告知书送达申请人，并登记送达回证",
                "答复须送达申请人并留存送达凭证，送达后方可归档",
            )
        ]
    if status in ("replied", "abandoned", "fee_lapsed", "withdrawn"):
        return [NextStep("整理案卷并归档", "依申请公开工作流程：办结后归档")]
    return [NextStep("本申请已办结归档，无需进一步办理", "")]


def letters_of(history: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(kind, title) of the letters this request has, in LETTERS order."""
    types = {e["type"] for e in history}
    return [(kind, title) for kind, (event, title) in LETTERS.items() if event in types]
