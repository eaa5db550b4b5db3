"""Letters (格式文书) generated from a request's events: each numbered after the request's
register number, with its legal basis, the remedy where the letter decides something, the
organ's seal area and date. Pure: the request as the ledger shows it, its history, the
organ's name, today. Printed from the same HTML (A4, print stylesheet).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.workbench.labels import Labels
from services.workbench.steps import LETTERS, last
from services.workbench.words import cn_date

ABBREVIATIONS = {
    "correction": "补",
    "consultation": "征",
    "extension": "延",
    "fee": "费",
    "reply": "复",
    "delivery": "送",
}


@dataclass(frozen=True)
class Letter:
    kind: str
    title: str
    number: str
    addressee: str
    paragraphs: tuple[str, ...]
    items: tuple[str, ...] = ()
    table: tuple[tuple[str, ...], ...] = ()
    remedy: str = ""
    organ: str = ""
    dated: str = ""
    signatures: tuple[str, ...] = field(default=())


def organ_of(org_name: str) -> str:
    """苏店镇 -> 苏店镇人民政府; a unit's name stays as it is."""
    return org_name + "人民政府" if org_name.endswith(("镇", "乡", "区", "县")) else org_name


def remedy(organ: str) -> str:
    return (
        "如对本答复不服，可以自收到本告知书之日起60日内依法申请行政复议，或者自收到之日起"
        "6个月内依法向人民法院提起行政诉讼（《中华人民共和国政府信息公开条例》第五十一条）。"
    )


def _applicant(item: Mapping[str, Any]) -> str:
    applicant = item.get("applicant") or {}
    return str(applicant.get("name") or "申请人")


def _opening(item: Mapping[str, Any]) -> str:
    return (
        f"本机关于{cn_date(item.get('received_on'))}收到您（单位）提交的政府信息公开申请"
        f"（登记编号：{item.get('number', '')}），申请获取“{item.get('description', '')}”。"
    )


def _reply_text(p: Mapping[str, Any], labels: Labels) -> str:
    kind = str(p.get("reply_type", ""))
    where = p.get("location") or "按您申请的形式提供"
    basis = p.get("legal_basis") or ""
    reason = (
        labels.enum("WithholdingReason", p["withholding_reason"])
        if p.get("withholding_reason")
        else ""
    )
    texts = {
        "already_public": f"经审查，您申请的政府信息已经主动公开，您可以通过以下途径获取：{where}（条例第三十六条第一项）。",
        "disclosed": f"经审查，您申请的政府信息属于公开范围，本机关予以公开。获取方式：{where}（条例第三十六条第二项）。",
        "partial": f"经审查，您申请的政府信息中部分内容{reason or '属于不予公开的范围'}，根据{basis or '条例第三十七条'}，本机关对可以公开的部分予以公开（获取方式：{where}），对不予公开的部分不予公开（条例第三十七条）。",
        "not_disclosed": f"经审查，您申请的政府信息{reason or '属于不予公开的范围'}，根据{basis or '条例第十四条至第十六条'}，本机关决定不予公开（条例第三十六条第三项）。",
        "not_exist": "经检索查找，本机关未制作或者获取您申请的政府信息，该政府信息不存在（条例第三十六条第四项）。",
        "not_this_agency": f"经审查，您申请的政府信息不属于本机关负责公开。负责公开该政府信息的机关为：{p.get('right_agency') or '（见备注）'}（条例第三十六条第五项）。",
    }
    return (
        texts.get(kind) or f"经审查，本机关对您的申请作如下处理：{labels.enum('ReplyType', kind)}。"
    )


def build(
    kind: str,
    item: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]],
    org_name: str,
    today: date,
    labels: Labels,
) -> Letter | None:
    """The letter of `kind` for the request, or None if its event has not happened; enum
    values in the organ's words from `labels` (the catalogue's)."""
    if kind not in LETTERS:
        return None
    event, title = LETTERS[kind]
    p = last(history, event)
    if p is None:
        return None
    organ = organ_of(org_name)
    number = f"{item.get('number', '')}-{ABBREVIATIONS[kind]}"
    draft = _Draft(
        item=item,
        event=p,
        to=_applicant(item),
        organ=organ,
        history=history,
        labels=labels,
        common=dict(kind=kind, title=title, number=number, organ=organ),
    )
    return _WRITERS[kind](draft)


@dataclass(frozen=True)
class _Draft:
    """What every letter is written from: the request, its event, the organ's words."""

    item: Mapping[str, Any]
    event: Mapping[str, Any]
    to: str
    organ: str
    history: Sequence[Mapping[str, Any]]
    labels: Labels
    common: dict[str, Any]


def _correction(d: _Draft) -> Letter:
    return Letter(
        **d.common, addressee=d.to, dated=cn_date(d.event.get("notified_on")),
        paragraphs=(
            _opening(d.item),
            "经审查，您的申请内容不够明确。根据《中华人民共和国政府信息公开条例》第三十条的规定，请您对以下事项作出补正：",
        ),
        items=tuple(d.event.get("defects") or ()),
        remedy=(
            f"请于{cn_date(d.event.get('correction_due'))}前将补正后的申请提交本机关。答复期限自本机关收到补正的申请之日起计算；"
            "无正当理由逾期不补正的，视为放弃申请，本机关不再处理该政府信息公开申请。"
        ),
    )  # fmt: skip


def _consultation(d: _Draft) -> Letter:
    party = str(d.event.get("party", ""))
    article = "第三十二条" if d.event.get("party_kind") == "third_party" else "第三十四条"
    return Letter(
        **d.common, addressee=party, dated=cn_date(d.event.get("started_on")),
        paragraphs=(
            f"本机关于{cn_date(d.item.get('received_on'))}收到政府信息公开申请（登记编号：{d.item.get('number', '')}），申请获取“{d.item.get('description', '')}”。",
            f"该信息的公开可能涉及贵方权益或需要与贵方协商确认。根据《中华人民共和国政府信息公开条例》{article}的规定，现书面征求贵方意见。",
            f"请于{cn_date(d.event.get('answer_due'))}前（自收到本函之日起15个工作日内）书面提出意见；逾期未提出意见的，由本机关依照条例的规定决定是否公开。",
        ),
    )  # fmt: skip


def _extension(d: _Draft) -> Letter:
    return Letter(
        **d.common, addressee=d.to, dated=cn_date(d.event.get("applicant_notified_on")),
        paragraphs=(
            _opening(d.item),
            f"因{d.event.get('reason', '')}，本机关不能在规定期限内作出答复。经政府信息公开工作机构负责人同意，根据《中华人民共和国政府信息公开条例》第三十三条第二款的规定，答复期限延长{d.event.get('working_days', '')}个工作日，至{cn_date(d.event.get('reply_due'))}前作出答复。",
        ),
    )  # fmt: skip


def _fee(d: _Draft) -> Letter:
    mode = d.labels.enum("FeeMode", d.event.get("mode"))
    return Letter(
        **d.common, addressee=d.to, dated=cn_date(d.event.get("notified_on")),
        paragraphs=(
            _opening(d.item),
            f"您申请公开政府信息的数量、频次明显超过合理范围。根据《中华人民共和国政府信息公开条例》第四十二条和《政府信息公开信息处理费管理办法》（国办函〔2020〕109号），本机关{mode}收取信息处理费人民币{d.event.get('amount_yuan', '')}元。",
            f"请于{cn_date(d.event.get('pay_by'))}前缴纳。缴费期间不计算在答复期限内；逾期未缴纳的，视为放弃申请，本机关不再处理该政府信息公开申请。",
        ),
    )  # fmt: skip


def _reply(d: _Draft) -> Letter:
    paragraphs = [_opening(d.item), _reply_text(d.event, d.labels)]
    if d.event.get("note"):
        paragraphs.append(f"说明：{d.event['note']}")
    return Letter(
        **d.common, addressee=d.to, dated=cn_date(d.event.get("replied_on")),
        paragraphs=tuple(paragraphs), remedy=remedy(d.organ),
    )  # fmt: skip


def _delivery(d: _Draft) -> Letter:
    rows = tuple(
        (
            d.labels.enum("NoticeDocument", e["payload"].get("document")),
            d.labels.enum("DeliveryChannel", e["payload"].get("channel")),
            f"{d.labels.enum('EvidenceKind', e['payload'].get('evidence_kind'))}：{e['payload'].get('evidence_ref', '')}",
            cn_date(e["payload"].get("delivered_on")),
        )
        for e in d.history
        if e.get("type") == "DeliveryRecorded"
    )
    return Letter(
        **d.common, addressee=d.to, dated=cn_date(d.event.get("delivered_on")),
        paragraphs=(f"受送达人：{d.to}；案由：政府信息公开申请（登记编号：{d.item.get('number', '')}）。",),
        table=(("送达文书", "送达方式", "送达凭证", "送达日期"), *rows),
        signatures=("受送达人签名或盖章：", "送达人：", "见证人："),
    )  # fmt: skip


_WRITERS: dict[str, Callable[[_Draft], Letter]] = {
    "correction": _correction,
    "consultation": _consultation,
    "extension": _extension,
    "fee": _fee,
    "reply": _reply,
    "delivery": _delivery,
}
