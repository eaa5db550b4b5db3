"""依申请公开 网上申请 on the portal (条例 Arts. 27, 29, 31(3); issue #18).

- `/gk/apply` (and `/gk/{organ}/apply`, the organ chosen): the form with what Art. 29 asks
  (applicant kind, name, identity document kind and number, contact, description, form and
  delivery wanted) and how the receipt date is set (Art. 31(3)); sent to the applications
  service's public intake, which answers a tracking code and a query password, shown once.
- `/gk/apply/track`: status, due date and the reply state by code and password (a POST:
  neither goes into a URL); an unknown code and a wrong password get the same answer.
Every POST passes the flood gate first (guard.py). Answers are private (`no-store`).

No `from __future__ import annotations` here: FastAPI must see the real types.
"""

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.applications.events import (
    ApplicantKind,
    DeliveryChannel,
    OrganizationKind,
    ReplyType,
    RequestedForm,
)
from services.portal.guard import Refused
from services.portal.site import Portal
from shared.deps import handlers_of

P = Annotated[Portal, Depends(handlers_of("portal", Portal))]
INTAKE = "/v1/public/online-requests"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
ID_KINDS = (
    "居民身份证",
    "户口簿",
    "护照",
    "港澳居民来往内地通行证",
    "台湾居民来往大陆通行证",
    "统一社会信用代码证（营业执照）",
    "其他有效证件",
)
#: The API's field names → the form's.
FIELDS = {
    "tenant": "org",
    "applicant.kind": "kind",
    "applicant.organization_kind": "organization_kind",
    "applicant.name": "name",
    "applicant.id_document": "id_number",
    "applicant.phone": "phone",
    "applicant.email": "email",
    "applicant.address": "address",
    "description": "description",
    "requested_form": "requested_form",
    "delivery_channel": "delivery_channel",
}
REQUIRED = {
    "org": "请选择向哪个机关申请",
    "kind": "请选择申请人类型（公民，或者法人或者其他组织）",
    "name": "请填写姓名或者名称",
    "id_kind": "请选择身份证明类型",
    "id_number": "请填写证件号码",
    "phone": "请填写联系电话",
    "description": "请描述所需的政府信息",
    "requested_form": "请选择获取信息的方式",
    "delivery_channel": "请选择获取信息的途径",
}

router = APIRouter(prefix="/gk", include_in_schema=False)


def _page(portal: Portal, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(portal.render(template, **context), status_code=status, headers=HEADERS)


def refusal(portal: Portal, refused: Refused) -> HTMLResponse:
    """429 (with Retry-After), 413 or 403 as a page in Chinese; nothing was sent on."""
    wait = ""
    headers = dict(HEADERS)
    if refused.retry_after is not None:
        minutes, seconds = divmod(refused.retry_after, 60)
        wait = f"{minutes + (1 if seconds else 0)}分钟" if minutes else f"{seconds}秒"
        headers["Retry-After"] = str(refused.retry_after)
    heading = {429: "请稍后再提交", 413: "内容太长，无法提交", 403: "无法提交"}[refused.status]
    html = portal.render(
        "refused.html", title=heading, heading=heading, reason=refused.reason, wait=wait
    )
    return HTMLResponse(html, status_code=refused.status, headers=headers)


def _choices() -> dict[str, Any]:
    return {
        "kinds": [
            (ApplicantKind.natural_person.value, "公民"),
            (ApplicantKind.organization.value, "法人或者其他组织"),
        ],
        "organization_kinds": [(k.value, k.label_zh) for k in OrganizationKind],
        "id_kinds": ID_KINDS,
        "forms": [(k.value, k.label_zh) for k in RequestedForm],
        "deliveries": [(k.value, k.label_zh) for k in DeliveryChannel],
    }


def _form_page(
    portal: Portal, form: dict[str, str], errors: dict[str, str], status: int
) -> HTMLResponse:
    return _page(
        portal,
        "apply.html",
        status,
        title="依申请公开 网上申请",
        form=form,
        errors=errors,
        challenge=portal.guard.challenge("apply"),
        **_choices(),
    )


def check(form: dict[str, str], organs: list[str]) -> dict[str, str]:
    """Every missing or wrong field at once, in the form's words (the API judges again)."""
    errors = {f: m for f, m in REQUIRED.items() if not form.get(f, "").strip()}
    if form.get("org") and form["org"] not in organs:
        errors["org"] = REQUIRED["org"]
    if form.get("kind") == ApplicantKind.organization.value and not form.get("organization_kind"):
        errors["organization_kind"] = "法人或者其他组织请选择组织类别"
    if form.get("id_kind") and form["id_kind"] not in ID_KINDS:
        errors["id_kind"] = REQUIRED["id_kind"]
    phone = form.get("phone", "").strip()
    if phone and not (5 <= len(phone) <= 30):
        errors["phone"] = "联系电话应为5到30位，如 13912345678 或 0355-7000210"
    if (
        form.get("delivery_channel") == DeliveryChannel.post.value
        and not form.get("address", "").strip()
    ):
        errors["address"] = "选择邮寄的，请填写通信地址"
    if (
        form.get("delivery_channel") == DeliveryChannel.email.value
        and not form.get("email", "").strip()
    ):
        errors["email"] = "选择电子邮件的，请填写电子邮箱"
    if 0 < len(form.get("description", "").strip()) < 2:
        errors["description"] = "所需信息的描述太短，请写明名称、文号或其他特征"
    return errors


def intake_body(form: dict[str, str]) -> dict[str, Any]:
    applicant: dict[str, Any] = {
        "kind": form["kind"],
        "name": form["name"].strip(),
        "id_document": f"{form['id_kind']} {form['id_number'].strip()}",
        "phone": form["phone"].strip(),
    }
    if form.get("kind") == ApplicantKind.organization.value:
        applicant["organization_kind"] = form.get("organization_kind")
    for f in ("email", "address"):
        if form.get(f, "").strip():
            applicant[f] = form[f].strip()
    return {
        "tenant": form["org"],
        "applicant": applicant,
        "description": form["description"].strip(),
        "requested_form": form["requested_form"],
        "delivery_channel": form["delivery_channel"],
    }


@router.get("/apply")
async def apply_form(request: Request, portal: P) -> Response:
    chosen = dict(parse_qsl(request.url.query)).get("unit", "")
    unit = portal.organ(chosen)
    return _form_page(portal, {"org": str(unit.path) if unit else ""}, {}, 200)


@router.get("/apply/track")
async def track_form(request: Request, portal: P) -> Response:
    return _page(portal, "apply_track.html", title="网上申请办理查询", errors={})


@router.post("/apply")
async def apply_send(request: Request, portal: P) -> Response:
    admitted = await portal.guard.admit(request, "apply")
    if isinstance(admitted, Refused):
        return refusal(portal, admitted)
    form = {k: v for k, v in admitted.form.items() if k not in ("form_token", "answer")}
    errors = check(form, [str(u.path) for u in portal.organs()])
    if admitted.challenge:
        errors["answer"] = admitted.challenge
    if errors:
        return _form_page(portal, form, errors, 422)
    async with portal.api(request.app) as api:
        answer = await api.post(
            "applications", INTAKE, intake_body(form), headers={"X-Forwarded-For": admitted.address}
        )
    if answer.status == 201:
        body = answer.body
        return _page(
            portal,
            "apply_sent.html",
            201,
            title="申请已提交",
            code=body["tracking_code"],
            password=body["query_password"],
            submitted_on=body["submitted_on"],
            unit=next((u for u in portal.organs() if str(u.path) == body["tenant"]), None),
        )
    if answer.status == 429:
        retry = int(answer.headers.get("retry-after", "600"))
        return refusal(portal, Refused(429, "提交过于频繁", retry))
    problem = answer.problem
    field = FIELDS.get(str(problem.get("field")), "description")
    message = str(problem.get("message_zh") or "提交没有成功，请稍后再试")
    return _form_page(
        portal, form, {field: message.split("：", 1)[-1]}, 422 if answer.status < 500 else 503
    )


@router.post("/apply/track")
async def track(request: Request, portal: P) -> Response:
    admitted = await portal.guard.admit(request, "track")
    if isinstance(admitted, Refused):
        return refusal(portal, admitted)
    code = admitted.form.get("code", "").strip()
    password = admitted.form.get("password", "").strip()
    errors: dict[str, str] = {}
    if not code:
        errors["code"] = "请填写查询码"
    if not password:
        errors["password"] = "请填写查询密码"
    if not errors:
        async with portal.api(request.app) as api:
            answer = await api.post(
                "applications",
                f"{INTAKE}/status",
                {"tracking_code": code[:64], "query_password": password[:64]},
                headers={"X-Forwarded-For": admitted.address},
            )
        if answer.ok:
            return _page(
                portal,
                "apply_status.html",
                title="网上申请办理情况",
                s=answer.body,
                reply_type_name=lambda v: ReplyType(v).label_zh if v in set(ReplyType) else v,
            )
        if answer.status == 429:
            return refusal(
                portal, Refused(429, "查询过于频繁", int(answer.headers.get("retry-after", "600")))
            )
        errors["code"] = "查询码或查询密码不对，请核对后重新输入"
    return _page(
        portal,
        "apply_track.html",
        422 if not code or not password else 404,
        title="网上申请办理查询",
        errors=errors,
        code=code,
    )


@router.get("/{slug}/apply")
async def organ_apply(slug: str, portal: P) -> Response:
    unit = portal.organ(slug)
    return RedirectResponse(f"/gk/apply?unit={unit.path.slug}" if unit else "/gk/apply", 303)
