"""Every catalog event schema in contracts/ validates a real payload of its model.

The payloads come from services/catalog/examples.py (built by the domain itself).
"""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from gongkai import contracts
from services.catalog.events import registry
from services.catalog.examples import EXAMPLES, history


def test_every_catalog_event_type_has_an_example() -> None:
    assert set(history()) == {model.event_type for model in registry.models()}


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_the_catalog_schema_validates_a_real_payload_of_its_model(key: str) -> None:
    schema = contracts.event_schemas([registry])[f"{contracts.EVENTS_DIR}/{key}.json"]
    event = EXAMPLES[key]()
    assert f"{event.service}/{event.event_type}.v{event.schema_version}" == key
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    validator.validate(event.model_dump(mode="json"))
