"""Learning from staff corrections, through HTTP and the CLI, in both modes (issue #19).

correct → `gongkai sentiment train --from-events` → ModelRegistered → shadow for N messages →
promote → the next message names the new model → roll back (CLI) → the next message names
the start-up model again. Refusals write no event. On the session suite: the test ends with
the start-up model live again, so later tests classify as before.
"""

from __future__ import annotations

import csv
import subprocess
import uuid
from pathlib import Path
from typing import Any

from services.sentiment.learning import CLASSIFIER_ID
from shared.identity import Role
from tests.e2e.conftest import GONGKAI, SuiteHandle

SUDIAN = "shangdang/sudian"
SERVICE = "sentiment"
REGISTER = f"/v1/sentiment-classifier/{CLASSIFIER_ID}"

#: A small labelled "public sample" written here (the real one lies outside the repository).
SAMPLE = [
    ("工地夜间施工噪音扰民", "城乡建设"),
    ("小区物业乱收停车费", "城乡建设"),
    ("老旧小区加装电梯进度慢", "城乡建设"),
    ("化工厂夜里偷排废水河道发臭", "环境保护"),
    ("养猪场臭味熏天污水横流", "环境保护"),
    ("垃圾焚烧厂烟气刺鼻", "环境保护"),
    ("公交车长期晚点班次太少", "交通运输"),
    ("路口红绿灯坏了没人修", "交通运输"),
    ("出租车拒载绕路", "交通运输"),
]


def message(text: str) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    return {"source": "mailbox", "title": f"{tag}号反映", "text": f"{text}（编号{tag}）"}


def gongkai(suite: SuiteHandle, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GONGKAI, *args], env=suite.env, capture_output=True, text=True, timeout=300
    )


def post_message(suite: SuiteHandle, token: str, text: str) -> dict[str, Any]:
    with suite.client(token, service=SERVICE) as c:
        r = c.post("/v1/messages", json=message(text))
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_correct_retrain_shadow_promote_and_roll_back(suite: SuiteHandle, tmp_path: Path) -> None:
    officer = suite.token("liu-yang", SUDIAN, Role.OPINION_OFFICER)
    operator = suite.token("model-operator", "shangdang", Role.ADMINISTRATOR)
    # Training reads every correction in the log: other tests' on the shared suite too.
    earlier = suite.count_events(SERVICE, "MessageClassificationCorrected")

    # 1. Officers correct messages the shipped model got wrong (here: bus complaints).
    texts = [
        "小区门口公交站台被拆，公交线路改道，老人出行不便",
        "公交公司司机态度恶劣，公交车长期不按站停靠",
        "镇上到县城的公交班次取消，学生上学无车可坐",
        "公交卡充值点太少，公交车票价上涨",
        "公交车冒黑烟，公交线路太绕",
    ]
    # Bad corrections first, on a lone message (the five alike complaints below make a
    # hotspot, which the sentiment service's job records on its own: not a write of theirs).
    lone = post_message(suite, officer, "镇政府门口三盏路灯坏了一个多月，晚上看不清路")
    url = f"/v1/messages/{lone['message_id']}/correct-classification"
    head = suite.head_position(SERVICE)
    with suite.client(officer, service=SERVICE) as c:
        unknown = c.post(url, json={"category": "外星事务"})
        bad_polarity = c.post(url, json={"polarity": "angry"})
        same = c.post(url, json={"category": lone["classification"]["category"]})
    assert unknown.status_code == 422 and unknown.json()["rule"] == "correction.category_unknown"
    assert "交通运输" in unknown.json()["detail"] or "交通运输" in unknown.text
    assert bad_polarity.status_code == 422, bad_polarity.text
    assert bad_polarity.json()["rule"] == "correction.polarity_unknown"
    assert same.status_code == 422 and same.json()["rule"] == "correction.no_change"
    assert suite.written_since(SERVICE, head) == []  # refused: nothing written
    corrected = [post_message(suite, officer, text) for text in texts]
    first = corrected[0]
    start_model = first["classification"]["model_id"]
    with suite.client(officer, service=SERVICE) as c:
        for sent in corrected:
            # Another class than the model's answer, whatever it was.
            target = "交通运输" if sent["classification"]["category"] != "交通运输" else "城乡建设"
            r = c.post(
                f"/v1/messages/{sent['message_id']}/correct-classification",
                json={"category": target, "polarity": "positive", "reason": "人工复核"},
            )
            assert r.status_code == 200, r.text
            assert r.json()["new_category"] == target
            sent["target"] = target

    def shown() -> dict[str, Any] | None:
        with suite.client(officer, service=SERVICE) as c:
            body = c.get(f"/v1/messages/{first['message_id']}").json()
        return body if body.get("labels", {}).get("corrected") else None

    labels = suite.eventually(shown)["labels"]
    assert (labels["category"], labels["polarity"]) == (first["target"], "positive")
    assert labels["model_id"] == start_model
    assert labels["model_category"] == first["classification"]["category"]
    assert labels["correction"]["corrected_by"] == "liu-yang"

    # 2. Train on the sample plus the corrections; the model is registered as an event.
    sample = tmp_path / "sample.csv"
    with sample.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(SAMPLE)
    trained = gongkai(
        suite,
        *("sentiment", "train", "--from-events", "--data", str(sample)),
        *("--text-col", "text", "--label-col", "label", "--held-out", "0.4"),
    )
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert f"corrections {earlier + 5}" in trained.stdout, trained.stdout
    for text in texts:
        assert text not in trained.stdout  # counts and figures only

    def registered() -> dict[str, Any] | None:
        with suite.client(officer, service=SERVICE) as c:
            models = c.get("/v1/sentiment-models").json()["models"]
        return next((m for m in models if m["status"] == "registered"), None)

    model = suite.eventually(registered)
    new_id = model["model_id"]
    assert new_id.startswith("m-") and new_id in trained.stdout
    assert model["training"]["corrections"] == earlier + 5
    assert model["training"]["sample_rows"] == len(SAMPLE)
    held_out = model["training"]["corrections_held_out"]
    assert (model["evaluation"] is None) == (held_out == 0)
    assert model["artefact"].endswith(new_id) and len(model["artefact_sha256"]) == 64

    # 3. Shadow for N = 2 messages: recorded beside the live answer; nothing else changes.
    with suite.client(officer, service=SERVICE) as c:
        township = c.post(f"{REGISTER}/promote", json={"model_id": new_id})
    assert township.status_code == 403, township.text  # a township's officer: not the district
    with suite.client(operator, service=SERVICE) as c:
        early = c.post(f"{REGISTER}/promote", json={"model_id": new_id})
        assert early.status_code == 409 and early.json()["rule"] == "model.not_in_shadow"
        started = c.post(f"{REGISTER}/shadow", json={"model_id": new_id, "messages": 2})
        assert started.status_code == 200, started.text
        incomplete = c.post(f"{REGISTER}/promote", json={"model_id": new_id})
        assert incomplete.status_code == 409 and incomplete.json()["rule"] == (
            "model.shadow_incomplete"
        )
    for text in ("公交站牌信息错误", "公交车司机玩手机", "路灯不亮"):
        live = post_message(suite, officer, text)
        assert live["classification"]["model_id"] == start_model
    with suite.client(operator, service=SERVICE) as c:
        listed = c.get("/v1/sentiment-models").json()
    shadow = next(m for m in listed["models"] if m["model_id"] == new_id)["shadow"]
    assert (shadow["messages"], shadow["answers"], shadow["complete"]) == (2, 2, True)
    assert shadow["agreement"] is not None and listed["live_model_id"] == start_model

    # 4. Promote: the next message names the new model; the worker's read model shows it.
    with suite.client(operator, service=SERVICE) as c:
        promoted = c.post(f"{REGISTER}/promote", json={"model_id": new_id, "reason": "e2e"})
    assert promoted.status_code == 200, promoted.text
    after = post_message(suite, officer, "公交车站没有遮雨棚")
    assert after["classification"]["model_id"] == new_id

    def live_in_read_model() -> bool:
        with suite.client(operator, service=SERVICE) as c:
            models = c.get("/v1/sentiment-models").json()["models"]
        return any(m["model_id"] == new_id and m["status"] == "live" for m in models)

    suite.eventually(live_in_read_model)

    # 5. Roll back through the CLI: the start-up model classifies again.
    url_ = suite.url_for(SERVICE)
    back = gongkai(
        suite,
        *("sentiment", "model", "rollback", new_id, "--reason", "e2e"),
        *("--url", url_, "--token", operator),
    )
    assert back.returncode == 0, back.stdout + back.stderr
    again = post_message(suite, officer, "公交车票价太贵")
    assert again["classification"]["model_id"] == start_model
