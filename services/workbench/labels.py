"""Chinese words the workbench shows where the APIs give codes.

The command catalogue (GET /v1/commands) carries field titles and, where an enum declares
them, its members' Chinese labels (`enum_labels_zh`); these tables are only the fallback
for what the API does not label yet (statuses, event types, enums whose labels still live
in comments beside their members). Decision: they move beside their enums in the
applications service when that service gives them; the catalogue's labels win here.
"""

from __future__ import annotations

#: Enum labels by enum name, used when the catalogue gives none for a value.
ENUM_LABELS: dict[str, dict[str, str]] = {
    "Channel": {
        "in_person": "当面提交",
        "registered_mail": "挂号信（需签收的邮件）",
        "ordinary_mail": "平常信函",
        "online": "互联网渠道（网站、电子邮件）",
        "fax": "传真",
        "oral": "口头提出（机关代为填写）",
    },
    "ApplicantKind": {"natural_person": "公民（自然人）", "organization": "法人或其他组织"},
    "OrganizationKind": {
        "commercial": "商业企业",
        "research": "科研机构",
        "public_welfare": "社会公益组织",
        "legal_services": "法律服务机构",
        "other": "其他",
    },
    "RequestedForm": {"paper": "纸质", "electronic": "电子数据", "other": "其他形式"},
    "DeliveryChannel": {
        "collect_in_person": "自行领取",
        "post": "邮寄",
        "email": "电子邮件",
        "online": "网上获取",
        "fax": "传真",
    },
    "PartyKind": {"third_party": "第三方（第三十二条）", "agency": "其他行政机关（第三十四条）"},
    "ConsultationOutcome": {
        "consent": "同意公开",
        "objection": "不同意公开",
        "no_answer": "逾期未答复",
    },
    "ReplyType": {
        "already_public": "已主动公开（第三十六条第一项）",
        "disclosed": "予以公开（第三十六条第二项）",
        "not_disclosed": "不予公开（第三十六条第三项）",
        "not_exist": "无法提供：本机关不掌握相关信息（第三十六条第四项）",
        "not_this_agency": "非本机关负责公开（第三十六条第五项）",
        "repeated": "不予处理：重复申请（第三十六条第六项）",
        "special_regime": "告知通过其他途径查询（第三十六条第七项）",
        "partial": "部分公开（第三十七条）",
        "no_compilation": "无法提供：需另行制作（第三十八条）",
        "petition": "不予处理：信访、投诉、举报（第三十九条第一款）",
        "publication": "不予处理：要求提供公开出版物（第三十九条第二款）",
        "unclear_after_correction": "无法提供：补正后申请内容仍不明确（第三十条）",
        "excessive": "不予处理：无正当理由大量反复申请（第三十五条）",
        "confirmation_request": "不予处理：要求确认或重新出具已获取信息",
        "other": "其他处理",
    },
    "WithholdingReason": {
        "state_secret": "属于国家秘密",
        "law_forbids": "其他法律行政法规禁止公开",
        "security_stability": "危及“三安全一稳定”",
        "third_party_rights": "保护第三方合法权益",
        "internal_affairs": "属于三类内部事务信息",
        "process_information": "属于四类过程性信息",
        "enforcement_files": "属于行政执法案卷",
    },
    "NoticeDocument": {
        "correction_notice": "补正告知书",
        "extension_notice": "延期答复告知书",
        "fee_notice": "收费通知",
        "reply": "答复告知书",
    },
    "EvidenceKind": {
        "signed_receipt": "签收回执",
        "email_record": "电子邮件发送记录",
        "sms_record": "短信发送记录",
        "postal_tracking": "邮寄单号",
    },
    "FeeMode": {"per_request": "按件计收", "per_page": "按量计收"},
}

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


def enum_label(enum: str, value: str, catalogue: dict[str, dict[str, str]] | None = None) -> str:
    """The Chinese label of an enum value: the catalogue's, else ours, else the value."""
    given = (catalogue or {}).get(enum, {})
    return given.get(value) or ENUM_LABELS.get(enum, {}).get(value) or value


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", status or "")
