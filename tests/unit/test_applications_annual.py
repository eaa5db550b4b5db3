"""The whole annual report 一–六 (条例 Arts. 49–50; 国办公开办函〔2021〕30号; DOMAIN.md §2
"Annual report"; 国办函〔2020〕109号 for the fees): section 二 from the catalog's publications,
三/四 from this service's log, the office's texts, the fees."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from services.applications import annual, report
from services.applications.events import AnnualReportTextRecorded, FeePaid
from services.applications.handlers import annual_report_stream
from shared.envelope import new_id
from tests.unit.test_applications_report import TOWNSHIPS, Log, generate

SUDIAN = "shangdang/sudian"


def doc(tenant: str, kind: str, issued: str, repealed: str | None = None, withdrawn: bool = False):
    return {
        "tenant": tenant,
        "kind": kind,
        "issue_date": issued,
        "repealed_on": repealed,
        "withdrawn": withdrawn,
        "valid_until": None,
    }


PUBLICATIONS = [
    doc(f"{SUDIAN}/party-office", "normative", "2026-03-01"),
    doc(f"{SUDIAN}/finance", "normative", "2026-05-10", repealed="2026-11-30"),
    doc(f"{SUDIAN}/finance", "normative", "2024-01-05"),
    doc(f"{SUDIAN}/finance", "normative", "2025-02-01", repealed="2027-01-10"),
    doc(f"{SUDIAN}/party-office", "normative", "2026-06-01", withdrawn=True),
    doc(SUDIAN, "regulation", "2026-07-01"),
    doc(SUDIAN, "notice", "2026-07-01"),
    doc(f"{SUDIAN}/finance", "normative", "2027-01-03"),
    doc("shangdang/handian/party-office", "normative", "2026-04-01"),
]


def test_section_two_counts_made_repealed_and_in_force_without_withdrawn__art50() -> None:
    two = annual.section_two([p for p in PUBLICATIONS if annual.within(p["tenant"], SUDIAN)], 2026)
    rows = {d["kind"]: d for d in two["documents"]}
    # made in 2026: 03-01, 05-10 (the withdrawn 06-01 does not count; 2027's neither).
    assert (rows["normative"]["made_this_year"], rows["normative"]["repealed_this_year"]) == (2, 1)
    # in force at 2026-12-31: 03-01, 2024-01-05, 2025-02-01 (repealed only in 2027).
    assert rows["normative"]["in_force"] == 3
    # A 有效期 that ended during the year takes one out (失效); one ending on 31 December
    # still counts, and a cleared one ("") is no period at all.
    lapsed = [
        {**p, "valid_until": until}
        for p, until in zip(
            [p for p in PUBLICATIONS if annual.within(p["tenant"], SUDIAN)],
            ["2026-06-30", "", "2026-12-31", None, None, None, None, None],
            strict=False,
        )
    ]
    assert {d["kind"]: d for d in annual.section_two(lapsed, 2026)["documents"]}["normative"][
        "in_force"
    ] == 2
    assert (rows["regulation"]["made_this_year"], rows["regulation"]["in_force"]) == (1, 1)
    assert [r["label"] for r in two["other_rows"]] == [
        "行政许可",
        "行政处罚",
        "行政强制",
        "行政事业性收费",
    ]
    assert [r["measure"] for r in two["other_rows"]] == [
        "本年处理决定数量",
        "本年处理决定数量",
        "本年处理决定数量",
        "本年收费金额（单位：万元）",
    ]
    assert [r["value"] for r in two["other_rows"]] == [0, 0, 0, 0]  # no decision recorded
    assert all("note" not in r for r in two["other_rows"])  # "本系统无此项数据来源" is gone


def enforcement_row(tenant: str, kind: str, decided_on: str, fen: int | None = None):
    return {"tenant": tenant, "kind": kind, "decided_on": decided_on, "amount_fen": fen}


ENFORCEMENT = [
    enforcement_row(f"{SUDIAN}/agri-service", "penalty", "2026-03-02", 500_000),
    enforcement_row(f"{SUDIAN}/agri-service", "penalty", "2026-12-31", 0),
    enforcement_row(f"{SUDIAN}/agri-service", "penalty", "2025-12-31", 1_000),
    enforcement_row(f"{SUDIAN}/finance", "licensing", "2026-05-01"),
    enforcement_row(SUDIAN, "coercion", "2026-06-01"),
    enforcement_row(f"{SUDIAN}/finance", "fee", "2026-02-01", 1_234_500),  # 12,345.00 元
    enforcement_row(f"{SUDIAN}/finance", "fee", "2026-09-01", 50_000),  # 500.00 元
    enforcement_row(f"{SUDIAN}/finance", "fee", "2027-01-01", 99_900),
    enforcement_row("shangdang/handian/agri", "penalty", "2026-04-01", 20_000),
    enforcement_row("shangdang/handian/agri", "fee", "2026-04-01", 100_000),
]


def test_section_two_enforcement_rows_count_the_years_decisions_and_fees_in_wanyuan__issue23() -> (
    None
):
    """国办公开办函〔2021〕30号 section 二: 行政许可 (第二十条第（五）项), 行政处罚 and 行政强制
    (第（六）项) 本年处理决定数量; 行政事业性收费 (第（八）项) 本年收费金额（单位：万元）."""
    scoped = [r for r in ENFORCEMENT if annual.within(r["tenant"], SUDIAN)]
    two = annual.section_two([], 2026, scoped)
    values = {r["key"]: r["value"] for r in two["other_rows"]}
    assert values == {"licensing": 1, "penalty": 2, "enforcement": 1, "fees": 1.2845}
    articles = [r["article"] for r in two["other_rows"]]
    assert articles == [
        "第二十条第（五）项",
        "第二十条第（六）项",
        "第二十条第（六）项",
        "第二十条第（八）项",
    ]
    district = annual.section_two([], 2026, ENFORCEMENT)
    assert {r["key"]: r["value"] for r in district["other_rows"]} == {
        "licensing": 1,
        "penalty": 3,
        "enforcement": 1,
        "fees": 1.3845,
    }
    assert report.enforcement_value(district["other_rows"][3]) == "1.3845"
    assert report.enforcement_value({"value": 0.0}) == "0"


def with_fees_and_texts(log: Log) -> None:
    paid = [(SUDIAN, date(2026, 3, 2), 100), (SUDIAN, date(2026, 9, 1), 40)]
    paid += [(SUDIAN, date(2025, 12, 30), 200), ("shangdang/handian", date(2026, 4, 1), 10)]
    for tenant, on, amount in paid:
        rid = new_id()
        event = FeePaid(request_id=rid, amount_yuan=amount, paid_on=on, reply_due=on)
        log.record(f"request-{rid}", tenant, 9, event)
    texts = [
        (SUDIAN, 2026, "problems", "初稿"),
        (SUDIAN, 2026, "problems", "部分栏目更新不及时；将建立提醒机制。"),
        (SUDIAN, 2025, "other", "上年的文字"),
        ("shangdang/handian", 2026, "overview", "韩店镇的文字"),
    ]
    for i, (tenant, year, section, text) in enumerate(texts, start=1):
        event = AnnualReportTextRecorded(
            tenant=tenant, year=year, section=section, text=text, recorded_by="guo-xinxin"
        )
        log.record(annual_report_stream(tenant, year), tenant, i, event)


def full(log: Log, tenant: str = SUDIAN) -> dict[str, Any]:
    return annual.build(
        events=log.events,
        publications=PUBLICATIONS,
        tenant=tenant,
        name="苏店镇",
        year=2026,
        township_paths=list(TOWNSHIPS),
    )


def test_the_whole_report_has_the_six_parts_in_template_order_and_part_three_balances__art50() -> (
    None
):
    log, _ = generate(300, seed=7)
    with_fees_and_texts(log)
    body = full(log)
    assert body["title"] == "苏店镇2026年政府信息公开工作年度报告"
    assert [s["title"] for s in body["sections"]] == list(annual.TITLES.values())
    three = report.section(body, "三")
    alone = report.build(log.events, SUDIAN, 2026, list(TOWNSHIPS))
    assert three["rows"] == alone["rows"] and all(body["check"].values())
    assert report.section(body, "四")["groups"] == alone["section_four"]["groups"]
    values = {r["key"]: r["values"]["total"] for r in three["rows"] if r["key"]}
    summary = report.section(body, "一")["generated"]
    assert f"本年新收政府信息公开申请{values['一']}件" in summary
    assert f"结转下年度继续办理{values['四']}件" in summary
    assert "主动公开规章1件、行政规范性文件2件" in summary


def test_the_office_texts_are_the_latest_of_the_tenant_and_year_and_the_fees_are_the_years() -> (
    None
):
    log, _ = generate(20, seed=3)
    with_fees_and_texts(log)
    body = full(log)
    assert report.section(body, "五")["text"] == "部分栏目更新不及时；将建立提醒机制。"
    assert report.section(body, "一")["text"] is None
    assert report.section(body, "六")["text"] is None  # 2025's text is not 2026's
    assert body["missing_texts"] == ["一、总体情况", "六、其他需要报告的事项"]
    six = report.section(body, "六")
    assert six["fees"] == {"requests": 2, "amount_yuan": 140}
    assert "收取信息处理费2件，共140元" in six["generated"]
    district = full(log, "shangdang")
    assert report.section(district, "六")["fees"] == {"requests": 3, "amount_yuan": 150}
    assert report.section(district, "一")["text"] is None  # the townships' texts stay theirs


def test_csv_and_html_carry_every_part() -> None:
    log, _ = generate(30, seed=11)
    with_fees_and_texts(log)
    body = full(log)
    table = list(csv.reader(io.StringIO(report.render_annual(body, "csv"))))
    firsts = [row[0] for row in table if row]
    for title in annual.TITLES.values():
        assert title in firsts
    assert [
        "行",
        "自然人",
        "商业企业",
        "科研机构",
        "社会公益组织",
        "法律服务机构",
        "其他",
        "总计",
    ] in table
    assert ["行政规范性文件", "2", "1", "3"] in table
    page = report.render_annual(body, "html")
    assert all(f"<h2>{t}</h2>" in page for t in annual.TITLES.values())
    assert page.count("<table") == 3 and "部分栏目更新不及时" in page
