"""The OpenAPI documents carry what the kernel does (shared/openapi.py, issue #21); the
behaviour itself is held by tests/contract/test_openapi_behaviour.py (schemathesis)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shared.errors import ValidationFailed
from shared.http import IF_MATCH_PATTERN, expected_version

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "openapi"


def test_every_protected_operation_names_its_scheme_and_its_refusals() -> None:
    for path in sorted(CONTRACTS.glob("*.json")):
        document = json.loads(path.read_text())
        assert set(document["components"]["securitySchemes"]) == {"bearer", "boardView"}
        for route, operations in document["paths"].items():
            for method, op in operations.items():
                names = {p["name"].lower() for p in op.get("parameters", [])}
                assert "authorization" not in names, (path.name, method, route)
                responses = op["responses"]
                if "security" in op:
                    assert {"401", "403"} <= set(responses), (method, route)
                if "{" in route:
                    assert "404" in responses, (method, route)
                if "requestBody" in op or op.get("parameters"):
                    assert responses["422"]["content"] == {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    }, (method, route)
        metrics = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
        assert list(metrics) == ["text/plain"]


def test_the_if_match_schema_is_what_the_server_takes() -> None:
    document = json.loads((CONTRACTS / "applications.json").read_text())
    patterns = {
        p["schema"]["pattern"]
        for operations in document["paths"].values()
        for op in operations.values()
        for p in op.get("parameters", [])
        if p["name"] == "If-Match"
    }
    assert patterns == {IF_MATCH_PATTERN}
    for good, version in (('"3"', 3), ('W/"12"', 12), ("7", 7)):
        assert re.search(IF_MATCH_PATTERN, good)
        assert expected_version(good) == version
    for bad in ('"3', 'W/3"', '"³"', '"-1"', " 3", '"1234567890123456789"'):
        assert not re.search(IF_MATCH_PATTERN, bad), bad
        with pytest.raises(ValidationFailed):
            expected_version(bad)
