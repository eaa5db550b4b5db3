"""Personal fields in event schemas, for a later crypto-shredding step (docs/audit.md).

A service marks a field of its event model `Field(..., json_schema_extra=PERSONAL)` or,
where the name misleads, `NOT_PERSONAL` (shared/fields.py); the mark travels into
contracts/ (the JSON Schemas) as `"personal": true|false`, where any consumer can read it.
`personal_fields()` lists every marked field of every registered event and the
likely-personal fields nobody decided on yet (by name), so the inventory is complete
before erasure work starts; a unit test keeps the second list empty.
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
        "text",
        "location",
    }
)


@dataclass(frozen=True)
class PersonalField:
    service: str
    event_type: str
    schema_version: int
    path: str
    #: True: personal; False: reviewed, not personal; None: nobody decided yet.
    personal: bool | None

    @property
    def marked(self) -> bool:
        return self.personal is not None


def _walk(
    schema: Mapping[str, Any], defs: Mapping[str, Any], prefix: str, seen: frozenset[str]
) -> Iterator[tuple[str, bool | None]]:
    for name, prop in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        mark = prop.get("personal")
        if mark is not None or name in LIKELY_PERSONAL:
            yield path, None if mark is None else bool(mark)
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
            for path, mark in _walk(schema, schema.get("$defs", {}), "", frozenset()):
                found.append(
                    PersonalField(service, model.event_type, model.schema_version, path, mark)
                )
    return found


def personal_events(registries: Mapping[str, EventRegistry]) -> dict[tuple[str, str], list[str]]:
    """(service, event type) -> its fields marked personal, in any schema version: what a
    trail export of such an event shows (recorded as an access event, api.py)."""
    found: dict[tuple[str, str], set[str]] = {}
    for f in personal_fields(registries):
        if f.personal:
            found.setdefault((f.service, f.event_type), set()).add(f.path)
    return {key: sorted(paths) for key, paths in found.items()}
