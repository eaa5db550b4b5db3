"""The contracts a non-Python client uses: event schemas, AsyncAPI, OpenAPI (contracts/).

Everything under contracts/ except ``published.json`` is generated from code:
one JSON Schema per event type and schema version (from the pydantic models of
every service registry), the envelope schema, an AsyncAPI document of the Kafka
topics and one OpenAPI document per service. The files are checked in;
``check`` (a contract test, ``make contracts`` to fix) fails when they drift
from the code, and when a schema listed in ``published.json`` changed: a
published version is frozen, a new shape needs a new schema_version and an
upcaster (ARCHITECTURE.md "Contracts").

    python -m gongkai.contracts write [--publish]   # regenerate (and freeze)
    python -m gongkai.contracts check               # exit 1 with the differences
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from shared.envelope import RecordedEvent
from shared.registry import DomainEvent, EventRegistry

JSON = dict[str, Any]

REPO_ROOT = Path(__file__).resolve().parents[1]

EVENTS_DIR = "contracts/events"
OPENAPI_DIR = "contracts/openapi"
ASYNCAPI_FILE = "contracts/asyncapi.yaml"
PUBLISHED_FILE = "contracts/published.json"
ENVELOPE_FILE = f"{EVENTS_DIR}/envelope.v1.json"
ENVELOPE_KEY = "envelope.v1"

# `$id` of a schema = this base + its path under contracts/. It names the schema,
# it is not a download address; relative `$ref`s between the files resolve the
# same way against it as against the files on disk.
SCHEMA_BASE_URI = "https://gongkai.example/contracts/"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
# Version of the wire contract (envelope, key, headers, topics), not of the suite.
WIRE_VERSION = "1.1.0"
DEV_BROKER = "127.0.0.1:19092"  # deploy/kafka.sh, GONGKAI_KAFKA_PORT

# The topics with the default prefix (GONGKAI_TOPIC_PREFIX may separate environments
# on one cluster); the contract test holds shared/kafka.py to the same names.
TOPIC_PREFIX = "gongkai"
DLQ_TOPIC = f"{TOPIC_PREFIX}.dlq"

# The service registries contracts/ is generated from: (module, required).
# A missing optional module is skipped; a missing required one is an error.
_PUBLISHED_KEY = re.compile(r"^(?P<service>[^/]+)/(?P<type>[^/]+)\.v(?P<version>[0-9]+)$")


def topic_for(service: str) -> str:
    """The Kafka topic the relay publishes a service's events to."""
    return f"{TOPIC_PREFIX}.{service}.events"


def all_registries() -> list[EventRegistry]:
    """The event registries of every service that exists (shared.service.discover)."""
    from shared.service import discover

    registries = [definition.registry for definition in discover().values()]
    _refuse_duplicates(registries)
    return sorted(registries, key=lambda registry: registry.service)


def _names_module(exc: ModuleNotFoundError, module_name: str) -> bool:
    parts = module_name.split(".")
    prefixes = {".".join(parts[: i + 1]) for i in range(len(parts))}
    return exc.name in prefixes


def _refuse_duplicates(registries: Sequence[EventRegistry]) -> None:
    owner: dict[str, str] = {}
    services = [registry.service for registry in registries]
    if len(set(services)) != len(services):
        raise ValueError(f"a service has two registries: {services}")
    for registry in registries:
        for model in registry.models():
            first = owner.setdefault(model.event_type, registry.service)
            if first != registry.service:
                raise ValueError(
                    f"event type {model.event_type} registered by both {first} "
                    f"and {registry.service}"
                )


def _registries(registries: Iterable[EventRegistry] | None) -> list[EventRegistry]:
    if registries is None:
        return all_registries()
    return sorted(registries, key=lambda registry: registry.service)


# Kafka headers the relay sets on every event message (values are UTF-8 strings).
_EVENT_HEADERS: dict[str, JSON] = {
    "type": {"type": "string", "description": "event type, as the envelope's `type`"},
    "schema_version": {
        "type": "string",
        "pattern": "^[1-9][0-9]*$",
        "description": "schema version in decimal digits, as the envelope's `schema_version`",
    },
    "tenant": {
        "type": "string",
        "description": "organisation path, e.g. shangdang/sudian/party-office",
    },
    "event_id": {"type": "string", "format": "uuid", "description": "UUIDv7 of the event"},
    "traceparent": {
        "type": "string",
        "pattern": "^00-[0-9a-f]{32}-[0-9a-f]{16}-01$",
        "description": "W3C trace context: the trace id is the envelope's correlation_id "
        "(32 hex digits), the parent span id the event's (its event_id's low 64 bits)",
    },
}

# Kafka headers a consumer sets when it parks a message on the dead-letter topic.
_DLQ_HEADERS: dict[str, JSON] = {
    "dlq.reason": {"type": "string", "description": "why the message was not handled"},
    "dlq.topic": {"type": "string", "description": "topic the message was read from"},
    "dlq.partition": {
        "type": "string",
        "pattern": "^[0-9]+$",
        "description": "partition it was read from, decimal",
    },
    "dlq.offset": {
        "type": "string",
        "pattern": "^[0-9]+$",
        "description": "offset it was read at, decimal",
    },
    "dlq.consumer": {"type": "string", "description": "consumer group that gave up on it"},
}


# --- event schemas -------------------------------------------------------------------


def event_schema_path(service: str, event_type: str, version: int) -> str:
    """Relative path (from the repository root) of one event type's schema at one version."""
    return f"{EVENTS_DIR}/{service}/{event_type}.v{version}.json"


def schema_id(path: str) -> str:
    """The `$id` of the schema stored at `path` (relative to the repository root)."""
    return SCHEMA_BASE_URI + path.removeprefix("contracts/")


def _event_schema(model: type[DomainEvent], service: str) -> JSON:
    path = event_schema_path(service, model.event_type, model.schema_version)
    # Only facts fixed for this version go in: anything that changes when a
    # later version appears (e.g. "is current") would break a published schema.
    return {
        **model.model_json_schema(),
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(path),
        "title": model.event_type,
        "x-gongkai": {
            "service": service,
            "event_type": model.event_type,
            "stream_type": model.stream_type,
            "schema_version": model.schema_version,
            "topic": topic_for(service),
        },
    }


def envelope_schema() -> JSON:
    """The schema of the whole Kafka message value (RecordedEvent)."""
    return {
        **RecordedEvent.model_json_schema(),
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(ENVELOPE_FILE),
        "title": "RecordedEvent",
        "x-gongkai": {
            "envelope_version": 1,
            "encoding": (
                "canonical JSON of the whole envelope: keys sorted, no whitespace, "
                "UTF-8 (not \\u-escaped), times in UTC with Z"
            ),
            "kafka_key": "stream_id, UTF-8",
        },
    }


def event_schemas(registries: Iterable[EventRegistry] | None = None) -> dict[str, JSON]:
    """Relative path -> JSON Schema: every event type at every version, plus the envelope."""
    schemas: dict[str, JSON] = {ENVELOPE_FILE: envelope_schema()}
    for registry in _registries(registries):
        for model in registry.models():
            path = event_schema_path(registry.service, model.event_type, model.schema_version)
            schemas[path] = _event_schema(model, registry.service)
    return schemas


# --- AsyncAPI ------------------------------------------------------------------------


def _relative_ref(path: str) -> str:
    """A `$ref` from contracts/asyncapi.yaml to another file under contracts/."""
    return "./" + path.removeprefix("contracts/")


def _message_id(model: type[DomainEvent]) -> str:
    return f"{model.event_type}.v{model.schema_version}"


def _event_message(model: type[DomainEvent], service: str) -> JSON:
    headers: JSON = {
        "type": "object",
        # traceparent is newer than the topics: records relayed before it lack it
        "required": [name for name in _EVENT_HEADERS if name != "traceparent"],
        "properties": {name: dict(schema) for name, schema in _EVENT_HEADERS.items()},
    }
    headers["properties"]["type"]["const"] = model.event_type
    headers["properties"]["schema_version"]["const"] = str(model.schema_version)
    path = event_schema_path(service, model.event_type, model.schema_version)
    summary = (model.__doc__ or model.event_type).strip().splitlines()[0]
    return {
        "name": model.event_type,
        "title": f"{model.event_type} v{model.schema_version}",
        "summary": summary,
        "contentType": "application/json",
        "headers": headers,
        "payload": {
            "allOf": [
                {"$ref": _relative_ref(ENVELOPE_FILE)},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": model.event_type},
                        "schema_version": {"const": model.schema_version},
                        "stream_type": {"const": model.stream_type},
                        "payload": {"$ref": _relative_ref(path)},
                    },
                },
            ]
        },
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "stream_id of the event, UTF-8"},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _dlq_message() -> JSON:
    return {
        "name": "DeadLetter",
        "title": "Dead letter",
        "summary": "A message a consumer could not decode or handle; the consumer went on.",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "required": list(_DLQ_HEADERS),
            "properties": {name: dict(schema) for name, schema in _DLQ_HEADERS.items()},
        },
        "payload": {
            "description": (
                "the original message value, byte for byte: usually an envelope from the "
                "topic in dlq.topic, but it may be the very bytes that could not be decoded"
            )
        },
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": "the original message key (normally the stream_id)",
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _kafka_channel_binding(topic: str) -> JSON:
    return {"kafka": {"topic": topic, "bindingVersion": KAFKA_BINDING_VERSION}}


def asyncapi(registries: Iterable[EventRegistry] | None = None) -> JSON:
    """The AsyncAPI 3.0 document of every topic: channels, messages, keys, headers."""
    channels: JSON = {}
    operations: JSON = {}
    messages: JSON = {}
    for registry in _registries(registries):
        service = registry.service
        topic = topic_for(service)
        channel_messages: JSON = {}
        for model in registry.models():
            component = f"{service}.{_message_id(model)}"
            messages[component] = _event_message(model, service)
            channel_messages[_message_id(model)] = {"$ref": f"#/components/messages/{component}"}
        channels[topic] = {
            "address": topic,
            "title": f"{service} events",
            "description": (
                f"Every recorded event of the {service} service, in store position order "
                "per stream. Key = stream_id, so one stream stays in one partition. "
                "Historic schema versions stay on the topic: read them with their own schema "
                "or upcast them."
            ),
            "messages": channel_messages,
            "bindings": _kafka_channel_binding(topic),
        }
        message_refs = [
            {"$ref": f"#/channels/{topic}/messages/{message_id}"} for message_id in channel_messages
        ]
        operations[f"{service}.publish"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{topic}"},
            "summary": f"The relay publishes each recorded {service} event (at least once).",
            "messages": message_refs,
        }
        operations[f"{service}.consume"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{topic}"},
            "summary": (
                f"Projections and other services read {service} events; a consumer is "
                "idempotent by event_id and parks what it cannot handle on gongkai.dlq."
            ),
            "messages": [dict(ref) for ref in message_refs],
        }
    messages["DeadLetter"] = _dlq_message()
    channels[DLQ_TOPIC] = {
        "address": DLQ_TOPIC,
        "title": "dead letters",
        "description": "Messages a consumer parked with the reason; the consumer went on.",
        "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
        "bindings": _kafka_channel_binding(DLQ_TOPIC),
    }
    dlq_ref = {"$ref": f"#/channels/{DLQ_TOPIC}/messages/DeadLetter"}
    operations["dlq.park"] = {
        "action": "send",
        "channel": {"$ref": f"#/channels/{DLQ_TOPIC}"},
        "summary": "A consumer parks a message it cannot decode or handle, then goes on.",
        "messages": [dict(dlq_ref)],
    }
    operations["dlq.inspect"] = {
        "action": "receive",
        "channel": {"$ref": f"#/channels/{DLQ_TOPIC}"},
        "summary": "Operators read parked messages to fix and replay them.",
        "messages": [dict(dlq_ref)],
    }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "gongkai events",
            "version": WIRE_VERSION,
            "description": (
                "Domain events of the gongkai suite on Kafka. Each message value is the "
                "canonical JSON of the whole envelope (events/envelope.v1.json); its "
                "`payload` follows the schema of its type and schema_version "
                "(events/<service>/<EventType>.v<N>.json)."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": DEV_BROKER,
                "protocol": "kafka",
                "description": "the development broker of deploy/kafka.sh",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


# --- OpenAPI -------------------------------------------------------------------------


def openapi_documents() -> dict[str, JSON] | None:
    """Service name -> OpenAPI document, or None while the app does not provide them yet."""
    try:
        module = importlib.import_module("gongkai.app")
    except ModuleNotFoundError as exc:
        if not _names_module(exc, "gongkai.app"):
            raise  # the app exists but is broken: fail loudly, do not skip
        return None
    factory = getattr(module, "create_openapi_documents", None)
    if factory is None:
        return None
    documents: dict[str, JSON] = factory()
    return documents


def openapi_path(service: str) -> str:
    return f"{OPENAPI_DIR}/{service}.json"


def _openapi_files(docs: dict[str, JSON]) -> dict[str, str]:
    return {openapi_path(service): render_json(doc) for service, doc in sorted(docs.items())}


def write_openapi(docs: dict[str, JSON], root: Path) -> list[Path]:
    """Write contracts/openapi/<service>.json for each document; return the paths."""
    written = []
    for rel, text in _openapi_files(docs).items():
        path = root / rel
        _write_text(path, text)
        written.append(path)
    return written


# --- the file set --------------------------------------------------------------------


def render_json(document: JSON) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class _NoAliasDumper(yaml.SafeDumper):
    """Plain YAML: repeated sub-documents are written out, never as &anchors/*aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render_yaml(document: JSON) -> str:
    text: str = yaml.dump(
        document,
        Dumper=_NoAliasDumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=100,
    )
    return text


def _expected(root: Path) -> tuple[dict[Path, str], list[Path]]:
    """The generated files (path -> text) and the folders whose other files are stale."""
    registries = all_registries()
    files = {rel: render_json(schema) for rel, schema in event_schemas(registries).items()}
    files[ASYNCAPI_FILE] = render_yaml(asyncapi(registries))
    managed = [root / EVENTS_DIR]
    docs = openapi_documents()
    if docs is not None:
        files.update(_openapi_files(docs))
        managed.append(root / OPENAPI_DIR)
    return {root / rel: text for rel, text in files.items()}, managed


def generate(root: Path) -> dict[Path, str]:
    """Every generated contract file under `root` with its exact text."""
    return _expected(root)[0]


def _stale(expected: dict[Path, str], managed: list[Path]) -> list[Path]:
    return sorted(
        path
        for folder in managed
        if folder.is_dir()
        for path in folder.rglob("*")
        if path.is_file() and path not in expected
    )


def _write_text(path: Path, text: str) -> bool:
    data = text.encode("utf-8")
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def write(root: Path, *, publish: bool = False) -> list[str]:
    """Bring contracts/ in line with the code; with `publish`, freeze the current schemas.

    Returns what was done, one line per file.
    """
    expected, managed = _expected(root)
    done = [
        f"wrote {_rel(path, root)}" for path, text in expected.items() if _write_text(path, text)
    ]
    for path in _stale(expected, managed):
        path.unlink()
        done.append(f"removed {_rel(path, root)}")
    if publish:
        done.extend(f"published {key}" for key in publish_schemas(root, expected))
    return done


# --- published versions --------------------------------------------------------------


def schema_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def published_key(rel: str) -> str:
    """``contracts/events/applications/X.v1.json`` -> ``applications/X.v1``."""
    return rel.removeprefix(EVENTS_DIR + "/").removesuffix(".json")


def _published_rel(key: str) -> str:
    return f"{EVENTS_DIR}/{key}.json"


def read_published(root: Path) -> dict[str, str]:
    path = root / PUBLISHED_FILE
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError(f"{PUBLISHED_FILE} must map schema keys to sha256 hex digests")
    return data


def publish_schemas(root: Path, expected: dict[Path, str] | None = None) -> list[str]:
    """Add every current event schema to published.json; existing entries are never changed."""
    if expected is None:
        expected = generate(root)
    published = read_published(root)
    events = root / EVENTS_DIR
    added = []
    for path, text in sorted(expected.items()):
        if events not in path.parents:
            continue
        key = published_key(_rel(path, root))
        if key not in published:
            published[key] = schema_digest(text)
            added.append(key)
    if added:
        _write_text(root / PUBLISHED_FILE, render_json(published))
    return added


def _published_problems(root: Path, expected: dict[Path, str]) -> list[str]:
    try:
        published = read_published(root)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        return [f"{PUBLISHED_FILE} unreadable: {exc}"]
    latest: dict[str, int] = {}
    for path in expected:
        match = _PUBLISHED_KEY.match(published_key(_rel(path, root)))
        if match:
            event_type, version = match["type"], int(match["version"])
            latest[event_type] = max(latest.get(event_type, 0), version)
    problems = []
    for key, digest in sorted(published.items()):
        text = expected.get(root / _published_rel(key))
        if text is None:
            problems.append(
                f"published schema {key} removed: old events must stay readable; "
                "keep its model with register_historic and an upcaster"
            )
        elif digest not in (schema_digest(text), schema_digest(_without_personal_marks(text))):
            problems.append(_changed_message(key, latest))
    return problems


def _without_personal_marks(text: str) -> str:
    """The schema as it was generated before its fields were marked `"personal"`.

    The mark (shared/fields.py, docs/audit.md) is an annotation: it changes no payload's
    validity, so marking a field of a published version is not a new shape. Only adding
    marks is tolerated; a published schema that already held a mark keeps it.
    """

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "personal"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return render_json(strip(json.loads(text)))


def _changed_message(key: str, latest: dict[str, int]) -> str:
    if key == ENVELOPE_KEY:  # the frame of every message on every topic
        return (
            f"published schema {key} changed: the envelope is the wire format of every "
            "topic; keep it unchanged or agree a new envelope version with every consumer"
        )
    match = _PUBLISHED_KEY.match(key)
    if match is None:
        return f"published schema {key} changed"
    next_version = max(latest.get(match["type"], 0), int(match["version"])) + 1
    return (
        f"published schema {key} changed: "
        f"add schema_version {next_version} with an upcaster instead"
    )


# --- check ---------------------------------------------------------------------------


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def check(root: Path) -> list[str]:
    """Differences between contracts/ under `root` and the code; empty when in line."""
    expected, managed = _expected(root)
    problems = []
    for path, text in sorted(expected.items()):
        if not path.is_file():
            problems.append(f"missing {_rel(path, root)}")
        elif path.read_bytes() != text.encode("utf-8"):
            problems.append(f"changed {_rel(path, root)}")
    problems.extend(f"stale {_rel(path, root)}" for path in _stale(expected, managed))
    problems.extend(_published_problems(root, expected))
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gongkai.contracts", description="Generate or check contracts/."
    )
    parser.add_argument("command", choices=["write", "check"])
    parser.add_argument(
        "--publish",
        action="store_true",
        help="write: also freeze every current event schema in contracts/published.json",
    )
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    if args.command == "write":
        for line in write(root, publish=args.publish):
            print(line)
        return 0
    if args.publish:
        parser.error("--publish goes with write")
    problems = check(root)
    if problems:
        print("contracts/ differs from the code:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print(
            "run `make contracts` to regenerate; a changed published schema needs a new "
            "schema_version and an upcaster instead",
            file=sys.stderr,
        )
        return 1
    print("contracts/ is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
