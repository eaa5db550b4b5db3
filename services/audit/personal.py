"""Personal fields in event schemas, for a later crypto-shredding step (docs/audit.md).

A service marks a personal field in its event model with
`Field(..., json_schema_extra={"personal": True})`; the mark travels into contracts/
(the JSON Schemas) where any consumer can read it. `personal_fields()` lists the marked
fields of every registered event, and the likely-personal fields nobody marked yet (by
name), so an operator can see the gap before erasure work starts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from shared.registry import EventRegistry

#: Field names that usually hold personal data (an applicant's or a citizen's identity,
#: contact or own words); a hit that is not marked is reported as "unmarked".
LIKELY_PERSONAL = frozenset(
    {
        "name",
        "id_document",
        "phone",
        "email",
        "address",
        "contact",
        "mobile",
        "applicant",
        "citizen",
        "subject_ref",
        "message_text",
        "content",
        "body",
    }
)


@dataclass(frozen=True)
class PersonalField:
    service: str
    event_type: str
    schema_version: int
    path: str
    marked: bool


def _walk(
    schema: Mapping[str, Any], defs: Mapping[str, Any], prefix: str, seen: frozenset[str]
) -> Iterator[tuple[str, bool]]:
    for name, prop in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        marked = bool(prop.get("personal"))
        if marked or name in LIKELY_PERSONAL:
            yield path, marked
        refs = [prop.get("$ref")] + [p.get("$ref") for p in prop.get("anyOf", [])]
        items = prop.get("items", {})
        refs.append(items.get("$ref") if isinstance(items, dict) else None)
        for ref in filter(None, refs):
            key = ref.rsplit("/", 1)[-1]
            if key in defs and key not in seen:
                yield from _walk(defs[key], defs, f"{path}.", seen | {key})


def personal_fields(registries: Mapping[str, EventRegistry]) -> list[PersonalField]:
    found: list[PersonalField] = []
    for service, registry in sorted(registries.items()):
        for model in registry.models():
            schema = model.model_json_schema()
            for path, marked in _walk(schema, schema.get("$defs", {}), "", frozenset()):
                found.append(
                    PersonalField(service, model.event_type, model.schema_version, path, marked)
                )
    return found
