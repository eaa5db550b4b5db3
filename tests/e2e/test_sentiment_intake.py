"""舆情回应 intake through HTTP, in embedded and distributed mode (DOMAIN.md §4, 方案§17).

Every message is recorded, classified with its reasons, and answered by a case with a
clock; near-duplicates join the open case; bulk import reports bad rows by line and a
re-import creates nothing new; refusals write no event.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from shared.identity import Role
from tests.e2e.conftest import GONGKAI, SuiteHandle

SUDIAN = "shangdang/sudian"
HANDIAN = "shangdang/handian"
YINCHENG = "shangdang/yincheng"
SERVICE = "sentiment"


def officer(suite: SuiteHandle, org: str = SUDIAN, sub: str = "liu-yang") -> str:
    return suite.token(sub, org, Role.OPINION_OFFICER)


def message(**overrides: Any) -> dict[str, Any]:
    """A realistic message; a random estate name keeps tests from grouping with each other."""
    estate = f"{uuid.uuid4().hex[:6]}小区"
    body: dict[str, Any] = {
        "source": "message_board",
        "title": f"{estate}旁工地夜间施工噪音扰民",
        "text": f"苏店镇{estate}东侧工地每天晚上十一点以后还在施工，噪音非常大，"
        "严重影响居民休息，多次投诉一直无人管！",
        "citizen": {"name": "王秀英", "phone": "13812345678"},
    }
    return body | overrides


def case_of(suite: SuiteHandle, token: str, case_id: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        with suite.client(token, service=SERVICE) as c:
            r = c.get(f"/v1/opinion-cases/{case_id}")
            return r.json() if r.status_code == 200 else None

    return suite.eventually(probe)


def test_message_is_classified_with_reasons_and_opens_a_case_with_48_hour_clock__61hao(
    suite: SuiteHandle,
) -> None:
    token = officer(suite)
    with suite.client(token, service=SERVICE) as c:
        r = c.post("/v1/messages", json=message())
    assert r.status_code == 201, r.text
    body = r.json()
    cls = body["classification"]
    assert cls["category"] == "城乡建设"
    assert "施工" in cls["category_reasons"] or "工地" in cls["category_reasons"]
    assert cls["polarity"] == "negative" and cls["intensity"] > 0.3
    assert "噪音" in cls["sentiment_reasons"]
    assert {t["tag"] for t in cls["tags"]} >= {"环境污染"}
    assert body["opened_case"] is True and body["tracking_code"]
    case = case_of(suite, token, body["case_id"])
    assert case["status"] == "opened" and case["message_count"] == 1
    assert case["deadlines"][0]["name"] == "response" and "48" in case["deadlines"][0]["rule"]


def test_major_emergency_gets_5_hour_information_and_24_hour_press_clocks__61hao(
    suite: SuiteHandle,
) -> None:
    token = officer(suite)
    text = f"{uuid.uuid4().hex[:4]}村化工厂昨晚发生爆炸起火，已有人员伤亡，周边村民十分恐慌！"
    with suite.client(token, service=SERVICE) as c:
        r = c.post("/v1/messages", json=message(source="media", title=None, text=text))
    assert r.status_code == 201, r.text
    assert r.json()["classification"]["urgency"] == "major_emergency"
    case = case_of(suite, token, r.json()["case_id"])
    names = [d["name"] for d in case["deadlines"]]
    assert names == ["authoritative_information", "press_conference"]
    due = datetime.fromisoformat(case["response_due"])
    assert due == datetime.fromisoformat(case["deadlines"][0]["due_at"])
    opened = datetime.fromisoformat(case["opened_at"])
    assert due - opened == timedelta(hours=5)
    assert datetime.fromisoformat(case["deadlines"][1]["due_at"]) - opened == timedelta(hours=24)


def test_near_duplicate_joins_the_open_case_so_one_case_answers_many(suite: SuiteHandle) -> None:
    # Its own township, so that no other test's message is similar.
    token = officer(suite, YINCHENG, "jia-ning")
    first = message(
        tenant=YINCHENG,
        title="东街路灯坏了一个多月",
        text="荫城镇东街从供销社到卫生院一段的路灯坏了一个多月，晚上漆黑一片，"
        "老人孩子出门很危险，希望尽快维修。",
    )
    again = dict(first, source="mailbox", text=first["text"] + "请尽快处理！")
    with suite.client(token, service=SERVICE) as c:
        one = c.post("/v1/messages", json=first).json()
        case_of(suite, token, one["case_id"])
        two = c.post("/v1/messages", json=again)
    assert two.status_code == 201, two.text
    assert two.json()["opened_case"] is False
    assert two.json()["case_id"] == one["case_id"]
    assert two.json()["similarity"] >= 0.3

    def grouped() -> dict[str, Any] | None:
        case = case_of(suite, token, one["case_id"])
        return case if case["message_count"] == 2 else None

    assert len(suite.eventually(grouped)["message_ids"]) == 2


def test_same_item_sent_twice_is_recorded_once(suite: SuiteHandle) -> None:
    token = officer(suite)
    body = message(
        source="hotline",
        kind="help",
        external_id=f"12345-{uuid.uuid4().hex[:8]}",
        title=None,
        text="西街自来水从昨天中午开始停水，至今没有通知何时恢复，家里老人做饭都成问题。",
    )
    with suite.client(token, service=SERVICE) as c:
        first = c.post("/v1/messages", json=body)
        head = suite.head_position(SERVICE)
        second = c.post("/v1/messages", json=body)
    assert first.status_code == 201 and second.status_code == 200
    assert second.json() == {"message_id": first.json()["message_id"], "duplicate": True}
    assert suite.written_since(SERVICE, head) == []


def _refused(suite: SuiteHandle, token: str, body: dict[str, Any]) -> dict[str, Any]:
    head = suite.head_position(SERVICE)
    with suite.client(token, service=SERVICE) as c:
        r = c.post("/v1/messages", json=body)
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    assert suite.written_since(SERVICE, head) == [], "a refused message must write no event"
    return {"status": r.status_code, **r.json()}


def test_empty_text_too_long_text_and_unknown_source_are_refused_with_no_event(
    suite: SuiteHandle,
) -> None:
    token = officer(suite)
    empty = _refused(suite, token, message(text="   "))
    assert (empty["status"], empty["rule"], empty["field"]) == (422, "message.text_empty", "text")
    long = _refused(suite, token, message(text="噪" * 5001))
    assert (long["status"], long["rule"]) == (422, "message.text_too_long")
    unknown = _refused(suite, token, message(source="fax"))
    assert (unknown["status"], unknown["rule"], unknown["field"]) == (
        422,
        "message.source_unknown",
        "source",
    )
    assert "hotline" in unknown["message_en"]


def test_a_received_at_outside_2000_to_2099_is_refused_with_no_event__issue21(
    suite: SuiteHandle,
) -> None:
    token = officer(suite)
    for moment in ("0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59+08:00"):
        refused = _refused(suite, token, message(received_at=moment))
        assert (refused["status"], refused["rule"], refused["field"]) == (
            422,
            "schema.datetime_range",
            "received_at",
        )
        assert "2000-01-01" in refused["message_en"]


def test_message_for_another_township_is_forbidden(suite: SuiteHandle) -> None:
    refused = _refused(suite, officer(suite), message(tenant=HANDIAN))
    assert refused["status"] == 403


def test_bulk_import_reports_bad_rows_by_line_and_reimport_adds_nothing(
    suite: SuiteHandle,
) -> None:
    token = officer(suite)
    tag = uuid.uuid4().hex[:6]
    lines = [
        {
            "source": "hotline",
            "kind": "consultation",
            "external_id": f"{tag}-1",
            "text": "请问新生儿医保参保需要带哪些材料？",
        },
        {"source": "hotline", "kind": "complaint", "external_id": f"{tag}-2", "text": ""},
        "not json",
        {"source": "telegram", "external_id": f"{tag}-4", "text": "学校食堂饭菜变质"},
        {
            "source": "mailbox",
            "external_id": f"{tag}-5",
            "text": f"{tag}村饮用水水质浑浊有异味，希望尽快检测",
            "citizen_phone": "13900001111",
        },
    ]
    body = b"\n".join(
        line.encode() if isinstance(line, str) else orjson.dumps(line) for line in lines
    )
    headers = {"Content-Type": "application/x-ndjson"}
    with suite.client(token, service=SERVICE) as c:
        first = c.post("/v1/messages/import", content=body, headers=headers)
        assert first.status_code == 200, first.text
        report = first.json()
        head = suite.head_position(SERVICE)
        again = c.post("/v1/messages/import", content=body, headers=headers).json()
    assert (report["rows"], report["imported"], report["duplicates"]) == (5, 2, 0)
    assert [(e["line"], e["rule"]) for e in report["errors"]] == [
        (2, "message.text_empty"),
        (3, "import.json_malformed"),
        (4, "message.source_unknown"),
    ]
    assert (again["imported"], again["duplicates"]) == (0, 2)
    assert suite.written_since(SERVICE, head) == []


def test_csv_import_reports_the_line_of_a_malformed_row(suite: SuiteHandle) -> None:
    token = officer(suite)
    tag = uuid.uuid4().hex[:6]
    csv_body = (
        "source,external_id,title,text\n"
        f"message_board,{tag}-a,路灯不亮,{tag}路段路灯坏了一个月没人修\n"
        f"message_board,{tag}-b,少一列\n"
        f'mailbox,{tag}-c,"公交班次","希望增加{tag}线公交班次，早高峰太挤"\n'
    ).encode()
    with suite.client(token, service=SERVICE) as c:
        r = c.post(
            "/v1/messages/import?format=csv", content=csv_body, headers={"Content-Type": "text/csv"}
        )
    assert r.status_code == 200, r.text
    assert r.json()["imported"] == 2
    assert [(e["line"], e["rule"]) for e in r.json()["errors"]] == [(3, "import.column_count")]


def test_the_import_command_sends_a_file_in_chunks_shows_progress_and_names_bad_lines__issue21(
    suite: SuiteHandle, tmp_path: Path
) -> None:
    """`gongkai sentiment import`, as an officer runs it on a 12345 export: rows checked on
    the officer's machine first (a row short of a column never leaves it), the others sent
    in chunks with a progress bar, every bad row named by its line in the file, whichever
    side refused it; the same file again imports nothing."""
    token = officer(suite)
    tag = uuid.uuid4().hex[:6]
    rows = [f"message_board,{tag}-{i},路灯{i},{tag}路第{i}盏路灯坏了一个月没人修" for i in range(7)]
    rows.insert(3, f"message_board,{tag}-x,少一列")  # line 5 of the file
    rows.append(f"telegram,{tag}-t,食堂,学校食堂饭菜变质")  # line 10: no such source
    export = tmp_path / "12345-export.csv"
    export.write_text("source,external_id,title,text\n" + "\n".join(rows) + "\n", "utf-8")
    command = [GONGKAI, "sentiment", "import", str(export), "--chunk", "3"]
    command += ["--url", suite.url_for(SERVICE), "--token", token]

    first = subprocess.run(command, env=suite.env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 1, first.stdout + first.stderr  # 1: some rows were refused
    assert "rows 9: imported 7, duplicates 0, errors 2" in first.stdout, first.stdout
    assert "line 5: import.column_count" in first.stdout
    assert "line 10: message.source_unknown [source]" in first.stdout
    # The bar counts the rows sent (the unknown source is the server's to refuse), a chunk
    # at a time, redrawn in place (text mode reads its carriage returns as line ends).
    assert re.findall(r"\] (\d+/\d+)", first.stderr) == ["3/8", "6/8", "8/8"], first.stderr
    assert "[" + "#" * 30 + "] 8/8" in first.stderr

    again = subprocess.run(command, env=suite.env, capture_output=True, text=True, timeout=120)
    assert "rows 9: imported 0, duplicates 7, errors 2" in again.stdout, again.stdout
