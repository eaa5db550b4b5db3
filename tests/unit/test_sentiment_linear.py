"""The trained linear topic model and the polarity model (docs/sentiment.md): pure inference,
JSON on disk, the words that decided. Fixtures are short texts written by the team."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from services.sentiment import rules
from services.sentiment.classifier import (
    Classifier,
    LinearTopicModel,
    load_model,
    save_model,
    train_linear_topic_model,
)
from services.sentiment.linear import LINEAR_FORMAT, fit_linear, softmax
from services.sentiment.training import evaluate, read_categories
from tests.unit.test_sentiment_classifier import AUTHORED


def test_linear_model_learns_the_authored_messages_and_round_trips_as_json(
    tmp_path: Path,
) -> None:
    model = train_linear_topic_model(AUTHORED, model_id="district-linear")
    assert isinstance(model, LinearTopicModel)
    path = tmp_path / "model.json"
    save_model(model, path)
    assert json.loads(path.read_text())["format"] == LINEAR_FORMAT  # JSON, never pickle
    loaded = load_model(path)
    assert isinstance(loaded, LinearTopicModel) and loaded.model_id == "district-linear"
    for text, category in AUTHORED:
        result = Classifier(loaded).classify(text).topic
        assert result.category == category
        assert result.reasons and all(r in text for r in result.reasons)
        assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-3)


def test_category_names_seed_a_class_the_labels_hardly_show() -> None:
    """The category tree (二级/三级分类) as pseudo-documents: 传销 belongs to 商贸旅游 though no
    labelled message about it was seen."""
    rows = [r for r in AUTHORED if r[1] != "商贸旅游"] + [("景区门票乱涨价", "商贸旅游")]
    tree = {"商贸旅游": ["传销", "直销", "市场垄断"], "劳动和社会保障": ["劳动合同纠纷"]}
    model = train_linear_topic_model(rows, seed=False, categories=tree)
    assert model.predict("有人在小区里搞传销，骗老人买产品").category == "商贸旅游"
    assert "传销" in model.predict("有人在小区里搞传销，骗老人买产品").reasons


def test_read_categories_collects_names_under_each_top_level_label(tmp_path: Path) -> None:
    path = tmp_path / "tree.csv"
    path.write_text(
        "一级分类,二级分类,三级分类\n商贸旅游,市场监管,传销\n商贸旅游,其他,其他\n交通运输,出租车管理,网约车问题\n",
        encoding="utf-8",
    )
    tree = read_categories(path, "一级分类", ["二级分类", "三级分类"])
    assert tree == {"商贸旅游": ["市场监管", "传销"], "交通运输": ["出租车管理", "网约车问题"]}


def test_the_confusion_table_counts_gold_against_predicted_with_extra_columns() -> None:
    result = evaluate(["正面", "正面", "负面"], ["正面", "中性", "负面"])
    assert ("正面", "中性", 1) in result.confusion
    table = result.confusion_table()
    assert "中性" in table.splitlines()[0]
    assert table.splitlines()[1].split()[1:] == ["1", "0", "1"]


def test_softmax_temperature_sharpens_without_changing_the_order() -> None:
    soft, sharp = softmax([1.0, 0.0], 1.0), softmax([1.0, 0.0], 0.1)
    assert soft[0] > soft[1] and sharp[0] > soft[0]
    assert sum(sharp) == pytest.approx(1.0)


POLAR = [
    ("味道很好，送得也快，下次还点", "positive"),
    ("包装精美，质量不错，很满意", "positive"),
    ("服务热情，非常推荐", "positive"),
    ("太难吃了，再也不买了", "negative"),
    ("送了两个小时，饭都凉了，差评", "negative"),
    ("质量太差，用了一天就坏了", "negative"),
] * 3


def test_the_polarity_model_decides_text_the_lexicon_has_no_word_for() -> None:
    model = fit_linear(POLAR, epochs=200)
    assert rules.sentiment("再也不买了", model=False).polarity == "neutral"  # lexicon: no word
    assert rules.sentiment("再也不买了", model=model).polarity == "negative"
    assert rules.sentiment("下次还点", model=model).polarity == "positive"


def test_a_question_without_sentiment_words_stays_neutral_with_the_shipped_model() -> None:
    """Neutral is for text that is neither praise nor complaint."""
    assert rules.polarity_model() is not None, "the shipped polarity model is packaged"
    for text in ("请问办理居住证需要带哪些材料？", "建议在东街增加一个公交站"):
        assert rules.sentiment(text).polarity == "neutral", text


def test_one_generic_word_alone_no_longer_decides_a_text() -> None:
    """一直, 不能, 为什么 are weak words (issue #19): alone they leave the lexicon neutral."""
    assert rules.sentiment("我一直在这个小区住", model=False).polarity == "neutral"
    assert rules.sentiment("一直很喜欢这家店").polarity == "positive"


def test_weibo_emoticons_and_general_praise_count_as_lexicon_words() -> None:
    assert rules.sentiment("今天[嘻嘻]", model=False).polarity == "positive"
    assert rules.sentiment("又加班[泪]", model=False).polarity == "negative"
    assert rules.sentiment("这件衣服很漂亮", model=False).polarity == "positive"


def test_the_shipped_polarity_model_is_the_multi_domain_one() -> None:
    model = rules.polarity_model()
    assert model is not None and model.model_id == "polarity-multi-v1"


def test_the_lexicon_negation_outweighs_the_model() -> None:
    """The model sees 及时 (praise); the lexicon knows 不及时 is a complaint."""
    result = rules.sentiment("处理不及时")
    assert result.polarity == "negative" and "不及时" in result.reasons


def test_polarity_eval_prints_per_class_figures_and_a_confusion_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from services.sentiment.cli import _eval

    path = tmp_path / "reviews.csv"
    path.write_text("label,review\n1,非常满意，谢谢\n0,太差了，很失望\n", encoding="utf-8")
    args = argparse.Namespace(
        data=path, text_col="review", label_col="label", polarity=True, model=None,
        lexicon_only=False,
    )  # fmt: skip
    assert _eval(args) == 0
    out = capsys.readouterr().out
    assert "macro-F1" in out and "gold" in out and "neutral 0" in out
