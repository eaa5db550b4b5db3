"""Field types that API commands share.

Pydantic's lax mode reads a JSON number as a date or a moment (seconds since 1970), so a
client that sends `"submitted_on": 1764201600` would register a request received on
2025-11-27 without any error, and so would the text `"1764201600"`. A statutory clock
must never start from a guess: command dates and moments are accepted as ISO 8601 text
only (JSON has no date type); any other JSON type is refused with `schema.date_type` /
`schema.datetime_type`, any other text with `schema.date_parsing` /
`schema.datetime_parsing`.

A date far from now is a typo, not a fact: `"0001-03-01"` was once accepted as the day a
request was received, and the working-day lookup for year 0 then failed on every read of
its clock and on every pass of the deadline scheduler (issue #21). Command dates and
moments lie within `EARLIEST_DAY`..`LATEST_DAY` (the date as written, whatever the offset
of a moment); outside, `schema.date_range` / `schema.datetime_range`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from shared.labels import LabelledEnum as LabelledEnum  # re-exported: the one definition


def _iso_text_only(kind: str, python_type: type[date]) -> BeforeValidator:
    shape = "YYYY-MM-DD" if kind == "date" else "YYYY-MM-DDTHH:MM:SS+08:00"

    def check(value: Any) -> Any:
        if isinstance(value, python_type):
            return value
        if not isinstance(value, str):
            raise PydanticCustomError(
                f"{kind}_type", f"Input should be an ISO 8601 {kind} string ({shape})"
            )
        try:
            # Lax parsing would also read "1764201600" (text of a number) as a date.
            python_type.fromisoformat(value.strip())
        except ValueError:
            raise PydanticCustomError(
                f"{kind}_parsing", f"Input should be an ISO 8601 {kind} ({shape})"
            ) from None
        return value

    return BeforeValidator(check)


#: The plausible range of a date in a command (docs/decisions.md): the regulation (条例) is
#: in force since 2008 and the holiday tables begin in 2004, so nothing the suite records
#: happened before 2000; the upper bound keeps every deadline computed from a date (at most
#: a few hundred working days) far inside the calendar, and no year past 2099 can have a
#: published holiday schedule.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)


def _within_range(kind: str) -> AfterValidator:
    def check(value: date) -> date:
        day = value.date() if isinstance(value, datetime) else value
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            raise PydanticCustomError(
                f"{kind}_range",
                "Input should be a {kind} from {earliest} to {latest}",
                {"kind": kind, "earliest": str(EARLIEST_DAY), "latest": str(LATEST_DAY)},
            )
        return value

    return AfterValidator(check)


Day = Annotated[date, _iso_text_only("date", date), _within_range("date")]
"""A calendar day in a command: `"2026-11-27"`, never a number, within 2000..2099."""

Moment = Annotated[datetime, _iso_text_only("datetime", datetime), _within_range("datetime")]
"""An instant in a command: ISO 8601 text, never a number, dated within 2000..2099."""


#: `Field(json_schema_extra=PERSONAL)`: the field holds personal data of an applicant or a
#: citizen (an identity, a contact, their own words). The mark travels into contracts/ as
#: `"personal": true` for a later crypto-shredding step (docs/audit.md).
PERSONAL: dict[str, Any] = {"personal": True}

#: `Field(json_schema_extra=NOT_PERSONAL)`: reviewed, and not personal although its name
#: suggests it (an indicator's `name`, a document's `body`): `"personal": false`.
NOT_PERSONAL: dict[str, Any] = {"personal": False}
