"""The portal's fast path on the real suite (decision 154): `gongkai run` and `gongkai serve
portal` run `gongkai.app.served(app)`, whose front answers a public page's next readers from
the answer the whole stack gave the first, and counts them as the stack would.

The e2e suites run with GONGKAI_PORTAL_PAGE_SECONDS=0 (they read a page right after the
command that changes it), so this is where the front meets the real pages: in process,
embedded, with pages kept as in production (until an event changes them, decision 157),
once the demo district's loading events have passed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gongkai.app import create_app, served
from shared.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("GONGKAI_PORTAL_PAGE_SECONDS", "300")
    settings = Settings(var_dir=tmp_path / "var", token_secret="x" * 32, log_level="warning")
    app = create_app(settings)
    with TestClient(served(app)) as c:
        quiet(c)
        yield c


def quiet(c: TestClient, timeout: float = 30.0) -> None:
    """Until the demo district is loaded: the portal's home is then answered from the
    front (while its loading events arrive, each ends the kept pages)."""
    deadline = time.monotonic() + timeout
    while "x-correlation-id" in c.get("/gk/").headers:
        assert time.monotonic() < deadline, "the demo district never settled"
        time.sleep(0.1)


def requests_of(c: TestClient, route: str) -> float:
    """The suite's own count of GET 200s on `route` (/metrics)."""
    for line in c.get("/metrics").text.splitlines():
        if line.startswith("gongkai_http_requests_total{") and f'route="{route}"' in line:
            if 'method="GET"' in line and 'status="200"' in line:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_public_page_s_next_readers_get_the_stack_s_answer_from_the_front(
    client: TestClient,
) -> None:
    first = client.get("/gk/sudian")
    assert first.status_code == 200 and "苏店镇" in first.text
    assert "x-correlation-id" in first.headers  # through the stack
    again = [client.get("/gk/sudian") for _ in range(3)]
    for r in again:
        assert (r.status_code, r.content) == (200, first.content)
        assert "x-correlation-id" not in r.headers  # from the front
        for name in ("etag", "content-security-policy", "x-content-type-options", "vary"):
            assert r.headers[name] == first.headers[name], name
    assert requests_of(client, "/gk/{slug}") == 4  # every reader is in the metrics
    current = client.get("/gk/sudian", headers={"If-None-Match": first.headers["etag"]})
    assert current.status_code == 304 and current.content == b""


def test_what_depends_on_the_reader_always_goes_through_the_stack(client: TestClient) -> None:
    # 大字: the stylesheet varies with the reader's cookie (decision 145).
    client.cookies.set("gk_text", "large")
    sheets = [client.get("/gk/static/portal.css") for _ in range(2)]
    assert all(s.status_code == 200 and "x-correlation-id" in s.headers for s in sheets)
    client.cookies.clear()
    # A private page (the form with its single-use token) is never kept.
    forms = [client.get("/gk/message") for _ in range(2)]
    assert all(f.status_code == 200 and "x-correlation-id" in f.headers for f in forms)
    assert forms[0].headers["cache-control"] == "no-store"
