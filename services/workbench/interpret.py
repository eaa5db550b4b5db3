# ruff: noqa: E501  (Chinese texts and one-line calls of page templates)
"""The workbench pages of 政策解读 (issue #17; docs/interpretation.md): the obligations due
(published policies awaiting their 解读, with their due dates), an obligation's page with the
drafting form in the five parts and the quality gate's verdict and figures (质量自查 writes
nothing; 保存 drafts), and an interpretation's page with its text, verdict, the link back to
its policy, and the review and publication steps from the command catalogue.

The interpretation API is the one judge (owner unit, roles, the gate at publication).
No `from __future__ import annotations`: FastAPI reads the types.
"""

import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.workbench import forms
from services.workbench.pages import Catalogue, Workbench, command_catalogue
from services.workbench.routes import (
    HEADERS,
    Session,
    W,
    _api,
    _message,
    _page,
    _post_allowed,
    _refused,
    _session,
    _to_login,
    read_at,
)
from services.workbench.words import URGENCY, deadline
from shared.gateway import Api

router = APIRouter(prefix="/workbench/interpretation", include_in_schema=False)
SERVICE = "interpretation"
EXPIRED = "表单已过期或来源不明，请返回后重新填写。"
#: The five parts, in the order of 方案§五(一) (services/interpretation/quality.py `Part`).
PARTS = ("background_basis", "goals_tasks", "main_content", "key_measures", "old_new_differences")
NUMERALS = "一二三四五"
CHECK_ZH = {"copy": "照搬照抄原文", "title_only": "标题式解读", "parts": "五个要素"}
PART_HINTS = {
    "background_basis": "为什么出台：上位政策、现实问题、征求意见情况。",
    "goals_tasks": "要达到什么目标、完成哪些任务，用群众听得懂的话说。",
    "main_content": "政策主要讲了哪些事。",
    "key_measures": "对群众、企业有哪些实实在在的支持，找谁办、怎么办。",
    "old_new_differences": "与原政策相比有哪些变化；首次出台的，在下面说明不适用的理由。",
}
STATUS_ZH = {
    "open": "待解读",
    "fulfilled": "已解读",
    "cancelled": "已取消（政策撤回）",
    "draft": "草稿",
    "approved": "审核通过，待发布",
    "rejected": "已退回修改",
    "published": "已发布",
}
DRAFTING_ROLES = frozenset({"drafter", "section_head"})


async def catalogue(wb: Workbench, api: Api) -> Catalogue:
    """The interpretation's commands and the enums' labels."""
    return await command_catalogue(wb, api, SERVICE, "interpretation")


def _obligation_row(wb: Workbench, o: dict[str, Any]) -> dict[str, Any]:
    done = STATUS_ZH.get(o["status"]) if o["status"] != "open" else None
    return {
        **o,
        "status_zh": STATUS_ZH.get(o["status"], o["status"]),
        "deadline": deadline(o.get("latest_due"), wb.today(), wb.calendar(), done=done),
        "unit": wb.org_name(o.get("owner_unit")),
    }


@router.get("", response_model=None)
async def obligations_page(request: Request, wb: W, status: str = "open") -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    if status not in ("open", "fulfilled", ""):
        status = "open"
    async with _api(request, wb, s) as api:
        answer = await api.get(
            SERVICE, "/v1/interpretation/obligations", {"limit": 200, "status": status or None}
        )
    if not answer.ok:
        return _refused(request, wb, s, answer)
    rows = [_obligation_row(wb, o) for o in answer.body.get("items", [])]
    rows.sort(key=lambda r: (URGENCY[r["deadline"].level], r.get("latest_due") or "9999"))
    tabs = [("open", "待解读"), ("fulfilled", "已解读"), ("", "全部")]
    return _page(
        request, wb, s, "interpret_list.html", rows=rows, current=status,
        tabs=[(v, label, "/workbench/interpretation?" + urlencode({"status": v})) for v, label in tabs],
        nav="interpretation",
    )  # fmt: skip


# ----------------------------------------------------------------------------- the form


def draft_fields(enums: dict[str, dict[str, str]]) -> list[forms.Field]:
    """The drafting form, named by the API's paths so its refusals land on the right input:
    the title, each part's text (section i is part i), each part's reason for not applying,
    the forms, one link for the non-text forms, the channels and the target groups."""
    parts = enums.get("Part", {})
    found = [forms.Field("content.title", "解读标题", "text", True, min_length=2, max_length=300)]
    for i, part in enumerate(PARTS):
        label = parts.get(part, part)
        found.append(
            forms.Field(
                f"content.sections.{i}.text",
                f"{NUMERALS[i]}、{label}",
                "textarea",
                False,
                hint=PART_HINTS[part],
            )
        )
    for part in PARTS:
        found.append(
            forms.Field(
                f"content.not_applicable.{part}",
                f"{parts.get(part, part)}不适用的理由",
                "text",
                False,
            )
        )
    kinds = enums.get("Form", {})
    channels = enums.get("Channel", {})
    found += [
        forms.Field("content.forms", "解读形式", "checks", True,
                    choices=tuple(forms.Choice(k, v) for k, v in kinds.items()), enum="Form"),
        forms.Field("media", "图解、视频等形式的链接或附件编号", "text", False,
                    hint="选择文字以外的形式时必填，如 https://sudian.example/tujie.png"),
        forms.Field("content.channels", "发布渠道", "checks", True,
                    choices=tuple(forms.Choice(k, v) for k, v in channels.items() if k in
                                  ("website", "new_media", "newspaper", "television", "targeted_push")), enum="Channel"),
        forms.Field("content.target_groups", "定向推送对象", "lines", False, hint="选择定向推送时填写，如 种植大户"),
    ]  # fmt: skip
    return found


def content_from(form: dict[str, str], enums: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The interpretation's content from the form: a section per part that has text (its
    heading the part's name), a reason per part that does not apply, the forms (the link on
    every one but 文字), the channels, the target groups."""
    parts = enums.get("Part", {})
    sections = []
    for i, part in enumerate(PARTS):
        text = (form.get(f"content.sections.{i}.text") or "").strip()
        if text:
            heading = f"{NUMERALS[i]}、{parts.get(part, part)}"
            sections.append({"part": part, "heading": heading, "text": text})
    waived = {
        part: (form.get(f"content.not_applicable.{part}") or "").strip()
        for part in PARTS
        if (form.get(f"content.not_applicable.{part}") or "").strip()
    }
    media = (form.get("media") or "").strip()
    kinds = []
    for kind in _lines(form.get("content.forms")):
        item: dict[str, Any] = {"form": kind}
        if kind != "text" and media:
            item["url" if "://" in media else "attachment"] = media
        kinds.append(item)
    return {
        "title": (form.get("content.title") or "").strip(),
        "sections": sections,
        "not_applicable": waived,
        "forms": kinds,
        "channels": _lines(form.get("content.channels")),
        "target_groups": _lines(form.get("content.target_groups")),
    }


def values_of(item: dict[str, Any]) -> dict[str, str]:
    """A saved interpretation as the form's values (to revise it)."""
    values = {"content.title": str(item.get("title") or "")}
    for section in item.get("sections", []):
        if section.get("part") in PARTS:
            values[f"content.sections.{PARTS.index(section['part'])}.text"] = section["text"]
    for part, reason in (item.get("not_applicable") or {}).items():
        values[f"content.not_applicable.{part}"] = reason
    values["content.forms"] = "\n".join(f["form"] for f in item.get("forms", []))
    media = next(
        (f.get("url") or f.get("attachment") for f in item.get("forms", []) if f["form"] != "text"),
        "",
    )
    values["media"] = media or ""
    values["content.channels"] = "\n".join(item.get("channels", []))
    values["content.target_groups"] = "\n".join(item.get("target_groups", []))
    return values


def _lines(raw: str | None) -> list[str]:
    return [x.strip() for x in (raw or "").splitlines() if x.strip()]


def _own_figure(m: dict[str, Any]) -> tuple[str, str]:
    """The drafter's own words; since decision 155 the minimum share is judged on the
    sentences not lifted whole (reports without that value show the older figure)."""
    own = f"{m.get('own_chars', 0)}字，占{float(m.get('own_share', 0)):.0%}"
    least = f"至少{m.get('min_own_chars', 300)}字"
    share = f"{float(m.get('min_own_share', 0.3)):.0%}"
    if "unlifted_own_share" not in m:
        return ("自己的说明", f"{own}（{least}、{share}）")
    rest = float(m["unlifted_own_share"])
    return ("自己的说明", f"{own}（{least}）；整句引用以外的句子中占{rest:.0%}（至少{share}）")


def verdict(
    report: dict[str, Any] | None, enums: dict[str, dict[str, str]]
) -> dict[str, Any] | None:
    """The gate's report in words: passed or not, each check's message and its figures."""
    if not report:
        return None
    parts = enums.get("Part", {})
    checks = []
    for c in report.get("checks", []):
        m = c.get("measured") or {}
        figures: list[tuple[str, str]] = []
        if c["check"] == "copy":
            figures = [
                (
                    "与原文重合（6字片段）",
                    f"{float(m.get('containment', 0)):.0%}（超过{float(m.get('threshold', 0.5)):.0%}时须有足够的自己的说明，超过{float(m.get('near_copy_threshold', 0.9)):.0%}即为照搬）",
                ),
                _own_figure(m),
                (
                    "整句照搬",
                    f"{float(m.get('lifted_share', 0)):.0%}的字、"
                    f"{m.get('lifted_sentences', 0)}/{m.get('sentences', 0)}句"
                    f"（字不超过{float(m.get('max_lifted_share', 0.6)):.0%}，"
                    f"句不超过{float(m.get('max_lifted_sentence_share', 0.5)):.0%}）",
                ),
            ]
            for passage in (m.get("longest_copied_passages") or [])[:3]:
                figures.append(
                    ("与原文相同的片段", f"“{passage.get('text')}”（{passage.get('length')}字）")
                )
        elif c["check"] == "title_only":
            per = "；".join(
                f"{parts.get(k, k)}{v}字" for k, v in (m.get("part_chars") or {}).items()
            )
            figures = [
                (
                    "标题以外的说明",
                    f"{m.get('explanatory_chars', 0)}字（至少{m.get('min_explanatory_chars', 300)}字，每个要素至少{m.get('min_part_chars', 40)}字）",
                ),
            ] + ([("各要素", per)] if per else [])
        elif c["check"] == "parts":
            covered = "、".join(parts.get(p, p) for p in m.get("covered") or []) or "无"
            missing = "、".join(parts.get(p, p) for p in m.get("missing") or []) or "无"
            figures = [("已写", covered), ("缺少", missing)]
            waived = m.get("not_applicable") or {}
            if waived:
                figures.append(
                    ("不适用", "；".join(f"{parts.get(k, k)}：{v}" for k, v in waived.items()))
                )
        checks.append({"name": CHECK_ZH.get(c["check"], c["check"]), "passed": c["passed"],
                       "message": c.get("message_zh", ""), "figures": figures})  # fmt: skip
    return {"passed": bool(report.get("passed")), "checks": checks}


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", errors="replace")
    found: dict[str, str] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        found[key] = (
            f"{found[key]}\n{value}" if key in found and value else (found.get(key) or value)
        )
    return found


async def _obligation(api: Api, document_id: uuid.UUID, version: int = 0) -> Any:
    return await read_at(api, SERVICE, f"/v1/interpretation/obligations/{document_id}", version)


def _draft_page(
    request: Request, wb: Workbench, s: Session, o: dict[str, Any], state: forms.FormState,
    report: dict[str, Any] | None, enums: dict[str, dict[str, str]], status: int = 200,
    action: str = "", interpretation: dict[str, Any] | None = None,
) -> Response:  # fmt: skip
    rows = [
        {**i, "status_zh": STATUS_ZH.get(i.get("status", ""), i.get("status", ""))}
        for i in o.get("interpretations", [])
    ]
    allowed = bool({r.value for r in s.principal.roles} & DRAFTING_ROLES)
    return _page(
        request, wb, s, "interpret_policy.html", status, o=_obligation_row(wb, o), form=state,
        key=str(uuid.uuid4()), verdict=verdict(report, enums), interpretations=rows,
        may_draft=allowed and o.get("status") != "cancelled", interpretation=interpretation,
        action=action or f"/workbench/interpretation/policies/{o['document_id']}",
        source_zh=enums.get("PolicySource", {}).get(o.get("source", ""), o.get("source", "")),
        nav="interpretation",
    )  # fmt: skip


def _defaults(wb: Workbench, o: dict[str, Any]) -> dict[str, str]:
    return {
        "content.title": f"关于《{o.get('title', '')}》的解读",
        "content.forms": "text",
        "content.channels": "website",
    }


@router.get("/policies/{document_id}", response_model=None)
async def policy_page(request: Request, wb: W, document_id: uuid.UUID) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        answer = await _obligation(api, document_id)
        enums = (await catalogue(wb, api))[1]
    if not answer.ok:
        return _refused(request, wb, s, answer)
    state = forms.FormState(draft_fields(enums), _defaults(wb, answer.body))
    return _draft_page(request, wb, s, answer.body, state, None, enums)


@router.post("/policies/{document_id}", response_model=None)
async def draft(request: Request, wb: W, document_id: uuid.UUID) -> Response:
    """质量自查 (intent=check): the gate measured, nothing written; 保存 (intent=save): the
    draft, then its page."""
    s = await _session(request, wb)
    form = await _form(request)
    if s is None or not _post_allowed(request, s, form):
        return _message(request, wb, s, "页面已过期", EXPIRED, 403)
    async with _api(request, wb, s) as api:
        got = await _obligation(api, document_id)
        if not got.ok:
            return _refused(request, wb, s, got)
        enums = (await catalogue(wb, api))[1]
        fields = draft_fields(enums)
        content = content_from(form, enums)
        body = {"document_id": str(document_id), "content": content}
        if form.get("intent") == "check":
            answer = await api.post(SERVICE, "/v1/interpretation/quality-check", body)
        else:
            answer = await api.post(
                SERVICE, "/v1/interpretation/interpretations", body, form.get("key")
            )
    if answer.status == 401:
        return _to_login(request)
    if not answer.ok:
        state = forms.FormState(fields, form, forms.errors_from(answer.problem, fields))
        return _draft_page(
            request, wb, s, got.body, state, None, enums, 422 if answer.status == 422 else 409
        )
    if form.get("intent") == "check":
        state = forms.FormState(fields, form)
        return _draft_page(request, wb, s, got.body, state, answer.body, enums)
    iid = answer.body.get("interpretation_id")
    query = urlencode({"done": "draft", "v": answer.body.get("version", 0)})
    return RedirectResponse(f"/workbench/interpretation/{iid}?{query}", status_code=303)


@router.post("/policies/{document_id}/gate", response_model=None)
async def gate(request: Request, wb: W, document_id: uuid.UUID) -> Response:
    """The gate measured while typing (workbench.js, progressive enhancement): the verdict
    as an HTML fragment for the drafting page; nothing written."""
    s = await _session(request, wb)
    form = await _form(request)
    if s is None or not _post_allowed(request, s, form):
        return HTMLResponse("", status_code=403, headers=HEADERS)
    async with _api(request, wb, s) as api:
        enums = (await catalogue(wb, api))[1]
        body = {"document_id": str(document_id), "content": content_from(form, enums)}
        answer = await api.post(SERVICE, "/v1/interpretation/quality-check", body)
    if not answer.ok:
        text = "填写标题、至少一个要素、解读形式和发布渠道后，这里显示质量检查结果。"
        return HTMLResponse(f'<p class="hint" id="gate-pending">{text}</p>', headers=HEADERS)
    page = wb.render("_verdict.html", verdict=verdict(answer.body, enums), live=True)
    return HTMLResponse(page, headers=HEADERS)


# ----------------------------------------------------------------------------- one interpretation

#: The steps an interpretation's page offers per status (the API judges roles and authorship).
STEPS = {"draft": ("review", "revise"), "rejected": ("revise",), "approved": ("publish",)}
DONE_ZH = {"draft": "已保存草稿", "review": "已审核", "publish": "已发布", "revise": "已修改"}


@router.get("/{interpretation_id}", response_model=None)
async def interpretation_page(
    request: Request, wb: W, interpretation_id: uuid.UUID, done: str = "", v: int = 0
) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        answer = await read_at(
            api, SERVICE, f"/v1/interpretation/interpretations/{interpretation_id}", v
        )
        if not answer.ok:
            return _refused(request, wb, s, answer)
        item = answer.body
        commands, enums = await catalogue(wb, api)
        obligation = await _obligation(api, uuid.UUID(str(item["document_id"])))
        content = {
            k: item[k]
            for k in ("title", "sections", "not_applicable", "forms", "channels", "target_groups")
        }
        checked = await api.post(
            SERVICE,
            "/v1/interpretation/quality-check",
            {"document_id": item["document_id"], "content": content},
        )
    steps = [
        (
            name,
            commands[name]["label_zh"],
            f"/workbench/interpretation/{interpretation_id}/act/{name}",
        )
        for name in STEPS.get(str(item.get("status")), ())
        if name in commands or name == "revise"
    ]
    parts = enums.get("Part", {})
    return _page(
        request, wb, s, "interpret_item.html", item=item, steps=steps,
        status_zh=STATUS_ZH.get(item.get("status", ""), item.get("status", "")),
        verdict=verdict(checked.body if checked.ok else None, enums),
        policy=obligation.body if obligation.ok else None,
        forms_zh="、".join(enums.get("Form", {}).get(f["form"], f["form"]) for f in item.get("forms", [])),
        channels_zh="、".join(enums.get("Channel", {}).get(c, c) for c in item.get("channels", [])),
        waived=[(parts.get(k, k), r) for k, r in (item.get("not_applicable") or {}).items()],
        drafter=wb.person_name(item.get("drafter")), done=DONE_ZH.get(done, ""), nav="interpretation",
    )  # fmt: skip


def _step_fields(entry: dict[str, Any], enums: dict[str, dict[str, str]]) -> list[forms.Field]:
    found = []
    for f in forms.fields_of(entry["schema"], enums):
        if f.name == "approve":
            f = forms.Field(
                **{
                    **f.__dict__,
                    "choices": (forms.Choice("true", "通过"), forms.Choice("false", "退回修改")),
                }
            )
        found.append(f)
    return found


def _step_page(
    request: Request, wb: Workbench, s: Session, item: dict[str, Any], entry: dict[str, Any],
    state: forms.FormState, status: int = 200,
) -> Response:  # fmt: skip
    iid = item["interpretation_id"]
    return _page(
        request, wb, s, "form.html", status, form=state, key=str(uuid.uuid4()),
        title=f"{entry['label_zh']}：{item['title']}", basis=entry.get("basis", ""),
        action=f"/workbench/interpretation/{iid}/act/{entry['name']}", back=f"/workbench/interpretation/{iid}",
        intro={"review": "审核人不能是解读的起草人；退回时请写明修改意见（先审后发）。",
               "publish": "发布前须通过质量检查（杜绝照搬照抄原文、标题式解读，方案§五(一)）；首次发布即完成解读任务。"}.get(entry["name"], ""),
        sub_choices=[], summary="", nav="interpretation",
    )  # fmt: skip


@router.get("/{interpretation_id}/act/{name}", response_model=None)
async def step_page(request: Request, wb: W, interpretation_id: uuid.UUID, name: str) -> Response:
    s = await _session(request, wb)
    if s is None:
        return _to_login(request)
    async with _api(request, wb, s) as api:
        answer = await api.get(SERVICE, f"/v1/interpretation/interpretations/{interpretation_id}")
        if not answer.ok:
            return _refused(request, wb, s, answer)
        commands, enums = await catalogue(wb, api)
        item = answer.body
        if name == "revise":
            got = await _obligation(api, uuid.UUID(str(item["document_id"])))
            if not got.ok:
                return _refused(request, wb, s, got)
            state = forms.FormState(draft_fields(enums), values_of(item))
            return _draft_page(
                request, wb, s, got.body, state, None, enums,
                action=f"/workbench/interpretation/{interpretation_id}/act/revise", interpretation=item,
            )  # fmt: skip
    entry = commands.get(name)
    if entry is None:
        return _message(request, wb, s, "未找到", "没有这项操作。", 404)
    return _step_page(request, wb, s, item, entry, forms.FormState(_step_fields(entry, enums), {}))


@router.post("/{interpretation_id}/act/{name}", response_model=None)
async def step(request: Request, wb: W, interpretation_id: uuid.UUID, name: str) -> Response:
    s = await _session(request, wb)
    form = await _form(request)
    if s is None or not _post_allowed(request, s, form):
        return _message(request, wb, s, "页面已过期", EXPIRED, 403)
    async with _api(request, wb, s) as api:
        answer = await api.get(SERVICE, f"/v1/interpretation/interpretations/{interpretation_id}")
        if not answer.ok:
            return _refused(request, wb, s, answer)
        item = answer.body
        commands, enums = await catalogue(wb, api)
        entry = commands.get(name)
        if entry is None:
            return _message(request, wb, s, "未找到", "没有这项操作。", 404)
        path = str(entry["path"]).replace("{interpretation_id}", str(interpretation_id))
        if name == "revise":
            fields = draft_fields(enums)
            if form.get("intent") == "check":
                content = content_from(form, enums)
                checked = await api.post(
                    SERVICE,
                    "/v1/interpretation/quality-check",
                    {"document_id": item["document_id"], "content": content},
                )
                got = await _obligation(api, uuid.UUID(str(item["document_id"])))
                return _draft_page(
                    request, wb, s, got.body, forms.FormState(fields, form, [] if checked.ok else forms.errors_from(checked.problem, fields)),
                    checked.body if checked.ok else None, enums,
                    action=f"/workbench/interpretation/{interpretation_id}/act/revise", interpretation=item,
                )  # fmt: skip
            result = await api.post(
                SERVICE, path, {"content": content_from(form, enums)}, form.get("key")
            )
        else:
            fields = _step_fields(entry, enums)
            result = await api.post(SERVICE, path, forms.body_from(fields, form), form.get("key"))
        if not result.ok and result.status != 401 and name == "revise":
            got = await _obligation(api, uuid.UUID(str(item["document_id"])))
            state = forms.FormState(fields, form, forms.errors_from(result.problem, fields))
            return _draft_page(
                request, wb, s, got.body, state, None, enums, 422,
                action=f"/workbench/interpretation/{interpretation_id}/act/revise", interpretation=item,
            )  # fmt: skip
    if result.status == 401:
        return _to_login(request)
    if not result.ok:
        state = forms.FormState(fields, form, forms.errors_from(result.problem, fields))
        if name == "publish" and result.problem.get("rule") == "interpretation.quality_gate":
            state.errors.insert(
                0,
                forms.FieldError(
                    "",
                    "",
                    "质量检查",
                    "未通过，不能发布：请修改解读后再发布（详见解读页面的质量检查结果）",
                ),
            )
        return _step_page(request, wb, s, item, entry, state, 422 if result.status == 422 else 409)
    version = result.body.get("version", 0) if isinstance(result.body, dict) else 0
    query = urlencode({"done": name, "v": version})
    return RedirectResponse(
        f"/workbench/interpretation/{interpretation_id}?{query}", status_code=303
    )
