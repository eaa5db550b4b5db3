"""依申请公开 registration through HTTP, the same behaviour in embedded and distributed mode.

Rules: DOMAIN.md §2 (条例 Arts. 29–31, 33), ARCHITECTURE.md "HTTP conventions",
"Tenancy, identity, authorization"; issue Foundation "The first vertical slice"
and "Bad input".
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from shared.identity import Role
from tests.e2e.conftest import SuiteHandle
from tests.e2e.factories import registration, today

SUDIAN = "shangdang/sudian"
HANDIAN = "shangdang/handian"


def handler(suite: SuiteHandle, org: str = SUDIAN) -> str:
    return suite.token("wang-tietong", org, Role.REQUEST_HANDLER, Role.ATTRIBUTE_OFFICER)


def listed(suite: SuiteHandle, token: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    with suite.client(token) as c:
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            page = c.get("/v1/requests", params=query).json()
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items


def test_registered_request_gets_its_number_and_reply_due_and_appears_in_the_ledger__art33(
    suite: SuiteHandle,
) -> None:
    token = handler(suite)
    with suite.client(token) as c:
        response = c.post("/v1/requests", json=registration())
    assert response.status_code == 201, response.text
    body = response.json()
    year = today().year
    assert body["number"].startswith(f"苏店〔{year}〕") and body["number"].endswith("号")
    assert response.headers["Location"] == f"/v1/requests/{body['request_id']}"
    assert response.headers["ETag"] == '"1"'
    # Art. 31: in person, the day submitted; Art. 33: 20 working days from then.
    assert body["received_on"] == (today() - timedelta(days=1)).isoformat()
    assert body["reply_deadline"]["working_days"] == 20
    assert body["reply_due"] > body["received_on"]

    def visible() -> dict[str, Any] | None:
        with suite.client(token) as c:
            r = c.get(f"/v1/requests/{body['request_id']}")
        return r.json() if r.status_code == 200 else None

    row = suite.eventually(visible)
    assert row["number"] == body["number"]
    assert row["status"] == "registered"
    assert row["applicant"]["name"] == "王秀英"
    assert row["reply_due"] == body["reply_due"]
    assert any(i["request_id"] == body["request_id"] for i in listed(suite, token))


def test_registration_numbers_have_no_gaps_and_no_duplicates_under_concurrency__s14(
    suite: SuiteHandle,
) -> None:
    """方案§14 登记(编号): 20 clerks registering at once still get 1..n, each once."""
    token = handler(suite, HANDIAN)

    def register(i: int) -> str:
        body = registration(tenant=HANDIAN, description=f"申请公开韩店镇第{i}号村务公开资料")
        with suite.client(token) as c:
            response = c.post("/v1/requests", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["number"])

    with ThreadPoolExecutor(10) as pool:
        numbers = list(pool.map(register, range(20)))
    assert len(set(numbers)) == 20
    rows = suite.eventually(
        lambda: (r := listed(suite, token, tenant=HANDIAN)) and len(r) >= 20 and r
    )
    sequences = sorted(int(r["number"].split("〕")[1].rstrip("号")) for r in rows)
    assert sequences == list(range(1, len(sequences) + 1))
    assert all(r["number"].startswith("韩店〔") for r in rows)


def test_registered_mail_counts_from_the_day_it_was_signed_for__art31(suite: SuiteHandle) -> None:
    signed = today() - timedelta(days=1)
    body = registration(
        channel="registered_mail",
        submitted_on=(signed - timedelta(days=3)).isoformat(),
        signed_on=signed.isoformat(),
    )
    with suite.client(handler(suite)) as c:
        response = c.post("/v1/requests", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["received_on"] == signed.isoformat()


def test_idempotency_key_replays_the_first_response_and_writes_once(suite: SuiteHandle) -> None:
    token = handler(suite)
    body = registration(description="申请公开苏店镇2026年重大行政决策事项目录")
    before = suite.head_position()
    with suite.client(token) as c:
        first = c.post("/v1/requests", json=body, headers={"Idempotency-Key": "k-2026-001"})
        again = c.post("/v1/requests", json=body, headers={"Idempotency-Key": "k-2026-001"})
        other = c.post(
            "/v1/requests",
            json={**body, "description": "另一项申请内容"},
            headers={"Idempotency-Key": "k-2026-001"},
        )
    assert first.status_code == 201 and again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422 and other.json()["rule"] == "idempotency_key.reused"
    assert suite.head_position() == before + 2  # the register number + the request


def test_applicant_identity_is_shown_only_to_roles_that_handle_requests(suite: SuiteHandle) -> None:
    with suite.client(handler(suite)) as c:
        created = c.post("/v1/requests", json=registration()).json()
    auditor = suite.token("liu-min", "shangdang", Role.AUDITOR)

    def seen_by_auditor() -> dict[str, Any] | None:
        with suite.client(auditor) as c:
            r = c.get(f"/v1/requests/{created['request_id']}")
        return r.json() if r.status_code == 200 else None

    row = suite.eventually(seen_by_auditor)
    assert row["applicant"] is None
    assert row["applicant_kind"] == "natural_person"


def test_cursor_pagination_walks_every_request_once(suite: SuiteHandle) -> None:
    token = handler(suite, "shangdang/yincheng")
    with suite.client(token) as c:
        for i in range(5):
            body = registration(tenant="shangdang/yincheng", description=f"申请公开荫城镇资料{i}")
            assert c.post("/v1/requests", json=body).status_code == 201
    suite.eventually(lambda: len(listed(suite, token, tenant="shangdang/yincheng")) >= 5)
    pages = []
    with suite.client(token) as c:
        cursor = None
        while True:
            page = c.get(
                "/v1/requests",
                params={
                    "tenant": "shangdang/yincheng",
                    "limit": 2,
                    **({"cursor": cursor} if cursor else {}),
                },
            ).json()
            pages.append([i["request_id"] for i in page["items"]])
            cursor = page["next_cursor"]
            if not cursor:
                break
    ids = [i for p in pages for i in p]
    assert len(ids) == len(set(ids)) == 5
    assert [len(p) for p in pages] == [2, 2, 1]


def test_assignment_with_a_stale_if_match_is_refused_412_and_writes_nothing(
    suite: SuiteHandle,
) -> None:
    token = handler(suite)
    with suite.client(token) as c:
        created = c.post("/v1/requests", json=registration()).json()
        path = f"/v1/requests/{created['request_id']}/assign"
        ok = c.post(path, json={"handler": "wang-tietong"}, headers={"If-Match": '"1"'})
        assert ok.status_code == 200, ok.text
        assert ok.headers["ETag"] == '"2"'
        before = suite.head_position()
        stale = c.post(path, json={"handler": "wang-tietong"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    problem = stale.json()
    assert problem["rule"] == "if_match.stale" and problem["field"] == "If-Match"
    assert suite.head_position() == before


# --- Bad input: a clear problem+json naming the field and the rule; no event written -----


def _refused(suite: SuiteHandle, token: str | None, send: Any) -> dict[str, Any]:
    before = suite.head_position()
    with suite.client(token) as c:
        response = send(c)
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    problem = response.json()
    problem["_status"] = response.status_code
    assert problem["message_zh"] and problem["message_en"] and problem["rule"]
    assert suite.head_position() == before, "a refused command must write no event"
    return problem


def test_malformed_json_is_400(suite: SuiteHandle) -> None:
    p = _refused(
        suite,
        handler(suite),
        lambda c: c.post(
            "/v1/requests",
            content=b'{"channel": "fax",',
            headers={"content-type": "application/json"},
        ),
    )
    assert (p["_status"], p["rule"], p["field"]) == (400, "body.malformed_json", "body")


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"channel": None}, "channel", "schema.missing"),
        ({"channel": "carrier_pigeon"}, "channel", "schema.enum"),
        ({"submitted_on": "昨天"}, "submitted_on", "schema.date_parsing"),
        ({"submitted_on": "1764201600"}, "submitted_on", "schema.date_parsing"),
        # A number is not a date: lax parsing would read it as seconds since 1970.
        ({"submitted_on": 1764201600}, "submitted_on", "schema.date_type"),
        # A date the working-day calendar cannot count from once made the clock answer 500
        # and the scheduler fail every pass (issue #21): 2000-01-01..2099-12-31 only.
        ({"submitted_on": "0001-03-01"}, "submitted_on", "schema.date_range"),
        ({"submitted_on": "9999-12-31"}, "submitted_on", "schema.date_range"),
        (
            {"channel": "registered_mail", "signed_on": "0202-03-01"},
            "signed_on",
            "schema.date_range",
        ),
        ({"description": 123}, "description", "schema.string_type"),
        ({"applicant": "王秀英"}, "applicant", "schema.model_attributes_type"),
        ({"applicant": {"kind": "natural_person"}}, "applicant.name", "schema.missing"),
        ({"description": "x" * 5001}, "description", "schema.string_too_long"),
        ({"unexpected": 1}, "unexpected", "schema.extra_forbidden"),
    ],
)
def test_invalid_fields_are_422_naming_the_field_and_rule(
    suite: SuiteHandle, overrides: dict[str, Any], field: str, rule: str
) -> None:
    p = _refused(
        suite, handler(suite), lambda c: c.post("/v1/requests", json=registration(**overrides))
    )
    assert p["_status"] == 422
    assert (p["field"], p["rule"]) == (field, rule)


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        (
            {"submitted_on": (today() + timedelta(days=3)).isoformat()},
            "submitted_on",
            "date.in_future",
        ),
        ({"channel": "registered_mail"}, "signed_on", "receipt.signed_on_required"),
        ({"channel": "online"}, "confirmed_on", "receipt.confirmed_on_required"),
        (
            {
                "applicant": {
                    "kind": "organization",
                    "name": "某公司",
                    "id_document": "证照",
                    "phone": "0355-1234567",
                }
            },
            "applicant.organization_kind",
            "applicant.organization_kind_required",
        ),
    ],
)
def test_domain_rules_refuse_with_the_field_and_rule__art29_art31(
    suite: SuiteHandle, overrides: dict[str, Any], field: str, rule: str
) -> None:
    p = _refused(
        suite, handler(suite), lambda c: c.post("/v1/requests", json=registration(**overrides))
    )
    assert (p["_status"], p["field"], p["rule"]) == (422, field, rule)


def test_oversize_body_is_413(suite: SuiteHandle) -> None:
    big = registration(description="公" * 600_000)  # ~1.8 MB of UTF-8, over the 1 MiB limit
    p = _refused(suite, handler(suite), lambda c: c.post("/v1/requests", json=big))
    assert (p["_status"], p["rule"]) == (413, "body.too_large")


def test_oversize_body_without_content_length_is_413_while_streaming(
    suite: SuiteHandle,
) -> None:
    """A chunked upload declares no length: the limit is enforced on the bytes received."""

    def chunks() -> Iterator[bytes]:
        yield b'{"channel": "in_person", "description": "'
        for _ in range(40):
            yield ("公" * 10_000).encode()  # 30 kB a chunk, 1.2 MB in all
        yield b'"}'

    p = _refused(
        suite,
        handler(suite),
        lambda c: c.post(
            "/v1/requests", content=chunks(), headers={"content-type": "application/json"}
        ),
    )
    assert (p["_status"], p["rule"], p["field"]) == (413, "body.too_large", "body")


def test_denials_are_logged_with_rule_actor_and_correlation_id(suite: SuiteHandle) -> None:
    """401 and 403 are answered and logged (ARCHITECTURE.md: every denial is logged); the
    caller's correlation id comes back in the response and is in the log line."""
    forbidden, anonymous = str(uuid.uuid4()), str(uuid.uuid4())
    with suite.client(handler(suite)) as c:
        r = c.post(
            "/v1/requests",
            json=registration(tenant=HANDIAN),
            headers={"X-Correlation-ID": forbidden},
        )
    assert (r.status_code, r.headers["X-Correlation-ID"]) == (403, forbidden)
    with suite.client() as c:
        r = c.get("/v1/requests", headers={"X-Correlation-ID": anonymous})
    assert (r.status_code, r.headers["X-Correlation-ID"]) == (401, anonymous)

    def denials() -> dict[str, dict[str, Any]]:
        found = {
            rec.get("correlation_id"): rec
            for rec in suite.log_records()
            if rec.get("event") == "http.denied"
        }
        return found if {forbidden, anonymous} <= found.keys() else {}

    found = suite.eventually(denials, timeout=10)
    assert found[forbidden]["status"] == 403
    assert found[forbidden]["rule"] == "org.outside_subtree"
    assert (found[forbidden]["actor"], found[forbidden]["org"]) == (
        "wang-tietong",
        "shangdang/sudian",
    )
    assert (found[anonymous]["status"], found[anonymous]["rule"]) == (401, "token.missing")
    assert "actor" not in found[anonymous]


def test_missing_or_forged_token_is_401(suite: SuiteHandle) -> None:
    p = _refused(suite, None, lambda c: c.post("/v1/requests", json=registration()))
    assert (p["_status"], p["rule"]) == (401, "token.missing")
    forged = handler(suite)[:-4] + "AAAA"
    p = _refused(suite, forged, lambda c: c.post("/v1/requests", json=registration()))
    assert (p["_status"], p["rule"]) == (401, "token.bad_signature")


def test_another_townships_request_is_403_outside_subtree(suite: SuiteHandle) -> None:
    """A 苏店镇 handler cannot register for 韩店镇 (ARCHITECTURE.md tenancy)."""
    p = _refused(
        suite, handler(suite), lambda c: c.post("/v1/requests", json=registration(tenant=HANDIAN))
    )
    assert (p["_status"], p["rule"]) == (403, "org.outside_subtree")


def test_auditor_may_read_but_not_write(suite: SuiteHandle) -> None:
    auditor = suite.token("liu-min", "shangdang", Role.AUDITOR)
    p = _refused(suite, auditor, lambda c: c.post("/v1/requests", json=registration()))
    assert (p["_status"], p["rule"]) == (403, "auditor.read_only")
    with suite.client(auditor) as c:
        assert c.get("/v1/requests").status_code == 200


def test_a_drafter_may_not_register_requests(suite: SuiteHandle) -> None:
    drafter = suite.token("li-na", "shangdang/sudian/party-office", Role.DRAFTER)
    p = _refused(
        suite,
        drafter,
        lambda c: c.post("/v1/requests", json=registration(tenant="shangdang/sudian/party-office")),
    )
    assert (p["_status"], p["rule"]) == (403, "role.missing")


def test_unknown_request_is_404_problem(suite: SuiteHandle) -> None:
    p = _refused(
        suite, handler(suite), lambda c: c.get("/v1/requests/01a21f96-0000-7000-8000-000000000000")
    )
    assert (p["_status"], p["rule"]) == (404, "request.not_found")


def test_ops_endpoints_answer(suite: SuiteHandle) -> None:
    with suite.client() as c:
        assert c.get("/health").json() == {"status": "ok"}
        assert c.get("/ready").json()["ready"] is True
        metrics = c.get("/metrics").text
    assert "gongkai_http_requests_total" in metrics


def test_commands_on_another_townships_request_answer_404_not_403(suite: SuiteHandle) -> None:
    """A 403 naming the owning township would tell an outsider that the request exists and
    where (issue #21); every command answers as GET does: not found, and writes nothing."""
    with suite.client(handler(suite)) as c:
        created = c.post("/v1/requests", json=registration()).json()
    outsider = handler(suite, HANDIAN)
    path = f"/v1/requests/{created['request_id']}"
    day = today().isoformat()
    for step, body in (
        ("assign", {"handler": "wang-tietong"}),
        ("correction-notice", {"defects": ["申请内容不明确"], "notified_on": day}),
        ("archive", {"archived_on": day}),
    ):
        p = _refused(suite, outsider, lambda c, s=step, b=body: c.post(f"{path}/{s}", json=b))
        assert (p["_status"], p["rule"]) == (404, "request.not_found"), step
        assert SUDIAN not in p["message_zh"]
    with suite.client(handler(suite)) as c:
        assert c.get(path).json()["version"] == created["version"]


def test_the_command_catalogue_lists_each_command_with_chinese_labels(suite: SuiteHandle) -> None:
    """Clients (the workbench) render forms from it: schema, roles and labels, once."""
    with suite.client(handler(suite)) as c:
        items = {i["path"]: i for i in c.get("/v1/commands").json()["items"]}
    extension = items["/v1/requests/{request_id}/extension"]
    assert (extension["label_zh"], extension["basis"]) == ("延期答复", "条例第三十三条第二款")
    assert [r["code"] for r in extension["roles"]] == ["openness_office_head"]
    assert extension["schema"]["type"] == "object"
    end = items["/v1/requests/{request_id}/consultations/{consultation_id}/end"]
    assert end["label_zh"] == "征求意见结束"
