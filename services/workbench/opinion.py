"""The opinion officer's pages (舆情回应 / 12345 / 区长信箱, 方案§17; docs/sentiment.md):
incoming messages with what the classifier decided and why, the case ledger with its
clocks, a case's page, and the work-order steps (派单, 签收, 退单, 延期申请, 延期审批,
催办/督办, 办结, 结果公开, 回访, 重办, 误读政策) as forms from the sentiment service's
command catalogue (`GET /v1/commands`); intake (登记来电/留言) from its OpenAPI schema.

The sentiment API stays the only judge of who may do what and in which state; the page
offers the steps a case's status allows (the same table as the domain's) and shows the
API's refusal in Chinese when it says no. Kept in its own module so the request pages
(routes.py) and these change apart.

No `from __future__ import annotations` here: FastAPI must see the real types.
"""

import dataclasses
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.workbench import forms
from services.workbench.pages import Catalogue, Workbench, command_catalogue, route_schema
from services.workbench.routes import (
    Session,
    W,
    _api,
    _form,
    _message,
    _page,
    _post_allowed,
    _refused,
    _session,
    _to_login,
    read_at,
)
from services.workbench.words import BEIJING, Deadline, cn_time, deadline
from shared.gateway import Api
from shared.identity import Role
from shared.workdays import WorkdayCalendar

router = APIRouter(prefix="/workbench/opinion", include_in_schema=False)
SERVICE = "sentiment"
AGGREGATE = "opinion-case"
EXPIRED = "表单已过期或来源不明，请返回后重新填写。"

# --- words the sentiment API gives as codes (kept here until its API labels them) -------

STATUS_ZH = {
    "opened": "待派单",
    "dispatched": "已派单，待签收",
    "accepted": "已签收，办理中",
    "returned": "已退单，待重新派单",
    "responded": "已办结，待回访",
    "dissatisfied": "回访不满意，待重办",
    "reopened": "重办中",
    "closed": "已办结",
}
OPEN_STATUSES = ("opened", "dispatched", "accepted", "returned", "reopened")
POLARITY_ZH = {"negative": "负面", "neutral": "中性", "positive": "正面"}
URGENCY_ZH = {"major_emergency": "重大突发", "urgent": "紧急", "normal": "一般"}
CLOCK_ZH = {
    "response": "答复期限",
    "authoritative_information": "发布权威信息",
    "press_conference": "召开新闻发布会",
}
SATISFACTION_ZH = {
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
}
REMIND_ZH = {"reminder": "催办", "supervision": "督办"}
#: Literal choices of the steps' schemas (no enum class, so no labels in the catalogue).
LITERAL_LABELS = {"satisfaction": SATISFACTION_ZH, "level": REMIND_ZH}
#: Which steps a case's status offers (services/sentiment/domain.py decides; this only
#: chooses the buttons).
STEPS = {
    "opened": ("assign", "remind", "policy-link"),
    "returned": ("assign", "remind", "policy-link"),
    "dispatched": ("accept", "return", "remind", "policy-link"),
    "accepted": (
        "respond",
        "request-extension",
        "decide-extension",
        "return",
        "remind",
        "policy-link",
    ),
    "reopened": (
        "respond",
        "request-extension",
        "decide-extension",
        "assign",
        "remind",
        "policy-link",
    ),
    "responded": ("follow-up", "publish", "policy-link"),
    "dissatisfied": ("reopen", "publish", "policy-link"),
}
#: What the rules say, above each form.
INTROS = {
    "intake": "每一件来电、来信、留言都要登记并答复（方案§17）。保存后系统自动分类、判断情感和"
    "紧急程度（并给出依据的词语），与30日内同一问题的在办案件合并，或新立案件并计算答复期限。",
    "assign": "派单到本镇的承办单位，并指定舆情专职工作人员跟踪（方案§17）。",
    "accept": "承办单位签收后开始办理。",
    "return": "不属于本单位职责的，说明理由退回派单人重新派单。",
    "request-extension": "不能在期限内办结的，说明理由申请延期，由分管领导或舆情专职工作人员审批。",
    "decide-extension": "同意的，答复期限改为申请的时间；不同意的，期限不变。",
    "remind": "催办提醒承办单位；督办由领导督促办理，记入案件。",
    "respond": "答复内容将告知留言群众；超过答复期限办结的，记为超期办结（计入考核）。",
    "publish": "办理结果在政府网站等渠道公开（方案§17）。",
    "follow-up": "回访留言群众：满意或基本满意的案件办结；不满意的可以重办。",
    "reopen": "重办的答复期限与首次相同，自重办之时起计算。",
    "policy-link": "群众误读政策的，关联被误读的政策，由政策起草单位进行跟踪解读"
    "（对误解误读及时解读回应，方案§17、§五(一)）。",
}
TABS = (
    ("open", "在办"),
    ("overdue", "已超期"),
    ("waiting", "待派单"),
    ("responded", "待回访"),
    ("closed", "已办结"),
    ("all", "全部"),
)
#: Below this the clock is told in hours (the 5 h, 24 h and 48 h clocks of 国办发〔2016〕61号).
HOURS_WITHIN = timedelta(hours=48)


def clock(
    due: str | None, now: datetime, calendar: WorkdayCalendar, *, done: str | None = None
) -> Deadline:
    """A case's response clock in words: 已超期5小时, 还剩30小时, 还剩3个工作日 …"""
    if done:
        return Deadline("done", done)
    if not due:
        return Deadline("none", "未定期限")
    at = datetime.fromisoformat(due)
    left = at - now
    if abs(left) < HOURS_WITHIN:
        hours = int(abs(left).total_seconds() // 3600)
        if left < timedelta(0):
            return Deadline("overdue", f"已超期{hours}小时" if hours else "已超期", -1)
        if hours == 0:
            return Deadline("today", f"不足1小时（{at.astimezone(BEIJING):%H:%M}前）", 0)
        level = (
            "today" if at.astimezone(BEIJING).date() == now.astimezone(BEIJING).date() else "soon"
        )
        return Deadline(level, f"还剩{hours}小时", 0)
    return deadline(at.astimezone(BEIJING).date(), now.astimezone(BEIJING).date(), calendar)


def reasons(
    classification: dict[str, Any] | None,
    labels: dict[str, Any] | None = None,
    name_of: Callable[[str], str] = str,
) -> dict[str, Any]:
    """What the classifier decided, in Chinese, with the words that decided it; where an
    officer corrected it (the API's `labels`), the corrected labels, who corrected, and the
    model's original answer beside them (the words are the model's)."""
    c = classification or {}
    tags = c.get("tags") or []
    shown = {
        "category": c.get("category", ""),
        "confidence": round(float(c.get("category_confidence") or 0) * 100),
        "category_reasons": "、".join(c.get("category_reasons") or []),
        "polarity": POLARITY_ZH.get(str(c.get("polarity")), str(c.get("polarity", ""))),
        "polarity_code": str(c.get("polarity", "")),
        "sentiment_reasons": "、".join(c.get("sentiment_reasons") or []),
        "urgency": URGENCY_ZH.get(str(c.get("urgency")), str(c.get("urgency", ""))),
        "urgency_code": str(c.get("urgency", "")),
        "urgency_classes": "、".join(c.get("urgency_classes") or []),
        "urgency_reasons": "、".join(c.get("urgency_reasons") or []),
        "tags": [(t.get("tag", ""), "、".join(t.get("reasons") or [])) for t in tags],
        "corrected": False,
    }
    if not labels or not labels.get("corrected"):
        return shown
    fix = labels.get("correction") or {}
    polarity = str(labels.get("polarity") or shown["polarity_code"])
    model_polarity = str(labels.get("model_polarity") or shown["polarity_code"])
    return shown | {
        "corrected": True,
        "category": labels.get("category") or shown["category"],
        "polarity": POLARITY_ZH.get(polarity, polarity),
        "polarity_code": polarity,
        "model_category": labels.get("model_category") or c.get("category", ""),
        "model_polarity": POLARITY_ZH.get(model_polarity, model_polarity),
        "category_changed": (labels.get("category") or "") != labels.get("model_category"),
        "polarity_changed": polarity != model_polarity,
        "corrected_by": name_of(str(fix.get("corrected_by") or "")),
        "corrected_at": fix.get("corrected_at"),
        "correction_reason": fix.get("reason") or "",
    }


def _labels(enums: dict[str, dict[str, str]], enum: str, value: Any) -> str:
    text = "" if value is None else str(value)
    return enums.get(enum, {}).get(text) or text


def case_row(
    wb: Workbench, enums: dict[str, dict[str, str]], item: dict[str, Any]
) -> dict[str, Any]:
    status = str(item.get("status", ""))
    done = None
    if status not in OPEN_STATUSES:
        on_time = item.get("on_time")
        done = STATUS_ZH.get(status, status)
        if on_time is False:
            done += "（超期办结）"
    due = clock(item.get("response_due"), wb.clock(), wb.calendar(), done=done)
    return {
        **item,
        "deadline": due,
        "status_zh": STATUS_ZH.get(status, status),
        "source_zh": _labels(enums, "Source", item.get("source")),
        "kind_zh": _labels(enums, "MessageKind", item.get("kind")),
        "urgency_zh": URGENCY_ZH.get(str(item.get("urgency")), str(item.get("urgency", ""))),
        "unit_name": wb.org_name(item.get("unit")),
        "officer_name": wb.person_name(item.get("officer")),
        "tenant_name": wb.org_name(item.get("tenant")),
        "satisfaction_zh": SATISFACTION_ZH.get(str(item.get("satisfaction")), ""),
    }


def _in_tab(row: dict[str, Any], tab: str) -> bool:
    status = str(row["status"])
    tabs: dict[str, bool] = {
        "open": status in OPEN_STATUSES,
        "overdue": status in OPEN_STATUSES and row["deadline"].level == "overdue",
        "waiting": status in ("opened", "returned"),
        "responded": status in ("responded", "dissatisfied"),
        "closed": status == "closed",
        "all": True,
    }
    return tabs.get(tab, False)


async def _catalogue(wb: Workbench, api: Api) -> Catalogue:
    """The case's steps and the sentiment service's enums' labels."""
    return await command_catalogue(wb, api, SERVICE, AGGREGATE)


# ----------------------------------------------------------------------------- the ledger


@router.get("", response_model=None)
async def cases_page(request: Request, wb: W, tab: str = "open") -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        enums = (await _catalogue(wb, api))[1]
        items: list[dict[str, Any]] = []
        cursor = None
        for _ in range(5):
            answer = await api.get(SERVICE, "/v1/opinion-cases", {"limit": 200, "cursor": cursor})
            if not answer.ok:
                return _refused(request, wb, s, answer)
            items += answer.body.get("items", [])
            cursor = answer.body.get("next_cursor")
            if not cursor:
                break
    rows = [case_row(wb, enums, i) for i in items]
    rows.sort(key=lambda r: (r["status"] not in OPEN_STATUSES, r.get("response_due") or "9"))
    counts = {key: sum(_in_tab(r, key) for r in rows) for key, _ in TABS}
    if tab not in counts:
        tab = "open"
    return _page(
        request,
        wb,
        s,
        "opinion_cases.html",
        rows=[r for r in rows if _in_tab(r, tab)],
        tabs=TABS,
        tab=tab,
        counts=counts,
        nav="opinion",
    )


@router.get("/messages", response_model=None)
async def messages_page(request: Request, wb: W, cursor: str = "") -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        enums = (await _catalogue(wb, api))[1]
        answer = await api.get(SERVICE, "/v1/messages", {"limit": 50, "cursor": cursor})
    if not answer.ok:
        return _refused(request, wb, s, answer)
    rows = [message_row(wb, enums, m) for m in answer.body.get("items", [])]
    nxt = answer.body.get("next_cursor")
    return _page(
        request,
        wb,
        s,
        "opinion_messages.html",
        rows=rows,
        more=f"/workbench/opinion/messages?{urlencode({'cursor': nxt})}" if nxt else "",
        nav="opinion-messages",
    )


def message_row(
    wb: Workbench, enums: dict[str, dict[str, str]], m: dict[str, Any]
) -> dict[str, Any]:
    """A message as the pages show it: the labels as they stand (corrected or the model's)
    with the reasons, source and kind in Chinese."""
    return {
        **m,
        "why": reasons(m.get("classification"), m.get("labels"), wb.person_name),
        "source_zh": _labels(enums, "Source", m.get("source")),
        "kind_zh": _labels(enums, "MessageKind", m.get("kind")),
    }


# ----------------------------------------------------------------------------- intake

INTAKE_TITLE = "登记来电、来信和留言"
INTAKE_PATH = "/workbench/opinion/new"
#: Intake fields the page fills itself: the township is the officer's, the time is now.
INTAKE_SKIP = ("tenant", "received_at")
CITIZEN_LABELS = {"citizen.name": "留言人姓名", "citizen.phone": "留言人联系电话"}


async def _intake_fields(wb: Workbench, api: Api) -> list[forms.Field]:
    found = await route_schema(wb, api, SERVICE, "/v1/messages")
    if found is None:
        return []
    schema, defs = found
    enums = (await _catalogue(wb, api))[1]
    fields = forms.fields_of(schema, enums, defs=defs, skip=INTAKE_SKIP)
    sources = tuple(forms.Choice(k, v) for k, v in (enums.get("Source") or {}).items())
    shaped = []
    for f in fields:
        if f.name == "source" and sources:  # a code the API checks; its labels are the enum's
            f = dataclasses.replace(f, kind="select", choices=sources, enum="Source", hint="")
        elif f.name in CITIZEN_LABELS:
            f = dataclasses.replace(f, label=CITIZEN_LABELS[f.name])
        elif f.name == "text":
            f = dataclasses.replace(f, hint="")
        elif f.name == "kind":
            f = dataclasses.replace(f, hint="12345热线默认为投诉，其他来源默认为一般舆情/留言")
        shaped.append(f)
    return shaped


def _intake_form(
    request: Request, wb: Workbench, s: Session, state: forms.FormState, status: int = 200
) -> Response:
    return _page(
        request,
        wb,
        s,
        "form.html",
        status,
        form=state,
        key=str(uuid.uuid4()),
        title=INTAKE_TITLE,
        basis="方案§17；国办发〔2016〕61号",
        action=INTAKE_PATH,
        back="/workbench/opinion",
        intro=INTROS["intake"],
        sub_choices=[],
        summary="",
        nav="opinion-new",
    )


@router.get("/new", response_model=None)
async def intake_page(request: Request, wb: W) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        fields = await _intake_fields(wb, api)
    if not fields:
        return _message(request, wb, s, "暂时无法登记", "舆情服务暂时无法访问，请稍后重试。", 503)
    return _intake_form(request, wb, s, forms.FormState(fields, {"source": "hotline"}))


@router.post("/new", response_model=None)
async def intake(request: Request, wb: W) -> Response:
    s = await _session(request, wb)
    form = await _form(request)
    if s is None or not _post_allowed(request, s, form):
        return _message(request, wb, s, "页面已过期", EXPIRED, 403)
    async with _api(request, wb, s) as api:
        fields = await _intake_fields(wb, api)
        answer = await api.post(
            SERVICE, "/v1/messages", forms.body_from(fields, form), form.get("key")
        )
    if answer.status == 401:
        return _to_login(request)
    if not answer.ok:
        state = forms.FormState(fields, form, forms.errors_from(answer.problem, fields))
        return _intake_form(request, wb, s, state, 422 if answer.status == 422 else 409)
    body = answer.body
    if body.get("duplicate"):
        return _message(
            request,
            wb,
            s,
            "已登记过",
            "这件留言已经登记过（同一来源、同一编号或相同内容），未重复登记。",
            200,
        )
    done = "intake" if body.get("opened_case") else "grouped"
    target = f"/workbench/opinion/cases/{body['case_id']}?done={done}&v=1"
    return RedirectResponse(target, status_code=303)


# ----------------------------------------------------------------------------- one case

DONE = {
    "intake": "已登记并立案。分类、情感和紧急程度及其依据见下方留言。",
    "grouped": "已登记。内容与在办案件相近，已并入本案件。",
}


def _step_rows(wb: Workbench, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for st in steps:
        d = st.get("detail") or {}
        details: list[tuple[str, str]] = []
        if d.get("unit"):
            details.append(("承办单位", wb.org_name(d["unit"])))
        if d.get("officer"):
            details.append(("舆情专职工作人员", wb.person_name(d["officer"])))
        for key, label in (("reason", "理由"), ("note", "备注"), ("channel", "公开渠道")):
            if d.get(key):
                details.append((label, str(d[key])))
        if d.get("satisfaction"):
            details.append(("满意度", SATISFACTION_ZH.get(d["satisfaction"], d["satisfaction"])))
        if d.get("level") in REMIND_ZH:
            details.append(("方式", REMIND_ZH[d["level"]]))
        if "approved" in d:
            details.append(("审批结果", "同意" if d["approved"] else "不同意"))
        for key, label in (("requested_due", "申请延至"), ("response_due", "答复期限")):
            if d.get(key):
                details.append((label, cn_time(d[key])))
        if "on_time" in d and d["on_time"] is not None:
            details.append(("是否按期", "按期办结" if d["on_time"] else "超期办结"))
        if d.get("policy_title"):
            details.append(("政策", str(d["policy_title"])))
        if d.get("misreading"):
            details.append(("误读内容", str(d["misreading"])))
        rows.append(
            {
                "when": cn_time(st.get("at")),
                "what": st.get("step", ""),
                "who": wb.person_name(st.get("actor")),
                "details": details,
            }
        )
    return rows


@router.get("/cases/{case_id}", response_model=None)
async def case_page(
    request: Request, wb: W, case_id: uuid.UUID, done: str = "", v: int = 0
) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        answer = await read_at(api, SERVICE, f"/v1/opinion-cases/{case_id}", v)
        if not answer.ok:
            return _refused(request, wb, s, answer)
        commands, enums = await _catalogue(wb, api)
        msgs = await api.get(SERVICE, "/v1/messages", {"case_id": str(case_id), "limit": 50})
        suggested = await api.get(SERVICE, f"/v1/opinion-cases/{case_id}/policy-suggestions")
    item = case_row(wb, enums, answer.body)
    clocks = [
        {
            "name": CLOCK_ZH.get(str(d.get("name")), str(d.get("name"))),
            "due": cn_time(d.get("due_at")),
            "rule": d.get("rule", ""),
            "provisional": d.get("provisional", False),
            "words": clock(
                d.get("due_at"),
                wb.clock(),
                wb.calendar(),
                done=None if item["status"] in OPEN_STATUSES else "已办结",
            ),
        }
        for d in item.get("deadlines") or []
    ]
    offered = [
        (name, commands[name]["label_zh"], f"/workbench/opinion/cases/{case_id}/act/{name}")
        for name in STEPS.get(str(item["status"]), ())
        if name in commands
        and (name != "decide-extension" or item.get("extension_pending"))
        and (name != "request-extension" or not item.get("extension_pending"))
    ]
    done_text = DONE.get(done) or (
        f"已完成：{commands[done]['label_zh']}。" if done in commands else ""
    )
    return _page(
        request,
        wb,
        s,
        "opinion_case.html",
        item=item,
        clocks=clocks,
        steps=_step_rows(wb, answer.body.get("steps") or []),
        messages=[
            message_row(wb, enums, m) for m in (msgs.body.get("items", []) if msgs.ok else ())
        ],
        suggestions=(suggested.body if suggested.ok else {}).get("suggestions", []),
        links=answer.body.get("policy_links") or [],
        actions=offered,
        done=done_text,
        nav="opinion",
    )


# ----------------------------------------------------------------------------- the steps


def _people_with(wb: Workbench, township: str, role: Role) -> tuple[forms.Choice, ...]:
    return tuple(
        forms.Choice(p.id, f"{p.name}（{unit.name}）")
        for unit, p in wb.orgs.people()
        if role in p.roles
        and (str(unit.path) == township or str(unit.path).startswith(township + "/"))
    )


def _step_fields(
    wb: Workbench,
    entry: dict[str, Any],
    enums: dict[str, dict[str, str]],
    item: dict[str, Any],
    suggestions: list[dict[str, Any]],
) -> list[forms.Field]:
    """The step's form from its schema; the codes a person cannot type become choices."""
    fields = forms.fields_of(entry["schema"], enums)
    township = str(item.get("tenant", ""))
    shaped = []
    for f in fields:
        if f.name == "unit" and township in wb.orgs:
            units = (wb.orgs.get(township), *wb.orgs.units_of(township))
            choices = tuple(forms.Choice(str(u.path), u.name) for u in units)
            f = dataclasses.replace(f, kind="select", choices=choices, hint="")
        elif f.name == "officer":
            choices = _people_with(wb, township, Role.OPINION_OFFICER)
            f = dataclasses.replace(f, kind="select", choices=choices, hint="")
        elif f.name == "document_id":
            choices = tuple(
                forms.Choice(str(p["document_id"]), _policy_label(p)) for p in suggestions
            )
            hint = "" if choices else "系统没有找到与本案留言相关的已发布政策。"
            f = dataclasses.replace(f, kind="select", choices=choices, hint=hint)
        elif f.name in LITERAL_LABELS:
            words = LITERAL_LABELS[f.name]
            choices = tuple(forms.Choice(c.value, words.get(c.value, c.label)) for c in f.choices)
            f = dataclasses.replace(f, choices=choices)
        elif f.name == "requested_due":
            # An instant in the API; a person picks the day (due at its end, Beijing time).
            f = dataclasses.replace(f, kind="date", hint="答复期限延至所选日期的24时前")
        elif f.name == "misreading":
            f = dataclasses.replace(f, hint="群众把政策的哪一点理解错了")
        shaped.append(f)
    return shaped


def _policy_label(p: dict[str, Any]) -> str:
    number = f"（{p['document_number']}）" if p.get("document_number") else ""
    return f"{p.get('title', '')}{number}"


def _step_body(fields: list[forms.Field], form: dict[str, str]) -> dict[str, Any]:
    body = forms.body_from(fields, form)
    day = body.get("requested_due")
    if isinstance(day, str) and len(day) == 10:
        body["requested_due"] = f"{day}T23:59:59+08:00"
    return body


async def _step_context(
    request: Request, wb: Workbench, s: Session, api: Api, case_id: uuid.UUID, name: str
) -> tuple[dict[str, Any], dict[str, Any] | None, list[forms.Field], Response | None]:
    answer = await api.get(SERVICE, f"/v1/opinion-cases/{case_id}")
    if not answer.ok:
        return {}, None, [], _refused(request, wb, s, answer)
    commands, enums = await _catalogue(wb, api)
    entry = commands.get(name)
    if entry is None:
        return answer.body, None, [], _message(request, wb, s, "未找到", "没有这项办理操作。", 404)
    suggestions: list[dict[str, Any]] = []
    if name == "policy-link":
        got = await api.get(SERVICE, f"/v1/opinion-cases/{case_id}/policy-suggestions")
        suggestions = got.body.get("suggestions", []) if got.ok else []
    item = case_row(wb, enums, answer.body)
    return item, entry, _step_fields(wb, entry, enums, item, suggestions), None


def _step_form(
    request: Request,
    wb: Workbench,
    s: Session,
    item: dict[str, Any],
    entry: dict[str, Any],
    state: forms.FormState,
    status: int = 200,
) -> Response:
    cid = item["case_id"]
    what = f"{item['source_zh']}·{item.get('category', '')}"
    return _page(
        request,
        wb,
        s,
        "form.html",
        status,
        form=state,
        key=str(uuid.uuid4()),
        title=f"{entry['label_zh']}：{what}",
        basis=entry.get("basis", ""),
        action=f"/workbench/opinion/cases/{cid}/act/{entry['name']}",
        back=f"/workbench/opinion/cases/{cid}",
        intro=INTROS.get(entry["name"], ""),
        sub_choices=[],
        summary="",
        nav="opinion",
    )


@router.get("/cases/{case_id}/act/{name}", response_model=None)
async def step_page(request: Request, wb: W, case_id: uuid.UUID, name: str) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        item, entry, fields, refused = await _step_context(request, wb, s, api, case_id, name)
    if refused is not None or entry is None:
        assert refused is not None
        return refused
    defaults = {f.name: str(f.default) for f in fields if f.default is not None}
    if name == "publish":
        defaults.setdefault("channel", "政府网站")
    return _step_form(request, wb, s, item, entry, forms.FormState(fields, defaults))


@router.post("/cases/{case_id}/act/{name}", response_model=None)
async def step(request: Request, wb: W, case_id: uuid.UUID, name: str) -> Response:
    s = await _session(request, wb)
    form = await _form(request)
    if s is None or not _post_allowed(request, s, form):
        return _message(request, wb, s, "页面已过期", EXPIRED, 403)
    async with _api(request, wb, s) as api:
        item, entry, fields, refused = await _step_context(request, wb, s, api, case_id, name)
        if refused is not None or entry is None:
            assert refused is not None
            return refused
        path = str(entry["path"]).replace("{case_id}", str(case_id))
        answer = await api.post(SERVICE, path, _step_body(fields, form), form.get("key"))
    if answer.status == 401:
        return _to_login(request)
    if not answer.ok:
        state = forms.FormState(fields, form, forms.errors_from(answer.problem, fields))
        return _step_form(request, wb, s, item, entry, state, 422 if answer.status == 422 else 409)
    version = answer.body.get("version", 0) if isinstance(answer.body, dict) else 0
    target = f"/workbench/opinion/cases/{case_id}?done={name}&v={version}"
    return RedirectResponse(target, status_code=303)
