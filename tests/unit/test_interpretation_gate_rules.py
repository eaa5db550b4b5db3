"""The quality gate's rules as judged on 35 real policy/解读 pairs (decision 155, issue #19).

方案§五(一): 杜绝“照搬照抄原文”、“标题式”解读 — a 解读 must explain, not copy. Synthetic texts
only: the team's sample policy (services/interpretation/samples.py) and sentences written
here; no real pair's text is in the repository.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

import pytest

from services.interpretation import gate_eval, samples
from services.interpretation import quality as q

RULES = q.QualityRules()


def policy_sentences(low: int, high: int) -> list[str]:
    """The sample policy's sentences (split per line at 。；) of `low`..`high` letters/digits."""
    found = []
    for line in samples.POLICY_TEXT.splitlines():
        for sentence in re.split(r"(?<=[。；])", line):
            if low <= len(q.stream(sentence)) <= high:
                found.append(sentence)
    return found


def policy_clauses(low: int, high: int) -> list[str]:
    """The sample policy's clauses (split at ，。；) of `low`..`high` letters and digits."""
    clauses = re.split(r"[，。；]", samples.POLICY_TEXT.replace("\n", "。"))
    return [c for c in clauses if low <= len(q.stream(c)) <= high]


LONG_OWN = [
    "这意味着今后改厕不再是一改了之，坏了有人修、满了有人抽，群众不用再自己想办法。",
    "对农户来说，最实在的是补助标准：自己动手改厕的，验收合格后直接把钱打到一卡通上。",
    "为什么靠近镇区的村先接管网？因为这些村离污水主管近，接进去花钱少、见效快。",
    "其余的村不搞一刀切，离得远、住得散的，用小型处理设施或者化粪池，哪种省事用哪种。",
]

SHORT_OWN = [
    "说白了，就是让村里更干净、住着更舒服。",
    "群众最关心的是改厕以后好不好用。",
    "也就是说三年后十户里至少九户有卫生厕所。",
    "问题户厕先修好，再谈新改。",
    "离镇上近的村先接管网，省钱见效快。",
    "垃圾怎么分、谁来收，每一步都有人管。",
    "拆掉的残垣断壁会腾出地方种树。",
    "镇长亲自抓，办公室负责催办。",
    "改厕补助直接打到一卡通上，不用跑腿。",
]


# ---------------------------------------------------------------- lifted, at any containment


def test_sentences_lifted_whole_are_refused_even_below_the_containment_level__zhengju_zhaoban() -> (
    None
):
    """Decision 155: the sentence rule applies whatever the containment. Short policy
    sentences (12-35 letters) make 6 of 11 sentences while long own sentences keep the
    containment under 0.5; before, only texts above `max_containment` were asked."""
    lifted = policy_sentences(12, 35)[:6]
    assert len(lifted) == 6
    # One sentence each (the question mark of LONG_OWN[2] would end a sentence).
    own = [
        f"{long.rstrip('。').replace('？', '，')}，{short}"
        for long, short in zip(LONG_OWN, SHORT_OWN, strict=False)
    ]
    own.append(SHORT_OWN[4].rstrip("。") + "，" + SHORT_OWN[5])
    text = "".join(lifted[:3] + own[:2] + lifted[3:] + own[2:])
    copy = q.check_copy(text, samples.POLICY_TEXT, RULES)
    assert copy.measured["containment"] <= RULES.max_containment
    assert copy.measured["lifted_sentences"] == 6 and copy.measured["sentences"] == 11
    assert copy.measured["lifted_share"] < RULES.max_lifted_share
    assert not copy.passed and copy.measured["reasons"] == ["lifted"]
    assert "整句照搬" in copy.message_zh


def test_a_light_quoter_with_few_lifted_sentences_still_passes() -> None:
    """The same short sentences, 2 of 6 lifted: quoting is no fault below half."""
    lifted = policy_sentences(12, 35)[:2]
    text = "".join([lifted[0], *LONG_OWN[:2], lifted[1], *LONG_OWN[2:]])
    copy = q.check_copy(text, samples.POLICY_TEXT, RULES)
    assert copy.measured["lifted_sentence_share"] < RULES.max_lifted_sentence_share
    assert copy.passed, copy.measured["reasons"]


# ---------------------------------------------------------------- own share of the unlifted


#: The own-characters floor lowered so the own-share rule is judged alone: the sample policy
#: (~1,000 characters) has too few long sentences for a 300-own-character text of this shape.
SHARE_RULES = q.QualityRules(min_own_chars=100)


def test_whole_quoted_sentences_do_not_count_against_the_own_share__decision_155() -> None:
    """Like real 解读 that quote whole items (under half the sentences) and explain the rest
    around further quotations: the own share of the whole text is under 0.3, but the
    sentences not quoted whole are more than 0.3 the drafter's own. Refused before (own
    share of the whole), passes now: whole quoted sentences are the lifted rule's to judge,
    not counted twice."""
    quotes = policy_sentences(50, 200)[:4]
    clauses = policy_clauses(14, 30)[:9]
    assert len(quotes) == 4 and len(clauses) == 9
    explained = [f"{clause}，{own}" for clause, own in zip(clauses, SHORT_OWN, strict=True)]
    text = "\n".join(quotes[i // 3] + "".join(explained[i : i + 3]) for i in range(0, 9, 3))
    text += "\n" + quotes[3]
    copy = q.check_copy(text, samples.POLICY_TEXT, SHARE_RULES)
    m = copy.measured
    assert m["containment"] > SHARE_RULES.max_containment
    assert m["own_share"] < SHARE_RULES.min_own_share  # the old measure refused this
    assert m["unlifted_own_share"] >= SHARE_RULES.min_own_share
    assert m["lifted_share"] < SHARE_RULES.max_lifted_share
    assert m["lifted_sentence_share"] < SHARE_RULES.max_lifted_sentence_share
    assert copy.passed, m["reasons"]


def test_sentences_stitched_from_quotations_with_connecting_words_are_refused() -> None:
    """No sentence is 90 % quotation, so none is lifted whole, but each is a policy clause
    behind a few connecting words: the sentences not lifted whole are mostly not the
    drafter's own (摘抄/压缩 with glue)."""
    glue = ["方案指出", "文件还要求", "具体来说", "同时明确", "另外规定"]
    clauses = policy_clauses(14, 30)
    text = "".join(f"{glue[i % len(glue)]}{c}。" for i, c in enumerate(clauses))
    copy = q.check_copy(text, samples.POLICY_TEXT, SHARE_RULES)
    m = copy.measured
    assert m["lifted_sentences"] == 0
    assert m["own_chars"] >= SHARE_RULES.min_own_chars
    assert m["unlifted_own_share"] < SHARE_RULES.min_own_share
    assert not copy.passed and m["reasons"] == ["own_share"]
    assert "未整句引用的句子中自己的文字只占" in copy.message_zh


def test_an_official_text_copying_the_policy_after_a_preamble_is_a_near_copy__fang_an_5_1() -> None:
    """Decision 155: a 解读 that copies the policy almost word for word after
    “现将有关问题解读如下” is 照搬照抄原文, however official, and stays refused."""
    text = "为便于社会各界理解，现将有关问题解读如下。\n" + samples.POLICY_TEXT
    copy = q.check_copy(text, samples.POLICY_TEXT, RULES)
    assert copy.measured["containment"] > RULES.near_copy_containment
    assert not copy.passed and "near_copy" in copy.measured["reasons"]


# ---------------------------------------------------------------- the title-only derivative


@pytest.mark.parametrize(
    ("line", "heading"),
    [
        ("一、出台背景", "一、出台背景"),
        ("（一）明确了适用范围。办法规定，公民可以自愿申领。", "（一）明确了适用范围"),
        ("问：哪些单位可以申报？", "问"),
        ("二是推行垃圾分类积分兑换制度积分可在村便民超市", "二是推行垃圾分类积分兑换制度积分可在村便"),  # noqa: E501
        ("，", ""),
    ],
)  # fmt: skip
def test_a_heading_is_the_words_before_the_first_clause_punctuation(
    line: str, heading: str
) -> None:
    assert gate_eval.heading(line) == heading
    assert len(heading) <= gate_eval.TITLE_CHARS


def test_the_title_only_derivative_carries_no_explanation__biaotishi() -> None:
    """A 标题式 解读 is headings only. Cutting each line to 30 characters kept real content
    in texts made of many short lines (a text split at every space); headings do not."""
    short_lines = "\n".join(
        part for sentence in LONG_OWN + SHORT_OWN for part in re.split(r"(?<=，)", sentence)
    )
    for text in (
        short_lines,
        "\n".join(f"{s['heading']}\n{s['text']}" for s in samples.GOOD_SECTIONS),
    ):
        title_only = gate_eval.derived(samples.POLICY_TEXT, text, 0)["title_only"]
        assert title_only.strip()
        assert all(q.is_heading_line(line) for line in title_only.splitlines())
        assert q.explanatory_chars(title_only) == 0
        passed, _ = gate_eval.decide(title_only, samples.POLICY_TEXT, RULES)
        assert not passed


# ---------------------------------------------------------------- derived texts decided wrongly


def test_derived_texts_decided_wrongly_are_listed_with_their_values_not_their_text(
    capsys: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    """`gongkai interpretation-check --pairs` names each derived text the gate let through,
    with its kind and measured values; never its text."""
    from services.interpretation import cli, service

    lax = q.QualityRules(
        near_copy_containment=1.1,
        max_containment=1.1,
        max_lifted_share=1.1,
        max_lifted_sentence_share=1.1,
    )
    good = "\n".join(f"{s['heading']}\n{s['text']}" for s in samples.GOOD_SECTIONS)
    pairs = [{"id": "good", "policy": samples.POLICY_TEXT, "interpretation": good}]
    result = gate_eval.evaluate_pairs(pairs, lax)
    wrong = {row["kind"]: row for row in result.wrong}
    assert set(wrong) == {"verbatim_copy", "lifted_60"}
    assert wrong["verbatim_copy"]["containment"] == 1.0
    assert wrong["verbatim_copy"]["id"] == "good" and wrong["verbatim_copy"]["passed"]

    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(pairs[0], ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(service, "rules_from_env", lambda: (None, lax))
    assert cli._check(argparse.Namespace(pairs=path, policy=None, interpretation=None)) == 1
    out = capsys.readouterr().out
    assert 'wrongly passed verbatim_copy {"id": "good", "kind": "verbatim_copy"' in out
    assert "wrongly passed lifted_60" in out
    assert samples.POLICY_TEXT[:20] not in out and good[:20] not in out
