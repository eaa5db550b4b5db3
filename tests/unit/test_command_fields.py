"""Command dates and moments are ISO text only (shared/fields.py).

A statutory clock (条例 Art. 31, Art. 33) starts from the day a request was received; a
JSON number read as seconds since 1970 would start it from a guess without any error.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any, get_args

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from shared.fields import Day, Moment

pytestmark = pytest.mark.unit


class _Command(BaseModel):
    on: Day
    at: Moment | None = None


def test_iso_text_is_a_day_and_a_moment() -> None:
    cmd = _Command.model_validate({"on": "2026-02-10", "at": "2026-02-10T09:30:00+08:00"})
    assert cmd.on == date(2026, 2, 10)
    assert cmd.at == datetime(2026, 2, 10, 9, 30, tzinfo=timezone(timedelta(hours=8)))


def test_python_values_pass_unchanged() -> None:
    assert _Command(on=date(2026, 2, 10)).on == date(2026, 2, 10)


@pytest.mark.parametrize("value", [1764201600, 1764201600.0, True, ["2026-02-10"]])
def test_a_number_or_other_json_type_is_not_a_day(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        _Command.model_validate({"on": value})
    (error,) = caught.value.errors()
    assert (error["type"], error["loc"]) == ("date_type", ("on",))
    assert "ISO 8601" in error["msg"]


@pytest.mark.parametrize("text", ["1764201600", "昨天", "2026-13-01", "11/27/2026"])
def test_text_that_is_not_an_iso_date_is_refused(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _Command.model_validate({"on": text})
    assert [e["type"] for e in caught.value.errors()] == ["date_parsing"]


def test_a_number_is_not_a_moment() -> None:
    with pytest.raises(ValidationError) as caught:
        _Command.model_validate({"on": "2026-02-10", "at": 1764201600})
    assert [e["type"] for e in caught.value.errors()] == ["datetime_type"]
    with pytest.raises(ValidationError) as caught:
        _Command.model_validate({"on": "2026-02-10", "at": "1764201600"})
    assert [e["type"] for e in caught.value.errors()] == ["datetime_parsing"]


def test_the_json_schema_still_says_an_iso_date() -> None:
    props = _Command.model_json_schema()["properties"]
    assert props["on"] == {"format": "date", "title": "On", "type": "string"}


@pytest.mark.parametrize(
    "text", ["0001-03-01", "0001-01-01", "1999-12-31", "2100-01-01", "9999-12-31"]
)
def test_a_day_outside_2000_to_2099_is_refused__issue21(text: str) -> None:
    # "0001-03-01" as the day a request was received once made its clock answer 500 and
    # the deadline scheduler fail every pass (issue #21).
    with pytest.raises(ValidationError) as caught:
        _Command.model_validate({"on": text})
    (error,) = caught.value.errors()
    assert (error["type"], error["loc"]) == ("date_range", ("on",))
    assert "2000-01-01" in error["msg"] and "2099-12-31" in error["msg"]


@pytest.mark.parametrize("text", ["2000-01-01", "2099-12-31"])
def test_the_range_bounds_are_days(text: str) -> None:
    assert _Command.model_validate({"on": text}).on == date.fromisoformat(text)


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+08:00", "1999-12-31T23:59:59Z"]
)
def test_a_moment_outside_2000_to_2099_is_refused__issue21(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _Command.model_validate({"on": "2026-02-10", "at": text})
    assert [(e["type"], e["loc"]) for e in caught.value.errors()] == [("datetime_range", ("at",))]


def _annotations(annotation: Any) -> Iterator[Any]:
    """`annotation` and every type inside it (unions, lists), Annotated kept."""
    yield annotation
    for inner in get_args(annotation):
        yield from _annotations(inner)


def _command_date_fields() -> Iterator[tuple[str, str, Any]]:
    """(route, model.field, annotation) of every date or datetime in a request body."""
    from fastapi.routing import APIRoute

    from gongkai.app import create_app
    from shared.settings import Settings

    def routes(found: list[Any]) -> Iterator[Any]:
        for route in found:
            nested = getattr(route, "original_router", None)
            yield from routes(nested.routes) if nested is not None else [route]

    def walk(model: type[BaseModel], route: str, seen: set[type]) -> Iterator[Any]:
        if model in seen:
            return
        seen.add(model)
        for name, info in model.model_fields.items():
            full = (
                Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
            )
            for inner in _annotations(info.annotation):
                if inner in (date, datetime):
                    yield route, f"{model.__name__}.{name}", full
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    yield from walk(inner, route, seen)

    app = create_app(Settings(token_secret="x" * 48), role="serve")
    for route in routes(app.routes):
        if isinstance(route, APIRoute) and route.body_field is not None:
            for inner in _annotations(route.body_field.field_info.annotation):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    yield from walk(inner, route.path, set())


def test_every_command_date_refuses_year_one__issue21() -> None:
    """Every date and moment of every command body is a Day or a Moment (shared/fields.py),
    so none accepts a date the working-day calendar cannot count from."""
    fields = list(_command_date_fields())
    assert len(fields) > 30  # every service's commands were found
    accepted = []
    for route, name, annotation in fields:
        adapter: TypeAdapter[Any] = TypeAdapter(annotation)
        for text in ("0001-03-01", "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59+08:00"):
            try:
                adapter.validate_python(text)
            except ValidationError as error:
                assert error.errors()[0]["type"] in {
                    "date_range",
                    "datetime_range",
                    "date_parsing",  # a date field given a moment's text
                    "date_from_datetime_inexact",
                }, (route, name, error.errors())
            else:
                accepted.append((route, name, text))
    assert accepted == []
