"""The audit service through HTTP, in embedded and distributed mode (issue #8).

ARCHITECTURE.md §Audit log and replay; the design card's "a complete immutable audit
log". Auditors (审计人员) read everything in their subtree and change nothing
(shared.identity rule auditor.read_only): every write answers 403 and writes no event.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson

from shared.identity import Role
from tests.e2e.conftest import SuiteHandle
from tests.e2e.factories import registration

#: The audit worker follows every service's topic; under load its first rebalance is slow.
CHAIN_TIMEOUT = 90.0

SUDIAN = "shangdang/sudian"
HANDIAN = "shangdang/handian"
DISTRICT = "shangdang"


def auditor(suite: SuiteHandle, org: str = DISTRICT) -> str:
    return suite.token("zhao-shenji", org, Role.AUDITOR)


def register(suite: SuiteHandle, **overrides: Any) -> dict[str, Any]:
    token = suite.token("wang-tietong", SUDIAN, Role.REQUEST_HANDLER)
    with suite.client(token) as c:
        response = c.post("/v1/requests", json=registration(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


def trail(suite: SuiteHandle, token: str, **params: Any) -> list[dict[str, Any]]:
    with suite.client(token, service="audit") as c:
        response = c.get("/v1/audit/trail", params=params)
    assert response.status_code == 200, response.text
    return [orjson.loads(line) for line in response.text.splitlines() if line]


def test_a_registered_request_reaches_the_chain_and_the_chain_verifies(
    suite: SuiteHandle,
) -> None:
    body = register(suite)
    token = auditor(suite)

    def chained() -> list[dict[str, Any]]:
        return [
            r
            for r in trail(suite, token, tenant=SUDIAN)
            if r["event"]["payload"].get("request_id") == body["request_id"]
            and r["event"]["type"] == "RequestRegistered"
        ]

    [record] = suite.eventually(chained, timeout=CHAIN_TIMEOUT)
    assert record["service"] == "applications"
    assert record["event"]["event_id"] == body["event_id"]
    with suite.client(token, service="audit") as c:
        report = c.get("/v1/audit/verify").json()
    assert report["ok"] is True, report
    assert report["verified"] >= record["seq"]
    assert len(report["head_hash"]) == 64


def test_the_trail_of_one_stream_exports_as_csv(suite: SuiteHandle) -> None:
    body = register(suite, description="申请公开苏店镇2026年农村道路养护资金使用情况")
    token = auditor(suite)
    stream = suite.eventually(
        lambda: next(
            (
                r["event"]["stream_id"]
                for r in trail(suite, token, tenant=SUDIAN)
                if r["event"]["event_id"] == body["event_id"]
            ),
            None,
        ),
        timeout=CHAIN_TIMEOUT,
    )
    with suite.client(token, service="audit") as c:
        response = c.get("/v1/audit/trail", params={"stream": stream, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows[0]["event_type"] == "RequestRegistered"
    assert {r["stream_id"] for r in rows} == {stream}
    assert "农村道路养护" in rows[0]["payload"]


def test_an_auditor_cannot_write_anything__auditor_read_only(suite: SuiteHandle) -> None:
    before = suite.head_position("audit")
    with suite.client(auditor(suite), service="audit") as c:
        checkpoint = c.post("/v1/audit/checkpoints")
        access = c.post(
            "/v1/audit/access-events",
            json={
                "reader": "zhao-shenji",
                "tenant": SUDIAN,
                "subject_ref": "request/x",
                "service": "applications",
                "endpoint": "GET /v1/requests/{id}",
                "fields": ["applicant.name"],
            },
        )
    for response in (checkpoint, access):
        assert response.status_code == 403, response.text
        assert response.json()["rule"] == "auditor.read_only"
    assert suite.head_position("audit") == before


def test_only_auditors_read_the_trail__role_missing(suite: SuiteHandle) -> None:
    token = suite.token("wang-tietong", SUDIAN, Role.REQUEST_HANDLER)
    with suite.client(token, service="audit") as c:
        response = c.get("/v1/audit/trail", params={"tenant": SUDIAN})
    assert response.status_code == 403
    assert response.json()["rule"] == "role.missing"


def test_a_township_auditor_cannot_read_another_townships_trail__org_outside_subtree(
    suite: SuiteHandle,
) -> None:
    with suite.client(auditor(suite, HANDIAN), service="audit") as c:
        response = c.get("/v1/audit/trail", params={"tenant": SUDIAN})
    assert response.status_code == 403
    assert response.json()["rule"] == "org.outside_subtree"


def test_a_trail_needs_a_subject(suite: SuiteHandle) -> None:
    with suite.client(auditor(suite), service="audit") as c:
        response = c.get("/v1/audit/trail")
    assert response.status_code == 422
    assert response.json()["rule"] == "trail.subject_missing"


def test_an_administrator_checkpoint_can_be_listed_for_signing(suite: SuiteHandle) -> None:
    register(suite)
    admin = suite.token("sun-guanli", DISTRICT, Role.ADMINISTRATOR)
    with suite.client(admin, service="audit") as c:
        response = suite.eventually(
            lambda: (r := c.post("/v1/audit/checkpoints")).status_code == 201 and r,
            timeout=CHAIN_TIMEOUT,
        )
    taken = response.json()
    assert taken["seq"] == taken["count"] >= 1
    assert taken["statement"].startswith(f"gongkai audit chain seq={taken['seq']} ")
    with suite.client(auditor(suite), service="audit") as c:
        items = c.get("/v1/audit/checkpoints").json()["items"]
        report = c.get("/v1/audit/verify").json()
    assert taken["event_id"] in {i["event_id"] for i in items}
    assert report["ok"] is True and report["checkpoints_checked"] >= 1


def test_a_read_of_personal_data_is_recorded_as_an_access_event(suite: SuiteHandle) -> None:
    service = suite.token("applications", DISTRICT, Role.SERVICE)
    with suite.client(service, service="audit") as c:
        response = c.post(
            "/v1/audit/access-events",
            json={
                "reader": "wang-tietong",
                "tenant": SUDIAN,
                "subject_ref": "request/abc",
                "service": "applications",
                "endpoint": "GET /v1/requests/{request_id}",
                "fields": ["applicant.name", "applicant.phone"],
            },
        )
    assert response.status_code == 201, response.text
    token = auditor(suite)

    def recorded() -> list[dict[str, Any]]:
        return [
            r
            for r in trail(suite, token, actor="wang-tietong")
            if r["event"]["event_id"] == response.json()["event_id"]
        ]

    [record] = suite.eventually(recorded, timeout=CHAIN_TIMEOUT)
    assert record["service"] == "audit"
    assert record["event"]["type"] == "PersonalDataRead"
    assert record["event"]["payload"]["fields"] == ["applicant.name", "applicant.phone"]
