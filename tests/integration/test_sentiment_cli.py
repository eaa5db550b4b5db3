"""`gongkai sentiment train / eval / classify` on a small CSV written here (never public data)."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pytest

from gongkai.cli import main

ROWS = [
    ("工地夜间施工噪音扰民", "小区旁工地晚上施工，围挡占道", "城乡建设"),
    ("物业乱收费", "小区物业乱收停车费，业主不满", "城乡建设"),
    ("化工厂偷排", "化工厂夜里偷排废水，河道发臭", "环境保护"),
    ("养殖场臭味", "养猪场臭味熏天，污水横流", "环境保护"),
    ("拖欠工资", "公司拖欠工资三个月，讨薪无果", "劳动和社会保障"),
    ("社保断缴", "单位不给缴纳养老保险", "劳动和社会保障"),
    ("私人号码", "请联系王秀英 13812345678 核实", "劳动和社会保障"),
]


@pytest.fixture
def history(tmp_path: Path) -> Path:
    path = tmp_path / "history.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["主题", "详情", "分类"])
        writer.writerows(ROWS)
    return path


def test_train_then_eval_prints_accuracy_macro_f1_and_the_table_without_texts(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model.json"
    args = ["--data", str(history), "--text-col", "主题,详情", "--label-col", "分类"]
    assert main(["sentiment", "train", *args, "--out", str(model), "--model-id", "t1"]) == 0
    assert orjson.loads(model.read_bytes())["model_id"] == "t1"
    assert main(["sentiment", "eval", "--model", str(model), *args]) == 0
    out = capsys.readouterr().out
    assert "macro-F1" in out and "accuracy" in out
    for label in ("城乡建设", "环境保护", "劳动和社会保障"):
        assert label in out
    assert "13812345678" not in out and "王秀英" not in out and "偷排" not in out


def test_classify_prints_the_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sentiment", "classify", "公司拖欠农民工工资，讨薪无果！"]) == 0
    result = orjson.loads(capsys.readouterr().out)
    assert result["category"] == "劳动和社会保障"
    assert result["category_reasons"] and result["sentiment_reasons"]
    assert {t["tag"] for t in result["tags"]} == {"工资拖欠"}
