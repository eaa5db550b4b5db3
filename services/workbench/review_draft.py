"""拟稿 and 修改 of a 主动公开 document in the workbench (issue #17): the drafter's new
document (the catalog's `DraftDocument`, `POST /v1/catalog/documents`, its schema found by
the route in the OpenAPI document like the register form's) and a new revision of one
(`ReviseDocument` from the command catalogue, filled with the current revision).

After saving, the document's page shows the privacy guard's findings marked in the text,
the diff with the previous revision and the next steps; the catalog API is the one judge
of what is valid. No `from __future__ import annotations`: FastAPI reads the types.
"""

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.workbench import drafting, forms
from services.workbench.pages import Workbench
from services.workbench.review import EXPIRED, SERVICE, catalogue
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
)
from shared.gateway import Answer, Api
from shared.identity import Role

router = APIRouter(prefix="/workbench/review", include_in_schema=False)
DRAFT_PATH = "/v1/catalog/documents"
DRAFT_INTRO = (
    "拟稿人填写文件内容，保存后系统立即检查个人信息，并在文件页面的正文中标出；"
    "然后由拟稿人提出公开属性（方案§19），经公开属性审核、签发人认定后进入三审三校（方案§18）。"
    "文件自成文之日起20个工作日内公开（条例第二十六条）。"
)
NOT_DRAFTER = "拟稿由拟稿人（编辑）办理；您的角色不能拟稿。"
STALE = "您打开此页后，文件已有新的版本或办理记录。请返回文件页面查看最新内容后重新修改。"


async def _draft_fields(wb: Workbench, api: Api) -> list[forms.Field]:
    """DraftDocument's fields, in Chinese, 栏目 a choice of the person's township's."""

    async def load() -> tuple[dict[str, Any], dict[str, Any]] | None:
        answer = await api.get(SERVICE, "/openapi.json")
        if not answer.ok:
            return None
        # By the route, not the model's name (one OpenAPI document in embedded mode).
        post = answer.body["paths"][DRAFT_PATH]["post"]
        ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schemas = answer.body["components"]["schemas"]
        return schemas[ref.rsplit("/", 1)[-1]], schemas

    found = await wb.cached("catalog-draft", load)
    if found is None:
        return []
    schema, defs = found
    enums = (await catalogue(wb, api))[1]
    fields = forms.fields_of(schema, enums, defs=defs, skip=drafting.SKIP)
    return drafting.shape(fields, await _columns(api))


async def _columns(api: Api) -> list[tuple[str, str]]:
    """The township's columns (code, Chinese name); none when the catalog does not say."""
    answer = await api.get(SERVICE, "/v1/catalog/columns")
    return drafting.columns_of(answer.body) if answer.ok else []


def _draft_form(
    request: Request, wb: Workbench, s: Session, state: forms.FormState, status: int = 200
) -> Response:
    return _page(
        request, wb, s, "form.html", status, form=state, key=str(uuid.uuid4()),
        title="拟稿：主动公开文件", basis="条例第十九条至第二十六条；方案§8、§18、§19",
        action="/workbench/review/new", back="/workbench/review", intro=DRAFT_INTRO,
        sub_choices=[], summary="", nav="review-new",
    )  # fmt: skip


@router.get("/new", response_model=None)
async def draft_page(request: Request, wb: W) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    if Role.DRAFTER not in s.principal.roles:
        return _message(request, wb, s, "不能拟稿", NOT_DRAFTER, 403)
    async with _api(request, wb, s) as api:
        fields = await _draft_fields(wb, api)
    if not fields:
        return _message(request, wb, s, "暂时无法拟稿", "目录服务暂时无法访问，请稍后重试。", 503)
    values = drafting.draft_defaults(wb.today().isoformat())
    return _draft_form(request, wb, s, forms.FormState(fields, values))


@router.post("/new", response_model=None)
async def draft(request: Request, wb: W) -> Response:
    s = await _session(request, wb)
    form = drafting.unix_newlines(await _form(request))
    if s is None or not _post_allowed(request, s, form):
        return _message(request, wb, s, "页面已过期", EXPIRED, 403)
    async with _api(request, wb, s) as api:
        fields = await _draft_fields(wb, api)
        if not fields:
            return _message(
                request, wb, s, "暂时无法拟稿", "目录服务暂时无法访问，请稍后重试。", 503
            )
        answer = await api.post(SERVICE, DRAFT_PATH, forms.body_from(fields, form), form.get("key"))
    if answer.status == 401:
        return _to_login(request)
    if not answer.ok:
        state = forms.FormState(fields, form, forms.errors_from(answer.problem, fields))
        return _draft_form(request, wb, s, state, 422 if answer.status == 422 else 409)
    query = urlencode({"done": "draft", "v": answer.body.get("version", 0)})
    return RedirectResponse(
        f"/workbench/review/{answer.body['document_id']}?{query}", status_code=303
    )


# ----------------------------------------------------------------------------- a revision


async def _revise_context(
    request: Request, wb: Workbench, s: Session, api: Api, document_id: uuid.UUID
) -> tuple[dict[str, Any], dict[str, Any], list[forms.Field], Response | None]:
    """The document, the revise command's entry and its fields (filled later)."""
    answer = await api.get(SERVICE, f"/v1/catalog/documents/{document_id}")
    if not answer.ok:
        return {}, {}, [], _refused(request, wb, s, answer)
    commands, enums = await catalogue(wb, api)
    entry = commands.get("revise")
    if entry is None:
        return {}, {}, [], _message(request, wb, s, "未找到", "没有这项操作。", 404)
    doc = answer.body
    shaped = drafting.shape(forms.fields_of(entry["schema"], enums), await _columns(api))
    fields = drafting.with_reason_rule(drafting.revise_fields(shaped, doc["content"]), doc)
    return doc, entry, fields, None


def _revise_form(
    request: Request, wb: Workbench, s: Session, doc: dict[str, Any], entry: dict[str, Any],
    state: forms.FormState, status: int = 200,
) -> Response:  # fmt: skip
    did = doc["document_id"]
    return _page(
        request, wb, s, "form.html", status, form=state, key=str(uuid.uuid4()),
        title=f"{drafting.revise_label(doc)}：{doc['content']['title']}",
        basis=entry.get("basis", ""), intro=drafting.revise_intro(doc),
        action=f"/workbench/review/{did}/revise?{urlencode({'v': doc.get('version', 0)})}",
        back=f"/workbench/review/{did}", sub_choices=[], summary="", nav="review",
    )  # fmt: skip


@router.get("/{document_id}/revise", response_model=None)
async def revise_page(request: Request, wb: W, document_id: uuid.UUID) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        doc, entry, fields, refused = await _revise_context(request, wb, s, api, document_id)
    if refused is not None:
        return refused
    values = drafting.values_of(doc["content"], fields)
    return _revise_form(request, wb, s, doc, entry, forms.FormState(fields, values))


def _stale(answer: Answer) -> bool:
    return answer.status == 412 or answer.problem.get("rule") == "if_match.stale"


@router.post("/{document_id}/revise", response_model=None)
async def revise(request: Request, wb: W, document_id: uuid.UUID, v: int = 0) -> Response:
    s = await _session(request, wb)
    form = drafting.unix_newlines(await _form(request))
    if s is None or not _post_allowed(request, s, form):
        return _message(request, wb, s, "页面已过期", EXPIRED, 403)
    async with _api(request, wb, s) as api:
        doc, entry, fields, refused = await _revise_context(request, wb, s, api, document_id)
        if refused is not None:
            return refused
        body = drafting.revise_body(fields, form, doc["content"])
        path = str(entry["path"]).replace("{document_id}", str(document_id))
        # The version the form was filled from: a newer revision is not overwritten blindly.
        headers = {"If-Match": f'"{v}"'} if v else None
        answer = await api.post(SERVICE, path, body, form.get("key"), headers)
    if answer.status == 401:
        return _to_login(request)
    if not answer.ok:
        errors = (
            [forms.FieldError("", "", "", STALE)]
            if _stale(answer)
            else forms.errors_from(answer.problem, fields)
        )
        state = forms.FormState(fields, form, errors)
        return _revise_form(request, wb, s, doc, entry, state, 422 if answer.status == 422 else 409)
    query = urlencode({"done": "revise", "v": answer.body.get("version", 0)})
    return RedirectResponse(f"/workbench/review/{document_id}?{query}", status_code=303)
