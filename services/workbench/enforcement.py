"""The workbench pages of 行政执法公示 (方案§10; docs/enforcement.md): the decisions of the
person's units waiting for 公示 with their time limits, a decision's page with its records,
and the forms to record a 法制审核, to publish, to record a change or revocation and to end
a penalty's publication by 信用修复.

Every form is built from the enforcement service's command catalogue (`GET /v1/commands`)
or, for the review (a route of its own: it comes before the decision exists), from its
OpenAPI schema; the enforcement API stays the only judge of who may do what. Kept in its own
module so the request pages (routes.py) and these change apart.

No `from __future__ import annotations` here: FastAPI must see the real types.
"""

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.enforcement.events import RecordKind
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
from shared.gateway import Api

RECORD_KINDS = frozenset(k.value for k in RecordKind)

router = APIRouter(prefix="/workbench/enforcement", include_in_schema=False)
SERVICE = "enforcement"

#: The list's tabs: (status filter of the API, label).
TABS = (
    ("recorded", "待公示"),
    ("published", "公示中"),
    ("review", "已审核待决定"),
    ("withdrawn", "已撤下"),
    ("", "全部"),
)
STATUS_ZH = {
    "review": "已法制审核，待作出决定",
    "recorded": "已作出决定，待公示",
    "not_published": "依法不公示",
    "published": "公示中",
    "withdrawn": "已撤下",
}
EXPIRED = "表单已过期或来源不明，请返回后重新填写。"
UNAVAILABLE = "执法公示服务暂时无法访问，请稍后重试。"
REVIEW_TITLE = "登记重大执法决定法制审核"
REVIEW_PATH = "/workbench/enforcement/reviews/new"
#: What a step that is not a command of the decision says when it is done.
DONE = {"review": "登记法制审核"}
#: The steps a decision's page offers in each state (the API decides whether they hold).
STEPS = {
    "recorded": ("publish", "annul"),
    "not_published": ("annul",),
    "published": ("annul", "credit-repair"),
}
#: What the rules say, above each form.
INTROS = {
    "review": "重大执法决定作出前，应当由从事行政处罚决定法制审核的人员进行法制审核；"
    "未经法制审核或者审核未通过的，不得作出决定（行政处罚法第五十八条，国办发〔2018〕118号）。",
    "publish": "行政许可、行政处罚的执法决定信息应当在执法决定作出之日起7个工作日内公开"
    "（国办发〔2018〕118号）。自然人的姓名只显示姓氏，证件号码隐去中间部分；"
    "公示文字由隐私检查把关，含有个人信息的须先填写脱敏后的公示摘要。",
    "annul": "公开的行政处罚决定被依法变更、撤销、确认违法或者确认无效的，"
    "应当在三日内撤回行政处罚决定信息并公开说明理由（行政处罚法第四十八条第二款）。",
    "credit-repair": "行政处罚信息公示期满前，当事人完成信用修复的，可以提前停止公示。",
}


async def _catalogue(wb: Workbench, api: Api) -> Catalogue:
    """The enforcement decision's commands and the enums' labels."""
    return await command_catalogue(wb, api, SERVICE, "enforcement")


async def _review_fields(wb: Workbench, api: Api) -> list[forms.Field]:
    found = await route_schema(wb, api, SERVICE, "/v1/enforcement/reviews")
    if found is None:
        return []
    schema, defs = found
    # The unit is the signed-in person's own (the API's default); a review of another unit's
    # decision is that unit's to record.
    return forms.fields_of(schema, (await _catalogue(wb, api))[1], defs=defs, skip=("unit",))


def _record_kind(kind: Any) -> str:
    return RecordKind(kind).label_zh if kind in RECORD_KINDS else str(kind)


def _row(wb: Workbench, item: dict[str, Any]) -> dict[str, Any]:
    due = item.get("publication_due")
    records = [
        {
            **r,
            "kind_label": RecordKind(r["kind"]).label_zh
            if r.get("kind") in RECORD_KINDS
            else r.get("kind"),
        }
        for r in item.get("records") or []
    ]
    return {
        **item,
        "records": records,
        "status_zh": STATUS_ZH.get(str(item.get("status")), str(item.get("status"))),
        "unit_name": wb.org_name(item.get("unit")),
        "due_zh": due or "",
    }


@router.get("", response_model=None)
async def decisions_page(request: Request, wb: W, status: str = "recorded") -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    if status not in {value for value, _ in TABS}:
        status = "recorded"
    async with _api(request, wb, s) as api:
        answer = await api.get(
            SERVICE, "/v1/enforcement/decisions", {"status": status} if status else {}
        )
    if not answer.ok:
        return _refused(request, wb, s, answer)
    rows = [_row(wb, item) for item in answer.body.get("items", [])]
    return _page(
        request,
        wb,
        s,
        "enforcement_list.html",
        rows=rows,
        tabs=[
            (v, label, "/workbench/enforcement?" + urlencode({"status": v})) for v, label in TABS
        ],
        current=status,
        nav="enforcement",
    )


@router.get("/{decision_id}", response_model=None)
async def decision_page(
    request: Request, wb: W, decision_id: uuid.UUID, done: str = "", v: int = 0
) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        answer = await read_at(api, SERVICE, f"/v1/enforcement/decisions/{decision_id}", v)
        commands = (await _catalogue(wb, api))[0]
    if not answer.ok:
        return _refused(request, wb, s, answer)
    item = _row(wb, answer.body)
    offered = STEPS.get(str(item.get("status")), ())
    steps = [
        (name, commands[name]["label_zh"], f"/workbench/enforcement/{decision_id}/act/{name}")
        for name in offered
        if name in commands and (name != "credit-repair" or item.get("kind") == "penalty")
    ]
    done_label = commands[done]["label_zh"] if done in commands else DONE.get(done, "")
    return _page(
        request,
        wb,
        s,
        "enforcement_detail.html",
        item=item,
        steps=steps,
        done=done_label,
        nav="enforcement",
    )


def _form_page(
    request: Request,
    wb: Workbench,
    s: Session,
    *,
    title: str,
    action: str,
    back: str,
    intro: str,
    basis: str,
    state: forms.FormState,
    status: int = 200,
) -> Response:
    return _page(
        request,
        wb,
        s,
        "form.html",
        status,
        form=state,
        key=str(uuid.uuid4()),
        title=title,
        basis=basis,
        action=action,
        back=back,
        intro=intro,
        sub_choices=[],
        summary="",
        nav="enforcement",
    )


@router.get("/reviews/new", response_model=None)
async def review_page(request: Request, wb: W) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        fields = await _review_fields(wb, api)
    if not fields:
        return _message(
            request, wb, s, "暂时无法登记", "执法公示服务暂时无法访问，请稍后重试。", 503
        )
    defaults = {"reviewed_on": wb.today().isoformat(), "approved": "true"}
    return _form_page(
        request,
        wb,
        s,
        title=REVIEW_TITLE,
        action=REVIEW_PATH,
        back="/workbench/enforcement?status=review",
        intro=INTROS["review"],
        basis="",
        state=forms.FormState(fields, defaults),
    )


@router.post("/reviews/new", response_model=None)
async def review(request: Request, wb: W) -> Response:
    s = await _session(request, wb)
    form = await _form(request)
    if s is None or not _post_allowed(request, s, form):
        return _message(
            request, wb, s, "页面已过期", "表单已过期或来源不明，请返回后重新填写。", 403
        )
    async with _api(request, wb, s) as api:
        fields = await _review_fields(wb, api)
        answer = await api.post(
            SERVICE, "/v1/enforcement/reviews", forms.body_from(fields, form), form.get("key")
        )
    if answer.status == 401:
        return _to_login(request)
    if not answer.ok:
        state = forms.FormState(fields, form, forms.errors_from(answer.problem, fields))
        return _form_page(
            request,
            wb,
            s,
            title=REVIEW_TITLE,
            action=REVIEW_PATH,
            back="/workbench/enforcement?status=review",
            intro=INTROS["review"],
            basis="",
            state=state,
            status=422 if answer.status == 422 else 409,
        )
    body = answer.body
    target = f"/workbench/enforcement/{body['decision_id']}?done=review&v={body.get('version', 0)}"
    return RedirectResponse(target, status_code=303)


async def _step(
    request: Request, wb: Workbench, s: Session, api: Api, decision_id: uuid.UUID, name: str
) -> tuple[dict[str, Any], dict[str, Any] | None, Response | None]:
    answer = await api.get(SERVICE, f"/v1/enforcement/decisions/{decision_id}")
    if not answer.ok:
        return {}, None, _refused(request, wb, s, answer)
    return answer.body, (await _catalogue(wb, api))[0].get(name), None


def _step_form(
    request: Request,
    wb: Workbench,
    s: Session,
    item: dict[str, Any],
    entry: dict[str, Any],
    state: forms.FormState,
    status: int = 200,
) -> Response:
    did = item["decision_id"]
    return _form_page(
        request,
        wb,
        s,
        title=f"{entry['label_zh']}：{item.get('title') or item['reference']}",
        action=f"/workbench/enforcement/{did}/act/{entry['name']}",
        back=f"/workbench/enforcement/{did}",
        intro=INTROS.get(entry["name"], ""),
        basis=entry.get("basis", ""),
        state=state,
        status=status,
    )


@router.get("/{decision_id}/act/{name}", response_model=None)
async def step_page(request: Request, wb: W, decision_id: uuid.UUID, name: str) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        item, entry, refused = await _step(request, wb, s, api, decision_id, name)
        enums = (await _catalogue(wb, api))[1]
    if refused is not None:
        return refused
    if entry is None:
        return _message(request, wb, s, "未找到", "没有这项操作。", 404)
    fields = forms.fields_of(entry["schema"], enums)
    return _step_form(request, wb, s, item, entry, forms.FormState(fields, {}))


@router.post("/{decision_id}/act/{name}", response_model=None)
async def step(request: Request, wb: W, decision_id: uuid.UUID, name: str) -> Response:
    s = await _session(request, wb)
    form = await _form(request)
    if s is None or not _post_allowed(request, s, form):
        return _message(
            request, wb, s, "页面已过期", "表单已过期或来源不明，请返回后重新填写。", 403
        )
    async with _api(request, wb, s) as api:
        item, entry, refused = await _step(request, wb, s, api, decision_id, name)
        if refused is not None:
            return refused
        if entry is None:
            return _message(request, wb, s, "未找到", "没有这项操作。", 404)
        fields = forms.fields_of(entry["schema"], (await _catalogue(wb, api))[1])
        path = str(entry["path"]).replace("{decision_id}", str(decision_id))
        answer = await api.post(SERVICE, path, forms.body_from(fields, form), form.get("key"))
    if answer.status == 401:
        return _to_login(request)
    if not answer.ok:
        state = forms.FormState(fields, form, forms.errors_from(answer.problem, fields))
        return _step_form(request, wb, s, item, entry, state, 422 if answer.status == 422 else 409)
    version = answer.body.get("version", 0) if isinstance(answer.body, dict) else 0
    target = f"/workbench/enforcement/{decision_id}?done={name}&v={version}"
    return RedirectResponse(target, status_code=303)
