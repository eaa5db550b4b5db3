"""纠正分类 on the workbench's message page (issue #17): the pure parts — the labels as they
stand after a correction with the model's original answer, the form's choices and what is
shown beside them, the API's refusals in plain Chinese on their fields, who sees the form —
and the one loader of a route's schema from a service's OpenAPI document (pages.route_schema).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from services.sentiment.commands import CorrectClassification
from services.workbench import opinion, opinion_message
from services.workbench.pages import route_schema
from shared.identity import Role

MODEL_ANSWER = {
    "category": "城乡建设",
    "category_confidence": 0.62,
    "category_reasons": ["路灯"],
    "polarity": "negative",
    "sentiment_reasons": ["不满意"],
    "urgency": "normal",
}
CORRECTED = {
    "category": "交通运输",
    "polarity": "negative",
    "corrected": True,
    "model_id": "m-1",
    "model_category": "城乡建设",
    "model_polarity": "negative",
    "correction": {
        "corrected_by": "xia-lu",
        "corrected_at": "2026-12-06T02:00:00+00:00",
        "reason": "公交站台",
        "corrections": 1,
        "version": 3,
    },
}
SCHEMA = CorrectClassification.model_json_schema()
ENUMS = {"Polarity": {"negative": "负面", "neutral": "中性", "positive": "正面"}}
ENTRY = {
    "name": "correct-classification",
    "roles": [
        {"code": "opinion_officer", "label_zh": "政务舆情专职工作人员"},
        {"code": "leader_in_charge", "label_zh": "分管领导"},
        {"code": "principal_leader", "label_zh": "主要领导"},
    ],
}


def test_a_corrected_message_shows_the_officers_labels_who_and_the_models_answer() -> None:
    names = {"xia-lu": "夏露"}
    why = opinion.reasons(MODEL_ANSWER, CORRECTED, lambda p: names.get(p, p))
    assert why["corrected"] and why["category"] == "交通运输"
    assert (why["model_category"], why["confidence"]) == ("城乡建设", 62)
    assert why["category_changed"] and not why["polarity_changed"]
    assert (why["polarity"], why["model_polarity"]) == ("负面", "负面")
    assert (why["corrected_by"], why["correction_reason"]) == ("夏露", "公交站台")
    plain = opinion.reasons(MODEL_ANSWER, {**CORRECTED, "corrected": False, "correction": None})
    assert not plain["corrected"] and plain["category"] == "城乡建设"


def test_the_form_offers_the_known_categories_and_the_sentiments_in_chinese() -> None:
    why = opinion.reasons(MODEL_ANSWER)
    fields = opinion_message.correction_fields(SCHEMA, ENUMS, ["城乡建设", "交通运输"], why)
    by = {f.name: f for f in fields}
    assert [c.label for c in by["category"].choices] == ["城乡建设", "交通运输"]
    assert [(c.value, c.label) for c in by["polarity"].choices] == [
        ("negative", "负面"),
        ("neutral", "中性"),
        ("positive", "正面"),
    ]
    assert (by["category"].label, by["polarity"].label, by["reason"].label) == (
        "类别",
        "情感倾向",
        "纠正理由",
    )
    assert by["category"].hint == "现为：城乡建设（模型判断，把握62%）"
    assert by["polarity"].hint == "现为：负面（模型判断）"
    assert opinion_message.correction_defaults(why) == {
        "category": "城乡建设",
        "polarity": "negative",
    }
    again = opinion.reasons(MODEL_ANSWER, CORRECTED)
    fields = opinion_message.correction_fields(SCHEMA, ENUMS, ["城乡建设", "交通运输"], again)
    assert fields[0].hint == "现为：交通运输（人工纠正）；模型原判：城乡建设"
    assert fields[1].hint == "现为：负面（模型判断）"  # the polarity was left as it was


def test_a_refused_correction_names_the_field_in_plain_chinese() -> None:
    why = opinion.reasons(MODEL_ANSWER)
    fields = opinion_message.correction_fields(SCHEMA, ENUMS, ["城乡建设", "交通运输"], why)
    unknown = {
        "rule": "correction.category_unknown",
        "field": "category",
        "message_zh": "分类“外星事务”不在已知分类中（城乡建设、交通运输）",
    }
    [err] = opinion_message.correction_errors(unknown, fields)
    assert (err.anchor, err.text) == ("f-category", "类别：请从下列选项中选择：城乡建设、交通运输")
    polarity = {"rule": "correction.polarity_unknown", "field": "polarity", "message_zh": "无效"}
    [err] = opinion_message.correction_errors(polarity, fields)
    assert err.text == "情感倾向：请从下列选项中选择：负面、中性、正面"
    same = {"rule": "correction.no_change", "field": "category", "message_zh": "相同"}
    [err] = opinion_message.correction_errors(same, fields)
    assert err.text == "类别：选择的类别和情感倾向与现在相同，请至少改选一项"
    too_long = {
        "rule": "schema.string_too_long",
        "field": "reason",
        "errors": [{"field": "reason", "rule": "schema.string_too_long", "message_zh": "过长"}],
    }
    [err] = opinion_message.correction_errors(too_long, fields)
    assert err.anchor == "f-reason" and err.label == "纠正理由"


def test_only_the_roles_the_catalogue_names_see_the_form_the_others_read_why_not() -> None:
    assert opinion_message.may_correct(ENTRY, {Role.LEADER_IN_CHARGE})
    assert not opinion_message.may_correct(ENTRY, {Role.SECTION_HEAD})
    assert opinion_message.may_correct({**ENTRY, "roles": None}, {Role.SECTION_HEAD})
    words = opinion_message.why_not(ENTRY, {Role.SECTION_HEAD})
    assert words.startswith("纠正分类由政务舆情专职工作人员、分管领导或主要领导进行")
    assert Role.SECTION_HEAD.label_zh in words


@dataclass
class FakeAnswer:
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status < 400


@dataclass
class FakeApi:
    answer: FakeAnswer
    calls: list[tuple[str, str]] = field(default_factory=list)

    async def get(self, service: str, path: str) -> FakeAnswer:
        self.calls.append((service, path))
        return self.answer


@dataclass
class FakeWorkbench:
    cache: dict[str, Any] = field(default_factory=dict)

    async def cached(self, key: str, load: Any) -> Any:
        if key not in self.cache:
            value = await load()
            if value is None:
                return None
            self.cache[key] = value
        return self.cache[key]


OPENAPI = {
    "paths": {
        "/v1/messages": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/ReceiveMessage-Input"}
                        }
                    }
                }
            }
        }
    },
    "components": {"schemas": {"ReceiveMessage-Input": {"title": "ReceiveMessage"}, "X": {}}},
}


def test_a_routes_schema_is_found_by_its_route_and_loaded_once() -> None:
    wb, api = FakeWorkbench(), FakeApi(FakeAnswer(200, OPENAPI))
    found = asyncio.run(route_schema(wb, api, "sentiment", "/v1/messages"))  # type: ignore[arg-type]
    assert found is not None
    schema, defs = found
    assert schema == {"title": "ReceiveMessage"} and set(defs) == {"ReceiveMessage-Input", "X"}
    asyncio.run(route_schema(wb, api, "sentiment", "/v1/messages"))  # type: ignore[arg-type]
    assert api.calls == [("sentiment", "/openapi.json")]
    down = FakeApi(FakeAnswer(503, {}))
    assert asyncio.run(route_schema(FakeWorkbench(), down, "sentiment", "/v1/messages")) is None  # type: ignore[arg-type]
