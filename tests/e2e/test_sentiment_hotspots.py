"""Hotspots (方案§五(四): see a storm coming) through HTTP, in embedded and distributed mode.

Five messages on one topic in one township within 24 hours: the background job announces
one HotspotDetected, and only one, whichever process sees it.
"""

from __future__ import annotations

from typing import Any

from shared.identity import Role
from tests.e2e.conftest import SuiteHandle

HANDIAN = "shangdang/handian"
SERVICE = "sentiment"

TRAFFIC = [
    "韩店镇十字路口红绿灯坏了三天，早高峰车辆拥堵严重，差点出交通事故！",
    "韩店中学门口接送孩子的车辆乱停乱放，公交车过不去，交警也不管",
    "镇上到长治的公交班次太少了，早上等车要一个小时，希望增加班次",
    "韩店大街路面坑洼不平，电动车摔倒好几次，请尽快修路",
    "货车超载超速从村里穿过，道路被压坏，晚上噪音太大",
    "韩店高速收费站出口长期拥堵，希望增加收费通道",
]


def test_five_messages_on_one_topic_in_one_township_make_one_hotspot(suite: SuiteHandle) -> None:
    token = suite.token("han-lei", HANDIAN, Role.OPINION_OFFICER)
    with suite.client(token, service=SERVICE) as c:
        for text in TRAFFIC:
            r = c.post("/v1/messages", json={"source": "message_board", "text": text})
            assert r.status_code == 201, r.text
            assert r.json()["classification"]["category"] == "交通运输"

    def detected() -> list[dict[str, Any]] | None:
        with suite.client(token, service=SERVICE) as c:
            items = c.get("/v1/hotspots").json()["items"]
        return [i for i in items if i["category"] == "交通运输"] or None

    spots = suite.eventually(detected, timeout=30)
    assert len(spots) == 1
    spot = spots[0]
    assert spot["township"] == HANDIAN and spot["message_count"] >= 5
    assert "count" in spot["crossed"]
