"""The interpretation quality gate (方案§五(一): 杜绝“照搬照抄原文”、“标题式”解读; DOMAIN.md §3).

Pure: texts in, measured values out. The sample texts (services/interpretation/samples.py)
are a township 实施方案 and three interpretations of it written by the team.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.interpretation import quality as q
from services.interpretation import samples

RULES = q.QualityRules()

# Chinese text without separators: n-grams of it never span punctuation.
HAN = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1)


def sections(items: list[dict[str, Any]]) -> list[q.Section]:
    return [q.Section(heading=i["heading"], text=i["text"], part=q.Part(i["part"])) for i in items]


def assess(items: list[dict[str, Any]], **na: str) -> q.QualityReport:
    waived = {q.Part(k): v for k, v in na.items()}
    return q.assess(sections(items), waived, samples.POLICY_TEXT, RULES)


def check(report: q.QualityReport, name: str) -> q.Check:
    return next(c for c in report.checks if c.check == name)


# ---------------------------------------------------------------- properties of containment


@given(policy=HAN)
def test_a_verbatim_copy_scores_full_containment(policy: str) -> None:
    if len(policy) >= RULES.ngram:
        assert q.containment(policy, policy, RULES.ngram) == 1.0


@given(st.lists(HAN, min_size=1, max_size=8))
def test_a_copy_with_changed_punctuation_and_spacing_still_scores_one(parts: list[str]) -> None:
    """Separators are normalised away: re-punctuating a copy does not hide it."""
    policy = "，".join(parts)
    disguised = " 。\n".join(parts)
    grams = sum(max(0, len(p) - RULES.ngram + 1) for p in parts)
    if grams:
        assert q.containment(disguised, policy, RULES.ngram) == 1.0


@given(
    policy=st.text(alphabet="政策农村厕所改造补助", min_size=6, max_size=200),
    interpretation=st.text(alphabet="我们群众怎样申请办理", min_size=0, max_size=200),
)
def test_text_sharing_no_ngram_with_the_policy_scores_zero(
    policy: str, interpretation: str
) -> None:
    assert q.containment(interpretation, policy, RULES.ngram) == 0.0


@settings(max_examples=200)
@given(
    own=st.lists(HAN, max_size=5),
    policy_parts=st.lists(HAN, min_size=1, max_size=6),
    picks=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 50), st.integers(1, 60)),
                   min_size=1, max_size=6),
)  # fmt: skip
def test_containment_is_monotone_as_copied_passages_are_added(
    own: list[str], policy_parts: list[str], picks: list[tuple[int, int, int]]
) -> None:
    """Each appended sentence copied from the policy can only raise the measured share."""
    policy = "。".join(policy_parts)
    text = "。".join(own)
    before = q.containment(text, policy, RULES.ngram)
    for part_index, start, length in picks:
        source = policy_parts[part_index % len(policy_parts)]
        passage = source[start % len(source) :][:length]
        text = f"{text}。{passage}"
        after = q.containment(text, policy, RULES.ngram)
        assert after >= before - 1e-12
        before = after


@given(HAN, HAN)
def test_containment_stays_between_zero_and_one(a: str, b: str) -> None:
    assert 0.0 <= q.containment(a, b, RULES.ngram) <= 1.0


def test_longest_copied_passages_are_the_maximal_copied_runs() -> None:
    policy = "对完成户厕改造的农户每户补助1200元。"
    text = "好消息：对完成户厕改造的农户每户补助1200元，欢迎咨询。"
    passages = q.copied_passages(text, policy, 6)
    assert passages[0].text == "对完成户厕改造的农户每户补助1200元"
    assert passages[0].length == 19


# ---------------------------------------------------------------- the three sample cases


def test_a_good_interpretation_passes_every_check__fang_an_5_1() -> None:
    report = assess(samples.GOOD_SECTIONS)
    assert report.passed, report.as_dict()
    assert report.containment < 0.1


def test_a_copy_is_refused_with_the_measured_share_and_passages__zhaoban_zhaochao() -> None:
    report = assess(samples.COPIED_SECTIONS)
    copy = check(report, "copy")
    assert not report.passed and not copy.passed
    assert copy.measured["containment"] == 1.0
    assert copy.measured["threshold"] == RULES.max_containment
    longest = copy.measured["longest_copied_passages"]
    assert len(longest) == RULES.passages_shown
    policy_segments = q.segments(samples.POLICY_TEXT)
    assert all(any(p["text"] in seg for seg in policy_segments) for p in longest)
    assert longest[0]["length"] >= longest[-1]["length"] >= 20
    assert "照搬照抄原文" in copy.message_zh and "100%" in copy.message_zh
    # The other checks pass: the refusal names the one thing to fix.
    assert [c.check for c in report.failed()] == ["copy"]


def test_a_title_only_interpretation_is_refused_with_the_explanatory_length__biaotishi() -> None:
    report = assess(samples.TITLE_ONLY_SECTIONS)
    title = check(report, "title_only")
    assert not title.passed
    assert title.measured["explanatory_chars"] == 0
    assert set(title.measured["title_only_parts"]) == {p.value for p in q.Part}
    assert "标题式" in title.message_zh
    assert check(report, "copy").passed


def test_one_thin_part_makes_the_interpretation_title_only() -> None:
    items = [dict(s) for s in samples.GOOD_SECTIONS]
    items[4] = {**items[4], "text": "旧方案废止。"}
    title = check(assess(items), "title_only")
    assert not title.passed
    assert title.measured["title_only_parts"] == ["old_new_differences"]
    assert "新旧政策差异" in title.message_zh


def test_a_missing_part_is_refused_unless_a_reason_says_why_it_does_not_apply() -> None:
    first_policy = samples.GOOD_SECTIONS[:4]
    parts = check(assess(first_policy), "parts")
    assert not parts.passed
    assert parts.measured["missing"] == ["old_new_differences"]
    assert "新旧政策差异" in parts.message_zh

    waived = check(assess(first_policy, old_new_differences="首次出台，无旧政策可比"), "parts")
    assert waived.passed
    assert waived.measured["not_applicable"] == {"old_new_differences": "首次出台，无旧政策可比"}


@pytest.mark.parametrize("reason", ["", "   ", "\n\t", "无", "不适用", "……", "N/A"])
def test_a_part_waived_without_a_reason_is_still_missing__fang_an_5_1(reason: str) -> None:
    """Audit gap 2: "not applicable" needs a reason the reviewer can check; a blank or token
    one is no waiver, and the refusal names the part and the minimum."""
    first_policy = samples.GOOD_SECTIONS[:4]
    parts = check(assess(first_policy, old_new_differences=reason), "parts")
    assert not parts.passed
    assert parts.measured["missing"] == ["old_new_differences"]
    assert parts.measured["waived_without_reason"] == ["old_new_differences"]
    assert parts.measured["not_applicable"] == {}
    assert parts.measured["min_part_reason_chars"] == RULES.min_part_reason_chars
    assert "“新旧政策差异”标为不适用，但理由不足 4 字" in parts.message_zh
    assert "old_new_differences" in parts.message_en


def test_the_minimum_reason_length_is_configurable_and_counts_letters_and_digits() -> None:
    first_policy = sections(samples.GOOD_SECTIONS[:4])
    waiver = {q.Part.old_new_differences: "首次出台。"}  # 4 letters, 1 punctuation mark
    assert q.check_parts(first_policy, waiver, RULES).passed
    strict = q.QualityRules(min_part_reason_chars=5)
    refused = q.check_parts(first_policy, waiver, strict)
    assert not refused.passed and refused.measured["waived_without_reason"] == [
        "old_new_differences"
    ]
    assert q.reason_chars(" 首次 出台，2026年 ") == 9


def test_heading_lines_do_not_count_as_explanation() -> None:
    assert q.is_heading_line("一、出台背景")
    assert not q.is_heading_line("前一轮三年行动在2023年底结束。")
    assert q.explanatory_chars("一、出台背景\n二、工作目标") == 0
    assert q.explanatory_chars("一、出台背景\n群众反映户厕冬天冻裂。") == 10


def test_the_thresholds_are_configurable() -> None:
    """Above `max_containment` a text must explain in its own words; above
    `near_copy_containment` it is refused whatever it adds."""
    good = sections(samples.GOOD_SECTIONS)
    near_copy = q.QualityRules(near_copy_containment=0.01)
    assert not check(q.assess(good, {}, samples.POLICY_TEXT, near_copy), "copy").passed
    demanding = q.QualityRules(max_containment=0.01, min_own_chars=10_000)
    refused = check(q.assess(good, {}, samples.POLICY_TEXT, demanding), "copy")
    assert not refused.passed and refused.measured["reasons"] == ["own_chars"]
    # Heavy quotation alone is no fault: the good text explains in its own words.
    quoting_allowed = q.QualityRules(max_containment=0.01)
    assert check(q.assess(good, {}, samples.POLICY_TEXT, quoting_allowed), "copy").passed


def test_the_offline_check_command_exits_non_zero_for_a_copy(tmp_path: Any, capsys: Any) -> None:
    """`gongkai interpretation-check`: the same gate for a drafter, before drafting."""
    import argparse
    import json

    from services.interpretation.cli import _check

    policy = tmp_path / "policy.txt"
    policy.write_text(samples.POLICY_TEXT, encoding="utf-8")
    for items, expected in ((samples.COPIED_SECTIONS, 1), (samples.GOOD_SECTIONS, 0)):
        text = tmp_path / "interpretation.json"
        text.write_text(json.dumps({"sections": items}, ensure_ascii=False), encoding="utf-8")
        args = argparse.Namespace(policy=policy, interpretation=text)
        assert _check(args) == expected
        assert json.loads(capsys.readouterr().out)["passed"] is (expected == 0)


# ---------------------------------------------------------------- substance beyond quotation


def policy_sentences() -> list[str]:
    """The sample policy's sentences of at least 20 characters (quotable material)."""
    found = []
    for line in samples.POLICY_TEXT.splitlines():
        for sentence in line.split("。"):
            if len(sentence) >= 20:
                found.append(sentence + "。")
    return found


OWN_SENTENCES = [
    "这意味着今后改厕不再是一改了之，坏了有人修、满了有人抽，群众不用再自己想办法。",
    "对农户来说，最实在的是补助标准：自己动手改厕的，验收合格后直接把钱打到一卡通上。",
    "为什么靠近镇区的村先接管网？因为这些村离污水主管近，接进去花钱少、见效快。",
    "其余的村不搞一刀切，离得远、住得散的，用小型处理设施或者化粪池，哪种省事用哪种。",
    "群众最关心的垃圾问题，方案把分类、收集、转运、处理每一步由谁负责都写清楚了。",
    "村里保洁员的工资由镇里统一保障，考核结果和村干部的绩效挂钩，不再是村里自己想办法。",
]


def quoting_interpretation() -> str:
    """Written the way real interpretations are: a quoted sentence, then what it means."""
    quotes = policy_sentences()[:6]
    closing = (
        "总的来说，这个方案说的是三年里镇、村、户各自要做什么、钱从哪里来、做不好怎么办。"
        "有疑问的村民可以打镇农业综合服务中心的电话，也可以在每月的村民议事日上当面问。"
    )
    body = "\n".join(
        f"方案明确：“{quote}”{own}" for quote, own in zip(quotes, OWN_SENTENCES, strict=True)
    )
    return body + "\n" + closing


def test_heavy_quotation_with_own_explanation_passes__real_interpretations_quote() -> None:
    """Real interpretations quote their policy heavily; what counts is what they add."""
    text = quoting_interpretation()
    copy = q.check_copy(text, samples.POLICY_TEXT, RULES)
    assert copy.measured["containment"] > RULES.max_containment
    # min_own_share is judged on the sentences not lifted whole since decision 155.
    assert copy.measured["unlifted_own_share"] >= RULES.min_own_share
    assert copy.measured["own_chars"] >= RULES.min_own_chars
    assert copy.passed, copy.measured["reasons"]


def test_a_text_lifted_sentence_by_sentence_is_refused_even_with_some_own_words() -> None:
    """60 % of the sentences lifted whole from the policy, 40 % the drafter's own."""
    lifted = policy_sentences()[:9]
    own = OWN_SENTENCES[:6]
    text = "".join(lifted[:3] + own[:2] + lifted[3:6] + own[2:4] + lifted[6:9] + own[4:6])
    copy = q.check_copy(text, samples.POLICY_TEXT, RULES)
    assert not copy.passed
    assert "lifted" in copy.measured["reasons"]
    assert copy.measured["lifted_share"] >= RULES.max_lifted_share
    assert "整句照搬" in copy.message_zh


def test_a_quoted_part_without_own_words_is_refused_per_part() -> None:
    """Each part must explain: a part made only of quotations is named in the refusal."""
    quotes = policy_sentences()
    items = [dict(s) for s in samples.GOOD_SECTIONS]
    items[3] = {**items[3], "text": "".join(quotes[6:12])}
    for item in items[:3]:
        item["text"] = "".join(quotes[:3]) + item["text"]
    copy = check(assess(items), "copy")
    assert copy.measured["part_own_chars"]["key_measures"] < RULES.min_part_own_chars
    assert copy.measured["containment"] > RULES.max_containment
    assert not copy.passed and "thin_parts" in copy.measured["reasons"]
    assert "重要举措" in copy.message_zh


def test_own_characters_exclude_headings_and_verbatim_runs() -> None:
    policy = "对完成户厕改造的农户每户补助1200元。"
    grams = q.run_grams(policy, 12)
    found = q.substance(
        "三、补助\n方案规定对完成户厕改造的农户每户补助1200元，钱直接到账。", grams, 12
    )
    assert found.quoted_chars == 19  # 对完成户厕改造的农户每户补助1200元
    assert found.own_chars == 4 + 5  # 方案规定 + 钱直接到账 (the heading line is left out)
    assert found.lifted_chars == 0
    assert q.substance(policy, grams, 12).lifted_share == 1.0


# ---------------------------------------------------------------- evaluating the gate on pairs


def test_the_pair_evaluation_passes_genuine_texts_and_refuses_the_derived_ones(
    tmp_path: Any, capsys: Any
) -> None:
    """`gongkai interpretation-check --pairs`: a confusion table over pass/refuse; the derived
    copy, title-only and 60 %-lifted texts of each pair are refused."""
    import argparse
    import json

    from services.interpretation.cli import _check
    from services.interpretation.gate_eval import derived, evaluate_pairs

    good = "\n".join(f"{s['heading']}\n{s['text']}" for s in samples.GOOD_SECTIONS)
    pairs = [
        {"id": "good", "policy": samples.POLICY_TEXT, "interpretation": good},
        {
            "id": "quoting",
            "policy": samples.POLICY_TEXT,
            "interpretation": quoting_interpretation(),
        },
    ]
    result = evaluate_pairs(pairs, RULES)
    assert result.per_kind == {k: (2, 2) for k in result.per_kind}
    assert result.confusion == {("pass", "pass"): 2, ("refuse", "refuse"): 6}
    lifted = derived(samples.POLICY_TEXT, good, 0)["lifted_60"]
    assert q.check_copy(lifted, samples.POLICY_TEXT, RULES).measured["lifted_share"] >= 0.5

    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(p, ensure_ascii=False) for p in pairs), encoding="utf-8")
    assert _check(argparse.Namespace(pairs=path, policy=None, interpretation=None)) == 0
    out = capsys.readouterr().out
    assert "gold \\ predicted" in out and "lifted_60" in out
    assert samples.POLICY_TEXT[:20] not in out  # measured values only, never a text
