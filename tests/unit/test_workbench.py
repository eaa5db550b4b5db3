"""The workbench's pure parts: forms from a command's schema, refusals mapped to fields in
Chinese, deadlines in words, letters from events."""

from __future__ import annotations

from datetime import date

import pytest

from services.applications.commands import RegisterRequest, RequestCorrection
from services.applications.domain import receipt_date
from services.applications.events import Channel
from services.applications.service import SERVICE as APPLICATIONS
from services.workbench import forms, letters, routes, steps
from services.workbench.labels import Labels
from services.workbench.words import cn_date, cn_time, deadline
from shared.commands import every_enum_label
from shared.workdays import (
    PACKAGE_SOURCE,
    PROVISIONAL_SOURCE,
    WorkdayCalendar,
    YearUsed,
    describe_year,
)

pytestmark = pytest.mark.unit
CALENDAR = WorkdayCalendar.default()
#: The enum labels GET /v1/commands answers with (`enums`), as the service computes them.
LABELS = Labels(every_enum_label(APPLICATIONS.commands))


def register_fields() -> list[forms.Field]:
    schema = RegisterRequest.model_json_schema()
    return forms.fields_of(schema, LABELS.enums, skip=("tenant",))


def test_a_form_shows_chinese_labels_nested_fields_and_enum_choices() -> None:
    fields = {f.name: f for f in register_fields()}
    assert "tenant" not in fields
    assert fields["channel"].label == "提交渠道" and fields["channel"].kind == "select"
    assert fields["channel"].choice_label("registered_mail") == "挂号信（需签收的邮件）"
    assert fields["applicant.phone"].label == "联系电话" and fields["applicant.phone"].required
    assert fields["signed_on"].kind == "date" and not fields["signed_on"].required
    assert fields["signed_on"].hint == "挂号信签收之日"  # no codes in brackets
    assert fields["description"].kind == "textarea"


def test_options_are_the_catalogues_labels_and_an_unlabelled_value_shows_as_itself() -> None:
    """The workbench keeps no enum labels of its own: what the catalogue says is shown."""
    fields = forms.fields_of(RegisterRequest.model_json_schema(), {"Channel": {"fax": "传真件"}})
    channel = next(f for f in fields if f.name == "channel")
    assert channel.choice_label("fax") == "传真件"
    assert channel.choice_label("oral") == "oral"
    assert LABELS.enum("ReplyType", "disclosed") == "予以公开（第三十六条第二项）"
    assert LABELS.enum("ReplyType", "new_kind") == "new_kind" and LABELS.enum("X", None) == ""


def test_an_enum_named_by_module_in_the_suites_openapi_gets_its_labels() -> None:
    """Embedded, one OpenAPI document holds applications' and interpretation's `Channel`:
    pydantic names them by module, the catalogue by class."""
    schema = RegisterRequest.model_json_schema()
    long = "services__applications__events__Channel"
    schema["$defs"][long] = schema["$defs"].pop("Channel")
    schema["properties"]["channel"]["$ref"] = f"#/$defs/{long}"
    channel = next(f for f in forms.fields_of(schema, LABELS.enums) if f.name == "channel")
    assert channel.choice_label("in_person") == "当面提交"


def test_the_embedded_catalogue_labels_every_services_enum_of_the_same_name() -> None:
    """One process serves one catalogue for all services: applications' `Channel` and
    interpretation's `Channel` are both labelled (a township clerk never reads `in_person`)."""
    from services.interpretation.service import SERVICE as INTERPRETATION

    both = Labels(every_enum_label([*APPLICATIONS.commands, *INTERPRETATION.commands]))
    assert both.enum("Channel", "in_person") == "当面提交"
    assert both.enum("Channel", "website") == "政府网站"


def test_the_preview_reads_the_receipt_date_the_api_counts_from__art31() -> None:
    """The register form's due-date preview takes, per channel, the date the applications
    service takes as the day of receipt."""
    base = {"tenant": "shangdang/sudian", "description": "补贴名单", "requested_form": "paper",
            "delivery_channel": "post", "submitted_on": "2026-12-01", "signed_on": "2026-12-02",
            "confirmed_on": "2026-12-03",
            "applicant": {"kind": "natural_person", "name": "王秀英", "id_document": "身份证",
                          "phone": "13812345678"}}  # fmt: skip
    assert set(routes.RECEIPT_FIELD) == {c.value for c in Channel}
    for channel, name in routes.RECEIPT_FIELD.items():
        cmd = RegisterRequest.model_validate({**base, "channel": channel})
        assert receipt_date(cmd).isoformat() == base[name], channel


def test_the_calendars_a_deadline_relies_on_are_named_in_chinese() -> None:
    assert describe_year(YearUsed(2026, PACKAGE_SOURCE, 1)) == (
        f"2026年：国务院办公厅公布的节假日安排（{PACKAGE_SOURCE}）"
    )
    provisional = describe_year(YearUsed(2027, PROVISIONAL_SOURCE, 0))
    assert provisional.startswith("2027年：暂按周末及固定日期法定节假日") and "重算" in provisional
    assert describe_year(YearUsed(2027, "国办发明电〔2026〕7号", 2)).endswith("第2版）")


def test_typed_text_becomes_the_body_blanks_left_out_lines_as_a_list() -> None:
    fields = forms.fields_of(RequestCorrection.model_json_schema(), {})
    body = forms.body_from(
        fields,
        {
            "defects": "写明年度\n\n写明村名 ",
            "notified_on": "2026-12-06",
            "correction_period_days": "",
        },
    )
    assert body == {"defects": ["写明年度", "写明村名"], "notified_on": "2026-12-06"}
    nested = forms.body_from(register_fields(), {"applicant.name": "王秀英", "channel": "fax"})
    assert nested == {"channel": "fax", "applicant": {"name": "王秀英"}}
    assert forms.body_from(fields, {"correction_period_days": "十五"}) == {
        "correction_period_days": "十五"  # the API judges it and names the field
    }


def test_refusals_name_the_field_by_its_label_and_say_what_to_do() -> None:
    problem = {
        "errors": [
            {"field": "description", "rule": "schema.string_too_short", "message_zh": "内容过短"},
            {"field": "channel", "rule": "schema.enum", "message_zh": "取值不在允许范围内"},
            {"field": "applicant.phone", "rule": "schema.missing", "message_zh": "缺少必填字段"},
        ]
    }
    errors = forms.errors_from(problem, register_fields())
    assert next(e.text for e in errors).startswith("提交渠道：请从下列选项中选择：当面提交、")
    assert "联系电话：请填写此项" in [e.text for e in errors]
    assert "所需信息描述：内容过短，至少填写2个字" in [e.text for e in errors]
    assert errors[0].anchor == "f-channel"


def test_a_domain_refusal_without_field_errors_is_shown_as_given() -> None:
    problem = {"rule": "request.concluded", "field": None, "message_zh": "申请已办结，不能再补正"}
    (error,) = forms.errors_from(problem, register_fields())
    assert error.text == "申请已办结，不能再补正" and error.anchor == ""


def test_deadlines_in_words_and_levels() -> None:
    monday = date(2026, 12, 7)
    assert deadline("2026-12-07", monday, CALENDAR).words == "今天到期"
    soon = deadline("2026-12-10", monday, CALENDAR)
    assert (soon.level, soon.words) == ("soon", "还剩3个工作日")
    late = deadline("2026-12-03", monday, CALENDAR)
    assert (late.level, late.words) == ("overdue", "已超期2个工作日")
    assert deadline("2027-01-29", monday, CALENDAR).level == "later"
    paused = deadline("2026-12-10", monday, CALENDAR, paused="暂停计时：等待补正")
    assert paused.words == "暂停计时：等待补正"


def test_dates_and_times_in_chinese_beijing_24_hour() -> None:
    assert cn_date("2026-12-06") == "2026年12月6日"
    assert cn_time("2026-12-06T13:05:00+00:00") == "2026年12月6日 21:05"
    # An instant is dated where it is read: 16:00 UTC is the next day in Beijing (a document
    # published at 07:30 there showed the day before as its 发布日期 until this was fixed).
    assert cn_date("2026-05-20T16:00:00+00:00") == "2026年5月21日"
    assert cn_date("2026-05-20T15:59:59+00:00") == "2026年5月20日"


def test_a_correction_letter_lists_every_defect_and_the_deadline__art30() -> None:
    item = {"number": "苏店〔2026〕1号", "received_on": "2026-12-01", "description": "补贴名单",
            "applicant": {"name": "王秀英"}}  # fmt: skip
    payload = {"defects": ["写明年度", "写明村名"], "notified_on": "2026-12-02"}
    history = [
        {"type": "CorrectionRequested", "payload": {**payload, "correction_due": "2026-12-23"}}
    ]
    letter = letters.build("correction", item, history, "苏店镇", date(2026, 12, 6), LABELS)
    assert letter is not None
    assert letter.organ == "苏店镇人民政府" and letter.number == "苏店〔2026〕1号-补"
    assert letter.items == ("写明年度", "写明村名") and "2026年12月23日" in letter.remedy
    assert letters.build("extension", item, history, "苏店镇", date(2026, 12, 6), LABELS) is None


def test_next_step_after_a_reply_is_delivery_then_archive() -> None:
    replied = {"status": "replied"}
    (step,) = steps.next_steps(replied, [], "2026-12-06")
    assert "送达" in step.text
    delivered = [{"type": "DeliveryRecorded", "payload": {"document": "reply"}}]
    (step,) = steps.next_steps(replied, delivered, "2026-12-06")
    assert "归档" in step.text


def test_a_reply_letter_names_the_reason_in_the_catalogues_words__art36() -> None:
    item = {"number": "苏店〔2026〕2号", "received_on": "2026-12-01", "description": "会议纪要",
            "applicant": {"name": "李桂兰"}}  # fmt: skip
    payload = {"reply_type": "not_disclosed", "withholding_reason": "process_information",
               "replied_on": "2026-12-10"}  # fmt: skip
    history = [{"type": "RequestReplied", "payload": payload}]
    letter = letters.build("reply", item, history, "苏店镇", date(2026, 12, 10), LABELS)
    assert letter is not None and "属于四类过程性信息" in letter.paragraphs[1]
    assert "行政复议" in letter.remedy
