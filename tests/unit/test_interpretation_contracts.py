"""Every interpretation event schema (contracts/) accepts a real payload of its model, and the
examples cover every event type (ready to merge into the suite's contract EXAMPLES)."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from gongkai import contracts
from services.interpretation.events import registry
from services.interpretation.examples import EXAMPLES


def test_every_interpretation_event_has_an_example() -> None:
    keys = {f"interpretation/{m.event_type}.v{m.schema_version}" for m in registry.models()}
    assert keys == set(EXAMPLES)


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_the_schema_validates_a_real_payload_of_its_model(key: str) -> None:
    schema = contracts.event_schemas([registry])[f"{contracts.EVENTS_DIR}/{key}.json"]
    event = EXAMPLES[key]()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    validator.validate(event.model_dump(mode="json"))
