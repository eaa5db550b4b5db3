"""Forms rendered from a command's JSON Schema, and the API's refusals mapped back to them.

Pure functions. A form is the list of `Field`s of a schema (nested objects flattened to
dotted names such as `applicant.name`); what a person typed becomes the command's JSON body
with as little judgement as possible, so the API stays the one judge of what is valid: a
number that does not parse is sent as typed and the API names the field. Its problem+json
(`errors[]`: field, rule, label_zh, message_zh) becomes the error summary and the messages
beside the fields, each naming the field by its Chinese label and saying what to do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.workbench.labels import FIELD_LABELS

_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Field:
    """One input: `name` is the dotted path in the body, `id` the HTML id."""

    name: str
    label: str
    #: text | textarea | lines | date | integer | select | checks | check
    kind: str
    required: bool
    hint: str = ""
    choices: tuple[Choice, ...] = ()
    default: Any = None
    enum: str = ""
    min_length: int | None = None
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "-")

    def choice_label(self, value: str) -> str:
        return next((c.label for c in self.choices if c.value == value), value)


@dataclass(frozen=True)
class FieldError:
    """One refusal, as the error summary and the field show it."""

    name: str  # the field's dotted name ("" when no field of the form is meant)
    anchor: str  # the HTML id the summary links to
    label: str
    message: str

    @property
    def text(self) -> str:
        return f"{self.label}：{self.message}" if self.label else self.message


def _chinese(text: str | None) -> bool:
    return bool(text and _CJK.search(text))


def _resolve(node: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if not ref:
        return node
    name = ref.rsplit("/", 1)[-1]
    target = defs.get(name, {})
    # The enum's name is the key its labels are listed under (the title gets overridden). In
    # the embedded suite's one OpenAPI document two services' `Channel`s are told apart by
    # module ("services__applications__events__Channel"); the catalogue names the class.
    enum = name.rsplit("__", 1)[-1]
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}, "x-ref": enum}


def _unwrap_optional(node: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
    """`anyOf: [X, null]` -> (X with the outer title/description, nullable)."""
    options = node.get("anyOf")
    if not options:
        return node, False
    real = [o for o in options if o.get("type") != "null"]
    if len(real) != 1:
        return node, False
    outer = {k: v for k, v in node.items() if k != "anyOf"}
    return {**real[0], **outer}, len(real) != len(options)


_CODES = re.compile(r"\s*[(（][A-Za-z_,. ]+[)）]")


def label_for(name: str, node: Mapping[str, Any]) -> tuple[str, str]:
    """(label, hint): the schema's Chinese title; else our label; else its description.
    The hint is the description in Chinese, without codes in brackets ("(registered_mail)")."""
    title, description = node.get("title"), node.get("description") or ""
    hint = _CODES.sub("", description) if _chinese(description) else ""
    if _chinese(title):
        return str(title), ("" if hint == title else hint)
    if name in FIELD_LABELS:
        return FIELD_LABELS[name], ""
    if hint:
        return hint, ""
    return name, ""


def fields_of(
    schema: Mapping[str, Any],
    enum_labels: Mapping[str, Mapping[str, str]] | None = None,
    *,
    defs: Mapping[str, Any] | None = None,
    skip: Sequence[str] = (),
    prefix: str = "",
) -> list[Field]:
    """The inputs of a command's schema, in the schema's order; an enum's options labelled
    from `enum_labels` (the catalogue's `enums`), a value without a label shown as itself."""
    defs = {**(defs or {}), **schema.get("$defs", {})}
    required = set(schema.get("required", ()))
    found: list[Field] = []
    for key, raw in schema.get("properties", {}).items():
        name = prefix + key
        if name in skip:
            continue
        node, nullable = _unwrap_optional(raw)
        node = _resolve(node, defs)
        node, nullable2 = _unwrap_optional(node)
        if node.get("format") == "uuid" and key not in required:
            continue  # an id nobody can type (a published document): chosen elsewhere, later
        # The property's own title and description, not the enum's it refers to.
        own = {k: raw[k] for k in ("title", "description") if k in raw}
        label, hint = label_for(name, {**{"title": node.get("title")}, **own})
        is_required = key in required and not nullable and not nullable2
        if node.get("type") == "object" and "properties" in node:
            found += fields_of(node, enum_labels, defs=defs, skip=skip, prefix=name + ".")
            continue
        if node.get("type") == "array" and "$ref" in node.get("items", {}):
            node = {**node, "items": _resolve(node["items"], defs)}
        found.append(_field(name, node, label, hint, is_required, enum_labels or {}))
    return found


#: The `enum` of a yes/no field (a JSON Schema boolean).
BOOLEAN = "boolean"


def _field(
    name: str,
    node: Mapping[str, Any],
    label: str,
    hint: str,
    required: bool,
    enum_labels: Mapping[str, Mapping[str, str]],
) -> Field:
    common: dict[str, Any] = dict(
        name=name, label=label, required=required, hint=hint, default=node.get("default")
    )
    if "enum" in node:
        enum = str(node.get("x-ref") or node.get("title", ""))
        given = enum_labels.get(enum, {})
        choices = tuple(Choice(str(v), given.get(str(v)) or str(v)) for v in node["enum"])
        return Field(kind="select", choices=choices, enum=enum, **common)
    kind = node.get("type")
    if kind == "boolean":  # a yes/no question: two choices, sent as true/false
        choices = (Choice("true", "是"), Choice("false", "否"))
        return Field(kind="select", choices=choices, enum=BOOLEAN, **common)
    if kind == "array":
        items = node.get("items", {})
        if "enum" in items:  # several of a list (channels): one checkbox each
            enum = str(items.get("x-ref") or items.get("title", ""))
            given = enum_labels.get(enum, {})
            options = tuple(Choice(str(v), given.get(str(v)) or str(v)) for v in items["enum"])
            return Field(kind="checks", choices=options, enum=enum, **common)
        return Field(
            kind="lines",
            min_length=items.get("minLength"),
            max_length=items.get("maxLength"),
            **common,
        )
    if kind == "integer":
        return Field(
            kind="integer", minimum=node.get("minimum"), maximum=node.get("maximum"), **common
        )
    if node.get("format") == "date":
        return Field(kind="date", **common)
    longest = node.get("maxLength")
    return Field(
        kind="textarea" if longest is None or longest > 300 else "text",
        min_length=node.get("minLength"),
        max_length=longest,
        **common,
    )


def as_checkbox(f: Field) -> Field:
    """A yes/no question as one checkbox: ticked sends `true`; unticked sends nothing, so the
    command's own default (no) holds."""
    return Field(**{**f.__dict__, "kind": "check", "choices": (Choice("true", f.label),),
                    "enum": BOOLEAN})  # fmt: skip


def body_from(fields: Sequence[Field], form: Mapping[str, str]) -> dict[str, Any]:
    """The command's JSON body from what was typed: blanks left out (the API says what is
    missing), one list item per line, numbers as numbers when they parse."""
    body: dict[str, Any] = {}
    for f in fields:
        raw = (form.get(f.name) or "").strip()
        if not raw:
            continue
        value: Any = raw
        if f.kind in ("lines", "checks"):  # checks: the ticked values, one per line
            value = [line.strip() for line in raw.splitlines() if line.strip()]
        elif f.kind == "integer" and re.fullmatch(r"[+-]?\d{1,12}", raw):
            value = int(raw)
        elif f.enum == BOOLEAN and raw in ("true", "false"):
            value = raw == "true"
        target = body
        *parents, leaf = f.name.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return body


def _field_for(path: str, fields: Sequence[Field]) -> Field | None:
    """The form field an error path names: `defects.0` is `defects`, `applicant` alone is
    its first field."""
    parts = path.split(".")
    while parts:
        name = ".".join(parts)
        exact = next((f for f in fields if f.name == name), None)
        if exact is not None:
            return exact
        nested = next((f for f in fields if f.name.startswith(name + ".")), None)
        if nested is not None:
            return nested
        parts.pop()
    return None


def _message(item: Mapping[str, Any], f: Field | None, path: str) -> str:
    """What is wrong and what to do, from the rule; the API's own words otherwise."""
    rule = str(item.get("rule", ""))
    given = str(item.get("message_zh") or "取值无效")
    if f is None:
        return given
    index = path.rsplit(".", 1)[-1]
    line = f"第{int(index) + 1}行" if f.kind == "lines" and index.isdigit() else ""
    if rule == "schema.missing":
        return "请选择一项" if f.kind == "select" else "请填写此项"
    if rule in ("schema.enum", "schema.literal_error"):
        return "请从下列选项中选择：" + "、".join(c.label for c in f.choices)
    if rule == "schema.string_too_short" and f.min_length:
        return f"{line}内容过短，至少填写{f.min_length}个字"
    if rule == "schema.string_too_long" and f.max_length:
        return f"{line}内容过长，最多{f.max_length}个字"
    if rule == "schema.too_short" and f.kind == "checks":
        return "请至少选择一项"
    if rule in ("schema.enum", "schema.literal_error") and f.kind == "checks":
        return "请从下列选项中选择：" + "、".join(c.label for c in f.choices)
    if rule == "schema.too_short" and f.kind == "lines":
        return "请至少填写一项，每行一项"
    if rule in ("schema.int_parsing", "schema.int_type"):
        return "请填写整数，如 15"
    if rule in ("schema.greater_than_equal", "schema.less_than_equal") and f.kind == "integer":
        low = "" if f.minimum is None else str(f.minimum)
        high = "" if f.maximum is None else str(f.maximum)
        return f"请填写 {low} 至 {high} 之间的整数" if low and high else given
    if rule in ("schema.date_parsing", "schema.date_from_datetime_parsing", "schema.date_type"):
        return "请填写正确的日期，如 2026-12-06"
    return f"{line}{given}" if line else given


def errors_from(problem: Mapping[str, Any], fields: Sequence[Field]) -> list[FieldError]:
    """The API's refusal as error-summary items, in the form's field order."""
    items = problem.get("errors") or [
        {
            "field": problem.get("field") or "",
            "rule": problem.get("rule", ""),
            "message_zh": problem.get("message_zh") or problem.get("title") or "操作未成功",
        }
    ]
    found: list[FieldError] = []
    for item in items:
        path = str(item.get("field") or "")
        f = _field_for(path, fields) if path else None
        label = f.label if f else str(item.get("label_zh") or "")
        message = _message(item, f, path)
        found.append(FieldError(f.name if f else "", f.id if f else "", label, message))
    order = {f.name: i for i, f in enumerate(fields)}
    return sorted(found, key=lambda e: order.get(e.name, len(order)))


@dataclass
class FormState:
    """A form as rendered: its fields, the values to show, the refusals."""

    fields: list[Field]
    values: dict[str, str] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)

    def error_for(self, name: str) -> str:
        return "；".join(e.message for e in self.errors if e.name == name)
