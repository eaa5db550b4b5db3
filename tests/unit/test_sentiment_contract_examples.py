"""Every sentiment event has a real example, valid against its checked-in JSON Schema.

The examples live in services/sentiment/examples.py (the shape of the contract suite's
EXAMPLES), so tests/contract can take them over with `EXAMPLES.update(...)`.
"""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from gongkai import contracts
from services.sentiment import events as e
from services.sentiment.examples import EXAMPLES


def test_every_sentiment_event_has_an_example() -> None:
    keys = {f"sentiment/{m.event_type}.v{m.schema_version}" for m in e.registry.models()}
    assert keys == set(EXAMPLES)


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_the_checked_in_schema_validates_a_real_payload(key: str) -> None:
    schema = contracts.event_schemas()[f"{contracts.EVENTS_DIR}/{key}.json"]
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    validator.validate(EXAMPLES[key]().model_dump(mode="json"))
