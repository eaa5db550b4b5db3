"""Reads of applicants' identity are recorded and reach the audit chain (issue: audit).

"Reads of personal data (an applicant's identity, a citizen's contact) are recorded
too, as access events: who read whose data, when, through which endpoint."
"""

from __future__ import annotations

import json
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
