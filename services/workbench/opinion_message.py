"""One message of the opinion officer's (来电来信): what the classifier decided and why, and
纠正分类 — the officer's correction of a wrong category or sentiment (issue #17; the
sentiment API's `POST /v1/messages/{id}/correct-classification`, issue #19).

The form is the command's schema from the sentiment catalogue; the categories are the
ones the API accepts (`GET /v1/sentiment-categories`), the sentiments the catalogue's
`Polarity` labels. Only the roles the catalogue names for the command see the form; the
others read why not. The API stays the one judge: a refusal comes back to the fields in
Chinese and writes nothing; the form's Idempotency-Key makes a double submit one
correction. Kept apart from opinion.py (the case ledger and its steps).

No `from __future__ import annotations` here: FastAPI must see the real types.
"""

import asyncio
import dataclasses
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.workbench import forms
from services.workbench.opinion import (
    EXPIRED,
    POLARITY_ZH,
    SERVICE,
    message_row,
)
from services.workbench.pages import Workbench, command_catalogue
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
from shared.gateway import Answer, Api
from shared.identity import Role

router = APIRouter(prefix="/workbench/opinion/messages", include_in_schema=False)
COMMAND = "correct-classification"
INTRO = (
    "系统判断有误的，选择正确的类别或情感并说明理由。纠正后页面显示纠正结果和模型原判；"
    "纠正记入留言记录，用于重新训练分类模型（经评估、影子运行后才会上线）。"
    "案件的类别、答复期限和热点不因纠正而改变。"
)
#: The API's refusals a person meets on this form, in plain words (the rule's own words
#: name codes: 情感倾向“angry”无效，应为 negative（负面）…).
CHOOSE_ONE = ("correction.category_unknown", "correction.polarity_unknown")
NO_CHANGE = "选择的类别和情感倾向与现在相同，请至少改选一项"


def may_correct(entry: Mapping[str, Any], roles: Iterable[Role]) -> bool:
    """Whether a person with `roles` may give the command, by the catalogue's roles (a
    command whose roles depend on the state is offered, and the API decides)."""
    listed = entry.get("roles")
    if listed is None:
        return True
    codes = {str(r.get("code")) for r in listed}
    return any(r.value in codes for r in roles)


def why_not(entry: Mapping[str, Any], roles: Iterable[Role]) -> str:
    """Why the form is not shown, naming who may correct and the person's own roles."""
    allowed = [str(r.get("label_zh") or r.get("code")) for r in entry.get("roles") or []]
    mine = "、".join(sorted(r.label_zh for r in roles)) or "无"
    who = "、".join(allowed[:-1]) + f"或{allowed[-1]}" if len(allowed) > 1 else "".join(allowed)
    return f"纠正分类由{who}进行；你的角色（{mine}）不能纠正，发现分类有误请告知他们。"


def _polarity_choices(enums: Mapping[str, Mapping[str, str]]) -> tuple[forms.Choice, ...]:
    given = enums.get("Polarity") or {}
    return tuple(forms.Choice(code, given.get(code) or zh) for code, zh in POLARITY_ZH.items())


def correction_fields(
    schema: Mapping[str, Any],
    enums: Mapping[str, Mapping[str, str]],
    categories: Sequence[str],
    why: Mapping[str, Any],
) -> list[forms.Field]:
    """The command's fields with the categories and sentiments as choices, and beside each
    what the message carries now (`why`: `opinion.reasons`) and what the model said."""
    model = "模型判断" + (f"，把握{why.get('confidence')}%" if why.get("confidence") else "")
    fixed = "（人工纠正）；模型原判："
    if why.get("category_changed"):
        now_category = f"现为：{why.get('category')}{fixed}{why.get('model_category')}"
    else:
        now_category = f"现为：{why.get('category')}（{model}）"
    if why.get("polarity_changed"):
        now_polarity = f"现为：{why.get('polarity')}{fixed}{why.get('model_polarity')}"
    else:
        now_polarity = f"现为：{why.get('polarity')}（模型判断）"
    shaped = []
    for f in forms.fields_of(schema, enums):
        if f.name == "category":
            choices = tuple(forms.Choice(c, c) for c in categories)
            f = dataclasses.replace(f, kind="select", choices=choices, hint=now_category)
        elif f.name == "polarity":
            f = dataclasses.replace(
                f, kind="select", choices=_polarity_choices(enums), hint=now_polarity
            )
        elif f.name == "reason":
            f = dataclasses.replace(f, kind="textarea", hint="模型错在哪里，供复核和训练参考")
        shaped.append(f)
    return shaped


def correction_errors(
    problem: Mapping[str, Any], fields: Sequence[forms.Field]
) -> list[forms.FieldError]:
    """The API's refusal on the fields, in plain words: a value not among the choices lists
    the choices by their labels; an unchanged form says to change one of the two."""

    def plain(item: Mapping[str, Any]) -> dict[str, Any]:
        rule = str(item.get("rule", ""))
        f = next((f for f in fields if f.name == item.get("field")), None)
        if rule in CHOOSE_ONE and f is not None and f.choices:
            words = "请从下列选项中选择：" + "、".join(c.label for c in f.choices)
            return {**item, "message_zh": words}
        if rule == "correction.no_change":
            return {**item, "message_zh": NO_CHANGE}
        return dict(item)

    items = problem.get("errors")
    shown = {**plain(problem), "errors": [plain(i) for i in items] if items else None}
    return forms.errors_from(shown, fields)


def correction_defaults(why: Mapping[str, Any]) -> dict[str, str]:
    """The form opens on what the message carries now: a person changes what is wrong."""
    return {"category": str(why.get("category") or ""), "polarity": str(why.get("polarity_code"))}


async def _categories(wb: Workbench, api: Api) -> list[str]:
    async def load() -> list[str] | None:
        answer = await api.get(SERVICE, "/v1/sentiment-categories")
        return list(answer.body.get("categories", [])) if answer.ok else None

    found: list[str] = await wb.cached("sentiment-categories", load) or []
    return found


async def _message_at(api: Api, message_id: uuid.UUID, version: int) -> Answer:
    """The message as the read model shows it, with the correction of `version` or later:
    right after a correction the page waits for it instead of showing the old labels."""
    path = f"/v1/messages/{message_id}"
    answer = await api.get(SERVICE, path)
    waited = 0.0
    while version and answer.ok and waited < CATCH_UP_SECONDS:
        correction = (answer.body.get("labels") or {}).get("correction") or {}
        if int(correction.get("version") or 0) >= version:
            break
        await asyncio.sleep(0.1)
        waited += 0.1
        answer = await api.get(SERVICE, path)
    return answer


def _render(
    request: Request,
    wb: Workbench,
    s: Session,
    row: dict[str, Any],
    entry: dict[str, Any] | None,
    state: forms.FormState | None,
    status: int = 200,
    done: str = "",
) -> Response:
    roles = s.principal.roles
    allowed = entry is not None and may_correct(entry, roles)
    return _page(
        request,
        wb,
        s,
        "opinion_message.html",
        status,
        m=row,
        form=state if allowed and state is not None else None,
        key=str(uuid.uuid4()),
        action=f"/workbench/opinion/messages/{row['message_id']}/correct",
        intro=INTRO,
        refusal="" if allowed or entry is None else why_not(entry, roles),
        unavailable=entry is None,
        done=done,
        nav="opinion-messages",
    )


async def _context(
    request: Request, wb: Workbench, s: Session, api: Api, message_id: uuid.UUID, version: int = 0
) -> tuple[dict[str, Any], dict[str, Any] | None, list[forms.Field], Response | None]:
    answer = await _message_at(api, message_id, version)
    if not answer.ok:
        return {}, None, [], _refused(request, wb, s, answer)
    commands, enums = await command_catalogue(wb, api, SERVICE, "message")
    row = message_row(wb, enums, answer.body)
    entry = commands.get(COMMAND)
    if entry is None:
        return row, None, [], None
    categories = await _categories(wb, api)
    return row, entry, correction_fields(entry["schema"], enums, categories, row["why"]), None


@router.get("/{message_id}", response_model=None)
async def message_page(
    request: Request, wb: W, message_id: uuid.UUID, done: str = "", v: int = 0
) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        row, entry, fields, refused = await _context(request, wb, s, api, message_id, v)
    if refused is not None:
        return refused
    state = forms.FormState(fields, correction_defaults(row["why"]))
    words = "已纠正分类。下方显示纠正后的类别和情感，以及模型原判。" if done == "corrected" else ""
    return _render(request, wb, s, row, entry, state, done=words)


@router.post("/{message_id}/correct", response_model=None)
async def correct(request: Request, wb: W, message_id: uuid.UUID) -> Response:
    s = await _session(request, wb)
    form = await _form(request)
    if s is None or not _post_allowed(request, s, form):
        return _message(request, wb, s, "页面已过期", EXPIRED, 403)
    async with _api(request, wb, s) as api:
        row, entry, fields, refused = await _context(request, wb, s, api, message_id)
        if refused is not None:
            return refused
        if entry is None:
            text = "舆情服务暂时无法访问，请稍后重试。"
            return _message(request, wb, s, "暂时无法纠正", text, 503)
        path = str(entry["path"]).replace("{message_id}", str(message_id))
        answer = await api.post(SERVICE, path, forms.body_from(fields, form), form.get("key"))
    if answer.status == 401:
        return _to_login(request)
    if not answer.ok:
        state = forms.FormState(fields, form, correction_errors(answer.problem, fields))
        status = 422 if answer.status == 422 else answer.status if answer.status == 403 else 409
        return _render(request, wb, s, row, entry, state, status)
    version = answer.body.get("version", 0) if isinstance(answer.body, dict) else 0
    target = f"/workbench/opinion/messages/{message_id}?done=corrected&v={version}"
    return RedirectResponse(target, status_code=303)
