"""What a 主动公开 document waits for, its privacy findings in its text, the diff between two
revisions and its 三审三校 history, as the review pages show them (pure functions, tested
by themselves in tests/unit/test_workbench_review.py).

The catalog service stays the judge: a step offered here that its rules refuse (separation
of duties, a finding still open) is refused there, in Chinese, and the page says so.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.identity import Role

#: 三审三校 levels in order, with who may hold each (方案§18; services/catalog/state.py
#: STAGE_ROLES, kept equal by a unit test).
STAGES = ("first_review", "second_review", "final_review")
STAGE_ROLES: Mapping[str, frozenset[Role]] = {
    "first_review": frozenset({Role.DRAFTER}),
    "second_review": frozenset({Role.SECTION_HEAD}),
    "final_review": frozenset({Role.LEADER_IN_CHARGE, Role.PRINCIPAL_LEADER}),
}
#: A sensitive document's final review is the principal leader's alone.
SENSITIVE_FINAL = frozenset({Role.PRINCIPAL_LEADER})
#: Who may act on an open finding: the drafter redacts, a head or leader may justify it.
PRIVACY_ROLES = frozenset(
    {Role.DRAFTER, Role.SECTION_HEAD, Role.LEADER_IN_CHARGE, Role.PRINCIPAL_LEADER,
     Role.OPENNESS_OFFICE_HEAD}
)  # fmt: skip
OPEN_STATUSES = frozenset({"draft", "in_review", "approved", "revising"})

#: The queue's tabs: (key, title). A person sees the tabs their roles may act in.
QUEUES = (
    ("returned", "退回修改"),
    ("attribute", "公开属性认定"),
    ("first_review", "初审（一校）"),
    ("second_review", "复审（二校）"),
    ("final_review", "终审（三校）"),
    ("privacy", "个人信息待处理"),
    ("publish", "待发布"),
)

STATUS_ZH = {
    "draft": "草稿",
    "in_review": "审核中",
    "approved": "三审通过，待发布",
    "revising": "更新修改中",
    "published": "已发布",
    "withdrawn": "已撤稿",
}

#: Where each finding's text is, in the order the page shows the fields.
FIELD_ZH = {"title": "标题", "document_number": "文号", "body": "正文"}


def field_label(name: str) -> str:
    if name.startswith("attachments_text["):
        index = name[len("attachments_text[") : -1]
        return f"附件{int(index) + 1}" if index.isdigit() else "附件"
    return FIELD_ZH.get(name, name)


@dataclass(frozen=True)
class Waiting:
    """The step a document waits for: the queue it is in, the command, who may give it."""

    queue: str
    command: str
    what: str
    roles: frozenset[Role]


def open_findings(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [f for f in doc.get("privacy_findings") or [] if not f.get("justified")]


def waiting(doc: Mapping[str, Any]) -> list[Waiting]:
    """The steps an open document waits for now, most pressing first (an open privacy
    finding waits beside the attribute or review step it does not block)."""
    status = str(doc.get("status", ""))
    if status not in OPEN_STATUSES:
        return []
    found: list[Waiting] = []
    if open_findings(doc):
        found.append(
            Waiting("privacy", "redact", "删减个人信息（或由负责人说明保留理由）", PRIVACY_ROLES)
        )
    returned = doc.get("returned")
    if returned and status in ("draft", "revising"):
        # Sent back by a level: it waits for the drafter's revision, not for a reviewer.
        level = dict(QUEUES).get(str(returned.get("stage")), "审核")
        what = f"{level}退回：{returned.get('comments') or '（未写意见）'}"
        found.append(Waiting("returned", "revise", what, frozenset({Role.DRAFTER})))
        return found
    if doc.get("attribute") is None:
        if doc.get("attribute_proposal") is None:
            found.append(
                Waiting("attribute", "propose", "拟稿人提出公开属性", frozenset({Role.DRAFTER}))
            )
        elif not doc.get("attribute_checked"):
            found.append(
                Waiting("attribute", "check", "公开属性审核", frozenset({Role.ATTRIBUTE_OFFICER}))
            )
        else:
            found.append(
                Waiting(
                    "attribute",
                    "determine",
                    "签发人认定公开属性",
                    frozenset({Role.LEADER_IN_CHARGE, Role.PRINCIPAL_LEADER}),
                )
            )
        return found
    stage = str(doc.get("next_stage") or "")
    if stage in STAGE_ROLES:
        roles = STAGE_ROLES[stage]
        if stage == "final_review" and (doc.get("content") or {}).get("sensitive"):
            roles = SENSITIVE_FINAL
        found.append(Waiting(stage, "review", "", roles))
    elif status == "approved":
        found.append(
            Waiting(
                "publish",
                "publish",
                "发布",
                frozenset(
                    {
                        Role.DRAFTER,
                        Role.OPENNESS_OFFICE_HEAD,
                        Role.LEADER_IN_CHARGE,
                        Role.PRINCIPAL_LEADER,
                    }
                ),
            )
        )
    return found


def queues_for(roles: Iterable[Role]) -> list[tuple[str, str]]:
    """The queue tabs a person with these roles may act in."""
    held = frozenset(roles)
    allowed = {
        "returned": {Role.DRAFTER},
        "attribute": {Role.DRAFTER, Role.ATTRIBUTE_OFFICER, Role.LEADER_IN_CHARGE,
                      Role.PRINCIPAL_LEADER},
        "privacy": {Role.DRAFTER, Role.SECTION_HEAD, Role.LEADER_IN_CHARGE,
                    Role.PRINCIPAL_LEADER, Role.OPENNESS_OFFICE_HEAD},
        "publish": {Role.DRAFTER, Role.OPENNESS_OFFICE_HEAD, Role.LEADER_IN_CHARGE,
                    Role.PRINCIPAL_LEADER},
        **{stage: set(roles_) for stage, roles_ in STAGE_ROLES.items()},
    }  # fmt: skip
    return [(key, title) for key, title in QUEUES if held & allowed[key]]


def mine(doc: Mapping[str, Any], person: str, roles: Iterable[Role]) -> list[Waiting]:
    """The steps of a document this person may take: a role that gives it, and not a step
    the separation of duties keeps from them (the drafter reviews no level of their own
    document; one person holds one level)."""
    held = frozenset(roles)
    drafter = doc.get("drafter") == person
    reviewers = {str(p.get("reviewer")) for p in (doc.get("reviews") or {}).values()}
    steps = []
    for w in waiting(doc):
        if not held & w.roles:
            continue
        if w.command in ("check", "determine", "review") and drafter:
            continue
        if w.command == "review" and person in reviewers:
            continue
        if w.command in ("propose", "revise") and not drafter:
            continue
        steps.append(w)
    return steps


# ----------------------------------------------------------------------------- the text


@dataclass(frozen=True)
class Piece:
    """A run of a field's text: plain, or one privacy finding (its kind in Chinese)."""

    text: str
    kind: str = ""
    kind_zh: str = ""
    number: int = 0
    justified: bool = False


@dataclass(frozen=True)
class MarkedField:
    name: str
    label: str
    pieces: tuple[Piece, ...]

    @property
    def findings(self) -> int:
        return sum(1 for p in self.pieces if p.kind)


def marked(
    doc: Mapping[str, Any], kind_labels: Mapping[str, str]
) -> tuple[list[MarkedField], list[dict[str, Any]]]:
    """Each text field of the current revision split at its privacy findings, so the page
    highlights them in place; and the findings numbered as they appear (①, ② …)."""
    content = doc.get("content") or {}
    texts: list[tuple[str, str]] = [
        ("title", str(content.get("title") or "")),
        ("document_number", str(content.get("document_number") or "")),
        ("body", str(content.get("body") or "")),
    ]
    texts += [
        (f"attachments_text[{i}]", str(t))
        for i, t in enumerate(content.get("attachments_text") or [])
    ]
    by_field: dict[str, list[Mapping[str, Any]]] = {}
    for f in doc.get("privacy_findings") or []:
        by_field.setdefault(str(f.get("field")), []).append(f)
    fields: list[MarkedField] = []
    listed: list[dict[str, Any]] = []
    for name, text in texts:
        if not text:
            continue
        pieces: list[Piece] = []
        at = 0
        for f in sorted(by_field.get(name, []), key=lambda f: int(f.get("start", 0))):
            start, end = int(f.get("start", 0)), int(f.get("end", 0))
            if start < at or end > len(text) or end <= start:
                continue  # overlapping or out of range: listed below, not marked
            if start > at:
                pieces.append(Piece(text[at:start]))
            kind = str(f.get("kind"))
            number = len(listed) + 1
            label = kind_labels.get(kind, kind)
            pieces.append(Piece(text[start:end], kind, label, number, bool(f.get("justified"))))
            listed.append({**f, "number": number, "kind_zh": label, "where": field_label(name)})
            at = end
        if at < len(text):
            pieces.append(Piece(text[at:]))
        fields.append(MarkedField(name, field_label(name), tuple(pieces)))
    return fields, listed


# ----------------------------------------------------------------------------- the diff


@dataclass(frozen=True)
class Run:
    """Part of a changed line: kept, inserted (ins) or deleted (del)."""

    text: str
    op: str = ""


@dataclass(frozen=True)
class DiffLine:
    #: same | del | ins | change
    op: str
    old_no: int | None
    new_no: int | None
    runs: tuple[Run, ...] = field(default_factory=tuple)

    @property
    def words(self) -> str:
        return {"del": "删除", "ins": "新增", "change": "修改", "same": ""}[self.op]


def _lines(content: Mapping[str, Any]) -> list[str]:
    parts = [str(content.get("body") or ""), *(content.get("attachments_text") or [])]
    return "\n".join(parts).splitlines()


def _inline(old: str, new: str) -> tuple[Run, ...]:
    runs: list[Run] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            runs.append(Run(old[a0:a1]))
            continue
        if a1 > a0:
            runs.append(Run(old[a0:a1], "del"))
        if b1 > b0:
            runs.append(Run(new[b0:b1], "ins"))
    return tuple(runs)


def diff_lines(old: Mapping[str, Any], new: Mapping[str, Any], context: int = 2) -> list[DiffLine]:
    """The body and attachments of two revisions, line by line: unchanged lines near a
    change kept for context, a changed line shown once with what was deleted and inserted
    inside it, a gap as a line of op "gap"."""
    a, b = _lines(old), _lines(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    shown: list[DiffLine] = []
    for group in matcher.get_grouped_opcodes(context):
        if shown:
            shown.append(DiffLine("gap", None, None))
        for tag, a0, a1, b0, b1 in group:
            if tag == "equal":
                shown += [
                    DiffLine("same", a0 + i + 1, b0 + i + 1, (Run(a[a0 + i]),))
                    for i in range(a1 - a0)
                ]
                continue
            pairs = min(a1 - a0, b1 - b0) if tag == "replace" else 0
            for i in range(pairs):
                shown.append(
                    DiffLine("change", a0 + i + 1, b0 + i + 1, _inline(a[a0 + i], b[b0 + i]))
                )
            shown += [
                DiffLine("del", i + 1, None, (Run(a[i], "del"),)) for i in range(a0 + pairs, a1)
            ]
            shown += [
                DiffLine("ins", None, i + 1, (Run(b[i], "ins"),)) for i in range(b0 + pairs, b1)
            ]
    return shown


def changed_fields(
    old: Mapping[str, Any], new: Mapping[str, Any], labels: Mapping[str, str]
) -> list[tuple[str, str, str]]:
    """(label, before, after) of the fields other than the text that changed."""
    found = []
    for key, label in labels.items():
        before, after = old.get(key), new.get(key)
        if before != after:
            found.append(
                (label, "" if before is None else str(before), "" if after is None else str(after))
            )
    return found


#: The document fields besides the text a diff names.
CONTENT_LABELS = {
    "title": "标题",
    "document_number": "文号",
    "issue_date": "成文日期",
    "kind": "文件类别",
    "column": "栏目",
    "sensitive": "敏感文件",
}


def pick_revisions(
    revisions: Sequence[Mapping[str, Any]], wanted_from: int, wanted_to: int
) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    """The two revisions to compare: those asked for, else the last two; None with one."""
    by_number = {int(r["revision"]): r for r in revisions}
    if len(by_number) < 2:
        return None
    numbers = sorted(by_number)
    to = wanted_to if wanted_to in by_number else numbers[-1]
    earlier = [n for n in numbers if n < to]
    start = (
        wanted_from
        if wanted_from in by_number and wanted_from != to
        else (earlier[-1] if earlier else numbers[0])
    )
    if start == to:
        return None
    return by_number[start], by_number[to]
