"""Annual report section 三 (国办公开办函〔2021〕30号; 条例 Arts. 49–50), from events only.

Pure: `summarize` folds a request log into one summary per request (tenant,
applicant column, receipt date, conclusion date and report row), and
`section_three` counts them for a year with the exact row and column labels of
DOMAIN.md §2. By construction every request received up to the year's end and
open at its start is either concluded in the year (三) or carried forward (四), so
一 + 二 = 三(七) + 四 holds per column; `check` verifies it on the result.

Decision [ours]: a request's year is decided by its receipt date (条例 Art. 31) and
its conclusion date (reply, withdrawal, deemed abandonment, fee lapse).
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from services.applications.events import registry
from services.applications.state import RequestState, evolve
from shared.envelope import RecordedEvent

COLUMNS: tuple[tuple[str, str], ...] = (
    ("natural_person", "自然人"),
    ("commercial", "商业企业"),
    ("research", "科研机构"),
    ("public_welfare", "社会公益组织"),
    ("legal_services", "法律服务机构"),
    ("other", "其他"),
    ("total", "总计"),
)
GROUP_LABEL = "法人或其他组织"

#: (key, label); key None = a heading row without numbers.
ROWS: tuple[tuple[str | None, str], ...] = (
    ("一", "一、本年新收政府信息公开申请数量"),
    ("二", "二、上年结转政府信息公开申请数量"),
    (None, "三、本年度办理结果"),
    ("三(一)", "（一）予以公开"),
    ("三(二)", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"),
    (None, "（三）不予公开"),
    ("三(三)1", "1.属于国家秘密"),
    ("三(三)2", "2.其他法律行政法规禁止公开"),
    ("三(三)3", "3.危及“三安全一稳定”"),
    ("三(三)4", "4.保护第三方合法权益"),
    ("三(三)5", "5.属于三类内部事务信息"),
    ("三(三)6", "6.属于四类过程性信息"),
    ("三(三)7", "7.属于行政执法案卷"),
    ("三(三)8", "8.属于行政查询事项"),
    (None, "（四）无法提供"),
    ("三(四)1", "1.本机关不掌握相关政府信息"),
    ("三(四)2", "2.没有现成信息需要另行制作"),
    ("三(四)3", "3.补正后申请内容仍不明确"),
    (None, "（五）不予处理"),
    ("三(五)1", "1.信访举报投诉类申请"),
    ("三(五)2", "2.重复申请"),
    ("三(五)3", "3.要求提供公开出版物"),
    ("三(五)4", "4.无正当理由大量反复申请"),
    ("三(五)5", "5.要求行政机关确认或重新出具已获取信息"),
    (None, "（六）其他处理"),
    (
        "三(六)1",
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    ),
    (
        "三(六)2",
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    ),
    ("三(六)3", "3.其他"),
    ("三(七)", "（七）总计"),
    ("四", "四、结转下年度继续办理"),
)
OUTCOME_KEYS = tuple(k for k, _ in ROWS if k and k.startswith("三(") and k != "三(七)")


@dataclass(frozen=True)
class Summary:
    tenant: str
    column: str
    received_on: date
    concluded_on: date | None
    report_row: str | None


def summarize(events: Iterable[RecordedEvent]) -> list[Summary]:
    """One summary per request stream, folded with the domain's own evolve."""
    states: dict[str, tuple[str, RequestState]] = {}
    for event in events:
        if event.stream_type != "request" or not registry.knows(event.type):
            continue
        tenant, state = states.get(event.stream_id, (event.tenant, RequestState()))
        states[event.stream_id] = (tenant, evolve(state, registry.decode(event)))
    found = []
    for tenant, s in states.values():
        if s.received_on is None:
            continue
        column = s.organization_kind or "natural_person"
        found.append(Summary(tenant, column, s.received_on, s.concluded_on, s.report_row))
    return found


def section_three(summaries: Iterable[Summary], year: int) -> dict[str, dict[str, int]]:
    """Counts per row key and column key for `year`."""
    counts = {key: {c: 0 for c, _ in COLUMNS} for key, _ in ROWS if key}

    def add(row: str, column: str) -> None:
        counts[row][column] += 1
        counts[row]["total"] += 1

    for s in summaries:
        received, concluded = s.received_on.year, s.concluded_on.year if s.concluded_on else None
        if received > year or (concluded is not None and concluded < year):
            continue  # not yet received, or finished before the year began
        add("一" if received == year else "二", s.column)
        if concluded == year and s.report_row in counts:
            add(s.report_row, s.column)
            add("三(七)", s.column)
        else:
            add("四", s.column)
    return counts


def check(counts: dict[str, dict[str, int]]) -> dict[str, bool]:
    """一 + 二 = 三(七) + 四 per column, and 三(七) is the sum of the outcome rows."""
    result = {}
    for column, _ in COLUMNS:
        outcomes = sum(counts[k][column] for k in OUTCOME_KEYS)
        result[column] = (
            counts["一"][column] + counts["二"][column]
            == counts["三(七)"][column] + counts["四"][column]
            and outcomes == counts["三(七)"][column]
        )
    return result


def annual_report(
    summaries: list[Summary], tenant: str, year: int, townships: list[str] | None = None
) -> dict[str, Any]:
    """The report document (JSON shape); a district adds one table per township."""
    counts = section_three(summaries, year)
    body: dict[str, Any] = {
        "tenant": tenant,
        "year": year,
        "section": "三、收到和处理政府信息公开申请情况",
        "columns": [{"key": k, "label": label} for k, label in COLUMNS],
        "column_group": {"label": GROUP_LABEL, "keys": [k for k, _ in COLUMNS[1:6]]},
        "rows": [
            {"key": key, "label": label, "values": counts[key] if key else None}
            for key, label in ROWS
        ],
        "check": check(counts),
    }
    if townships:
        body["townships"] = [
            {
                "tenant": t,
                "rows": {
                    key: vals
                    for key, vals in section_three(
                        [s for s in summaries if s.tenant == t or s.tenant.startswith(t + "/")],
                        year,
                    ).items()
                },
            }
            for t in townships
        ]
    return body


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["行", *[c["label"] for c in report["columns"]]])
    for row in report["rows"]:
        values = row["values"]
        writer.writerow(
            [row["label"], *([values[c["key"]] for c in report["columns"]] if values else [])]
        )
    four = report.get("section_four")
    if four:
        writer.writerow([])
        writer.writerow([four["section"], *[c["label"] for c in four["columns"]]])
        for group in four["groups"]:
            writer.writerow([group["label"], *[group["values"][c["key"]] for c in four["columns"]]])
    return out.getvalue()


def to_html(report: dict[str, Any]) -> str:
    title = f"{html.escape(report['tenant'])} {report['year']} 年度政府信息公开工作年度报告"
    return (
        f'<!doctype html><html lang="zh"><meta charset="utf-8"><title>{title}</title>'
        f"<h1>{title}</h1><h2>{report['section']}</h2>{table_html(report)}</html>"
    )


def table_html(report: dict[str, Any]) -> str:
    """Section 三 as one HTML table with the template's two header rows."""
    cols = report["columns"]
    head = (
        f'<tr><th rowspan="2"></th><th rowspan="2">{cols[0]["label"]}</th>'
        f'<th colspan="5">{GROUP_LABEL}</th><th rowspan="2">{cols[-1]["label"]}</th></tr>'
        "<tr>" + "".join(f"<th>{c['label']}</th>" for c in cols[1:6]) + "</tr>"
    )
    body = []
    for row in report["rows"]:
        values = row["values"]
        cells = (
            "".join(f"<td>{values[c['key']]}</td>" for c in cols)
            if values
            else (f'<td colspan="{len(cols)}"></td>')
        )
        body.append(f"<tr><th>{html.escape(row['label'])}</th>{cells}</tr>")
    return f'<table border="1">{head}{"".join(body)}</table>'


async def read_log(store: Any) -> list[RecordedEvent]:
    """Every event of the applications store, in position order."""
    events: list[RecordedEvent] = []
    position = 0
    while batch := await store.read_all(position, 5000):
        events += batch
        position = batch[-1].position
    return events


def build(
    events: list[RecordedEvent], tenant: str, year: int, township_paths: list[str]
) -> dict[str, Any]:
    """The report of `tenant` (a township, or the district with one table per township)."""
    mine = [s for s in summarize(events) if s.tenant == tenant or s.tenant.startswith(tenant + "/")]
    inside = [t for t in township_paths if t.startswith(tenant + "/")]
    body = annual_report(mine, tenant, year, inside or None)
    from services.applications.reviews import fold_cases, section_four

    cases = [
        c
        for c in fold_cases(events).values()
        if c.tenant == tenant or c.tenant.startswith(tenant + "/")
    ]
    body["section_four"] = section_four(cases, year)
    return body


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "csv":
        return to_csv(report)
    if fmt == "html":
        return to_html(report)
    import orjson

    return orjson.dumps(report, option=orjson.OPT_INDENT_2).decode()


def section(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in doc["sections"] if s["key"] == key)


# --- the whole annual report (annual.py composes it) ---------------------------------


def _prose(s: dict[str, Any]) -> list[str]:
    return [p for p in (s.get("generated"), s.get("text")) if p]


def enforcement_value(row: dict[str, Any]) -> str:
    """A section-二 enforcement row's value as printed: a count, or 万元 without trailing 0s."""
    value = row["value"]
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def annual_csv(doc: dict[str, Any]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([doc["title"]])
    two, three, four = section(doc, "二"), section(doc, "三"), section(doc, "四")
    for key in ("一",):
        s = section(doc, key)
        w.writerow([s["title"]])
        for p in _prose(s) or ["（未填写）"]:
            w.writerow([p])
    w.writerow([two["title"]])
    w.writerow(["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"])
    for d in two["documents"]:
        w.writerow([d["label"], d["made_this_year"], d["repealed_this_year"], d["in_force"]])
    for r in two["other_rows"]:
        w.writerow([r["article"]])
        w.writerow(["信息内容", r["measure"]])
        w.writerow([r["label"], enforcement_value(r)])
    w.writerow([three["title"]])
    section_three_csv = to_csv({**three, "section_four": None})
    for line in csv.reader(io.StringIO(section_three_csv)):
        w.writerow(line)
    w.writerow([four["title"], *[c["label"] for c in four["columns"]]])
    for g in four["groups"]:
        w.writerow([g["label"], *[g["values"][c["key"]] for c in four["columns"]]])
    for key in ("五", "六"):
        s = section(doc, key)
        w.writerow([s["title"]])
        for p in _prose(s) or ["（未填写）"]:
            w.writerow([p])
    return out.getvalue()


def annual_html(doc: dict[str, Any]) -> str:
    e = html.escape
    parts = [
        f'<!doctype html><html lang="zh"><meta charset="utf-8"><title>{e(doc["title"])}</title>',
        f"<h1>{e(doc['title'])}</h1>",
    ]

    def prose(s: dict[str, Any]) -> None:
        parts.append(f"<h2>{e(s['title'])}</h2>")
        for p in _prose(s) or ["（未填写）"]:
            parts.append(f"<p>{e(p)}</p>")

    prose(section(doc, "一"))
    two = section(doc, "二")
    parts.append(f'<h2>{e(two["title"])}</h2><table border="1">')
    parts.append(
        "<tr><th>信息内容</th><th>本年制发件数</th><th>本年废止件数</th><th>现行有效件数</th></tr>"
    )
    for d in two["documents"]:
        parts.append(
            f"<tr><th>{e(d['label'])}</th><td>{d['made_this_year']}</td>"
            f"<td>{d['repealed_this_year']}</td><td>{d['in_force']}</td></tr>"
        )
    for r in two["other_rows"]:
        parts.append(
            f'<tr><th>{e(r["label"])}</th><td colspan="3">{e(r["measure"])}：'
            f"{e(enforcement_value(r))}</td></tr>"
        )
    parts.append("</table>")
    three = section(doc, "三")
    parts.append(f"<h2>{e(three['title'])}</h2>{table_html(three)}")
    four = section(doc, "四")
    parts.append(f'<h2>{e(four["title"])}</h2><table border="1"><tr><th></th>')
    parts.append("".join(f"<th>{e(c['label'])}</th>" for c in four["columns"]) + "</tr>")
    for g in four["groups"]:
        cells = "".join(f"<td>{g['values'][c['key']]}</td>" for c in four["columns"])
        parts.append(f"<tr><th>{e(g['label'])}</th>{cells}</tr>")
    parts.append("</table>")
    prose(section(doc, "五"))
    prose(section(doc, "六"))
    parts.append("</html>")
    return "".join(parts)


def render_annual(doc: dict[str, Any], fmt: str) -> str:
    if fmt == "csv":
        return annual_csv(doc)
    if fmt == "html":
        return annual_html(doc)
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()
