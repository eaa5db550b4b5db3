"""Assessment schemes (考核方案): indicators, weights, deductions, bonuses, vetoes.

A scheme is set in advance for one year and one level (方案§20: 考核评分细则提前制定):
the district scores its townships (`level: township`), a township scores its units
(`level: unit`). Points are written in YAML as decimals (2, 0.5) and held here as
integer hundredths ("cents") so every sum is exact and order-free.

Validation is part of the domain: a scheme whose weights do not add up to the declared
total, whose deduction per case exceeds its indicator's weight, or that names a signal
no scoring rule produces is refused with a typed error and nothing is published.
Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.assessment.signals import KNOWN_SIGNALS
from shared.errors import ValidationFailed
from shared.fields import NOT_PERSONAL, LabelledEnum

#: 60 分及格 (DOMAIN.md §5: below 60 fails) [local, default].
DEFAULT_PASS_LINE = 60.0


class Level(LabelledEnum):
    """Who is scored: townships (by the district) or units (by their township)."""

    township = "township", "乡镇"
    unit = "unit", "站所、部门"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeductionRule(_Frozen):
    """扣分项: `points` per distinct case of `signal`, capped at the indicator's weight."""

    signal: str = Field(min_length=1, max_length=80)
    points: float = Field(gt=0, le=1000, description="每起扣分")
    name: str = Field(min_length=1, max_length=200, json_schema_extra=NOT_PERSONAL)


class RateRule(_Frozen):
    """达标率 (e.g. 多样化解读率 ≥ 90%, 方案§15): of the cases of `of`, the share that are
    also cases of `hits`. At or above `target` the indicator keeps its weight; below, it
    keeps weight × rate / target (rounded down to 0.01). No case of `of`: nothing to rate."""

    of: str = Field(min_length=1, max_length=80, description="分母：事项来源")
    hits: str = Field(min_length=1, max_length=80, description="分子：事项来源")
    target: float = Field(gt=0, le=1, description="目标比率，如 0.9")
    name: str = Field(min_length=1, max_length=200, json_schema_extra=NOT_PERSONAL)


class Indicator(_Frozen):
    """指标: a weight and the deductions taken from it (never more than the weight).

    v2: an optional rate rule (达标率); its shortfall is deducted with the cases."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,59}$")
    name: str = Field(min_length=1, max_length=200, json_schema_extra=NOT_PERSONAL)
    weight: float = Field(gt=0, le=1000)
    basis: str | None = Field(default=None, max_length=500, description="依据，如 条例第二十六条")
    deductions: list[DeductionRule] = Field(default_factory=list, max_length=50)
    rate: RateRule | None = None


class BonusRule(_Frozen):
    """加分项 (方案§21 亮点工程): points per case, the sum capped by the scheme's bonus cap."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,59}$")
    name: str = Field(min_length=1, max_length=200, json_schema_extra=NOT_PERSONAL)
    signal: str = Field(min_length=1, max_length=80)
    points: float = Field(gt=0, le=1000)


class Veto(_Frozen):
    """一票否决: one case makes the subject fail, whatever its points."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,59}$")
    name: str = Field(min_length=1, max_length=200, json_schema_extra=NOT_PERSONAL)
    signal: str = Field(min_length=1, max_length=80)


class Scheme(_Frozen):
    """One year's scheme at one level, published by `owner` (the district or a township)."""

    year: int = Field(ge=2008, le=2100)
    level: Level
    owner: str = Field(min_length=1, max_length=200, description="发布机关 org path")
    title: str = Field(min_length=2, max_length=300)
    total: float = Field(gt=0, le=1000, description="满分 (weights must add up to it)")
    pass_line: float = Field(default=DEFAULT_PASS_LINE, ge=0)
    bonus_cap: float = Field(default=0, ge=0, le=100)
    indicators: list[Indicator] = Field(min_length=1, max_length=100)
    bonuses: list[BonusRule] = Field(default_factory=list, max_length=50)
    vetoes: list[Veto] = Field(default_factory=list, max_length=50)

    @property
    def scheme_id(self) -> str:
        return scheme_id(self.year, self.level, self.owner)


def scheme_id(year: int, level: str, owner: str) -> str:
    return f"{year}:{level}:{owner}"


def cents(points: float) -> int:
    return round(points * 100)


def _refuse(rule: str, field: str, zh: str, en: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(
        rule=rule, field=field, message_zh=zh, message_en=en, details=dict(details)
    )


def parse_scheme(data: object) -> Scheme:
    """A validated scheme from YAML-loaded data; every refusal names its field and rule."""
    if not isinstance(data, dict):
        raise _refuse(
            "scheme.not_a_mapping", "scheme", "考核方案必须是一个映射", "a scheme must be a mapping"
        )
    try:
        scheme = Scheme.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "scheme"
        raise _refuse(
            "scheme.invalid",
            where,
            f"考核方案字段 {where} 无效：{first['msg']}",
            f"scheme field {where} is invalid: {first['msg']}",
        ) from None
    check_scheme(scheme)
    return scheme


def check_scheme(scheme: Scheme) -> None:
    """The rules a scheme must satisfy before it is published (DOMAIN.md §5)."""
    _check_points(scheme)
    weights = sum(cents(i.weight) for i in scheme.indicators)
    if weights != cents(scheme.total):
        raise _refuse(
            "scheme.weights_do_not_sum",
            "indicators",
            f"各指标分值之和为 {weights / 100:g}，与方案满分 {scheme.total:g} 不符",
            f"indicator weights sum to {weights / 100:g}, not the declared total {scheme.total:g}",
            weights=weights / 100,
            total=scheme.total,
        )
    if cents(scheme.pass_line) > cents(scheme.total):
        raise _refuse(
            "scheme.pass_line_above_total",
            "pass_line",
            "及格线不能高于满分",
            "the pass line cannot exceed the total",
        )
    keys = [i.key for i in scheme.indicators] + [b.key for b in scheme.bonuses]
    keys += [v.key for v in scheme.vetoes]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise _refuse(
            "scheme.duplicate_key",
            "indicators",
            f"指标、加分项或否决项的代码重复：{'、'.join(duplicates)}",
            f"duplicate indicator, bonus or veto keys: {', '.join(duplicates)}",
            keys=duplicates,
        )
    for index, indicator in enumerate(scheme.indicators):
        for rule_index, rule in enumerate(indicator.deductions):
            _check_signal(rule.signal, f"indicators[{index}].deductions[{rule_index}].signal")
            if cents(rule.points) > cents(indicator.weight):
                raise _refuse(
                    "scheme.deduction_exceeds_weight",
                    f"indicators[{index}].deductions[{rule_index}].points",
                    f"指标“{indicator.name}”每起扣 {rule.points:g} 分，超过该指标分值"
                    f" {indicator.weight:g}",
                    f"indicator {indicator.key} deducts {rule.points:g} per case, more than "
                    f"its weight {indicator.weight:g}",
                )
        if indicator.rate is not None:
            _check_rate(indicator.rate, f"indicators[{index}].rate")
    for index, bonus in enumerate(scheme.bonuses):
        _check_signal(bonus.signal, f"bonuses[{index}].signal")
    for index, veto in enumerate(scheme.vetoes):
        _check_signal(veto.signal, f"vetoes[{index}].signal")


def _check_points(scheme: Scheme) -> None:
    """Points are whole hundredths: 0.5 and 2 are fine, 0.125 is not."""
    values: list[tuple[str, float]] = [("total", scheme.total), ("pass_line", scheme.pass_line)]
    values.append(("bonus_cap", scheme.bonus_cap))
    for i, indicator in enumerate(scheme.indicators):
        values.append((f"indicators[{i}].weight", indicator.weight))
        for j, rule in enumerate(indicator.deductions):
            values.append((f"indicators[{i}].deductions[{j}].points", rule.points))
    for i, bonus in enumerate(scheme.bonuses):
        values.append((f"bonuses[{i}].points", bonus.points))
    for where, value in values:
        if abs(value * 100 - round(value * 100)) > 1e-6:
            raise _refuse(
                "scheme.points_precision",
                where,
                f"{where} 的分值最多保留两位小数",
                f"{where} must have at most two decimal places",
            )


def _check_rate(rate: RateRule, where: str) -> None:
    _check_signal(rate.of, f"{where}.of")
    _check_signal(rate.hits, f"{where}.hits")
    if rate.of == rate.hits:
        raise _refuse(
            "scheme.rate_of_itself",
            f"{where}.hits",
            "达标率的分子与分母不能是同一事项来源",
            "a rate's hits and its base cannot be the same signal",
        )
    if abs(rate.target * 100 - round(rate.target * 100)) > 1e-6:
        raise _refuse(
            "scheme.points_precision",
            f"{where}.target",
            f"{where}.target 须为整百分比（如 0.9）",
            f"{where}.target must be a whole percentage (such as 0.9)",
        )


def _check_signal(signal: str, where: str) -> None:
    if signal not in KNOWN_SIGNALS:
        raise _refuse(
            "scheme.unknown_signal",
            where,
            f"未知的考核事项来源：{signal}（可用：{'、'.join(sorted(KNOWN_SIGNALS))}）",
            f"unknown event source for scoring: {signal}; "
            f"known: {', '.join(sorted(KNOWN_SIGNALS))}",
            known=sorted(KNOWN_SIGNALS),
        )
