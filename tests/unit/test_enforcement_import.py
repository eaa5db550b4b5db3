"""The bulk import of enforcement decisions (issue #23): CSV and JSON Lines, a report per
row (line, field, rule; never the row's content), the shape of the messages import."""

from __future__ import annotations

from pathlib import Path

from services.enforcement.importer import ParsedRow, RowError, parse_csv, parse_jsonl

DEMO = Path(__file__).parents[2] / "deploy" / "demo" / "enforcement-decisions.jsonl"
HASH = "ab" * 32


def test_the_demo_decisions_parse_without_errors_and_one_carries_its_review() -> None:
    rows = parse_jsonl(DEMO.read_bytes())
    assert rows and all(isinstance(r, ParsedRow) for r in rows)
    reviewed = [r for r in rows if isinstance(r, ParsedRow) and r.review is not None]
    assert len(reviewed) == 1 and reviewed[0].command.major


def test_csv_lists_and_flags_and_records_are_read() -> None:
    body = (
        "kind,reference,title,legal_basis,party_kind,party_name,amount_yuan,decided_on,major,"
        "records\n"
        f"penalty,R-1,占道经营案,条例第一条；条例第二条,person,张三,50,2026-10-08,是,"
        f"document:决定书:{HASH};audio_video:记录仪:1:{HASH}\n"
    ).encode()
    (row,) = parse_csv(body)
    assert isinstance(row, ParsedRow)
    cmd = row.command
    assert cmd.legal_basis == ["条例第一条", "条例第二条"] and cmd.major
    assert [(r.kind.value, r.identifier) for r in cmd.records] == [
        ("document", "决定书"),
        ("audio_video", "记录仪:1"),
    ]
    assert cmd.party is not None and cmd.party.name == "张三" and cmd.source == "import"


def test_bad_rows_are_reported_by_line_and_field_without_their_content() -> None:
    body = (
        "kind,reference,title,decided_on,secret\npenalty,R-2,占道经营案,2026-10-08,x\npenalty,R-3\n"
    ).encode()
    unknown, short = parse_csv(body)
    assert isinstance(unknown, RowError) and (unknown.line, unknown.rule) == (
        2,
        "import.unknown_field",
    )
    assert isinstance(short, RowError) and short.rule == "import.column_count"
    lines = parse_jsonl(b'{"kind": "penalty"}\nnot json\n[1]\n')
    assert [(r.line, r.rule) for r in lines if isinstance(r, RowError)] == [
        (1, "import.row_invalid"),
        (2, "import.json_malformed"),
        (3, "import.json_not_object"),
    ]
    bad_date = parse_jsonl(
        b'{"kind": "fee", "reference": "F-1", "title": "\\u8d39\\u7528", "decided_on": 20261008}\n'
    )
    (err,) = bad_date
    assert isinstance(err, RowError) and err.field == "decided_on"
    assert "20261008" not in err.message_en and "20261008" not in err.message_zh
