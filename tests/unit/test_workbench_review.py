"""The workbench's 主动公开 and 政策解读 pages, their pure parts: what a document waits for and
for whom (方案§18 三审三校, §19 公开属性认定), privacy findings split out of the text in
place (方案§8; 条例第十五条), the diff in words, the drafting form's body and the gate's
verdict in words (方案§五(一))."""

from __future__ import annotations

from typing import Any

from services.catalog import privacy
from services.catalog.columns import SEED_COLUMNS
from services.catalog.commands import DraftDocument, ReviseDocument
from services.catalog.content import DocumentContent, DocumentKind
from services.catalog.events import ReviewStage
from services.catalog.state import SENSITIVE_FINAL_ROLES, STAGE_ROLES
from services.interpretation import samples
from services.workbench import drafting, forms, interpret, menu, reviewing
from shared.http import _field_path
from shared.identity import Role

KINDS = {"mobile": "手机号码", "resident_id": "居民身份证号"}


def doc(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "document_id": "d1",
        "status": "draft",
        "drafter": "li-na",
        "content": {"title": "关于印发方案的通知", "body": "正文", "issue_date": "2026-12-07"},
        "attribute_proposal": None,
        "attribute_checked": False,
        "attribute": None,
        "reviews": {},
        "next_stage": "first_review",
        "privacy_findings": [],
    }
    return base | over


def test_stage_roles_are_the_catalogs() -> None:
    assert {s.value: frozenset(r) for s, r in STAGE_ROLES.items()} == dict(reviewing.STAGE_ROLES)
    assert frozenset(SENSITIVE_FINAL_ROLES) == reviewing.SENSITIVE_FINAL
    assert reviewing.STAGES == tuple(s.value for s in ReviewStage)


def test_a_draft_waits_for_its_attribute_in_order__s19() -> None:
    assert [w.command for w in reviewing.waiting(doc())] == ["propose"]
    proposed = doc(attribute_proposal={"attribute": "proactive"})
    assert [w.command for w in reviewing.waiting(proposed)] == ["check"]
    checked = doc(attribute_proposal={"attribute": "proactive"}, attribute_checked=True)
    assert [w.command for w in reviewing.waiting(checked)] == ["determine"]


def test_review_levels_go_to_their_roles_and_never_to_the_drafter__s18() -> None:
    decided = doc(attribute={"attribute": "proactive"}, status="in_review")
    first = reviewing.mine(decided, "chen-jing", {Role.DRAFTER})
    assert [(w.queue, w.command) for w in first] == [("first_review", "review")]
    assert reviewing.mine(decided, "li-na", {Role.DRAFTER}) == []  # the drafter's own
    passed = {"first_review": {"reviewer": "chen-jing"}}
    second = decided | {"next_stage": "second_review", "reviews": passed}
    assert reviewing.mine(second, "chen-jing", {Role.SECTION_HEAD}) == []  # one level each
    assert [w.queue for w in reviewing.mine(second, "zhang-wei", {Role.SECTION_HEAD})] == [
        "second_review"
    ]
    sensitive = decided | {"next_stage": "final_review", "content": {"sensitive": True}}
    assert reviewing.mine(sensitive, "guo", {Role.LEADER_IN_CHARGE}) == []
    assert reviewing.mine(sensitive, "tian", {Role.PRINCIPAL_LEADER})
    approved = decided | {"status": "approved", "next_stage": None}
    assert [w.command for w in reviewing.waiting(approved)] == ["publish"]
    assert reviewing.waiting(doc(status="published")) == []


def test_a_returned_draft_waits_for_its_drafter_not_for_the_levels__s18() -> None:
    returned = doc(
        attribute={"attribute": "proactive"},
        returned={"stage": "second_review", "reviewer": "zhang-wei", "comments": "依据不足"},
    )
    (step,) = reviewing.mine(returned, "li-na", {Role.DRAFTER})
    assert (step.queue, step.command) == ("returned", "revise")
    assert step.what == "复审（二校）退回：依据不足"
    assert reviewing.mine(returned, "chen-jing", {Role.DRAFTER, Role.SECTION_HEAD}) == []
    revised = returned | {"returned": None}
    assert [w.queue for w in reviewing.mine(revised, "chen-jing", {Role.DRAFTER})] == [
        "first_review"
    ]
    assert next(k for k, _ in reviewing.queues_for({Role.DRAFTER})) == "returned"


def test_queues_shown_are_those_the_roles_act_in() -> None:
    assert [k for k, _ in reviewing.queues_for({Role.SECTION_HEAD})] == [
        "second_review",
        "privacy",
    ]
    assert reviewing.queues_for({Role.REQUEST_HANDLER}) == []
    assert [s for s, _ in menu.entries({Role.REQUEST_HANDLER})] == []
    assert [s for s, _ in menu.entries({Role.DRAFTER})] == ["主动公开", "政策解读"]
    assert [s for s, _ in menu.entries({Role.ATTRIBUTE_OFFICER})] == ["主动公开"]


def test_findings_are_marked_in_place_with_their_kind__s8() -> None:
    resident = "11010119900307757" + privacy.resident_id_check_digit("11010119900307757")
    body = f"联系人：王建国，手机13812345678，身份证{resident}。"
    found = privacy.scan({"body": body}, "d1")
    d = doc(
        content={"title": "通知", "body": body},
        privacy_findings=[f.model_dump(mode="json") | {"justified": False} for f in found],
    )
    fields, listed = reviewing.marked(d, KINDS)
    pieces = next(f for f in fields if f.name == "body").pieces
    assert "".join(p.text for p in pieces) == body  # nothing lost, nothing added
    marked = [(p.text, p.kind_zh, p.number) for p in pieces if p.kind]
    assert marked == [("13812345678", "手机号码", 1), (resident, "居民身份证号", 2)]
    assert [x["where"] for x in listed] == ["正文", "正文"]
    assert reviewing.open_findings(d)
    assert next(w.queue for w in reviewing.waiting(d)) == "privacy"
    assert reviewing.field_label("attachments_text[1]") == "附件2"


def test_the_diff_says_what_was_deleted_and_inserted() -> None:
    old = {"body": "第一行\n手机13812345678\n第三行"}
    new = {"body": "第一行\n手机1**********\n第三行\n第四行"}
    lines = reviewing.diff_lines(old, new)
    ops = [(line.op, line.words) for line in lines]
    assert ("change", "修改") in ops and ("ins", "新增") in ops
    change = next(line for line in lines if line.op == "change")
    assert [r.op for r in change.runs] == ["", "del", "ins"]
    assert change.runs[1].text == "3812345678" and change.runs[2].text == "**********"
    pair = reviewing.pick_revisions([{"revision": 1}, {"revision": 2}, {"revision": 3}], 0, 0)
    assert pair is not None and (pair[0]["revision"], pair[1]["revision"]) == (2, 3)
    assert reviewing.pick_revisions([{"revision": 1}], 0, 0) is None


def test_the_drafting_form_builds_the_five_parts_and_maps_refusals_back() -> None:
    enums = {"Part": {"background_basis": "背景依据"}, "Form": {"text": "文字", "graphic": "图解"}}
    fields = interpret.draft_fields(enums)
    form = {
        "content.title": "解读",
        "content.sections.0.text": samples.GOOD_SECTIONS[0]["text"],
        "content.sections.3.text": "  ",
        "content.not_applicable.old_new_differences": "首次出台，没有旧政策",
        "content.forms": "text\ngraphic",
        "media": "https://sudian.example/tujie.png",
        "content.channels": "website\nnew_media",
    }
    content = interpret.content_from(form, enums)
    assert [s["part"] for s in content["sections"]] == ["background_basis"]
    assert content["sections"][0]["heading"] == "一、背景依据"
    assert content["forms"] == [
        {"form": "text"},
        {"form": "graphic", "url": "https://sudian.example/tujie.png"},
    ]
    assert content["not_applicable"] == {"old_new_differences": "首次出台，没有旧政策"}
    problem = {
        "errors": [
            {"field": "content.title", "rule": "schema.string_too_short", "message_zh": "过短"},
            {"field": "content.channels", "rule": "schema.too_short", "message_zh": "过短"},
        ]
    }
    errors = forms.errors_from(problem, fields)
    assert [e.text for e in errors] == [
        "解读标题：内容过短，至少填写2个字",
        "发布渠道：请至少选择一项",
    ]


def test_the_gate_verdict_in_words__s5_1() -> None:
    report = {
        "passed": False,
        "checks": [
            {"check": "copy", "passed": False, "message_zh": "照搬", "measured": {
                "containment": 1.0, "own_chars": 29, "own_share": 0.05, "lifted_share": 0.9}},
            {"check": "parts", "passed": True, "message_zh": "要素齐全", "measured": {
                "covered": ["goals_tasks"], "missing": []}},
        ],
    }  # fmt: skip
    v = interpret.verdict(report, {"Part": {"goals_tasks": "目标任务"}})
    assert v is not None and not v["passed"]
    copy = v["checks"][0]
    assert copy["name"] == "照搬照抄原文" and not copy["passed"]
    assert ("自己的说明", "29字，占5%（至少300字、30%）") in copy["figures"]
    assert ("已写", "目标任务") in v["checks"][1]["figures"]


def test_the_gate_verdict_shows_the_own_share_of_the_sentences_not_lifted__decision_155() -> None:
    """The minimum own share is judged on the sentences not quoted whole: the figure says so."""
    m = {
        "containment": 0.86,
        "own_chars": 421,
        "own_share": 0.22,
        "unlifted_own_share": 0.37,
        "min_own_chars": 300,
        "min_own_share": 0.3,
    }
    report = {"passed": True, "checks": [
        {"check": "copy", "passed": True, "message_zh": "ok", "measured": m}]}  # fmt: skip
    v = interpret.verdict(report, {})
    assert v is not None
    own = "421字，占22%（至少300字）；整句引用以外的句子中占37%（至少30%）"
    assert ("自己的说明", own) in v["checks"][0]["figures"]


def test_an_enum_list_becomes_checkboxes() -> None:
    schema = {
        "properties": {
            "channels": {"type": "array", "items": {"$ref": "#/$defs/PublicationChannel"}}
        },
        "required": ["channels"],
        "$defs": {"PublicationChannel": {"enum": ["website", "new_media"], "type": "string"}},
    }
    labels = {"PublicationChannel": {"website": "政府网站", "new_media": "政务新媒体"}}
    (f,) = forms.fields_of(schema, labels)
    assert f.kind == "checks" and [c.label for c in f.choices] == ["政府网站", "政务新媒体"]
    assert forms.body_from([f], {"channels": "website\nnew_media"}) == {
        "channels": ["website", "new_media"]
    }


# ----------------------------------------------------------------------------- 拟稿 and 修改


def _draft_fields() -> list[forms.Field]:
    enums = {"DocumentKind": {k.value: k.label_zh for k in DocumentKind}}
    found = forms.fields_of(DraftDocument.model_json_schema(), enums, skip=drafting.SKIP)
    columns = [(c.code, c.name) for c in SEED_COLUMNS]
    return drafting.shape(found, columns)


def test_the_draft_form_is_the_draft_commands_schema_in_chinese() -> None:
    fields = _draft_fields()
    by_name = {f.name: f for f in fields}
    # Every field of the content has its Chinese label (none shown as a code).
    assert set(by_name) == {f"content.{k}" for k in DocumentContent.model_fields}
    assert [f.label for f in fields] == [
        "标题", "文号", "成文日期", "文种", "栏目", "正文", "附件文字", "需要解读", "敏感稿件",
    ]  # fmt: skip
    assert by_name["content.body"].kind == "textarea"
    assert by_name["content.issue_date"].kind == "date"
    assert by_name["content.kind"].choice_label("implementation_plan") == "实施方案"
    column = by_name["content.column"]
    assert column.kind == "select" and column.choice_label("work_news") == "工作动态"
    assert by_name["content.sensitive"].kind == "check"
    assert drafting.draft_defaults("2026-12-07") == {"content.issue_date": "2026-12-07"}


def test_a_draft_body_from_the_form_and_its_refusals_named_by_label() -> None:
    fields = _draft_fields()
    typed = drafting.unix_newlines(
        {
            "content.title": "关于印发方案的通知",
            "content.body": "第一段。\r\n第二段。",
            "content.issue_date": "2026-12-07",
            "content.kind": "notice",
            "content.column": "work_news",
            "content.sensitive": "true",
        }
    )
    content = forms.body_from(fields, typed)["content"]
    assert content["body"] == "第一段。\n第二段。"  # a textarea's CRLF stored as written
    assert content["sensitive"] is True and "needs_interpretation" not in content  # unticked
    DraftDocument.model_validate({"content": content})  # what the API accepts
    problem = {
        "errors": [
            {"field": "content.column", "rule": "schema.missing"},
            {"field": "content.title", "rule": "schema.string_too_short"},
        ]
    }
    assert [e.text for e in forms.errors_from(problem, fields)] == [
        "标题：内容过短，至少填写2个字",
        "栏目：请选择一项",
    ]


def test_a_revision_form_saved_unchanged_is_the_same_content() -> None:
    content = DocumentContent(
        title="关于印发方案的通知",
        body="第一段。\n第二段。",
        attachments_text=["附件1：名单", "附件2：经费表"],
        document_number="苏政发〔2026〕3号",
        issue_date="2026-12-07",  # type: ignore[arg-type]
        kind=DocumentKind.policy,
        column="livelihood",
        needs_interpretation=True,
    ).model_dump(mode="json")
    fields = drafting.revise_fields(_draft_fields(), content)
    values = drafting.values_of(content, fields)
    assert values["content.attachments_text"] == "附件1：名单\n附件2：经费表"
    assert values["content.needs_interpretation"] == "true" and "content.sensitive" not in values
    body = drafting.revise_body(fields, values, content)
    assert DocumentContent.model_validate(body["content"]).model_dump(mode="json") == content


def test_an_attachment_of_several_lines_is_kept_not_split() -> None:
    content = {"title": "通知", "body": "正文", "attachments_text": ["表一\n第二行"]}
    fields = drafting.revise_fields(_draft_fields(), content)
    assert "content.attachments_text" not in {f.name for f in fields}
    body = drafting.revise_body(fields, {"content.body": "新正文"}, content)
    assert body["content"]["attachments_text"] == ["表一\n第二行"]


def test_revise_is_offered_to_the_documents_drafters_only__s18() -> None:
    drafter = {Role.DRAFTER}
    assert drafting.may_revise(doc(), "li-na", drafter, ["li-na"])
    assert drafting.may_revise(doc(status="published"), "li-na", drafter, [])
    assert drafting.revise_label(doc(status="published")) == "更新已发布的文件"
    revise = forms.fields_of(ReviseDocument.model_json_schema(), {})
    reason = [f for f in drafting.with_reason_rule(revise, doc(status="published"))][-1]
    assert (reason.label, reason.required) == ("修改或更新原因", True)  # the API requires it
    assert not drafting.with_reason_rule(revise, doc())[-1].required
    assert drafting.may_revise(doc(), "chen-jing", drafter, ["li-na", "chen-jing"])  # redacted
    assert not drafting.may_revise(doc(), "chen-jing", drafter, ["li-na"])  # not theirs
    assert not drafting.may_revise(doc(status="withdrawn"), "li-na", drafter, [])
    assert not drafting.may_revise(doc(), "li-na", {Role.SECTION_HEAD}, [])
    reviewed = doc(reviews={"first_review": {"reviewer": "chen-jing"}})
    assert not drafting.may_revise(reviewed, "chen-jing", drafter, ["chen-jing"])
    links = [key for _, found in menu.entries({Role.DRAFTER}) for key, _, _ in found]
    assert "review-new" in links
    officer = [key for _, found in menu.entries({Role.ATTRIBUTE_OFFICER}) for key, _, _ in found]
    assert officer == ["review"]


def test_a_field_called_body_inside_the_body_keeps_its_name() -> None:
    """A refusal of a document's text names `content.body`, not `content` (the form would
    put it beside 标题)."""
    assert _field_path(("body", "content", "body")) == "content.body"
    assert _field_path(("body", "content", "title")) == "content.title"
    assert _field_path(("query", "limit")) == "limit"
    assert _field_path(("body",)) == "body"
