"""contracts/ is what the code produces, published schemas stay frozen, payloads fit them.

ARCHITECTURE.md "Contracts": one JSON Schema per event type and version, checked
in; a test fails when models and checked-in schemas differ and when a published
version changes; a new shape is a new schema_version plus an upcaster.
"""

from __future__ import annotations

import importlib
import json
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from gongkai import contracts
from services.applications.events import (
    Applicant,
    ApplicantKind,
    Channel,
    DeadlineBasis,
    DeliveryChannel,
    RegistrationNumberIssued,
    RequestAssigned,
    RequestedForm,
    RequestRegistered,
)
from shared import kafka
from shared.envelope import Actor, RecordedEvent
from shared.registry import DomainEvent, EventRegistry
from shared.service import discover
from shared.workdays import WorkdayCalendar, YearCalendar

REQUEST_ID = UUID("01936f0e-7c1a-7b3e-9d42-5a1e0c2f8b01")
TENANT = "shangdang/sudian/party-office"

# --- realistic examples, one per event type and version ------------------------------


def request_registered() -> RequestRegistered:
    """张三 asks 苏店镇 online for its 2025 budget execution; clocks from the real calendar."""
    calendar = WorkdayCalendar.default()
    received = date(2026, 2, 10)
    reply = calendar.add_workdays(received, 20)  # 条例 Art. 33
    correction = calendar.add_workdays(received, 7)  # 条例 Art. 30
    return RequestRegistered(
        request_id=REQUEST_ID,
        number="苏店〔2026〕1号",
        year=2026,
        sequence=1,
        channel=Channel.online,
        submitted_on=received,
        received_on=received,
        applicant=Applicant(
            kind=ApplicantKind.natural_person,
            name="张三",
            id_document="居民身份证 140421199003150012",
            phone="13903551234",
            email="zhangsan@example.com",
            address="山西省长治市上党区苏店镇府前街8号",
        ),
        description="申请公开苏店镇2025年财政预算执行情况",
        requested_form=RequestedForm.electronic,
        delivery_channel=DeliveryChannel.email,
        correction_notice_due=correction.due,
        reply_due=reply.due,
        reply_deadline=DeadlineBasis(
            start=reply.start,
            working_days=reply.days,
            due=reply.due,
            provisional=reply.provisional,
            calendars=[f"{y.year}: {y.source} v{y.version}" for y in reply.years],
        ),
    )


def registration_number_issued() -> RegistrationNumberIssued:
    return RegistrationNumberIssued(
        year=2026, sequence=1, number="苏店〔2026〕1号", request_id=REQUEST_ID
    )


def request_assigned() -> RequestAssigned:
    return RequestAssigned(request_id=REQUEST_ID, handler="sudian.wangfang", previous_handler=None)


def workday_calendar_published() -> DomainEvent:
    from services.platform.events import WorkdayCalendarPublished

    # The State Council's 2026 schedule: weekday holidays and weekend make-up workdays.
    holidays = ["01-01", "01-02", "02-16", "02-17", "02-18", "02-19", "02-20", "02-23"]
    holidays += ["04-06", "05-01", "05-04", "05-05", "06-19", "09-25"]
    holidays += ["10-01", "10-02", "10-05", "10-06", "10-07"]
    makeup = ["01-04", "02-14", "02-28", "05-09", "09-20", "10-10"]
    return WorkdayCalendarPublished(
        calendar=YearCalendar(
            year=2026,
            holidays=frozenset(date.fromisoformat(f"2026-{day}") for day in holidays),
            makeup_workdays=frozenset(date.fromisoformat(f"2026-{day}") for day in makeup),
            source="国务院办公厅关于2026年部分节假日安排的通知",
            version=1,
        )
    )


EXAMPLES: dict[str, Callable[[], DomainEvent]] = {
    "applications/RequestRegistered.v1": request_registered,
    "applications/RegistrationNumberIssued.v1": registration_number_issued,
    "applications/RequestAssigned.v1": request_assigned,
    "platform/WorkdayCalendarPublished.v1": workday_calendar_published,
}


def _service_examples() -> dict[str, Callable[[], DomainEvent]]:
    """Each service's own `services/<name>/examples.py` EXAMPLES (keys service/Type.vN)."""
    found: dict[str, Callable[[], DomainEvent]] = {}
    for name in discover():
        try:
            module = importlib.import_module(f"services.{name}.examples")
        except ModuleNotFoundError as exc:
            if exc.name != f"services.{name}.examples":
                raise
            continue
        found.update(getattr(module, "EXAMPLES", {}))
    return found


EXAMPLES.update(_service_examples())


def recorded(event: DomainEvent, stream_id: str, **overrides: Any) -> RecordedEvent:
    """The envelope the store would give `event` (as the relay publishes it)."""
    fields: dict[str, Any] = {
        "event_id": UUID("01936f0e-7c1b-7000-8000-000000000001"),
        "stream_id": stream_id,
        "stream_type": event.stream_type,
        "version": 1,
        "position": 1,
        "type": event.event_type,
        "schema_version": event.schema_version,
        "tenant": TENANT,
        "actor": Actor(id="sudian.wangfang", kind="user", role="handler"),
        "correlation_id": UUID("01936f0e-7c1b-7000-8000-000000000002"),
        "causation_id": None,
        "occurred_at": datetime(2026, 2, 10, 1, 30, tzinfo=UTC),
        "recorded_at": datetime(2026, 2, 10, 1, 30, 1, tzinfo=UTC),
        "payload": event.model_dump(mode="json"),
    }
    return RecordedEvent(**(fields | overrides))


def schema_registry() -> Registry:
    """Every generated schema under its `$id`, so relative `$ref`s resolve offline."""
    resources = [
        (schema["$id"], Resource.from_contents(schema))
        for schema in contracts.event_schemas().values()
    ]
    return Registry().with_resources(resources)


def event_keys() -> list[str]:
    return sorted(
        contracts.published_key(rel)
        for rel in contracts.event_schemas()
        if rel != contracts.ENVELOPE_FILE
    )


@pytest.fixture
def tmp_root(tmp_path: Path) -> Path:
    """A copy of the repository's contracts/ in a tmp root (published.json included)."""
    shutil.copytree(contracts.REPO_ROOT / "contracts", tmp_path / "contracts")
    return tmp_path


# --- (1) checked in == generated -----------------------------------------------------


def test_checked_in_contracts_equal_the_generated_ones() -> None:
    problems = contracts.check(contracts.REPO_ROOT)
    assert not problems, (
        "contracts/ differs from the code; run `make contracts` "
        "(a changed published schema needs a new schema_version and an upcaster):\n  "
        + "\n  ".join(problems)
    )


def test_check_reports_missing_changed_and_stale_files(tmp_root: Path) -> None:
    assert contracts.check(tmp_root) == []
    (tmp_root / contracts.ASYNCAPI_FILE).unlink()
    changed = tmp_root / "contracts/events/applications/RequestAssigned.v1.json"
    changed.write_text(changed.read_text(encoding="utf-8") + " ", encoding="utf-8")
    stale = tmp_root / "contracts/events/applications/RequestWithdrawn.v1.json"
    stale.write_text("{}\n", encoding="utf-8")

    assert contracts.check(tmp_root) == [
        "missing contracts/asyncapi.yaml",
        "changed contracts/events/applications/RequestAssigned.v1.json",
        "stale contracts/events/applications/RequestWithdrawn.v1.json",
    ]
    contracts.write(tmp_root)
    assert contracts.check(tmp_root) == []
    assert not stale.exists()


def test_cli_check_exits_1_with_the_differences(
    tmp_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_root / contracts.ENVELOPE_FILE).unlink()
    assert contracts.main(["check", "--root", str(tmp_root)]) == 1
    err = capsys.readouterr().err
    assert "missing contracts/events/envelope.v1.json" in err
    assert "make contracts" in err
    assert contracts.main(["write", "--root", str(tmp_root)]) == 0
    assert contracts.main(["check", "--root", str(tmp_root)]) == 0


# --- (2) a published version is frozen -----------------------------------------------


def test_a_changed_published_schema_is_reported(tmp_root: Path) -> None:
    published_file = tmp_root / contracts.PUBLISHED_FILE
    published = json.loads(published_file.read_text(encoding="utf-8"))
    assert "applications/RequestRegistered.v1" in published
    # As if the v1 text had been published with other content than the model gives now.
    published["applications/RequestRegistered.v1"] = contracts.schema_digest("{}\n")
    published_file.write_text(json.dumps(published), encoding="utf-8")

    assert contracts.check(tmp_root) == [
        "published schema applications/RequestRegistered.v1 changed: "
        "add schema_version 2 with an upcaster instead"
    ]


def test_marking_a_published_field_personal_is_no_new_shape_but_other_edits_are(
    tmp_root: Path,
) -> None:
    """A `"personal"` mark (docs/audit.md) is an annotation: RequestRegistered v1 was
    published before its applicant fields were marked, and its digest still matches. Any
    other edit of the published text, a description included, is a changed schema."""
    key = "applications/RequestRegistered.v1"
    path = tmp_root / "contracts/events" / f"{key}.json"
    text = path.read_text(encoding="utf-8")
    assert '"personal": true' in text
    published_file = tmp_root / contracts.PUBLISHED_FILE
    published = json.loads(published_file.read_text(encoding="utf-8"))

    def unmarked(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: unmarked(v) for k, v in node.items() if k != "personal"}
        return [unmarked(v) for v in node] if isinstance(node, list) else node

    as_published = contracts.render_json(unmarked(json.loads(text)))
    assert published[key] == contracts.schema_digest(as_published)
    assert contracts.check(tmp_root) == []

    edited = json.loads(as_published)
    edited["properties"]["applicant"]["description"] = "申请人"
    published[key] = contracts.schema_digest(contracts.render_json(edited))
    published_file.write_text(json.dumps(published), encoding="utf-8")
    assert contracts.check(tmp_root) == [
        f"published schema {key} changed: add schema_version 2 with an upcaster instead"
    ]


def test_a_removed_published_schema_is_reported(tmp_root: Path) -> None:
    published_file = tmp_root / contracts.PUBLISHED_FILE
    published = json.loads(published_file.read_text(encoding="utf-8"))
    published["applications/RequestWithdrawn.v1"] = contracts.schema_digest("{}\n")
    published_file.write_text(json.dumps(published), encoding="utf-8")

    problems = contracts.check(tmp_root)
    assert len(problems) == 1
    assert problems[0].startswith("published schema applications/RequestWithdrawn.v1 removed")


def test_publish_adds_new_schemas_and_never_changes_existing_entries(tmp_root: Path) -> None:
    published_file = tmp_root / contracts.PUBLISHED_FILE
    frozen = contracts.schema_digest("the text as it was published\n")
    published_file.write_text(
        json.dumps({"applications/RequestAssigned.v1": frozen}), encoding="utf-8"
    )

    added = contracts.publish_schemas(tmp_root)

    after = contracts.read_published(tmp_root)
    assert after["applications/RequestAssigned.v1"] == frozen
    assert "applications/RequestAssigned.v1" not in added
    assert set(added) == {*event_keys(), contracts.ENVELOPE_KEY} - {
        "applications/RequestAssigned.v1"
    }
    assert contracts.publish_schemas(tmp_root) == []


def test_every_current_schema_is_published() -> None:
    published = contracts.read_published(contracts.REPO_ROOT)
    unpublished = sorted({*event_keys(), contracts.ENVELOPE_KEY} - set(published))
    assert not unpublished, (
        f"not yet published: {unpublished}; run `python -m gongkai.contracts write --publish`"
    )


# --- (3) real payloads fit their schemas ---------------------------------------------


def test_every_event_schema_has_an_example() -> None:
    missing = sorted(set(event_keys()) - set(EXAMPLES))
    assert not missing, f"add an example for {missing} to services/<name>/examples.py EXAMPLES"


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_the_schema_validates_a_real_payload_of_its_model(key: str) -> None:
    schema = contracts.event_schemas()[f"{contracts.EVENTS_DIR}/{key}.json"]
    event = EXAMPLES[key]()
    assert f"{event.service}/{event.event_type}.v{event.schema_version}" == key
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    validator.validate(event.model_dump(mode="json"))


def test_the_schema_refuses_what_the_model_refuses() -> None:
    schema = contracts.event_schemas()[
        contracts.event_schema_path("applications", "RequestRegistered", 1)
    ]
    payload = request_registered().model_dump(mode="json")
    with pytest.raises(ValidationError):
        Draft202012Validator(schema).validate({**payload, "sequence": 0})
    with pytest.raises(ValidationError):  # extra="forbid"
        Draft202012Validator(schema).validate({**payload, "remark": "备注"})
    with pytest.raises(ValidationError):
        Draft202012Validator(schema).validate({**payload, "channel": "carrier_pigeon"})


def test_a_wire_message_validates_against_its_asyncapi_message() -> None:
    """What kcat prints for a RequestRegistered is valid for envelope and payload schema."""
    event = request_registered()
    message = recorded(event, stream_id=f"request-{REQUEST_ID}")
    component = contracts.asyncapi()["components"]["messages"]["applications.RequestRegistered.v1"]
    payload_schema = {**component["payload"], "$id": contracts.schema_id(contracts.ASYNCAPI_FILE)}
    validator = Draft202012Validator(payload_schema, registry=schema_registry())

    wire = json.loads(message.to_wire())
    validator.validate(wire)
    assert wire["payload"]["applicant"]["name"] == "张三"
    with pytest.raises(ValidationError):
        validator.validate({**wire, "type": "RequestAssigned"})
    with pytest.raises(ValidationError):
        validator.validate({**wire, "payload": {**wire["payload"], "year": "二〇二六"}})

    headers = component["headers"]
    relay_headers = {name: value.decode() for name, value in kafka.headers_of(message)}
    assert set(relay_headers) == set(headers["properties"])
    Draft202012Validator(headers, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(
        relay_headers
    )


# --- (4) the AsyncAPI document --------------------------------------------------------


def test_asyncapi_names_every_topic_and_every_registered_event_type() -> None:
    document = yaml.safe_load(
        (contracts.REPO_ROOT / contracts.ASYNCAPI_FILE).read_text(encoding="utf-8")
    )
    assert document["asyncapi"].startswith("3.0")
    channels = {channel["address"]: channel for channel in document["channels"].values()}
    components = document["components"]["messages"]
    registries = contracts.all_registries()
    assert {r.service for r in registries} >= {"applications", "platform"}
    for registry in registries:
        topic = f"gongkai.{registry.service}.events"
        assert topic in channels
        names = {
            components[ref["$ref"].rsplit("/", 1)[1]]["name"]
            for ref in channels[topic]["messages"].values()
        }
        assert names == {model.event_type for model in registry.models()}
        for message in channels[topic]["messages"].values():
            component = components[message["$ref"].rsplit("/", 1)[1]]
            assert component["bindings"]["kafka"]["key"]["type"] == "string"
            assert set(component["headers"]["properties"]) == {
                "type",
                "schema_version",
                "tenant",
                "event_id",
                "traceparent",
            }
            assert "traceparent" not in component["headers"]["required"]  # newer than topics
        actions = {
            op["action"]
            for op in document["operations"].values()
            if op["channel"]["$ref"] == f"#/channels/{topic}"
        }
        assert actions == {"send", "receive"}

    dlq = components[channels["gongkai.dlq"]["messages"]["DeadLetter"]["$ref"].rsplit("/", 1)[1]]
    assert set(dlq["headers"]["properties"]) == {
        "dlq.reason",
        "dlq.topic",
        "dlq.partition",
        "dlq.offset",
        "dlq.consumer",
    }


def test_the_relay_uses_the_documented_topics() -> None:
    assert kafka.topic_for("applications") == contracts.topic_for("applications")
    assert kafka.dlq_for() == contracts.DLQ_TOPIC


def test_every_asyncapi_file_reference_points_to_a_generated_schema() -> None:
    refs: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                refs.append(ref)
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(contracts.asyncapi())
    schemas = contracts.event_schemas()
    assert refs
    for ref in refs:
        assert "contracts/" + ref.removeprefix("./") in schemas


def test_asyncapi_yaml_is_plain_unicode_yaml() -> None:
    text = (contracts.REPO_ROOT / contracts.ASYNCAPI_FILE).read_text(encoding="utf-8")
    assert "&id" not in text and "*id" not in text  # no anchors or aliases
    assert "\\u" not in text
    assert yaml.safe_load(text) == contracts.asyncapi()


# --- (5) old events stay readable ----------------------------------------------------


class ReplySentV1(DomainEvent):
    """v1: the delivery method as free text."""

    event_type = "ReplySent"
    schema_version = 1
    stream_type = "request"

    request_id: UUID
    method: str
    sent_on: date


class ReplySent(DomainEvent):
    """v2: the delivery channel as the enum the request was registered with."""

    event_type = "ReplySent"
    schema_version = 2
    stream_type = "request"

    request_id: UUID
    delivery_channel: DeliveryChannel
    sent_on: date


_METHODS = {"邮寄": DeliveryChannel.post, "电子邮件": DeliveryChannel.email}


def reply_sent_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    rest = {k: v for k, v in payload.items() if k != "method"}
    return {**rest, "delivery_channel": _METHODS[payload["method"]].value}


def reply_registry() -> EventRegistry:
    registry = EventRegistry(service="testing")
    registry.register(ReplySent)
    registry.register_historic(ReplySentV1, reply_sent_v1_to_v2)
    return registry


def test_a_v1_event_is_upcast_to_the_current_model() -> None:
    registry = reply_registry()
    old = ReplySentV1(request_id=REQUEST_ID, method="邮寄", sent_on=date(2026, 3, 13))

    decoded = registry.decode(recorded(old, stream_id=f"request-{REQUEST_ID}"))

    assert decoded == ReplySent(
        request_id=REQUEST_ID, delivery_channel=DeliveryChannel.post, sent_on=date(2026, 3, 13)
    )


def test_both_versions_keep_their_own_schema() -> None:
    schemas = contracts.event_schemas([reply_registry()])
    v1 = schemas[contracts.event_schema_path("testing", "ReplySent", 1)]
    v2 = schemas[contracts.event_schema_path("testing", "ReplySent", 2)]
    old_payload = ReplySentV1(
        request_id=REQUEST_ID, method="电子邮件", sent_on=date(2026, 3, 13)
    ).model_dump(mode="json")

    Draft202012Validator(v1).validate(old_payload)
    with pytest.raises(ValidationError):
        Draft202012Validator(v2).validate(old_payload)
    Draft202012Validator(v2).validate(reply_sent_v1_to_v2(old_payload))
    channel = contracts.asyncapi([reply_registry()])["channels"]["gongkai.testing.events"]
    assert set(channel["messages"]) == {"ReplySent.v1", "ReplySent.v2"}


# --- registries and OpenAPI ----------------------------------------------------------


def test_write_openapi_writes_sorted_indented_unicode_json(tmp_path: Path) -> None:
    docs = {"applications": {"openapi": "3.1.0", "info": {"title": "依申请公开", "version": "1"}}}

    (path,) = contracts.write_openapi(docs, tmp_path)

    assert path == tmp_path / "contracts/openapi/applications.json"
    text = path.read_text(encoding="utf-8")
    assert (
        text
        == json.dumps(docs["applications"], indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    )
    assert "依申请公开" in text
