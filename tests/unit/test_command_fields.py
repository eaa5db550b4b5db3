"""Command dates and moments are ISO text only (shared/fields.py).

A statutory clock (条例 Art. 31, Art. 33) starts from the day a request was received; a
JSON number read as seconds since 1970 would start it from a guess without any error.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

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
