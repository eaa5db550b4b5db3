"""Reads of applicants' and citizens' identity are recorded and reach the audit chain (#8).

"Reads of personal data (an applicant's identity, a citizen's contact) are recorded
too, as access events: who read whose data, when, through which endpoint."
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from shared.identity import Role
from tests.e2e.conftest import SuiteHandle
from tests.e2e.factories import registration


def trail_of(suite: SuiteHandle, actor: str) -> list[dict[str, Any]]:
    auditor = suite.token("liu-min", "shangdang", Role.AUDITOR)
    with suite.client(auditor, service="audit") as c:
        response = c.get("/v1/audit/trail", params={"actor": actor})
    assert response.status_code == 200, response.text
    return [json.loads(line)["event"] for line in response.text.splitlines() if line]


def test_a_handler_reading_an_applicant_is_recorded_in_the_audit_trail(
    suite: SuiteHandle,
) -> None:
    reader = "zhao-reader"  # a handler of 西火镇 used only by this test
    handler = suite.token(reader, "shangdang/xihuo", Role.REQUEST_HANDLER)
    with suite.client(handler) as c:
        created = c.post("/v1/requests", json=registration(tenant="shangdang/xihuo")).json()
    request_id = created["request_id"]

    def shown() -> dict[str, Any] | None:
        with suite.client(handler) as c:
            r = c.get(f"/v1/requests/{request_id}")
        return r.json() if r.status_code == 200 else None

    assert suite.eventually(shown)["applicant"]["name"] == "王秀英"

    def recorded() -> list[dict[str, Any]]:
        return [
            e
            for e in trail_of(suite, reader)
            if e["type"] == "ApplicantDataRead" and request_id in e["payload"]["request_ids"]
        ]

    (read, *_) = suite.eventually(recorded)
    assert read["payload"]["endpoint"] == "GET /v1/requests/{request_id}"
    assert read["payload"]["fields"] == ["applicant"]
    assert "王秀英" not in json.dumps(read, ensure_ascii=False)  # a reference, never the data


def test_a_reader_who_is_not_shown_applicants_leaves_no_access_record(
    suite: SuiteHandle,
) -> None:
    auditor = suite.token("liu-min", "shangdang", Role.AUDITOR)
    before = suite.head_position()
    with suite.client(auditor) as c:
        items = c.get("/v1/requests").json()["items"]
    assert items and all(i["applicant"] is None for i in items)
    assert suite.head_position() == before


def _message(estate: str) -> dict[str, Any]:
    return {
        "source": "mailbox",
        "title": f"{estate}供暖不热",
        "text": f"西火镇{estate}今年冬天暖气一直不热，室温只有十二度，请尽快处理。",
        "citizen": {"name": "张桂兰", "phone": "13987654321"},
    }


def test_an_officer_shown_a_citizens_contact_is_recorded_and_a_section_head_is_not(
    suite: SuiteHandle,
) -> None:
    """A citizen's identity and contact (MessageReceived.citizen) shown by the sentiment API
    leaves a CitizenDataRead: who, which messages, which endpoint; never the values."""
    reader = "sun-officer"  # an opinion officer of 西火镇 used only by this test
    officer = suite.token(reader, "shangdang/xihuo", Role.OPINION_OFFICER)
    with suite.client(officer, service="sentiment") as c:
        created = c.post("/v1/messages", json=_message(f"{uuid.uuid4().hex[:6]}小区"))
    assert created.status_code == 201, created.text
    message_id = created.json()["message_id"]

    def shown() -> dict[str, Any] | None:
        with suite.client(officer, service="sentiment") as c:
            r = c.get(f"/v1/messages/{message_id}")
        return r.json() if r.status_code == 200 else None

    assert suite.eventually(shown)["citizen"]["name"] == "张桂兰"
    with suite.client(officer, service="sentiment") as c:
        listed = c.get("/v1/messages", params={"limit": 200}).json()["items"]
    assert message_id in {m["message_id"] for m in listed}

    def recorded() -> dict[str, list[dict[str, Any]]]:
        reads = [
            e
            for e in trail_of(suite, reader)
            if e["type"] == "CitizenDataRead" and message_id in e["payload"]["message_ids"]
        ]
        by_endpoint: dict[str, list[dict[str, Any]]] = {}
        for e in reads:
            by_endpoint.setdefault(e["payload"]["endpoint"], []).append(e)
        return by_endpoint if len(by_endpoint) == 2 else {}

    by_endpoint = suite.eventually(recorded)
    assert set(by_endpoint) == {"GET /v1/messages/{message_id}", "GET /v1/messages"}
    (read, *_) = by_endpoint["GET /v1/messages/{message_id}"]
    assert read["payload"]["fields"] == ["citizen"]
    assert read["stream_id"] == f"personal-data-access-{reader}"
    assert "张桂兰" not in json.dumps(read, ensure_ascii=False)
    assert "13987654321" not in json.dumps(read, ensure_ascii=False)

    section_head = suite.token("qian-head", "shangdang/xihuo", Role.SECTION_HEAD)
    with suite.client(section_head, service="sentiment") as c:
        r = c.get(f"/v1/messages/{message_id}")
    assert r.status_code == 200 and r.json()["citizen"] is None
    # Not shown, not recorded (the store's head would move with the hotspot job anyway).
    # By the time the officer's later read is chained, the section head's is too.
    with suite.client(officer, service="sentiment") as c:
        assert c.get(f"/v1/messages/{message_id}").status_code == 200

    def officers_reads() -> int:
        return sum(e["type"] == "CitizenDataRead" for e in trail_of(suite, reader))

    before = len(by_endpoint["GET /v1/messages/{message_id}"]) + len(
        by_endpoint["GET /v1/messages"]
    )
    suite.eventually(lambda: officers_reads() > before)
    assert trail_of(suite, "qian-head") == []


def test_an_auditor_exporting_applicants_in_a_trail_is_recorded(suite: SuiteHandle) -> None:
    """The audit trail shows whole payloads, applicants' identity included: the export is a
    read of personal data like any other, recorded as PersonalDataRead (the fields shown,
    the query that names whose)."""
    handler = suite.token("zhou-handler", "shangdang/xihuo", Role.REQUEST_HANDLER)
    with suite.client(handler) as c:
        request_id = c.post("/v1/requests", json=registration(tenant="shangdang/xihuo")).json()[
            "request_id"
        ]
    auditor = "wu-auditor"  # used only by this test
    token = suite.token(auditor, "shangdang", Role.AUDITOR)

    def exported() -> bool:
        with suite.client(token, service="audit") as c:
            r = c.get("/v1/audit/trail", params={"stream": f"request-{request_id}"})
        assert r.status_code == 200, r.text
        return any(
            json.loads(line)["event"]["type"] == "RequestRegistered" for line in r.text.splitlines()
        )

    suite.eventually(exported)

    def recorded() -> list[dict[str, Any]]:
        return [
            e
            for e in trail_of(suite, auditor)
            if e["type"] == "PersonalDataRead" and request_id in e["payload"]["subject_ref"]
        ]

    (read, *_) = suite.eventually(recorded)
    assert read["payload"]["endpoint"] == "GET /v1/audit/trail"
    assert read["payload"]["source_service"] == "audit"
    assert "RequestRegistered.applicant.phone" in read["payload"]["fields"]
    assert "13812345678" not in json.dumps(read, ensure_ascii=False)
