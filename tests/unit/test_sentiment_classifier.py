"""The message classifier (方案§17, §五(四); DOMAIN.md §4): pure, offline, with reasons.

Fixtures are short messages written by the team; the public sample is never read here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from services.sentiment import rules
from services.sentiment.classifier import (
    DEFAULT_MODEL_ID,
    Classifier,
    default_classifier,
    load_model,
    save_model,
    train_topic_model,
)
from services.sentiment.training import evaluate, evaluate_model, read_labelled, stratified_split

AUTHORED = [
    ("小区旁边工地夜间施工，围挡占用人行道", "城乡建设"),
    ("开发商延期交房两年，业主维权无门", "城乡建设"),
    ("化工厂夜里偷排废水，河道发黑发臭", "环境保护"),
    ("养猪场臭味熏天，附近村民不敢开窗", "环境保护"),
    ("公交班次太少，早高峰等车四十分钟", "交通运输"),
    ("路口红绿灯坏了一周，车辆拥堵严重", "交通运输"),
    ("孩子入学划片不合理，学位不够", "教育文体"),
    ("培训机构收了学费就跑路，家长维权", "教育文体"),
    ("公司拖欠工资三个月，工人讨薪无果", "劳动和社会保障"),
    ("单位不给缴纳养老保险，社保断缴", "劳动和社会保障"),
    ("景区门票乱涨价，商家虚假宣传", "商贸旅游"),
    ("健身卡预付卡充值后商家跑路", "商贸旅游"),
    ("医院挂号难，医生态度差，看病排队一整天", "卫生计生"),
    ("疫苗接种点排队太长，希望增加接种时间", "卫生计生"),
]


@pytest.mark.parametrize(("text", "category"), AUTHORED)
def test_shipped_model_classifies_authored_messages_without_any_data_set(
    text: str, category: str
) -> None:
    result = default_classifier().classify(text)
    assert result.topic.category == category
    assert result.model_id == DEFAULT_MODEL_ID
    assert result.topic.reasons, "the words that decided are shown"


def test_reasons_are_words_found_in_the_message() -> None:
    text = "公司拖欠农民工工资半年，几十名工人讨薪无果"
    result = default_classifier().classify(text)
    assert result.topic.category == "劳动和社会保障"
    assert all(reason in text for reason in result.topic.reasons)
    assert {"拖欠", "讨薪"} & set(result.topic.reasons)


def test_hot_topic_tags_follow_the_seed_list__fangan_5_4() -> None:
    tags = {t.tag for t in rules.hot_topics("学校食堂饭菜变质，多名学生食物中毒")}
    assert "食药安全" in tags
    tags = {t.tag for t in rules.hot_topics("公司拖欠工资，社保也没有缴纳")}
    assert {"工资拖欠", "社保医保"} <= tags
    assert rules.hot_topics("感谢社区帮忙修好了路灯") == ()


def test_sentiment_polarity_intensity_and_negation() -> None:
    angry = rules.sentiment("非常不满意！多次投诉一直没人管，太恶劣了！！")
    calm = rules.sentiment("建议在东街增加一个公交站")
    thanks = rules.sentiment("感谢镇政府及时解决，工作人员热情负责")
    not_timely = rules.sentiment("处理不及时")
    assert angry.polarity == "negative" and angry.intensity >= 0.6
    assert angry.negative_intensity == angry.intensity
    assert thanks.polarity == "positive" and thanks.negative_intensity == 0.0
    assert calm.intensity < angry.intensity
    assert not_timely.score < 0 and "不及时" in not_timely.reasons


def test_a_cut_off_utility_is_a_complaint_and_a_place_named_happiness_is_no_praise() -> None:
    """Citizen messages (12345, 区长信箱) in the shipped classifier, with its polarity model
    trained on reviews and posts (decision 156): an outage reported calmly is still a
    complaint, and 幸福 in 幸福小区 / 幸福路 (common place names) does not count as praise."""
    classifier = default_classifier()
    outage = classifier.classify(
        "西街自来水从昨天中午开始停水，至今没有通知何时恢复，家里老人做饭都成问题。"
    )
    assert outage.sentiment.polarity == "negative" and "停水" in outage.sentiment.reasons
    place = classifier.classify("幸福小区东侧工地每天晚上十一点以后还在施工，噪音非常大。")
    assert place.sentiment.polarity == "negative" and "幸福" not in place.sentiment.reasons


@pytest.mark.parametrize(
    ("text", "level", "cls"),
    [
        ("化工厂发生爆炸起火，有人员伤亡", "major_emergency", "public_emergency"),
        ("暴雨引发山洪，村里房屋被冲毁", "major_emergency", "natural_disaster"),
        ("整栋楼停水三天了，老人孩子没水喝", "urgent", "major_livelihood"),
        ("网传新政策要收回宅基地，是真的吗", "urgent", "policy_misreading"),
    ],
)
def test_urgent_classes_of_fangan_17(text: str, level: str, cls: str) -> None:
    result = rules.urgency(text)
    assert result.level == level and cls in result.classes and result.reasons


def test_ordinary_message_is_not_urgent() -> None:
    assert rules.urgency("建议小区增加几个健身器材").level == "normal"


def test_trained_model_learns_a_new_category_and_round_trips_as_json(tmp_path: Path) -> None:
    samples = [*AUTHORED, ("村里的古戏台年久失修，希望文物部门保护", "文物保护")] * 2
    model = train_topic_model(samples, model_id="district-2026")
    assert "文物保护" in model.classes
    path = tmp_path / "model.json"
    save_model(model, path)
    loaded = load_model(path)
    assert loaded.model_id == "district-2026"
    text = "古戏台年久失修，请求文物保护"
    assert Classifier(loaded).classify(text).topic.category == "文物保护"
    assert path.read_text().startswith("{")  # JSON, never pickle


def test_load_refuses_a_file_of_another_format(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text('{"format": "something-else"}')
    with pytest.raises(ValueError, match="not a"):
        load_model(path)


def test_metrics_accuracy_macro_f1_and_per_class_table() -> None:
    result = evaluate(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert result.accuracy == 0.75
    scores = {s.label: s for s in result.per_class}
    assert scores["a"].precision == 1.0 and scores["a"].recall == 0.5
    assert scores["b"].precision == pytest.approx(2 / 3) and scores["b"].recall == 1.0
    assert result.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)
    assert "macro-F1" in result.table()


def test_read_labelled_joins_text_columns_and_skips_rows_without_label(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    path.write_text(
        "\ufeff编号,主题,详情,分类\n1,工资,公司拖欠工资,劳动和社会保障\n2,噪音,,\n",
        encoding="utf-8",
    )
    data = read_labelled(path, ["主题", "详情"], "分类")
    assert data.samples == [("工资\n公司拖欠工资", "劳动和社会保障")]
    assert data.skipped == 1
    with pytest.raises(ValueError, match="columns not in the file"):
        read_labelled(path, ["正文"], "分类")


def test_held_out_split_is_stratified_and_reproducible() -> None:
    samples = [(f"t{i}", "x" if i % 3 else "y") for i in range(30)]
    train, test = stratified_split(samples, 0.3, seed=7)
    assert stratified_split(samples, 0.3, seed=7) == (train, test)
    assert len(train) + len(test) == 30 and not set(train) & set(test)
    assert {label for _, label in test} == {"x", "y"}
    assert evaluate_model(train_topic_model(train), test).total == len(test)


def test_every_classification_names_its_topic_and_its_polarity_model() -> None:
    """Issue #19: every classification names its model; the sentiment is the lexicon's and
    the shipped polarity model's together, so MessageClassified v2 names that one too."""
    payload = default_classifier().classify("路灯坏了一个多月没人管").as_payload()
    assert payload["model_id"] == DEFAULT_MODEL_ID
    assert payload["polarity_model_id"] == "polarity-multi-v1"
