"""Which published policy a misreading message is about, with the reasons (pure).

方案§17 (误读政策 is an urgent class), §五(一) (对误解误读及时解读回应); DOMAIN.md §4. The
examples are authored: a 管护办法 notice, the 改厕 实施方案 of the interpretation samples,
and a 医保 notice; the messages paraphrase them the way citizens do.
"""

from __future__ import annotations

import pytest

from services.interpretation import samples
from services.sentiment.policy_match import (
    SUGGESTION_THRESHOLD,
    PolicyRef,
    compact,
    match_one,
    number_key,
    policy_name,
    suggest,
)

UPKEEP = PolicyRef(
    "upkeep",
    "苏店镇人民政府关于印发《苏店镇农村人居环境整治长效管护办法》的通知",
    "苏政发〔2026〕12号",
    "各村（社区）、镇直各单位：现将《苏店镇农村人居环境整治长效管护办法》印发给你们。"
    "一、管护范围包括村内道路、公共绿地、河道沟渠和垃圾收集点。"
    "二、各村设立保洁员，所需经费由镇财政按每人每月八百元标准予以补助。",
)
TOILETS = PolicyRef("toilets", samples.POLICY_TITLE, samples.POLICY_NUMBER, samples.POLICY_TEXT)
INSURANCE = PolicyRef(
    "insurance",
    "苏店镇人民政府关于调整城乡居民基本医疗保险个人缴费标准的通知",
    "苏政规〔2026〕5号",
    "2026年度城乡居民基本医疗保险个人缴费标准调整为每人每年400元，由各村统一代收。"
    "特困人员、低保对象的个人缴费由财政全额资助。",
)
POLICIES = [UPKEEP, TOILETS, INSURANCE]


@pytest.mark.parametrize(
    "written", ["苏政发〔2026〕12号", "苏政发[2026]12号", "苏政发（2026）12号", "苏政发2026年12号"]
)
def test_a_document_number_is_recognised_however_the_brackets_are_written(written: str) -> None:
    found = match_one(f"网传{written}文件规定每户都要交钱，是真的吗？", UPKEEP)
    assert found.score == 1.0
    assert found.reasons == ("文号：苏政发〔2026〕12号",)


def test_a_neighbouring_number_is_not_taken_for_the_document() -> None:
    assert number_key("苏政发〔2026〕12号") == "苏政发202612号"
    assert match_one("苏政发〔2026〕123号说的是什么？", UPKEEP).score < 1.0


def test_the_name_inside_the_book_title_marks_of_an_issuing_notice_is_the_policys_name() -> None:
    assert policy_name(UPKEEP.title) == "苏店镇农村人居环境整治长效管护办法"
    assert policy_name(INSURANCE.title) == "调整城乡居民基本医疗保险个人缴费标准"
    assert policy_name(TOILETS.title) == samples.POLICY_TITLE
    found = match_one("《苏店镇农村人居环境整治长效管护办法》说保洁员工资由村民出？", UPKEEP)
    assert found.score == 0.9 and found.reasons == ("名称：《苏店镇农村人居环境整治长效管护办法》",)


def test_compact_keeps_letters_and_digits_only() -> None:
    assert compact("苏政发 〔２０２６〕 12 号！") == "苏政发202612号"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "听说镇里新出了农村人居环境管护办法，以后垃圾清运费要每户每月交八百元，是真的吗？",
            "upkeep",
        ),
        ("听说改厕补助要先自己垫钱，每户补助1200元是不是真的？厕所改造到底怎么弄", "toilets"),
        ("据说医保缴费涨到每人四百了，低保户也要自己交，是真的吗？", "insurance"),
    ],
)
def test_a_paraphrase_suggests_its_policy_first_with_the_shared_words(
    message: str, expected: str
) -> None:
    found = suggest(message, POLICIES)
    assert found and found[0].document_id == expected
    assert found[0].score >= SUGGESTION_THRESHOLD
    assert any("用词" in reason for reason in found[0].reasons)


def test_a_message_about_something_else_suggests_no_policy() -> None:
    assert suggest("我们小区门口的路灯坏了好几天了，晚上很黑，请尽快修理。", POLICIES) == []
    for policy in POLICIES:
        assert match_one("我们小区门口的路灯坏了好几天了，晚上很黑。", policy).score < 0.05


def test_suggestions_are_ranked_best_first_and_limited() -> None:
    message = "网传苏政发〔2026〕12号要求农村人居环境整治每户交钱，改厕补助也取消了？"
    found = suggest(message, POLICIES, limit=2)
    assert [m.document_id for m in found] == ["upkeep", "toilets"]
    assert found[0].score > found[1].score
