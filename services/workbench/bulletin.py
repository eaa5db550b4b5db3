"""The workbench page of 报送刊登情况通报 (方案§18): a month's submissions per unit for a
township or the whole district, from the catalog's API, with its CSV for Excel.

A read page only (issuing the bulletin stays an API command of the catalog). Kept in its
own module so the request pages (routes.py) and this one change apart.

No `from __future__ import annotations` here: FastAPI must see the real types.
"""

import re
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.workbench.routes import W, _api, _message, _page, _refused, _session, _to_login

router = APIRouter(prefix="/workbench", include_in_schema=False)
MONTH = re.compile(r"^20\d{2}-(0[1-9]|1[0-2])$")
COLUMNS = (
    ("submitted", "报送"),
    ("accepted", "采用"),
    ("published", "刊登"),
    ("declined", "未采用"),
)


def _month(wb: Any, month: str) -> str:
    return month if MONTH.match(month) else wb.today().strftime("%Y-%m")


@router.get("/submission-bulletin", response_model=None)
async def bulletin_page(request: Request, wb: W, month: str = "", tenant: str = "") -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    month = _month(wb, month)
    async with _api(request, wb, s) as api:
        answer = await api.get(
            "catalog", f"/v1/catalog/submission-bulletins/{month}", {"tenant": tenant}
        )
    if not answer.ok:
        return _refused(request, wb, s, answer)
    data = answer.body
    district = str(wb.orgs.district.path)
    scopes = [(district, f"{wb.orgs.district.name}（全区）")] + [
        (str(t.path), t.name) for t in wb.orgs.townships()
    ]
    query = {"month": month, **({"tenant": tenant} if tenant else {})}
    return _page(
        request,
        wb,
        s,
        "bulletin.html",
        data=data,
        month=month,
        month_zh=f"{month[:4]}年{int(month[5:])}月",
        scope=data["scope"],
        scopes=scopes,
        columns=COLUMNS,
        csv="/workbench/submission-bulletin.csv?" + urlencode(query),
        nav="bulletin",
    )


@router.get("/submission-bulletin.csv", response_model=None)
async def bulletin_csv(request: Request, wb: W, month: str = "", tenant: str = "") -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    month = _month(wb, month)
    async with _api(request, wb, s) as api:
        answer = await api.raw(
            "catalog", f"/v1/catalog/submission-bulletins/{month}.csv", {"tenant": tenant}
        )
    if answer.status_code != 200:
        return _message(request, wb, s, "无法导出", "导出未成功，请稍后重试。", answer.status_code)
    name = f"报送刊登情况通报-{month}.csv"
    disposition = f"attachment; filename=bulletin.csv; filename*=UTF-8''{quote(name)}"
    return Response(
        answer.content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )
