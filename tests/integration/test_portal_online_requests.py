"""依申请公开 网上申请 through the portal, in process (embedded mode, SQLite): a citizen
applies without an account, gets a tracking code and a query password once, the office
confirms receipt (条例 Art. 31(3): the receipt date is that day) and the status shows the
number and the due date (Art. 33: 20 working days); an unknown code and a wrong password get
the same answer; the log holds neither secret in clear. Flood protection of every public
form post (issue #18): refused posts write no event, 1,000 posts from one address in a
minute leave the limit holding and the portal answering others (decisions 111, -2).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from gongkai.app import create_app
from services.catalog.privacy import scan_text
from services.portal.guard import LIMITS, parse_answer
from shared.identity import Role
from shared.settings import Settings
from shared.workdays import local_date
from tests import accounts

pytestmark = pytest.mark.integration

SECRET = "portal-online-" + "x" * 40
SUDIAN = "shangdang/sudian"
NAME, ID_NUMBER, PHONE = "李建国", "140402196505123456", "13803551234"
FLOODER, NEIGHBOUR = "203.0.113.9", "198.51.100.7"
#: Seconds between two flood posts: 1,000 in 12 s, five times the issue's "in a minute".
PACE = 0.012


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(var_dir=tmp_path / "var", token_secret=SECRET, log_level="warning")
    with TestClient(create_app(settings)) as c:
        accounts.provision(c, "svc-portal", "shangdang", Role.SERVICE)  # speaks for 留言
        yield c


def head(c: TestClient) -> int:
    store = c.app.state.runtimes["applications"].store  # type: ignore[attr-defined]
    return int(c.portal.call(store.head_position))  # type: ignore[union-attr]


def challenge(html: str) -> dict[str, str]:
    """The form token and the answer to the sum (“三加五等于几？”), as a citizen gives it."""
    token = re.search(r'name="form_token" value="([^"]+)"', html)
    question = re.search(r"验证题：(.+?)加(.+?)等于几", html)
    assert token and question, html
    a, b = parse_answer(question[1]), parse_answer(question[2])
    assert a is not None and b is not None
    return {"form_token": token[1], "answer": str(a + b)}


def application(**changes: str) -> dict[str, str]:
    form = {
        "org": SUDIAN,
        "kind": "natural_person",
        "name": NAME,
        "id_kind": "居民身份证",
        "id_number": ID_NUMBER,
        "phone": PHONE,
        "address": "长治市上党区苏店镇苏店村东街12号",
        "description": "2025年苏店村集体土地征收补偿标准及补偿款发放明细",
        "requested_form": "paper",
        "delivery_channel": "post",
    }
    return {**form, **changes}


def shown(html: str, element: str) -> str:
    found = re.search(rf'id="{element}"[^>]*>([^<]+)<', html)
    assert found, html
    return found[1].strip()


def eventually(call: Any, good: Any, within: float = 10) -> Any:
    deadline = time.monotonic() + within
    while True:
        answer = call()
        if good(answer):
            return answer
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.05)


def no_personal_data(html: str) -> None:
    text = re.sub(r"<[^>]+>", " ", html)
    assert NAME not in text and ID_NUMBER not in text and PHONE not in text
    assert not scan_text(text, "page", "portal-test")


def test_a_citizen_applies_online_and_follows_it_by_code_and_password__art29_art31(
    client: TestClient,
) -> None:
    form = client.get("/gk/sudian/apply")
    assert form.status_code == 200 and "以本机关确认收到之日为收到申请之日" in form.text
    assert 'value="shangdang/sudian" selected' in form.text

    before = head(client)
    sent = client.post("/gk/apply", data={**application(), **challenge(form.text)})
    assert sent.status_code == 201, sent.text
    assert sent.headers["cache-control"] == "no-store"
    code = shown(sent.text, "tracking-code").replace(" ", "")
    password = shown(sent.text, "query-password").replace(" ", "")
    assert len(code) == 12 and len(password) == 8 and password.isdigit()
    no_personal_data(sent.text)
    assert head(client) == before + 1

    # The log keeps neither secret in clear (decision 111).
    store = client.app.state.runtimes["applications"].store  # type: ignore[attr-defined]
    logged = client.portal.call(store.read_all, before, 10)  # type: ignore[union-attr]
    assert [e.type for e in logged] == ["OnlineRequestSubmitted"]
    assert logged[0].payload["channel"] == "online"
    dumped = str(logged[0].payload)
    assert code not in dumped and password not in dumped

    # The read model follows the log a moment later (the citizen reads the receipt first).
    status = eventually(
        lambda: client.post("/gk/apply/track", data={"code": code.lower(), "password": password}),
        lambda r: r.status_code == 200,
    )
    assert "已提交，待确认收到" in status.text and "登记编号" not in status.text
    no_personal_data(status.text)

    wrong = client.post("/gk/apply/track", data={"code": code, "password": "00000000"})
    unknown = client.post("/gk/apply/track", data={"code": "ABCDEFGHJKMN", "password": password})
    assert wrong.status_code == unknown.status_code == 404
    # the same page, but for the code typed back into its field
    assert wrong.text.replace(code, "?") == unknown.text.replace("ABCDEFGHJKMN", "?")
    assert "查询码或查询密码不对" in wrong.text

    # The office confirms receipt: that day is the receipt date (Art. 31(3)).
    staff = accounts.token(client, SECRET, "wang-tietong", SUDIAN, Role.REQUEST_HANDLER)
    auth = {"Authorization": f"Bearer {staff}"}
    pending = client.get("/v1/online-requests", headers=auth).json()["items"]
    assert len(pending) == 1 and NAME not in str(pending)
    today = local_date(datetime.now(UTC))
    confirmed = client.post(
        f"/v1/online-requests/{pending[0]['submission_id']}/confirm",
        json={"confirmed_on": today.isoformat()},
        headers=auth,
    )
    assert confirmed.status_code == 201, confirmed.text
    body = confirmed.json()
    assert body["received_on"] == today.isoformat() and body["number"].startswith("苏店〔")
    again = client.post(
        f"/v1/online-requests/{pending[0]['submission_id']}/confirm",
        json={"confirmed_on": today.isoformat()},
        headers=auth,
    )
    assert again.status_code == 409

    page = eventually(
        lambda: client.post("/gk/apply/track", data={"code": code, "password": password}),
        lambda r: "已受理" in r.text,
    ).text
    assert body["number"] in page and "答复期限" in page
    no_personal_data(page)


def test_a_refused_post_writes_no_event_and_says_why_in_chinese(client: TestClient) -> None:
    form = client.get("/gk/apply").text
    before = head(client)
    wrong = client.post("/gk/apply", data={**application(), **challenge(form), "answer": "99"})
    assert wrong.status_code == 422 and "验证题答案不对" in wrong.text
    assert "<title>错误：" in wrong.text
    missing = client.post("/gk/apply", data={"org": SUDIAN, **challenge(form)})
    assert missing.status_code == 422 and "请填写证件号码" in missing.text
    foreign = client.post(
        "/gk/apply",
        data={**application(), **challenge(form)},
        headers={"Origin": "https://elsewhere.example"},
    )
    assert foreign.status_code == 403
    big = client.post("/gk/message", data={"text": "长" * 40_000})
    assert big.status_code == 413 and "内容太长" in big.text
    form = client.get("/gk/apply").text  # each answered question is used up
    first = client.post("/gk/apply", data={**application(), **challenge(form)})
    assert first.status_code == 201
    reused = client.post("/gk/apply", data={**application(), **challenge(form)})
    assert reused.status_code == 422 and "已经提交过" in reused.text
    assert head(client) == before + 1  # only the one accepted submission

    seen = head(client)
    statuses = [
        client.post("/gk/subscribe", data={"email": "a@example.cn"}).status_code
        for _ in range(LIMITS["subscribe"] + 1)
    ]
    assert statuses[-1] == 429 and 429 not in statuses[:-1]
    refused = client.post("/gk/subscribe", data={"email": "a@example.cn"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "请稍后再提交" in refused.text and "分钟" in refused.text
    assert head(client) == seen


def test_1000_posts_from_one_address_in_a_minute_leave_the_limit_holding_and_others_served(
    client: TestClient,
) -> None:
    """Issue #18's flood: one address sends 1,000 留言 posts, each with a valid form token
    and the right answer (the worst case: a bot that solves the sum), in 12 s, while
    another address keeps reading the 苏店镇 专栏 page. The limit holds (10 accepted, 990
    refused with 429 and no event), the other reader is served throughout (its p99 measured),
    and every accepted message is recorded and followed by its code."""
    app: Any = client.app
    portal = app.state.runtimes["portal"].handlers
    store = app.state.runtimes["sentiment"].store
    limit = LIMITS["message"]

    def transport(address: str) -> httpx.ASGITransport:
        return httpx.ASGITransport(app=app, client=(address, 40_000))

    async def flood() -> tuple[list[httpx.Response], list[float], float, httpx.Response]:
        flooder = httpx.AsyncClient(transport=transport(FLOODER), base_url="http://portal.test")
        neighbour = httpx.AsyncClient(transport=transport(NEIGHBOUR), base_url="http://portal.test")
        questions = [portal.guard.challenge("message") for _ in range(1000)]
        stop = asyncio.Event()
        latencies: list[float] = []

        async def read() -> None:
            while not stop.is_set():
                started = time.perf_counter()
                page = await neighbour.get("/gk/sudian")
                latencies.append(time.perf_counter() - started)
                assert page.status_code == 200
                await asyncio.sleep(0.01)

        async def post(i: int) -> httpx.Response:
            await asyncio.sleep(i * PACE)  # 1,000 in PACE x 1,000 seconds
            q = questions[i]
            a, b = (parse_answer(x) for x in q.question.removesuffix("等于几？").split("加"))
            assert a is not None and b is not None
            data = {
                "org": SUDIAN,
                "text": f"第{i}条：苏店村东街路灯坏了，请修。",
                "key": f"flood-{i}",
                "form_token": q.token,
                "answer": str(a + b),
            }
            return await flooder.post("/gk/message", data=data)

        # warm: the first message loads the classifier and the first page fills the caches
        warm = httpx.AsyncClient(transport=transport("192.0.2.1"), base_url="http://portal.test")
        form = await warm.get("/gk/message")
        await warm.post(
            "/gk/message",
            data={"org": SUDIAN, "text": "预热：请问办事大厅几点开门？", **challenge(form.text)},
        )
        await warm.get("/gk/sudian")
        await warm.aclose()
        reader = asyncio.create_task(read())
        started = time.monotonic()
        answers = await asyncio.gather(*(post(i) for i in range(1000)))
        elapsed = time.monotonic() - started
        stop.set()
        await reader
        form = await neighbour.get("/gk/message")
        other = await neighbour.post(
            "/gk/message",
            data={"org": SUDIAN, "text": "请问镇卫生院周末开门吗？", **challenge(form.text)},
        )
        await flooder.aclose()
        await neighbour.aclose()
        return answers, latencies, elapsed, other

    before = int(client.portal.call(store.head_position))  # type: ignore[union-attr]
    answers, latencies, elapsed, other = client.portal.call(flood)  # type: ignore[union-attr]
    accepted = [r for r in answers if r.status_code == 201]
    refused = [r for r in answers if r.status_code == 429]
    latencies.sort()
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    print(
        f"\nflood: {len(accepted)} accepted, {len(refused)} refused in {elapsed:.1f} s; "
        f"other address: {len(latencies)} GETs, "
        f"p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms"
    )
    assert elapsed < 60
    odd = [r for r in answers if r.status_code not in (201, 429)]
    if odd:
        Path("/tmp/flood-odd.html").write_text(odd[0].text)
    assert not odd
    assert len(accepted) == limit and len(refused) == 1000 - limit
    assert all(int(r.headers["retry-after"]) > 0 for r in refused)
    assert other.status_code == 201  # the other address still gets its message through
    # Served throughout: every GET answered 200 (read()); the bound is loose on purpose (a
    # shared 2-core CI box; the flooder's own client runs in the same loop): measured p99
    # 0.6 s at load 45, p50 50 ms. Speed targets belong to bench/, not to this test.
    assert len(latencies) >= 20 and p99 < 2.0

    # Nothing lost of the accepted ones: each is an event, and each code finds its message.
    logged = client.portal.call(store.read_all, before, 10_000)  # type: ignore[union-attr]
    received = [e for e in logged if e.type == "MessageReceived"]
    assert len(received) == limit + 2  # the flood's, the warm-up's and the neighbour's
    codes = [shown(r.text, "tracking-code").replace(" ", "") for r in accepted]
    for code in codes:
        eventually(
            lambda c=code: client.get(f"/v1/public/requests/{c}"), lambda r: r.status_code == 200
        )
