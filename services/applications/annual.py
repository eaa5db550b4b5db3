"""The whole annual report (政府信息公开工作年度报告; 条例 Arts. 49–50) of a tenant and year.

Template 国办公开办函〔2021〕30号 (DOMAIN.md §2), six parts:

- 一、总体情况 — a summary generated from the numbers of 二, 三, 四 and the fees, followed
  by the text the openness office records (`AnnualReportTextRecorded`, section overview).
- 二、主动公开政府信息情况 — 规章 and 行政规范性文件 (本年制发 / 本年废止 / 现行有效) from
  this service's read model of the catalog's events (publications.PublishedDocuments;
  docs/decisions.md: no call to the catalog, no read of its tables). 行政许可 / 行政处罚 /
  行政强制 (本年处理决定数量) and 行政事业性收费 (本年收费金额, 万元) from this service's read
  model of the enforcement service's events (enforcement_rows.EnforcementDecisions; issue
  #23): the decisions made in the year by the tenant's units.
- 三、收到和处理政府信息公开申请情况 — report.py, from this service's event log.
- 四、政府信息公开行政复议、行政诉讼情况 — reviews.py, from the log.
- 五、存在的主要问题及改进情况 — the office's text (section problems).
- 六、其他需要报告的事项 — the information-processing fees collected in the year
  (国办函〔2020〕109号 asks for them in the annual report), from FeePaid events, followed by
  the office's text (section other).

Pure except for `full_report` and `record_text` (load -> decide -> append).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from services.applications import report
from services.applications.enforcement_rows import enforcement_rows
from services.applications.events import AnnualReportTextRecorded, FeePaid, registry
from shared.envelope import RecordedEvent
from shared.identity import Principal, authorize

TITLES = {
    "一": "一、总体情况",
    "二": "二、主动公开政府信息情况",
    "三": "三、收到和处理政府信息公开申请情况",
    "四": "四、政府信息公开行政复议、行政诉讼情况",
    "五": "五、存在的主要问题及改进情况",
    "六": "六、其他需要报告的事项",
}
#: Section 二's document kinds, as the catalog labels them (services/catalog/reports.py).
DOCUMENT_KINDS = (("regulation", "规章"), ("normative", "行政规范性文件"))
#: Section 二's enforcement rows, as the template labels them: (key, the enforcement
#: service's kind, label, measure, the article of 条例第二十条 the template groups it under).
ENFORCEMENT_ROWS = (
    ("licensing", "licensing", "行政许可", "本年处理决定数量", "第二十条第（五）项"),
    ("penalty", "penalty", "行政处罚", "本年处理决定数量", "第二十条第（六）项"),
    ("enforcement", "coercion", "行政强制", "本年处理决定数量", "第二十条第（六）项"),
    ("fees", "fee", "行政事业性收费", "本年收费金额（单位：万元）", "第二十条第（八）项"),
)
ENFORCEMENT_SOURCE = (
    "enforcement events (EnforcementDecisionRecorded): decisions made in the year, fees in 万元"
)


def within(tenant: str, scope: str) -> bool:
    return tenant == scope or tenant.startswith(scope + "/")


# --- section 二 -----------------------------------------------------------------------


def enforcement_values(rows: Iterable[Mapping[str, Any]], year: int) -> dict[str, Any]:
    """Per section-二 key: decisions made in `year` (count), or the fees' sum in 万元
    (four decimals: one yuan). `rows`: (kind, decided_on, amount_fen), already scoped."""
    counts = {kind: 0 for _, kind, *_ in ENFORCEMENT_ROWS}
    fen = 0
    for row in rows:
        if not str(row["decided_on"]).startswith(f"{year}-") or row["kind"] not in counts:
            continue
        counts[row["kind"]] += 1
        if row["kind"] == "fee":
            fen += int(row["amount_fen"] or 0)
    values: dict[str, Any] = {key: counts[kind] for key, kind, *_ in ENFORCEMENT_ROWS}
    values["fees"] = round(fen / 1_000_000, 4)
    return values


def section_two(
    rows: Iterable[Mapping[str, Any]],
    year: int,
    enforcement: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """规章 / 行政规范性文件: made (issued in the year), repealed in the year, in force at its end;
    and the enforcement rows (`enforcement_values`).

    `rows`: published documents (kind, issue_date, repealed_on, withdrawn, and valid_until
    when a 有效期 was set: not in force after it), as the catalog's
    own section-二 endpoint counts them: a withdrawn document does not count at all.
    """
    values = enforcement_values(enforcement, year)
    end = date(year, 12, 31).isoformat()
    counts = {k: {"made": 0, "repealed": 0, "in_force": 0} for k, _ in DOCUMENT_KINDS}
    for row in rows:
        if row["kind"] not in counts or row["withdrawn"]:
            continue
        c = counts[row["kind"]]
        issued, repealed = str(row["issue_date"]), row["repealed_on"]
        until = row["valid_until"] or None  # 有效期 (decision 152); "" = cleared
        if issued.startswith(f"{year}-"):
            c["made"] += 1
        if repealed and str(repealed).startswith(f"{year}-"):
            c["repealed"] += 1
        if (
            issued <= end
            and (repealed is None or str(repealed) > end)
            and (until is None or str(until) >= end)
        ):
            c["in_force"] += 1
    return {
        "section": TITLES["二"],
        "documents": [
            {
                "kind": kind,
                "label": label,
                "made_this_year": counts[kind]["made"],
                "repealed_this_year": counts[kind]["repealed"],
                "in_force": counts[kind]["in_force"],
            }
            for kind, label in DOCUMENT_KINDS
        ],
        "other_rows": [
            {
                "key": key,
                "label": label,
                "measure": measure,
                "article": article,
                "value": values[key],
            }
            for key, _, label, measure, article in ENFORCEMENT_ROWS
        ],
        "source": "catalog events (DocumentPublished / DocumentWithdrawn / DocumentRepealed); "
        + ENFORCEMENT_SOURCE,
    }


# --- the office's texts and the fees ----------------------------------------------------


def texts_of(events: Iterable[RecordedEvent], tenant: str, year: int) -> dict[str, str]:
    """The latest text per section recorded for exactly this tenant and year."""
    found: dict[str, str] = {}
    for event in events:
        if event.stream_type != "annual-report" or event.type != "AnnualReportTextRecorded":
            continue
        e = registry.decode(event)
        assert isinstance(e, AnnualReportTextRecorded)
        if e.tenant == tenant and e.year == year:
            found[e.section.value] = e.text
    return found


def publication_of(
    events: Iterable[RecordedEvent], tenant: str, year: int
) -> dict[str, Any] | None:
    """When and where the report was published (条例第四十九条), if it was."""
    for event in events:
        if event.type != "AnnualReportPublished" or event.stream_type != "annual-report":
            continue
        p = event.payload
        if p.get("tenant") == tenant and p.get("year") == year:
            keys = ("published_on", "due_on", "late", "url", "similarity", "copied")
            return {**{k: p.get(k) for k in keys}, "event_id": str(event.event_id)}
    return None


def fees_of(events: Iterable[RecordedEvent], tenant: str, year: int) -> dict[str, int]:
    """信息处理费 paid in the year (国办函〔2020〕109号), per request stream of the scope."""
    count, total = 0, 0
    for event in events:
        if event.type != "FeePaid" or event.stream_type != "request":
            continue
        if not within(event.tenant, tenant):
            continue
        e = registry.decode(event)
        if isinstance(e, FeePaid) and e.paid_on.year == year:
            count += 1
            total += e.amount_yuan
    return {"requests": count, "amount_yuan": total}


def _value(three: dict[str, Any], key: str) -> int:
    for row in three["rows"]:
        if row["key"] == key:
            return int(row["values"]["total"])
    return 0


def overview(
    name: str,
    year: int,
    two: dict[str, Any],
    three: dict[str, Any],
    four: dict[str, Any],
    fees: dict[str, int],
) -> str:
    """一、总体情况, generated from the numbers (the office adds its own text after it)."""
    docs = {d["kind"]: d for d in two["documents"]}
    reg, norm = docs["regulation"], docs["normative"]
    cases = {g["key"]: g["values"]["total"] for g in four["groups"]}
    litigation = sum(v for k, v in cases.items() if k != "review")
    return (
        f"{year}年，{name}主动公开规章{reg['made_this_year']}件、行政规范性文件"
        f"{norm['made_this_year']}件，废止规章{reg['repealed_this_year']}件、行政规范性文件"
        f"{norm['repealed_this_year']}件，年末现行有效规章{reg['in_force']}件、行政规范性文件"
        f"{norm['in_force']}件。本年新收政府信息公开申请{_value(three, '一')}件，"
        f"上年结转{_value(three, '二')}件，本年办结{_value(three, '三(七)')}件"
        f"（其中予以公开{_value(three, '三(一)')}件、部分公开{_value(three, '三(二)')}件），"
        f"结转下年度继续办理{_value(three, '四')}件。"
        f"涉及政府信息公开的行政复议{cases.get('review', 0)}件、行政诉讼{litigation}件。"
        f"收取信息处理费{fees['requests']}件，共{fees['amount_yuan']}元。"
    )


def compose(
    *,
    tenant: str,
    name: str,
    year: int,
    three_and_four: dict[str, Any],
    two: dict[str, Any],
    texts: Mapping[str, str],
    fees: dict[str, int],
) -> dict[str, Any]:
    """The report document: six parts in template order, and the check of part 三."""
    three = {k: v for k, v in three_and_four.items() if k not in ("section_four",)}
    four = three_and_four["section_four"]
    summary = overview(name, year, two, three, four, fees)
    fee_line = (
        f"依据《政府信息公开信息处理费管理办法》（国办函〔2020〕109号），本年度收取信息处理费"
        f"{fees['requests']}件，共{fees['amount_yuan']}元。"
    )
    return {
        "tenant": tenant,
        "year": year,
        "title": f"{name}{year}年政府信息公开工作年度报告",
        "format": "国办公开办函〔2021〕30号",
        "sections": [
            {
                "key": "一",
                "title": TITLES["一"],
                "generated": summary,
                "text": texts.get("overview"),
            },
            {"key": "二", "title": TITLES["二"], **two},
            {"key": "三", "title": TITLES["三"], **three},
            {"key": "四", "title": TITLES["四"], **four},
            {
                "key": "五",
                "title": TITLES["五"],
                "generated": None,
                "text": texts.get("problems"),
            },
            {
                "key": "六",
                "title": TITLES["六"],
                "generated": fee_line,
                "text": texts.get("other"),
                "fees": fees,
            },
        ],
        "missing_texts": [
            TITLES[k]
            for k, s in (("一", "overview"), ("五", "problems"), ("六", "other"))
            if not texts.get(s)
        ],
        "check": three_and_four["check"],
    }


# --- reading and recording -----------------------------------------------------------------


async def publication_rows(views: Any) -> list[Any]:
    rows: list[Any] = await views.fetch(
        "SELECT tenant, kind, issue_date, repealed_on, withdrawn, (SELECT v.valid_until FROM "
        "app_publication_validity v WHERE v.document_id = app_publications.document_id) "
        "AS valid_until FROM app_publications WHERE kind IN ('regulation', 'normative')"
    )
    return rows


def build(
    *,
    events: list[RecordedEvent],
    publications: Iterable[Mapping[str, Any]],
    tenant: str,
    name: str,
    year: int,
    township_paths: list[str],
    enforcement: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The whole report of `tenant` (a township, or the district summing its townships)."""
    three_and_four = report.build(events, tenant, year, township_paths)
    two = section_two(
        [r for r in publications if within(str(r["tenant"]), tenant)],
        year,
        [r for r in enforcement if within(str(r["tenant"]), tenant)],
    )
    document = compose(
        tenant=tenant,
        name=name,
        year=year,
        three_and_four=three_and_four,
        two=two,
        texts=texts_of(events, tenant, year),
        fees=fees_of(events, tenant, year),
    )
    return {**document, "publication": publication_of(events, tenant, year)}


async def full_report(h: Any, tenant: str, year: int, principal: Principal) -> dict[str, Any]:
    authorize(principal, tenant, write=False)
    unit = h.orgs.get(tenant)
    events = await report.read_log(h.store)
    return build(
        events=events,
        publications=await publication_rows(h.views),
        tenant=tenant,
        name=str(unit.name),
        year=year,
        township_paths=[str(t.path) for t in h.orgs.townships()],
        enforcement=await enforcement_rows(h.views),
    )
