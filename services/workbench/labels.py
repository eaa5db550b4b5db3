"""Chinese words the workbench shows where the APIs give codes.

Enum labels are the API's: `GET /v1/commands` answers with `enums` ({EnumName: {value:
label}}) for every enum the applications service's commands and events use, and each page
gets them as a `Labels` value from the cached catalogue, passed explicitly to the forms, the
history, the letters and the templates. The tables below are only what the API does not
label yet: nested field titles (the OpenAPI's `Applicant` has English default titles),
statuses and event types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Labels:
    """The Chinese labels of enum values, by enum name, as the catalogue gives them."""

    enums: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))

    def enum(self, enum: str, value: object) -> str:
        """The label of a value, else the value itself (never an empty cell)."""
        text = "" if value is None else str(value)
        return self.enums.get(enum, {}).get(text) or text


#: Labels of fields whose schema title is still the English default (nested models).
FIELD_LABELS: dict[str, str] = {
    "applicant.kind": "申请人类型",
    "applicant.name": "申请人姓名或名称",
    "applicant.organization_kind": "组织类别",
    "applicant.id_document": "身份证明（证件类型及号码）",
    "applicant.phone": "联系电话",
    "applicant.email": "电子邮箱",
    "applicant.address": "通信地址",
}

#: The ledger's status words (services/applications/state.py `_status`).
STATUS_LABELS: dict[str, str] = {
    "registered": "已登记，待办理",
    "assigned": "办理中",
    "awaiting_correction": "待申请人补正",
    "awaiting_payment": "待缴费",
    "consulting": "征求意见中",
    "replied": "已答复",
    "abandoned": "视为放弃（逾期未补正）",
    "fee_lapsed": "视为放弃（逾期未缴费）",
    "withdrawn": "申请人已撤回",
    "archived": "已归档",
}

#: Statuses after which no reply is due any more.
CONCLUDED = frozenset({"replied", "abandoned", "fee_lapsed", "withdrawn", "archived"})
#: Statuses in which the reply clock does not run.
PAUSED = {
    "awaiting_correction": "暂停计时：等待补正",
    "awaiting_payment": "暂停计时：等待缴费",
    "consulting": "暂停计时：征求意见中",
}

#: What happened, for the history (event types of the request stream).
EVENT_LABELS: dict[str, str] = {
    "RequestRegistered": "登记申请",
    "RequestAssigned": "指定承办人",
    "CorrectionRequested": "发出补正告知",
    "CorrectionReceived": "收到补正后的申请",
    "CorrectionLapsed": "逾期未补正，视为放弃",
    "ConsultationStarted": "开始征求意见",
    "ConsultationEnded": "征求意见结束",
    "ExtensionGranted": "延期答复",
    "FeeNoticeIssued": "发出收费通知",
    "FeePaid": "申请人已缴费",
    "FeeLapsed": "逾期未缴费，视为放弃",
    "RequestReplied": "答复",
    "RequestWithdrawnByApplicant": "申请人撤回申请",
    "DeliveryRecorded": "登记送达回证",
    "RequestArchived": "归档",
    "ExcessiveReasonsRequested": "要求说明理由",
    "LaterReplyDateSet": "确定延后答复期限",
    "ReplyDueRecomputed": "重新计算答复期限（工作日历更新）",
    "DeadlineApproaching": "答复期限临近提醒",
    "DeadlineMissed": "已超过答复期限",
}

#: Payload fields shown in the history, with their labels (ids and personal data never).
HISTORY_FIELDS: dict[str, str] = {
    "number": "登记编号",
    "channel": "提交渠道",
    "received_on": "收到日期",
    "reply_due": "答复期限",
    "correction_due": "补正期限",
    "defects": "需补正事项",
    "notified_on": "告知日期",
    "corrected_on": "补正日期",
    "party": "征求意见对象",
    "started_on": "开始日期",
    "answer_due": "答复意见期限",
    "ended_on": "结束日期",
    "outcome": "结果",
    "working_days": "延长工作日",
    "reason": "理由",
    "amount_yuan": "金额（元）",
    "pay_by": "缴费期限",
    "paid_on": "缴费日期",
    "reply_type": "答复类型",
    "withholding_reason": "不予公开理由",
    "replied_on": "答复日期",
    "document": "送达文书",
    "evidence_kind": "送达凭证类型",
    "evidence_ref": "送达凭证",
    "delivered_on": "送达日期",
    "archived_on": "归档日期",
    "withdrawn_on": "撤回日期",
}

#: A field whose meaning depends on the event: (event type, field) -> (label, enum).
HISTORY_OVERRIDES: dict[tuple[str, str], tuple[str, str]] = {
    ("DeliveryRecorded", "channel"): ("送达方式", "DeliveryChannel"),
}

#: Which enum a history field's value belongs to.
HISTORY_ENUMS: dict[str, str] = {
    "channel": "Channel",
    "outcome": "ConsultationOutcome",
    "reply_type": "ReplyType",
    "withholding_reason": "WithholdingReason",
    "document": "NoticeDocument",
    "evidence_kind": "EvidenceKind",
    "mode": "FeeMode",
}


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", status or "")
