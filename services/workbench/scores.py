"""The assessor's and the leaders' pages (考核, 方案§20, §21; docs/assessment.md): the
ranking of a scheme, each township's (or unit's) breakdown in words a leader reads —
indicator names, the cause of each deduction in Chinese, a link to each item behind it,
no ids on the page — the closed periods with the form that closes one, and the task
ledger (工作台账).

Everything comes from the assessment service's API (`/v1/assessment/scoreboard`,
`/scores`, `/periods`, `/tasks`, `POST /periods/close`); an item's name (a request's
number, a case's category, a task's title) from its own service's API, where the
signed-in person may read it. Kept in its own module (routes.py and these change apart).

No `from __future__ import annotations` here: FastAPI must see the real types.
"""

import asyncio
import dataclasses
import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.workbench import forms
from services.workbench.pages import Workbench, route_schema
from services.workbench.routes import (
    CATCH_UP_SECONDS,
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
)
from services.workbench.words import cn_date
from shared.gateway import Api

router = APIRouter(prefix="/workbench/scores", include_in_schema=False)
SERVICE = "assessment"
EXPIRED = "表单已过期或来源不明，请返回后重新填写。"
LEVEL_ZH = {"township": "各乡镇", "unit": "各站所、部门"}
TASK_STATUS_ZH = {
    "open": "未完成",
    "overdue": "已逾期",
    "done": "已完成",
    "done_late": "逾期完成",
}
#: Where the item behind a cause is shown, by signal: (service, label of the item, page).
ITEMS = {
    "request.reply_overdue": ("applications", "依申请公开申请", "/workbench/requests/{}"),
    "request.decision_corrected": ("", "被纠正的答复", ""),
    "opinion.response_late": ("sentiment", "舆情案件", "/workbench/opinion/cases/{}"),
    "enforcement.publication_late": ("enforcement", "执法决定", "/workbench/enforcement/{}"),
    "ledger.task_overdue": ("assessment", "台账事项", "/workbench/scores/tasks?org={org}"),
}
#: At most this many items are looked up by name per page (the rest are numbered).
LOOKUPS = 40


def _query(year: int, level: str, owner: str) -> dict[str, str]:
    return {"year": str(year), "level": level, **({"owner": owner} if owner else {})}


async def _item_name(api: Api, signal: str, case: str, tasks: dict[str, str]) -> str:
    """The item's own name as its service shows it; "" where it cannot be read."""
    if signal == "ledger.task_overdue":
        return tasks.get(case, "")
    try:
        uuid.UUID(case)
    except ValueError:
        return ""
    if signal == "request.reply_overdue":
        got = await api.get("applications", f"/v1/requests/{case}")
        return str(got.body.get("number", "")) if got.ok else ""
    if signal == "opinion.response_late":
        got = await api.get("sentiment", f"/v1/opinion-cases/{case}")
        return (
            f"{got.body.get('category', '')}（{cn_date(got.body.get('opened_at'))}立案）"
            if got.ok
            else ""
        )
    if signal == "enforcement.publication_late":
        got = await api.get("enforcement", f"/v1/enforcement/decisions/{case}")
        return str(got.body.get("reference", "")) if got.ok else ""
    return ""


async def breakdown(api: Api, card: dict[str, Any], tasks: dict[str, str]) -> list[dict[str, Any]]:
    """Each line of a card in words: the indicator, its points, and per cause the items
    behind it with their names and links (numbered where no name can be read)."""
    signals: dict[str, str] = card.get("signals") or {}
    looked = 0
    lines = []
    for line in [*card.get("lines", []), *_veto_lines(card)]:
        causes: dict[str, list[dict[str, str]]] = {}
        for n, case in enumerate(line.get("cases", []), start=1):
            signal = str(case["signal"])
            service, noun, page = ITEMS.get(signal, ("", "事项", ""))
            name = ""
            if service and looked < LOOKUPS:
                looked += 1
                name = await _item_name(api, signal, str(case["case"]), tasks)
            href = page.format(case["case"], org=card.get("subject", "")) if page and name else ""
            causes.setdefault(signal, []).append(
                {"name": name or f"{noun}（第{n}件）", "href": href}
            )
        deducted = line["weight"] - line["points"] if line["kind"] == "indicator" else 0
        lines.append(
            {
                "name": line["name"],
                "kind": line["kind"],
                "weight": line["weight"],
                "points": line["points"],
                "deducted": round(deducted, 2),
                "raw": line.get("raw", 0),
                "causes": [
                    {"label": signals.get(s, "其他原因"), "cases": items}
                    for s, items in causes.items()
                ],
            }
        )
    return lines


def _veto_lines(card: dict[str, Any]) -> list[dict[str, Any]]:
    cases = card.get("veto_cases") or []
    if not cases:
        return []
    return [{"name": "一票否决", "kind": "veto", "weight": 0, "points": 0, "cases": cases}]


def _points(value: float) -> str:
    return f"{value:g}"


async def _schemes(api: Api, year: int) -> list[dict[str, Any]]:
    got = await api.get(SERVICE, "/v1/assessment/schemes", {"year": year})
    return list(got.body.get("items", [])) if got.ok else []


@router.get("", response_model=None)
async def board_page(
    request: Request, wb: W, year: int = 0, level: str = "township", owner: str = ""
) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    year = year or wb.today().year
    level = level if level in LEVEL_ZH else "township"
    async with _api(request, wb, s) as api:
        schemes = await _schemes(api, year)
        answer = await api.get(SERVICE, "/v1/assessment/scoreboard", _query(year, level, owner))
    choices = [
        (
            f"/workbench/scores?{urlencode(_query(year, str(x['level']), str(x['owner'])))}",
            str(x.get("title") or x["scheme_id"]),
            x["level"] == level
            and (x["owner"] == owner or (not owner and x["level"] == "township")),
        )
        for x in schemes
    ]
    board = answer.body if answer.ok else None
    if answer.status == 401:
        return _to_login(request)
    missing = "" if board else str(answer.problem.get("message_zh") or "")
    query = _query(year, level, owner)
    rows = [
        {
            **r,
            "href": "/workbench/scores/subject?" + urlencode({**query, "subject": r["subject"]}),
            "total_zh": _points(r["total"]),
            "bonus_zh": _points(r["bonus"]),
        }
        for r in (board or {}).get("items", [])
    ]
    return _page(
        request,
        wb,
        s,
        "scores_board.html",
        board=board,
        pass_line=_points(float((board or {}).get("pass_line", 60))),
        rows=rows,
        year=year,
        level_zh=LEVEL_ZH[level],
        schemes=choices,
        missing=missing and "本年度尚未发布这项考核方案。",
        periods="/workbench/scores/periods?" + urlencode(query),
        nav="scores",
    )


@router.get("/subject", response_model=None)
async def subject_page(
    request: Request, wb: W, subject: str, year: int = 0, level: str = "township", owner: str = ""
) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    year = year or wb.today().year
    level = level if level in LEVEL_ZH else "township"
    query = _query(year, level, owner)
    async with _api(request, wb, s) as api:
        answer = await api.get(SERVICE, "/v1/assessment/scores", {**query, "subject": subject})
        if not answer.ok:
            return _refused(request, wb, s, answer)
        card = answer.body
        tasks: dict[str, str] = {}
        if any(c["signal"] == "ledger.task_overdue" for ln in card["lines"] for c in ln["cases"]):
            got = await api.get(SERVICE, "/v1/assessment/tasks", {"org": subject, "limit": 200})
            if got.ok:
                tasks = {t["task_id"]: t["title"] for t in got.body.get("items", [])}
        lines = await breakdown(api, card, tasks)
    return _page(
        request,
        wb,
        s,
        "scores_subject.html",
        card=card,
        lines=lines,
        total=_points(card["total"]),
        bonus=_points(card["bonus"]),
        pass_line=_points(card.get("pass_line", 60)),
        back="/workbench/scores?" + urlencode(query),
        tasks="/workbench/scores/tasks?" + urlencode({"org": subject}),
        year=year,
        nav="scores",
    )


# ----------------------------------------------------------------------------- periods

CLOSE_INTRO = (
    "关闭考核周期后，周期内的得分被固定（快照），此后记录的事项计入下一周期。"
    "周期须在考核方案的年度内、已经结束，不得与已关闭的周期重叠（方案§20）。"
)


async def _close_fields(wb: Workbench, api: Api) -> list[forms.Field]:
    found = await route_schema(wb, api, SERVICE, "/v1/assessment/periods/close")
    if found is None:
        return []
    schema, defs = found
    fields = forms.fields_of(schema, {"Level": LEVEL_ZH}, defs=defs)
    owners = [forms.Choice("", f"{wb.orgs.district.name}（区级方案）")] + [
        forms.Choice(str(t.path), f"{t.name}（镇级方案）") for t in wb.orgs.townships()
    ]
    return [
        dataclasses.replace(f, kind="select", choices=tuple(owners), hint="")
        if f.name == "owner"
        else f
        for f in fields
    ]


async def _periods(api: Api, query: dict[str, str]) -> list[dict[str, Any]]:
    got = await api.get(SERVICE, "/v1/assessment/periods", query)
    return list(got.body.get("items", [])) if got.ok else []


def _periods_page(
    request: Request,
    wb: Workbench,
    s: Session,
    query: dict[str, str],
    closed: list[dict[str, Any]],
    state: forms.FormState,
    status: int = 200,
    done: str = "",
) -> Response:
    return _page(
        request,
        wb,
        s,
        "scores_periods.html",
        status,
        form=state,
        key=str(uuid.uuid4()),
        closed=closed,
        back="/workbench/scores?" + urlencode(query),
        intro=CLOSE_INTRO,
        done=done,
        title="考核周期",
        nav="scores",
    )


@router.get("/periods", response_model=None)
async def periods_page(
    request: Request,
    wb: W,
    year: int = 0,
    level: str = "township",
    owner: str = "",
    done: str = "",
) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    year = year or wb.today().year
    level = level if level in LEVEL_ZH else "township"
    query = _query(year, level, owner)
    async with _api(request, wb, s) as api:
        fields = await _close_fields(wb, api)
        closed = await _periods(api, query)
        waited = 0.0
        # Right after a close the list (a projection) waits for it, as read_at does.
        while done and waited < CATCH_UP_SECONDS and all(p["period"] != done for p in closed):
            await asyncio.sleep(0.1)
            waited += 0.1
            closed = await _periods(api, query)
    defaults = {"year": str(year), "level": level, "owner": owner,
                "starts_on": f"{year}-01-01", "ends_on": f"{year}-12-31"}  # fmt: skip
    words = f"已关闭考核周期 {done}。" if done else ""
    return _periods_page(
        request, wb, s, query, closed, forms.FormState(fields, defaults), done=words
    )


@router.post("/periods", response_model=None)
async def close_period(request: Request, wb: W) -> Response:
    s = await _session(request, wb)
    form = await _form(request)
    if s is None or not _post_allowed(request, s, form):
        return _message(request, wb, s, "页面已过期", EXPIRED, 403)
    year = form.get("year", "") if form.get("year", "").isdigit() else str(wb.today().year)
    query = _query(int(year), form.get("level") or "township", form.get("owner", ""))
    async with _api(request, wb, s) as api:
        fields = await _close_fields(wb, api)
        answer = await api.post(
            SERVICE, "/v1/assessment/periods/close", forms.body_from(fields, form), form.get("key")
        )
        closed = await _periods(api, query) if not answer.ok else []
    if answer.status == 401:
        return _to_login(request)
    if not answer.ok:
        state = forms.FormState(fields, form, forms.errors_from(answer.problem, fields))
        return _periods_page(
            request, wb, s, query, closed, state, 422 if answer.status == 422 else 409
        )
    target = "/workbench/scores/periods?" + urlencode({**query, "done": form.get("period", "")})
    return RedirectResponse(target, status_code=303)


# ----------------------------------------------------------------------------- task ledger


@router.get("/tasks", response_model=None)
async def tasks_page(request: Request, wb: W, org: str = "", status: str = "") -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    params = {"org": org, "status": status if status in TASK_STATUS_ZH else "", "limit": 200}
    async with _api(request, wb, s) as api:
        answer = await api.get(SERVICE, "/v1/assessment/tasks", params)
    if not answer.ok:
        return _refused(request, wb, s, answer)
    rows = [
        {
            **t,
            "org_name": wb.org_name(t.get("org")),
            "owner_name": wb.person_name(t.get("owner")),
            "status_zh": TASK_STATUS_ZH.get(str(t.get("status")), str(t.get("status"))),
        }
        for t in answer.body.get("items", [])
    ]
    return _page(
        request,
        wb,
        s,
        "scores_tasks.html",
        rows=rows,
        org_name=wb.org_name(org or str(s.principal.org)),
        statuses=list(TASK_STATUS_ZH.items()),
        current=params["status"],
        org=org,
        nav="tasks",
    )


# ----------------------------------------------------------------------------- 学法


@router.get("/study", response_model=None)
async def study_page(request: Request, wb: W, org: str = "", year: int = 0) -> Response:
    """领导干部学法记录 (方案§六(一)): per leader of a township, the 条例 sessions attended."""
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    year = year or wb.today().year
    township = wb.orgs.township_of(org or str(s.principal.org))
    choices = [(str(t.path), t.name) for t in wb.orgs.townships()]
    record: dict[str, Any] | None = None
    refused = ""
    if township is None:
        refused = "学法记录按乡镇统计，请选择一个乡镇。"
    else:
        async with _api(request, wb, s) as api:
            got = await api.get(
                SERVICE, "/v1/assessment/training/study", {"year": year, "org": str(township.path)}
            )
        if got.status == 401:
            return _to_login(request)
        record = got.body if got.ok else None
        refused = "" if got.ok else str(got.problem.get("message_zh") or "暂时无法显示。")
    return _page(
        request,
        wb,
        s,
        "scores_study.html",
        record=record,
        refused=refused,
        year=year,
        org=str(township.path) if township else "",
        township=township.name if township else "",
        choices=choices,
        nav="study",
    )
