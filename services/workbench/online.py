"""待确认的网上申请 (issue #18, 条例 Art. 31(3)): the online applications of the person's
organs that the office has not confirmed yet, oldest first, each with a form to confirm it.

Confirming (applications' `POST /v1/online-requests/{id}/confirm`) sets the receipt date —
the day both sides confirm — registers the request with its number and starts its
statutory clock; the page then opens the new request. The list shows no applicant data (the
API gives none: the description and the day only); the request's page shows the applicant
as it does for every request, with the read recorded. Kept in its own module like the other
roles' pages.

No `from __future__ import annotations` here: FastAPI must see the real types.
"""

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.workbench.routes import (
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

router = APIRouter(prefix="/workbench/online", include_in_schema=False)
SERVICE = "applications"
EXPIRED = "表单已过期或来源不明，请返回后重新填写。"


@router.get("", response_model=None)
async def pending_page(request: Request, wb: W, refused: str = "") -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        answer = await api.get(SERVICE, "/v1/online-requests")
    if not answer.ok:
        return _refused(request, wb, s, answer)
    rows = [
        {
            **item,
            "organ": wb.org_name(item.get("tenant")),
            "submitted_zh": cn_date(item.get("submitted_on")),
        }
        for item in answer.body.get("items", [])
    ]
    return _page(
        request,
        wb,
        s,
        "online_list.html",
        rows=rows,
        today_iso=wb.today().isoformat(),
        key=str(uuid.uuid4()),
        refused=refused,
        nav="online",
    )


@router.post("/{submission_id}/confirm", response_model=None)
async def confirm(request: Request, wb: W, submission_id: uuid.UUID) -> Response:
    s = await _session(request, wb)
    form = await _form(request)
    if s is None or not _post_allowed(request, s, form):
        return _message(request, wb, s, "页面已过期", EXPIRED, 403)
    async with _api(request, wb, s) as api:
        body = {"confirmed_on": form.get("confirmed_on") or wb.today().isoformat()}
        answer = await api.post(
            SERVICE, f"/v1/online-requests/{submission_id}/confirm", body, form.get("key")
        )
    if answer.status == 401:
        return _to_login(request)
    if not answer.ok:
        problem = answer.problem or {}
        reason = str(problem.get("message_zh") or "确认未成功，请稍后重试。")
        if answer.status in (403, 404):
            return _refused(request, wb, s, answer)
        return _message(request, wb, s, "未能确认", reason, 422)
    registered = answer.body
    target = f"/workbench/requests/{registered['request_id']}?v={registered.get('version', 0)}"
    return RedirectResponse(target, status_code=303)
