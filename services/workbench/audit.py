"""The auditor's pages (审计, read only; docs/audit.md): the chained events by stream, by
person or by township in a period; the verification of the hash chain with its verdict;
the log of reads of personal data.

Everything comes from the audit service's API (`GET /v1/audit/trail`, `/verify`,
`/checkpoints`), which admits auditors only (`role.missing` otherwise) inside their
subtree. A page offers no form that changes anything: searches are GET forms. A trail
that shows applicants' or citizens' data is itself recorded by the audit API as the
auditor's read of personal data (`PersonalDataRead`); the access log reads only the
access events, which hold references, so looking at it records nothing.

No `from __future__ import annotations` here: FastAPI must see the real types.
"""

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.workbench.labels import EVENT_LABELS
from services.workbench.pages import Workbench
from services.workbench.routes import W, _api, _message, _page, _session, _to_login
from services.workbench.words import cn_time
from shared.gateway import Api
from shared.identity import Role

router = APIRouter(prefix="/workbench/audit", include_in_schema=False)
SERVICE = "audit"
#: Records per page of a trail.
PAGE = 100
SERVICE_ZH = {
    "accounts": "账号",
    "applications": "依申请公开",
    "platform": "平台",
    "catalog": "主动公开",
    "interpretation": "政策解读",
    "sentiment": "舆情回应",
    "assessment": "考核",
    "audit": "审计",
    "enforcement": "行政执法公示",
    "subscriptions": "订阅",
}
#: What the access events and a few others are, in words (the request's come from labels.py).
MORE_EVENTS = {
    "ApplicantDataRead": "查阅申请人个人信息",
    "CitizenDataRead": "查阅留言人个人信息",
    "SubscriberDataRead": "查阅订阅人电子邮箱",
    "PersonalDataRead": "导出含个人信息的审计轨迹",
    "ChainCheckpointed": "哈希链检查点",
    "MessageReceived": "登记留言",
    "MessageClassified": "留言自动分类",
    "MessageLinkedToCase": "留言归入案件",
    "CaseOpened": "立案",
    "CaseMessageAdded": "并案",
    "CaseAssigned": "派单",
    "CaseAccepted": "签收",
    "CaseReturned": "退单",
    "CaseResponded": "办结",
    "CaseFollowedUp": "回访",
    "CaseReopened": "重办",
    "CaseEscalated": "超期升级",
}
#: The fields an access event names, in words (the event holds the names, never the values).
FIELDS_ZH = {
    "citizen": "留言人姓名和电话",
    "applicant": "申请人身份和联系方式",
    "email": "电子邮箱",
}
BY = (("tenant", "按单位"), ("actor", "按人员"), ("stream", "按记录流"))
WHAT_READ = {
    "message_ids": "条留言",
    "request_ids": "件申请",
    "subscription_ids": "个订阅",
}
VERDICT_REASONS = {
    "sequence gap": "序号不连续（有记录被删除）",
    "prev_hash": "该条记录与前一条的链接不符（前面的记录被改动或删除）",
    "hash does not match": "该条记录的哈希值与内容不符（记录或哈希被改动）",
    "hash differs from the checkpoint": "与该序号的检查点不符（链被重写）",
    "chain ends at": "检查点之后的记录缺失（链尾被截断）",
    "column": "索引列与哈希内容不符",
}


def event_label(kind: str) -> str:
    return EVENT_LABELS.get(kind) or MORE_EVENTS.get(kind) or kind


def _field_words(name: str) -> str:
    """`citizen` -> 留言人姓名和电话; a trail export's `MessageReceived.citizen` likewise."""
    kind, _, field = name.rpartition(".")
    words = FIELDS_ZH.get(field, field)
    return f"{event_label(kind)}·{words}" if kind else words


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _period(start: str, end: str, today: date) -> tuple[date, date]:
    """The period searched: the days given (Beijing), else the last 7 days."""
    first, last = _day(start), _day(end)
    last = last or today
    first = first or last - timedelta(days=6)
    return (first, last) if first <= last else (last, first)


async def trail(api: Api, params: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """One page of the trail, and the API's refusal in Chinese if it refused."""
    response = await api.raw(SERVICE, "/v1/audit/trail", params)
    if response.status_code != 200:
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        return [], str(problem.get("message_zh") or "无法读取审计轨迹，请稍后重试。")
    records = [orjson.loads(line) for line in response.text.splitlines() if line.strip()]
    return records, ""


def record_row(wb: Workbench, record: dict[str, Any]) -> dict[str, Any]:
    event = record["event"]
    payload = event.get("payload") or {}
    read = [
        f"{len(payload[k])}{noun}"
        for k, noun in WHAT_READ.items()
        if isinstance(payload.get(k), list)
    ]
    if payload.get("subject_ref"):
        read.append(str(payload["subject_ref"]))
    return {
        "seq": record["seq"],
        "hash": record["hash"],
        "service": SERVICE_ZH.get(record["service"], record["service"]),
        "when": cn_time(event.get("recorded_at")),
        "what": event_label(str(event.get("type"))),
        "type": event.get("type"),
        "stream": event.get("stream_id"),
        "tenant": wb.org_name(event.get("tenant")),
        "who": wb.person_name((event.get("actor") or {}).get("id")),
        "read": "、".join(read),
        "endpoint": payload.get("endpoint", ""),
        "fields": "、".join(_field_words(f) for f in payload.get("fields") or []),
    }


def _orgs(wb: Workbench, root: str) -> list[tuple[str, str]]:
    if root not in wb.orgs:
        return []
    return [
        (str(u.path), ("　" * (u.path.count("/") - root.count("/"))) + u.name)
        for u in wb.orgs.subtree(root)
    ]


def _people(wb: Workbench, root: str) -> list[tuple[str, str]]:
    return [
        (p.id, f"{p.name}（{unit.name}）")
        for unit, p in wb.orgs.people()
        if str(unit.path) == root or str(unit.path).startswith(root + "/")
    ]


def _range(first: date, last: date) -> dict[str, str]:
    return {
        "from": f"{first.isoformat()}T00:00:00+08:00",
        "to": f"{last.isoformat()}T23:59:59+08:00",
    }


@router.get("", response_model=None)
async def trail_page(
    request: Request,
    wb: W,
    by: str = "tenant",
    value: str = "",
    start: str = "",
    end: str = "",
    after: int = 0,
) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    if not s.principal.has_role(Role.AUDITOR):
        return _message(request, wb, s, "没有权限", "审计轨迹只向审计人员开放。", 403)
    root = str(s.principal.org)
    by = by if by in dict(BY) else "tenant"
    value = value.strip() or (root if by == "tenant" else "")
    first, last = _period(start, end, wb.today())
    rows: list[dict[str, Any]] = []
    refused = ""
    more = ""
    if value:
        params = {by: value, **_range(first, last), "after": after, "limit": PAGE}
        async with _api(request, wb, s) as api:
            records, refused = await trail(api, params)
        rows = [record_row(wb, r) for r in records]
        if len(records) == PAGE:
            query = {"by": by, "value": value, "start": first.isoformat(),
                     "end": last.isoformat(), "after": records[-1]["seq"]}  # fmt: skip
            more = "/workbench/audit?" + urlencode(query)
    return _page(
        request,
        wb,
        s,
        "audit_trail.html",
        rows=rows,
        by=by,
        bys=BY,
        value=value,
        start=first.isoformat(),
        end=last.isoformat(),
        orgs=_orgs(wb, root),
        people=_people(wb, root),
        refused=refused,
        more=more,
        nav="audit",
    )


@router.get("/verify", response_model=None)
async def verify_page(request: Request, wb: W, run: int = 0) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    verdict: dict[str, Any] | None = None
    checkpoints: list[dict[str, Any]] = []
    refused = ""
    async with _api(request, wb, s) as api:
        if run:
            got = await api.get(SERVICE, "/v1/audit/verify")
            if got.ok:
                verdict = dict(got.body)
                broken = verdict.get("broken") or {}
                if broken:
                    reason = str(broken.get("reason", ""))
                    verdict["reason_zh"] = next(
                        (v for k, v in VERDICT_REASONS.items() if reason.startswith(k)), reason
                    )
            else:
                refused = str(got.problem.get("message_zh") or "暂时无法校验，请稍后重试。")
        marks = await api.get(SERVICE, "/v1/audit/checkpoints")
        if marks.ok:
            checkpoints = list(marks.body.get("items", []))[-10:]
        elif not refused:
            refused = str(marks.problem.get("message_zh") or "")
    return _page(
        request,
        wb,
        s,
        "audit_verify.html",
        verdict=verdict,
        checkpoints=checkpoints,
        refused=refused,
        nav="audit-verify",
    )


@router.get("/access", response_model=None)
async def access_page(
    request: Request, wb: W, org: str = "", start: str = "", end: str = "", after: int = 0
) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    if not s.principal.has_role(Role.AUDITOR):
        return _message(request, wb, s, "没有权限", "个人信息查阅记录只向审计人员开放。", 403)
    root = str(s.principal.org)
    org = org or root
    first, last = _period(start, end, wb.today())
    params = {"tenant": org, "access": "true", **_range(first, last), "after": after, "limit": PAGE}
    async with _api(request, wb, s) as api:
        records, refused = await trail(api, params)
    more = ""
    if len(records) == PAGE:
        query = {"org": org, "start": first.isoformat(), "end": last.isoformat(),
                 "after": records[-1]["seq"]}  # fmt: skip
        more = "/workbench/audit/access?" + urlencode(query)
    return _page(
        request,
        wb,
        s,
        "audit_access.html",
        rows=[record_row(wb, r) for r in records],
        org=org,
        orgs=_orgs(wb, root),
        start=first.isoformat(),
        end=last.isoformat(),
        refused=refused,
        more=more,
        nav="audit-access",
    )
