"""The portal's subscription pages and 有用/没用 (docs/subscriptions.md, docs/portal.md).

- `/gk/subscribe`: one form: e-mail, organ, columns, document kinds, policy groups (政策找人、
  政策找企业); sent to the subscriptions service's public API; the answer never says whether
  the address was known.
- `/gk/subscribe/confirm?token=` and `/gk/unsubscribe?token=`: a page with one button (a
  GET changes nothing: mail scanners open links); the button POSTs. `POST /gk/unsubscribe`
  also takes RFC 8058 one-click (`List-Unsubscribe=One-Click` in the body, the token in the
  URL), as a mail client sends it.
- `POST /gk/doc/{id}/rate`: 有用/没用 with the visitor's daily key for the flood limit.
Every answer here is private (`no-store`): the tokens stay out of caches.

No `from __future__ import annotations` here: FastAPI must see the real types.
"""

import uuid
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from services.portal.apply import refusal
from services.portal.fastpath import VIEWS_KEY
from services.portal.guard import Refused
from services.portal.site import COLUMN_NAMES, KIND_NAMES, Portal
from shared.deps import handlers_of

P = Annotated[Portal, Depends(handlers_of("portal", Portal))]
PUBLIC = "/v1/public/subscriptions"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on a form
    # POST, which the same-origin check refuses; the token in a URL still never leaves.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
#: Policy groups offered (the subscriptions service's list; kept here in the same order).
GROUPS = (
    "企业",
    "个体工商户",
    "农民",
    "老年人",
    "残疾人",
    "退役军人",
    "学生及家长",
    "就业创业人员",
    "低收入群众",
)

router = APIRouter(prefix="/gk", include_in_schema=False)


def count_view(request: Request, portal: Portal, township: str, column: str, doc: str) -> None:
    """One page view (popularity.py); the address only becomes today's salted key."""
    portal.app = request.app
    address = request.client.host if request.client else "unknown"
    portal.engagement.view(address, portal.clock(), (township, column, doc))
    # What the fast path counts again on each reader it answers (fastpath.py).
    request.scope.setdefault("state", {})[VIEWS_KEY] = (township, column, doc)


def _page(portal: Portal, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(portal.render(template, **context), status_code=status, headers=HEADERS)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin:
        return True
    host = request.headers.get("host")
    return origin != "null" and bool(host) and origin.split("://", 1)[-1].rstrip("/") == host


async def _form(request: Request) -> list[tuple[str, str]]:
    return parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)


def _choices(portal: Portal) -> dict[str, Any]:
    return {
        "columns": list(COLUMN_NAMES.items()),
        "kinds": list(KIND_NAMES.items()),
        "groups": GROUPS,
    }


def _refused(portal: Portal) -> HTMLResponse:
    return _page(
        portal,
        "message.html",
        403,
        title="无法提交",
        heading="无法提交",
        text="提交来自其他网站，已拒绝。请在本网站的订阅页填写。",
    )


@router.get("/subscribe")
async def subscribe_form(request: Request, portal: P) -> Response:
    chosen = dict(parse_qsl(request.url.query)).get("unit", "")
    unit = portal.organ(chosen)
    form = {"organ": str(unit.path) if unit else "", "picked": set()}
    return _page(
        portal,
        "subscribe.html",
        title="订阅更新提醒",
        form=form,
        errors={},
        challenge=portal.guard.challenge("subscribe"),
        **_choices(portal),
    )


@router.post("/subscribe")
async def subscribe_send(request: Request, portal: P) -> Response:
    admitted = await portal.guard.admit(request, "subscribe")
    if isinstance(admitted, Refused):
        return refusal(portal, admitted)
    pairs = admitted.pairs
    form: dict[str, Any] = {k: v for k, v in pairs if k in ("email", "organ")}
    picked = [(k, v) for k, v in pairs if k in ("column", "kind", "group")]
    form["picked"] = {f"{k}:{v}" for k, v in picked}
    errors: dict[str, str] = {}
    if not form.get("email", "").strip():
        errors["email"] = "请填写电子邮箱"
    if not form.get("organ"):
        errors["organ"] = "请选择订阅哪个机关的信息"
    if not picked:
        errors["topics"] = "请至少选择一项订阅内容"
    if admitted.challenge:
        errors["answer"] = admitted.challenge
    if not errors:
        body = {
            "email": form["email"],
            "organ": form["organ"],
            "topics": [{"kind": k, "code": v} for k, v in picked],
        }
        async with portal.api(request.app) as api:
            answer = await api.post("subscriptions", PUBLIC, body, key=str(uuid.uuid4()))
        if answer.ok:
            return _page(portal, "subscribe_sent.html", 202, title="请查收确认邮件")
        problem = answer.problem
        field = str(problem.get("field") or "email").split(".")[0]
        errors[field if field in ("email", "organ", "topics") else "email"] = str(
            problem.get("message_zh") or "提交没有成功，请稍后再试"
        )
    return _page(
        portal,
        "subscribe.html",
        422,
        title="错误：订阅更新提醒",
        form=form,
        errors=errors,
        challenge=portal.guard.challenge("subscribe"),
        **_choices(portal),
    )


@router.get("/subscribe/confirm")
async def confirm_page(request: Request, portal: P) -> Response:
    token = dict(parse_qsl(request.url.query)).get("token", "")
    return _page(portal, "subscribe_confirm.html", title="确认订阅", token=token, done=False)


@router.post("/subscribe/confirm")
async def confirm(request: Request, portal: P) -> Response:
    if not _same_origin(request):
        return _refused(portal)
    token = dict(await _form(request)).get("token", "")
    async with portal.api(request.app) as api:
        answer = await api.post("subscriptions", f"{PUBLIC}/confirm", {"token": token})
    if answer.ok:
        return _page(portal, "subscribe_confirm.html", title="订阅成功", token=token, done=True)
    return _page(
        portal,
        "message.html",
        404 if answer.status == 404 else 409,
        title="无法确认订阅",
        heading="无法确认订阅",
        text=str(answer.problem.get("message_zh") or "链接无效，请重新订阅。"),
    )


@router.get("/unsubscribe")
async def unsubscribe_page(request: Request, portal: P) -> Response:
    token = dict(parse_qsl(request.url.query)).get("token", "")
    return _page(portal, "unsubscribe.html", title="退订", token=token, done=False)


@router.post("/unsubscribe")
async def unsubscribe(request: Request, portal: P) -> Response:
    """The page's button, or RFC 8058 one-click: the token in the URL, the body
    `List-Unsubscribe=One-Click` (no Origin: a mail client's POST, signed by the token)."""
    form = dict(await _form(request))
    one_click = form.get("List-Unsubscribe") == "One-Click"
    if not one_click and not _same_origin(request):
        return _refused(portal)
    token = form.get("token") or dict(parse_qsl(request.url.query)).get("token", "")
    body = {"token": token, "way": "one_click" if one_click else "link"}
    async with portal.api(request.app) as api:
        answer = await api.post("subscriptions", f"{PUBLIC}/unsubscribe", body)
    if answer.ok:
        return _page(portal, "unsubscribe.html", title="已退订", token="", done=True)
    return _page(
        portal,
        "message.html",
        404 if answer.status == 404 else 422,
        title="无法退订",
        heading="无法退订",
        text="链接无效，请检查是否完整复制了邮件中的退订链接。",
    )


@router.post("/doc/{document_id}/rate")
async def rate(document_id: uuid.UUID, request: Request, portal: P) -> Response:
    admitted = await portal.guard.admit(request, "rate")
    if isinstance(admitted, Refused):
        return refusal(portal, admitted)
    useful = admitted.form.get("useful")
    async with portal.api(request.app) as api:
        doc = await api.get("catalog", f"/v1/public/catalog/documents/{document_id}")
        if doc.status == 404 or useful not in ("yes", "no"):
            return _page(
                portal,
                "message.html",
                404,
                title="无法评价",
                heading="无法评价",
                text="没有找到这份文件。",
            )
        address = admitted.address
        body = {
            "document_id": str(document_id),
            "township": doc.body["township"],
            "column": doc.body["column"],
            "useful": useful == "yes",
            "rater": portal.engagement.visitor(address, portal.clock()),
        }
        answer = await api.post("subscriptions", "/v1/popularity/ratings", body)
    if answer.ok:
        text = "谢谢您的评价！您的意见会帮助我们改进信息公开工作。"
        status = 201
    elif answer.status == 409:
        text = str(answer.problem.get("message_zh") or "您今天已经评价过这份文件，谢谢")
        status = 429 if answer.problem.get("rule") == "rating.flood" else 409
    else:
        text, status = "评价没有提交成功，请稍后再试。", 503
    return _page(
        portal,
        "rated.html",
        status,
        title="评价结果",
        text=text,
        document_id=str(document_id),
        title_of=doc.body["title"],
    )


@router.get("/popular")
async def popular(request: Request, portal: P) -> Response:
    """最受欢迎专栏: this month's running tally, or a closed month (?period=YYYY-MM)."""
    period = dict(parse_qsl(request.url.query)).get("period", "")
    params = {"period": period} if len(period) == 7 and period[4] == "-" else {}
    async with portal.api(request.app) as api:
        answer = await api.get("subscriptions", "/v1/public/popularity/columns", params)
    if not answer.ok:
        return _page(
            portal,
            "message.html",
            404,
            title="没有数据",
            heading="没有数据",
            text="没有这个月份的统计。",
        )
    names = {str(u.path): u.name for u in portal.organs()}
    return _page(
        portal,
        "popular.html",
        title="最受欢迎专栏",
        data=answer.body,
        organ_name=lambda path: names.get(path, path),
        slug_of=lambda path: path.rsplit("/", 1)[-1],
    )
