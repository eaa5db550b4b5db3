"""Pure rules of the audit service: the link hash, time keys, trail queries (issue #8)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.audit import chain, completeness
from services.audit.cli import parse_time
from services.audit.trail import TrailQuery
from shared.errors import ValidationFailed

hashes = st.binary(min_size=32, max_size=32).map(bytes.hex)


def test_the_first_link_hashes_the_event_after_32_zero_bytes() -> None:
    body = b'{"type":"RequestRegistered"}'
    assert chain.link_hash(chain.GENESIS, body) == hashlib.sha256(bytes(32) + body).hexdigest()


@given(prev=hashes, body=st.binary(min_size=1, max_size=200), flip=st.integers(0, 10_000))
def test_changing_any_byte_of_the_event_changes_the_link(prev: str, body: bytes, flip: int) -> None:
    i = flip % len(body)
    altered = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]
    assert chain.link_hash(prev, altered) != chain.link_hash(prev, body)


@given(a=hashes, b=hashes, body=st.binary(max_size=100))
def test_the_link_depends_on_the_previous_hash(a: str, b: str, body: bytes) -> None:
    assert (chain.link_hash(a, body) == chain.link_hash(b, body)) == (a == b)


@given(
    x=st.datetimes(timezones=st.just(UTC), min_value=datetime(2000, 1, 1)),
    y=st.datetimes(timezones=st.just(UTC), min_value=datetime(2000, 1, 1)),
)
def test_time_keys_sort_like_the_instants(x: datetime, y: datetime) -> None:
    assert (chain.time_key(x) < chain.time_key(y)) == (x < y)


def test_a_time_without_zone_is_beijing_time() -> None:
    assert parse_time("2026-06-30 17:00") == datetime(2026, 6, 30, 9, 0, tzinfo=UTC)
    assert parse_time("2026-06-30T17:00:00+00:00") == datetime(2026, 6, 30, 17, tzinfo=UTC)
    assert parse_time("2026-06-30T17:00").tzinfo is UTC
    assert parse_time("2026-06-30T17:00+08:00").utcoffset() == timedelta(0)


def test_a_trail_needs_a_stream_an_actor_or_a_tenant() -> None:
    with pytest.raises(ValidationFailed) as err:
        TrailQuery().validate()
    assert err.value.rule == "trail.subject_missing"


def test_a_trail_period_must_not_be_reversed() -> None:
    start = datetime(2026, 7, 1, tzinfo=UTC)
    with pytest.raises(ValidationFailed) as err:
        TrailQuery(tenant="shangdang", start=start, end=start - timedelta(days=1)).validate()
    assert err.value.rule == "trail.period_reversed"


def test_a_tenant_trail_covers_the_subtree_and_the_callers_scope() -> None:
    sql, args = TrailQuery(tenant="shangdang/sudian", scope="shangdang").sql(0, 10)
    assert "tenant = $2 OR tenant LIKE $3" in sql
    assert "tenant = $4 OR tenant LIKE $5" in sql
    assert args == [0, "shangdang/sudian", r"shangdang/sudian/%", "shangdang", "shangdang/%", 10]


def test_completeness_totals_per_service() -> None:
    periods = [
        completeness.Period("applications", "2026-06-30", 3, 2, missing=["e3"]),
        completeness.Period("applications", "2026-07-01", 1, 1),
        completeness.Period("platform", "2026-07-01", 1, 1),
    ]
    assert completeness.summarize(periods) == {
        "applications": {"in_store": 4, "in_chain": 3, "missing": 1, "unknown": 0},
        "platform": {"in_store": 1, "in_chain": 1, "missing": 0, "unknown": 0},
    }
    assert not periods[0].complete and periods[1].complete


def test_settling_leaves_out_events_still_in_flight() -> None:
    now = datetime(2026, 7, 1, 12, tzinfo=UTC)
    assert completeness.settle_end(None, now, 5) == now - timedelta(seconds=5)
    early = now - timedelta(days=1)
    assert completeness.settle_end(early, now, 5) == early


def test_personal_fields_are_found_marked_or_by_their_name() -> None:
    from pydantic import BaseModel, Field

    from services.audit.personal import personal_fields
    from shared.registry import DomainEvent, EventRegistry

    class Contact(BaseModel):
        phone: str
        township: str

    registry = EventRegistry(service="test")

    @registry.register
    class MessageReceived(DomainEvent):
        event_type = "MessageReceived"
        stream_type = "message"

        text: str = Field(json_schema_extra={"personal": True})
        contact: Contact
        name: str = Field(json_schema_extra={"personal": False})  # e.g. a column's name
        channel: str

    found = {(f.path, f.personal) for f in personal_fields({"test": registry})}
    assert found == {
        ("text", True),
        ("name", False),
        ("contact", None),
        ("contact.phone", None),
    }


def test_every_likely_personal_field_of_every_event_is_decided() -> None:
    """The inventory a crypto-shredding step needs (issue #8, docs/audit.md): every field
    whose name suggests personal data is marked personal or reviewed as not personal."""
    from services.audit.personal import personal_fields
    from shared.service import discover

    fields = personal_fields({n: d.registry for n, d in discover().items()})
    undecided = [f"{f.service}/{f.event_type}.v{f.schema_version} {f.path}" for f in fields]
    undecided = [u for u, f in zip(undecided, fields, strict=True) if f.personal is None]
    assert undecided == []
    personal = {(f.event_type, f.path) for f in fields if f.personal}
    assert {
        ("RequestRegistered", "applicant.name"),
        ("RequestRegistered", "applicant.id_document"),
        ("RequestRegistered", "applicant.phone"),
        ("RequestRegistered", "applicant.email"),
        ("RequestRegistered", "applicant.address"),
        ("MessageReceived", "citizen.name"),
        ("MessageReceived", "citizen.phone"),
        ("MessageReceived", "text"),
        ("PersonalDataRead", "subject_ref"),
    } <= personal


def test_the_replay_progress_bar_shows_share_count_and_rate() -> None:
    from services.audit.replay import progress_line

    line = progress_line("applications.request_ledger", 12_400, 20_000, 8123.4, width=10)
    assert line == (
        "applications.request_ledger [######....]  62%  12,400/20,000 events  8,123 events/s"
    )
    assert "[##########] 100%" in progress_line("x", 7, 5, 1.0, width=10)  # never past full
    assert "[##########] 100%" in progress_line("x", 0, 0, 0.0, width=10)  # an empty log
