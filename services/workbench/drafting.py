"""拟稿 and 修改 of a 主动公开 document, their pure parts (issue #17; tested in
tests/unit/test_workbench_review.py): the form of the catalog's `DraftDocument` and
`ReviseDocument` commands in Chinese, a revision's content as the form's values, and the
command's body from what was typed.

The document's content (`services/catalog/content.py` `DocumentContent`) is nested in every
published catalog event schema, so its fields keep their English default titles (a title is
a schema change: contracts/published.json refuses it); their Chinese labels are here, next
to the only form that needs them, until the catalog gives a titled input model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from services.workbench import forms
from shared.identity import Role

#: The content's fields as the form names them (and the API's refusals, mapped back).
LABELS = {
    "content.title": "标题",
    "content.body": "正文",
    "content.document_number": "文号",
    "content.issue_date": "成文日期",
    "content.kind": "文种",
    "content.column": "栏目",
    "content.needs_interpretation": "需要解读",
    "content.sensitive": "敏感稿件",
    "content.attachments_text": "附件文字",
}
HINTS = {
    "content.body": "保存后自动检查个人信息（身份证号、手机号码、银行卡号、电子邮箱、护照号码），"
    "检出的在文件页面的正文中标出，审核前须删减或说明理由。",
    "content.document_number": "如 苏店政发〔2026〕12号；没有文号的留空",
    "content.issue_date": "自成文之日起20个工作日内公开（条例第二十六条）",
    "content.column": "文件发布到本镇政府信息公开目录的这个栏目",
    "content.needs_interpretation": "政策性文件与解读同步起草、同步审签、同步发布（谁起草谁解读）",
    "content.sensitive": "终审须由主要领导办理（方案§18）",
    "content.attachments_text": "附件的文字同样检查个人信息；没有附件的留空",
}
#: The order a drafter fills them in (the schema's is the model's): the facts, the text, the
#: marks; anything else (修改或更新原因) after them.
ORDER = (
    "content.title",
    "content.document_number",
    "content.issue_date",
    "content.kind",
    "content.column",
    "content.body",
    "content.attachments_text",
    "content.needs_interpretation",
    "content.sensitive",
)
#: The fields the page fills itself: the drafting unit is the signed-in person's own.
SKIP = ("drafting_unit",)
ATTACHMENTS = "content.attachments_text"
#: Statuses in which the drafter may write a new revision (the API allows any but 已撤稿;
#: in review or approved, the three levels start over).
REVISABLE = frozenset({"draft", "in_review", "approved", "revising", "published"})


def shape(
    fields: Sequence[forms.Field], columns: Sequence[tuple[str, str]] = ()
) -> list[forms.Field]:
    """The command's fields in Chinese: labels and hints, 栏目 a choice of the township's
    columns (code, name) when known, the yes/no questions single checkboxes."""
    shaped = []
    for f in fields:
        if f.name in SKIP:
            continue
        f = dataclasses.replace(
            f, label=LABELS.get(f.name, f.label), hint=HINTS.get(f.name, f.hint)
        )
        if f.name == "content.column" and columns:
            choices = tuple(forms.Choice(code, name) for code, name in columns)
            f = dataclasses.replace(f, kind="select", choices=choices)
        elif f.enum == forms.BOOLEAN:
            f = forms.as_checkbox(f)
        shaped.append(f)
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(shaped, key=lambda f: rank.get(f.name, len(rank)))


def unix_newlines(form: Mapping[str, str]) -> dict[str, str]:
    """What was typed, with the CRLF a browser sends for a textarea's line breaks as LF: the
    revision stores the text as written, and its diff and findings count characters."""
    return {k: v.replace("\r\n", "\n") for k, v in form.items()}


def columns_of(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(code, name) of the township's columns, from `GET /v1/catalog/columns`."""
    return [(str(i["code"]), str(i.get("name") or i["code"])) for i in report.get("items", [])]


def draft_defaults(today: str) -> dict[str, str]:
    """A new document is made (成文) today, Beijing time, unless the drafter says otherwise."""
    return {"content.issue_date": today}


def values_of(content: Mapping[str, Any], fields: Iterable[forms.Field]) -> dict[str, str]:
    """A revision's content as the form's values (the revise form, filled)."""
    values: dict[str, str] = {}
    for f in fields:
        if not f.name.startswith("content."):
            continue
        value = content.get(f.name.removeprefix("content."))
        if value is None or value is False:
            continue
        if isinstance(value, list):
            values[f.name] = "\n".join(str(v) for v in value)
        elif value is True:
            values[f.name] = "true"
        else:
            values[f.name] = str(value)
    return values


def one_line_attachments(content: Mapping[str, Any]) -> bool:
    """Whether every attachment's text is one line, so one line per attachment keeps them."""
    return all("\n" not in str(a) for a in content.get("attachments_text") or [])


def revise_fields(fields: Sequence[forms.Field], content: Mapping[str, Any]) -> list[forms.Field]:
    """The revise form's fields: an attachment of several lines cannot be edited one line per
    attachment, so the attachments are then left out of the form and kept as they are."""
    if one_line_attachments(content):
        return list(fields)
    return [f for f in fields if f.name != ATTACHMENTS]


def with_reason_rule(fields: Sequence[forms.Field], doc: Mapping[str, Any]) -> list[forms.Field]:
    """修改或更新原因 is required for an update of a published document (the API refuses it
    without), and optional otherwise: the form says which before anything is typed."""
    published = doc.get("status") == "published"
    hint = "更新已发布的文件必须填写，记入办理记录" if published else "如：按初审意见修改第三段"
    return [
        dataclasses.replace(f, required=published, hint=hint) if f.name == "reason" else f
        for f in fields
    ]


def revise_body(
    fields: Sequence[forms.Field], form: Mapping[str, str], content: Mapping[str, Any]
) -> dict[str, Any]:
    """ReviseDocument's body from the form; attachments left out of it are kept."""
    body = forms.body_from(fields, form)
    if not any(f.name == ATTACHMENTS for f in fields) and content.get("attachments_text"):
        body.setdefault("content", {})["attachments_text"] = list(content["attachments_text"])
    return body


def may_revise(
    doc: Mapping[str, Any], person: str, roles: Iterable[Role], revisers: Iterable[str]
) -> bool:
    """修改 is offered to a drafter who wrote the document or one of its revisions, while it
    is not withdrawn and they reviewed no level of it (the API judges again)."""
    if Role.DRAFTER not in frozenset(roles) or doc.get("status") not in REVISABLE:
        return False
    if person != doc.get("drafter") and person not in set(revisers):
        return False
    reviewers = {str(p.get("reviewer")) for p in (doc.get("reviews") or {}).values()}
    return person not in reviewers


def revise_label(doc: Mapping[str, Any]) -> str:
    """The button's and the form's name: a published document is updated, a draft revised."""
    return "更新已发布的文件" if doc.get("status") == "published" else "修改文件"


def revise_intro(doc: Mapping[str, Any]) -> str:
    """What a new revision does in this status, above the form."""
    if doc.get("status") == "published":
        return (
            "更新已发布的文件：须写明修改或更新原因；新版本重新经过隐私检查和三审三校，"
            "审核通过并发布后替换公开的版本（方案§18 先审后发）。"
        )
    return (
        "保存后成为新版本：重新检查个人信息，三审三校从初审重新开始（方案§18）；"
        "页面显示与上一版本的差异。退回修改的，按审核意见修改后保存。"
    )
