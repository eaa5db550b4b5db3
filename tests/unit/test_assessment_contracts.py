"""Every assessment event has an example that its checked-in JSON Schema accepts (contracts/)."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from gongkai import contracts
from services.assessment.events import registry
from services.assessment.examples import EXAMPLES


def test_every_assessment_event_has_an_example() -> None:
    keys = {f"assessment/{m.event_type}.v{m.schema_version}" for m in registry.models()}
    assert keys == set(EXAMPLES)


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_the_checked_in_schema_accepts_the_example(key: str) -> None:
    schema = contracts.event_schemas()[f"{contracts.EVENTS_DIR}/{key}.json"]
    event = EXAMPLES[key]()
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    validator.validate(event.model_dump(mode="json"))
