# ruff: noqa: E501  (Chinese texts and one-line calls of page templates)
"""The workbench pages of 主动公开 (issue #17; docs/catalog.md): the review queue of the
signed-in person's roles (公开属性认定, 初审, 复审, 终审, 个人信息, 待发布: what waits for me,
oldest first, with the Art. 26 due date), and a document's page: its facts, 公开属性 with
the legal ground, the text with the privacy guard's findings highlighted in place before
anyone reviews, the diff between two revisions, the 三审三校 sign-offs and history, and the
steps the person may take now as forms from the catalog's command catalogue.

The catalog API is the one judge (roles, separation of duties, open findings): these pages
only choose what to offer. No `from __future__ import annotations`: FastAPI reads the types.
"""

import asyncio
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.workbench import drafting, forms, reviewing
from services.workbench.pages import Catalogue, Workbench, command_catalogue
from services.workbench.routes import (
    Session,
    W,
    _api,
    _message,
    _page,
    _post_allowed,
    _refused,
    _session,
    _to_login,
    read_at,
)
from services.workbench.words import URGENCY, as_date, deadline
from shared.gateway import Api
from shared.identity import Role

router = APIRouter(prefix="/workbench/review", include_in_schema=False)
SERVICE = "catalog"
EXPIRED = "表单已过期或来源不明，请返回后重新填写。"
#: 条例第二十六条: published within 20 working days of being made (成文).
PUBLICATION_WORKING_DAYS = 20
#: The steps a document's page offers, in this order, when its state allows them.
STEP_ORDER = (
    "review",
    "propose",
    "check",
    "determine",
    "redact",
    "justify",
    "publish",
    "validity",
    "withdraw",
)
#: What the rules say, above each form.
INTROS = {
    "propose": "拟稿时提出公开属性：主动公开、依申请公开、不予公开或删减后公开；后三种须写明法律依据"
    "（条例第十四条至第十六条，方案§19）。",
    "check": "公开属性认定与管理人员审核拟稿人提出的公开属性，同意或不同意并写明意见（方案§19）。",
    "determine": "签发人最终认定公开属性，可以与拟定的不同；未认定公开属性的文件不能进入审核（方案§19）。",
    "review": "三审三校（方案§18）：初审（一校）、复审（二校）、终审（三校）依次进行，每一审同时完成本轮校对签字。"
    "退回时必须写明理由，文件退回拟稿人修改，各级审核重新开始。",
    "redact": "删减个人信息（条例第十五条，方案§8）：全部未处理的个人信息在新版本中替换为*（长度不变），"
    "新版本重新进入审核；删减人成为本文件的拟稿人之一，不能再审核本文件。",
    "justify": "检测到的信息依法可以公开的（如法人公开的联系电话），由负责人写明保留理由后放行（方案§8）。",
    "publish": "三审通过、公开属性为主动公开或删减后公开、没有未处理的个人信息时方可发布（先审后发，方案§18）；"
    "自成文之日起20个工作日内公开（条例第二十六条）。",
    "withdraw": "撤稿后文件从公开目录、订阅和检索中撤下，各渠道标为已撤下；须写明理由。",
    "validity": "有效期至：文件最后有效的一天，此后门户标为“已失效”，年报不再计入现行有效件数；"
    "不填表示未规定有效期（行政规范性文件有效期一般不超过5年，国办发〔2018〕37号）。",
}
#: What the page says after a step that is not a command of the catalogue.
DONE = {"draft": "拟稿（已检查个人信息，下一步请提出公开属性）"}
#: Review outcome's two values (a Literal in the API, without labels of its own).
OUTCOME_ZH = {"pass": "通过", "reject": "退回修改"}
EVENT_ZH = {
    "DocumentDrafted": "拟稿",
    "DocumentRevised": "修改（新版本）",
    "PrivacyScanCompleted": "隐私检查",
    "PrivacyFindingJustified": "说明保留理由",
    "DisclosureAttributeProposed": "提出公开属性",
    "DisclosureAttributeChecked": "公开属性审核",
    "DisclosureAttributeDetermined": "认定公开属性",
    "ReviewStagePassed": "审核通过",
    "ReviewStageRejected": "审核退回",
    "DocumentPublished": "发布",
    "ChannelStatusRecorded": "渠道发布状态",
    "DocumentWithdrawn": "撤稿",
    "DocumentRepealed": "废止",
    "PublicationDeadlineMissed": "超过二十个工作日未发布",
    "FilingRequired": "须报送备案",
    "DocumentFiled": "报送备案",
    "FilingReviewed": "备案审查结果",
    "FilingOverdue": "逾期未备案",
}


async def catalogue(wb: Workbench, api: Api) -> Catalogue:
    """The document's commands and the catalog's enums' labels."""
    return await command_catalogue(wb, api, SERVICE, "document")


def _label(enums: dict[str, dict[str, str]], enum: str, value: Any) -> str:
    text = "" if value is None else str(value)
    return enums.get(enum, {}).get(text) or text


def _due(wb: Workbench, doc: dict[str, Any]) -> tuple[str, Any]:
    """Art. 26's limit of a draft: 20 working days after its 成文日期."""
    issued = as_date((doc.get("content") or {}).get("issue_date") or doc.get("issue_date"))
    if issued is None:
        return "", deadline(None, wb.today(), wb.calendar())
    try:
        due = wb.calendar().add_workdays(issued, PUBLICATION_WORKING_DAYS).due
    except Exception:
        return "", deadline(None, wb.today(), wb.calendar())
    return due.isoformat(), deadline(due, wb.today(), wb.calendar())


async def _open_documents(api: Api) -> tuple[list[dict[str, Any]], Any]:
    """The open documents of the person's township, each as its stream has it."""
    listed: list[dict[str, Any]] = []
    cursor = None
    for _ in range(5):
        answer = await api.get(SERVICE, "/v1/catalog/documents", {"limit": 200, "cursor": cursor})
        if not answer.ok:
            return [], answer
        listed += [
            i for i in answer.body.get("items", []) if i.get("status") in reviewing.OPEN_STATUSES
        ]
        cursor = answer.body.get("next_cursor")
        if not cursor:
            break
    answers = await asyncio.gather(
        *(api.get(SERVICE, f"/v1/catalog/documents/{i['document_id']}") for i in listed)
    )
    return [a.body for a in answers if a.ok], None


@router.get("", response_model=None)
async def queue_page(request: Request, wb: W, tab: str = "") -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    tabs = reviewing.queues_for(s.principal.roles)
    if not tabs:
        return _message(
            request, wb, s, "没有审核任务",
            "主动公开的审核由拟稿人（编辑）、公开属性认定人员、科室负责人和领导办理；您的角色不办理这项工作。",
            403,
        )  # fmt: skip
    async with _api(request, wb, s) as api:
        docs, refused = await _open_documents(api)
    if refused is not None:
        return _refused(request, wb, s, refused)
    rows: list[dict[str, Any]] = []
    for d in docs:
        for step in reviewing.mine(d, s.principal.sub, s.principal.roles):
            due_on, words = _due(wb, d)
            rows.append(
                {
                    "id": d["document_id"],
                    "title": d["content"]["title"],
                    "number": d["content"].get("document_number") or "",
                    "unit": d.get("drafting_unit_name") or "",
                    "drafter": wb.person_name(d.get("drafter")),
                    "queue": step.queue,
                    "what": step.what or dict(reviewing.QUEUES)[step.queue],
                    "issue_date": d["content"].get("issue_date") or "",
                    "due": due_on,
                    "deadline": words,
                    "findings": len(reviewing.open_findings(d)),
                    "status_zh": reviewing.STATUS_ZH.get(d["status"], d["status"]),
                }
            )
    rows.sort(key=lambda r: (r["issue_date"] or "9999", URGENCY[r["deadline"].level]))
    counts = {key: sum(r["queue"] == key for r in rows) for key, _ in tabs}
    if tab not in counts:
        tab = next((k for k, _ in tabs if counts[k]), tabs[0][0])
    return _page(
        request, wb, s, "review_queue.html", tabs=tabs, tab=tab, counts=counts,
        rows=[r for r in rows if r["queue"] == tab], nav="review",
        can_draft=Role.DRAFTER in s.principal.roles,
    )  # fmt: skip


# ----------------------------------------------------------------------------- a document


def _history(
    wb: Workbench, items: list[dict[str, Any]], enums: dict[str, dict[str, str]]
) -> list[dict[str, Any]]:
    rows = []
    for e in items:
        p = e.get("payload") or {}
        details: list[tuple[str, str]] = []
        kind = e["type"]
        if kind in ("DisclosureAttributeProposed", "DisclosureAttributeDetermined"):
            details.append(("公开属性", _label(enums, "DisclosureAttribute", p.get("attribute"))))
            if p.get("legal_ground"):
                details.append(("法律依据", _label(enums, "LegalGround", p["legal_ground"])))
            if p.get("reason"):
                details.append(("理由", str(p["reason"])))
        elif kind == "DisclosureAttributeChecked":
            details.append(("意见", "同意" if p.get("agrees") else "不同意"))
            if p.get("comment"):
                details.append(("审核意见", str(p["comment"])))
        elif kind in ("ReviewStagePassed", "ReviewStageRejected"):
            details.append(("环节", _label(enums, "ReviewStage", p.get("stage"))))
            details.append(("版本", f"第{p.get('revision')}版"))
            proof = p.get("proofreading") or {}
            if proof:
                details.append(
                    (
                        "校对",
                        f"第{proof.get('round')}校，{wb.person_name(proof.get('proofreader'))}签字，改正{proof.get('corrections', 0)}处",
                    )
                )
            for key in ("comment", "comments"):
                if p.get(key):
                    details.append(
                        ("意见" if kind == "ReviewStagePassed" else "退回理由", str(p[key]))
                    )
        elif kind == "PrivacyScanCompleted":
            found = p.get("findings") or []
            details.append(
                (
                    "结果",
                    f"第{p.get('revision')}版检出个人信息{len(found)}处"
                    if found
                    else f"第{p.get('revision')}版未检出个人信息",
                )
            )
            if p.get("resolved_by_redaction"):
                details.append(("已删减", f"{len(p['resolved_by_redaction'])}处"))
        elif kind == "PrivacyFindingJustified":
            details.append(("类型", _label(enums, "FindingKind", p.get("kind"))))
            details.append(("理由", str(p.get("justification") or "")))
        elif kind == "DocumentRevised":
            details.append(("版本", f"第{p.get('revision')}版"))
            if p.get("reason"):
                details.append(("原因", str(p["reason"])))
        elif kind == "DocumentPublished":
            details.append(("版本", f"第{p.get('revision')}版"))
            channels = p.get("channels") or {}
            names = channels if isinstance(channels, list) else list(channels)
            details.append(
                ("渠道", "、".join(_label(enums, "PublicationChannel", c) for c in names))
            )
            if p.get("late"):
                details.append(("时限", "超过二十个工作日（条例第二十六条）"))
        elif kind == "DocumentWithdrawn":
            details.append(("理由", str(p.get("reason") or "")))
        rows.append(
            {
                "when": e["recorded_at"],
                "what": EVENT_ZH.get(kind, kind),
                "who": wb.person_name(e.get("actor")),
                "details": details,
            }
        )
    return rows


def _signoffs(
    wb: Workbench,
    doc: dict[str, Any],
    history: list[dict[str, Any]],
    enums: dict[str, dict[str, str]],
) -> list[dict[str, str]]:
    """The three levels as they stand for the current round: who passed each (and who
    proofread), which is next, and the last return with its reasons."""
    passed = doc.get("reviews") or {}
    rows = []
    for stage in reviewing.STAGES:
        p = passed.get(stage)
        if p:
            state = f"已通过：{wb.person_name(p.get('reviewer'))}审核，{wb.person_name(p.get('proofreader'))}校对签字"
        elif doc.get("next_stage") == stage:
            state = "待审核（当前环节）"
        else:
            state = "未开始"
        rows.append({"stage": _label(enums, "ReviewStage", stage), "state": state})
    return rows


def _last_return(
    wb: Workbench, history: list[dict[str, Any]], enums: dict[str, dict[str, str]]
) -> str:
    for e in reversed(history):
        if e["type"] in ("ReviewStagePassed", "DocumentRevised", "DocumentPublished"):
            return ""
        if e["type"] == "ReviewStageRejected":
            p = e["payload"]
            stage = _label(enums, "ReviewStage", p.get("stage"))
            return f"{stage}由{wb.person_name(e.get('actor'))}退回：{p.get('comments', '')}"
    return ""


def _attribute(
    found: dict[str, Any] | None, enums: dict[str, dict[str, str]], wb: Workbench
) -> dict[str, str] | None:
    if not found:
        return None
    return {
        "attribute": _label(enums, "DisclosureAttribute", found.get("attribute")),
        "ground": _label(enums, "LegalGround", found.get("legal_ground"))
        if found.get("legal_ground")
        else "",
        "reason": str(found.get("reason") or ""),
        "by": wb.person_name(found.get("by")),
    }


def offered(doc: dict[str, Any], person: str, roles: Any, commands: dict[str, Any]) -> list[str]:
    """The steps the page offers this person now (the API still judges each)."""
    names = [w.command for w in reviewing.mine(doc, person, roles)]
    held = {r.value for r in roles}
    if "redact" in names:
        names.remove("redact")
        if "drafter" in held and reviewing.open_findings(doc):
            names.append("redact")
        if (
            held & {"section_head", "leader_in_charge", "principal_leader", "openness_office_head"}
            and doc.get("drafter") != person
        ):
            names.append("justify")
    if doc.get("status") == "published" and held & {
        "openness_office_head",
        "leader_in_charge",
        "principal_leader",
    }:
        names.append("withdraw")
        if not doc.get("repealed_on"):
            names.append("validity")
    return [n for n in STEP_ORDER if n in names and n in commands]


@router.get("/{document_id}", response_model=None)
async def document_page(
    request: Request, wb: W, document_id: uuid.UUID, done: str = "", v: int = 0, to: int = 0
) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    given = request.query_params.get("from") or ""  # `from` is a Python keyword
    wanted_from = int(given) if given.isdigit() else 0
    async with _api(request, wb, s) as api:
        answer = await read_at(api, SERVICE, f"/v1/catalog/documents/{document_id}", v)
        if not answer.ok:
            return _refused(request, wb, s, answer)
        revisions, history, obligation = await asyncio.gather(
            api.get(SERVICE, f"/v1/catalog/documents/{document_id}/revisions"),
            api.get(SERVICE, f"/v1/catalog/documents/{document_id}/history"),
            api.get("interpretation", f"/v1/interpretation/obligations/{document_id}"),
        )
        commands, enums = await catalogue(wb, api)
    doc = answer.body
    events = history.body.get("items", []) if history.ok else []
    revs = revisions.body.get("items", []) if revisions.ok else []
    fields, findings = reviewing.marked(doc, enums.get("FindingKind", {}))
    pair = reviewing.pick_revisions(revs, wanted_from, to)
    diff = None
    if pair is not None:
        old, new = pair
        diff = {
            "from": old["revision"],
            "to": new["revision"],
            "lines": reviewing.diff_lines(old["content"], new["content"]),
            "fields": reviewing.changed_fields(
                old["content"], new["content"], reviewing.CONTENT_LABELS
            ),
            "reason": new.get("reason") or "",
            "who": wb.person_name(new.get("by")),
        }
    due_on, words = _due(wb, doc)
    steps = [
        (name, commands[name]["label_zh"], f"/workbench/review/{document_id}/act/{name}")
        for name in offered(doc, s.principal.sub, s.principal.roles, commands)
    ]
    revisers = [str(r.get("by")) for r in revs]
    if "revise" in commands and drafting.may_revise(
        doc, s.principal.sub, s.principal.roles, revisers
    ):
        steps.append(
            ("revise", drafting.revise_label(doc), f"/workbench/review/{document_id}/revise")
        )
    interpretations = []
    if obligation.ok:
        interpretations = [
            {"id": i["interpretation_id"], "title": i["title"], "status": i.get("status", "")}
            for i in obligation.body.get("interpretations", [])
        ]
    content = doc["content"]
    return _page(
        request, wb, s, "review_document.html",
        d=doc, content=content, fields=fields, findings=findings,
        open_findings=len(reviewing.open_findings(doc)),
        proposal=_attribute(doc.get("attribute_proposal"), enums, wb),
        decided=_attribute(doc.get("attribute"), enums, wb),
        checked=doc.get("attribute_checked"),
        kind_zh=_label(enums, "DocumentKind", content.get("kind")),
        status_zh=reviewing.STATUS_ZH.get(doc["status"], doc["status"]),
        drafter=wb.person_name(doc.get("drafter")), due=due_on, deadline=words,
        diff=diff, revisions=[int(r["revision"]) for r in revs],
        signoffs=_signoffs(wb, doc, events, enums), returned=_last_return(wb, events, enums),
        history=_history(wb, events, enums), steps=steps,
        channels=[(_label(enums, "PublicationChannel", c), _label(enums, "ChannelStatus", st)) for c, st in (doc.get("channels") or {}).items()],
        obligation=obligation.body if obligation.ok else None, interpretations=interpretations,
        done=commands[done]["label_zh"] if done in commands else DONE.get(done, ""), nav="review",
    )  # fmt: skip


# ----------------------------------------------------------------------------- the steps


def _fields(
    entry: dict[str, Any], doc: dict[str, Any], enums: dict[str, dict[str, str]]
) -> list[forms.Field]:
    """The step's form from its schema; the review's outcome labelled, the finding to keep
    chosen from the open findings, a redaction of every open finding."""
    found = forms.fields_of(entry["schema"], enums, skip=("fingerprints",))
    shaped = []
    for f in found:
        if f.name == "outcome":
            f = forms.Field(
                **{
                    **f.__dict__,
                    "choices": tuple(
                        forms.Choice(c.value, OUTCOME_ZH.get(c.value, c.label)) for c in f.choices
                    ),
                }
            )
        elif f.name == "fingerprint":
            kinds = enums.get("FindingKind", {})
            choices = tuple(
                forms.Choice(
                    str(x["fingerprint"]),
                    f"{kinds.get(x['kind'], x['kind'])} {x['masked']}（{reviewing.field_label(x['field'])}）",
                )
                for x in reviewing.open_findings(doc)
            )
            f = forms.Field(**{**f.__dict__, "kind": "select", "choices": choices})
        elif f.name == "proofreading.signed":
            f = forms.Field(
                **{
                    **f.__dict__,
                    "choices": (
                        forms.Choice("true", "已校对并签字"),
                        forms.Choice("false", "未签字"),
                    ),
                }
            )
        elif f.name == "agrees":
            f = forms.Field(
                **{
                    **f.__dict__,
                    "choices": (forms.Choice("true", "同意"), forms.Choice("false", "不同意")),
                }
            )
        shaped.append(f)
    return shaped


def _defaults(name: str, doc: dict[str, Any]) -> dict[str, str]:
    if name == "review":
        return {
            "stage": str(doc.get("next_stage") or ""),
            "proofreading.signed": "true",
            "proofreading.corrections": "0",
        }
    if name == "publish":
        return {"channels": "website"}
    if name == "validity":
        return {"valid_until": str(doc.get("valid_until") or "")}
    if name == "determine" and doc.get("attribute_proposal"):
        p = doc["attribute_proposal"]
        return {
            "attribute": str(p.get("attribute") or ""),
            "legal_ground": str(p.get("legal_ground") or ""),
        }
    return {}


async def _form(request: Request) -> dict[str, str]:
    """The posted form; a field sent several times (checkboxes) as one value per line."""
    body = (await request.body()).decode("utf-8", errors="replace")
    found: dict[str, str] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        found[key] = (
            f"{found[key]}\n{value}" if key in found and value else (found.get(key) or value)
        )
    return found


def _step_form(
    request: Request, wb: Workbench, s: Session, doc: dict[str, Any], entry: dict[str, Any],
    state: forms.FormState, status: int = 200,
) -> Response:  # fmt: skip
    did = doc["document_id"]
    return _page(
        request, wb, s, "form.html", status, form=state, key=str(uuid.uuid4()),
        title=f"{entry['label_zh']}：{doc['content']['title']}", basis=entry.get("basis", ""),
        action=f"/workbench/review/{did}/act/{entry['name']}", back=f"/workbench/review/{did}",
        intro=INTROS.get(entry["name"], ""), sub_choices=[], summary="", nav="review",
    )  # fmt: skip


async def _step(
    request: Request, wb: Workbench, s: Session, api: Api, document_id: uuid.UUID, name: str
) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, dict[str, str]], Response | None]:
    answer = await api.get(SERVICE, f"/v1/catalog/documents/{document_id}")
    if not answer.ok:
        return {}, None, {}, _refused(request, wb, s, answer)
    commands, enums = await catalogue(wb, api)
    return answer.body, commands.get(name), enums, None


@router.get("/{document_id}/act/{name}", response_model=None)
async def step_page(request: Request, wb: W, document_id: uuid.UUID, name: str) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        doc, entry, enums, refused = await _step(request, wb, s, api, document_id, name)
    if refused is not None:
        return refused
    if entry is None or name not in STEP_ORDER:
        return _message(request, wb, s, "未找到", "没有这项操作。", 404)
    fields = _fields(entry, doc, enums)
    return _step_form(request, wb, s, doc, entry, forms.FormState(fields, _defaults(name, doc)))


@router.post("/{document_id}/act/{name}", response_model=None)
async def step(request: Request, wb: W, document_id: uuid.UUID, name: str) -> Response:
    s = await _session(request, wb)
    form = await _form(request)
    if s is None or not _post_allowed(request, s, form):
        return _message(request, wb, s, "页面已过期", EXPIRED, 403)
    async with _api(request, wb, s) as api:
        doc, entry, enums, refused = await _step(request, wb, s, api, document_id, name)
        if refused is not None:
            return refused
        if entry is None or name not in STEP_ORDER:
            return _message(request, wb, s, "未找到", "没有这项操作。", 404)
        fields = _fields(entry, doc, enums)
        body = forms.body_from(fields, form)
        if name == "redact":
            body = {}
        path = str(entry["path"]).replace("{document_id}", str(document_id))
        answer = await api.post(SERVICE, path, body, form.get("key"))
    if answer.status == 401:
        return _to_login(request)
    if not answer.ok:
        state = forms.FormState(fields, form, forms.errors_from(answer.problem, fields))
        return _step_form(request, wb, s, doc, entry, state, 422 if answer.status == 422 else 409)
    version = answer.body.get("version", 0) if isinstance(answer.body, dict) else 0
    query = urlencode({"done": name, "v": version})
    return RedirectResponse(f"/workbench/review/{document_id}?{query}", status_code=303)
